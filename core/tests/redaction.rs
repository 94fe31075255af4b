//! Secrets never appear in Debug or Display output of any public type.

use deviceflow::*;
use serde_json::json;

const SECRETS: [&str; 5] = [
    "DEVICE-CODE-SECRET",
    "ACCESS-TOKEN-SECRET",
    "REFRESH-TOKEN-SECRET",
    "ID.TOKEN.SECRET",
    "CLIENT-SECRET-VALUE",
];

/// Every form in which `secret` could be printed: raw, and base64 (standard and URL-safe, at
/// each of the three byte alignments, so the secret inside a `Basic` header's
/// `base64(client_id ":" secret)` is found too). For an encoding, only the characters that
/// depend on the secret's bytes alone are kept: the first block when a prefix shares it, and
/// the last block, which may share bytes with what follows or carry padding, are cut.
fn forms(secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    use base64::Engine as _;
    let mut forms = vec![secret.to_owned()];
    for engine in [&STANDARD, &URL_SAFE] {
        for pad in 0..3 {
            let mut bytes = vec![b'#'; pad];
            bytes.extend_from_slice(secret.as_bytes());
            let whole = engine.encode(&bytes);
            let end = (whole.len() - 4).min(4 * (bytes.len() / 3));
            let start = if pad == 0 { 0 } else { 4 };
            if end > start + 8 {
                forms.push(whole[start..end].to_owned());
            }
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

/// The first secret, raw or encoded, that `text` contains.
fn leak(text: &str) -> Option<(&'static str, String)> {
    SECRETS.into_iter().find_map(|s| {
        forms(s)
            .into_iter()
            .find(|f| text.contains(f))
            .map(|f| (s, f))
    })
}

fn assert_clean(what: &str, text: &str) {
    if let Some((secret, form)) = leak(text) {
        panic!("{what} leaks {secret} (as {form:?}): {text}");
    }
}

/// The check finds a secret in the forms a careless `Debug` would print: raw, in a
/// `client_secret_basic` header (a prefix of each length mod 3), and base64 in either alphabet.
#[test]
fn the_check_sees_encoded_secrets() {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    for secret in SECRETS {
        for text in [
            format!("x {secret} y"),
            format!("Basic {}", STANDARD.encode(format!("cli:{secret}"))),
            format!("Basic {}", STANDARD.encode(format!("a:{secret}"))),
            format!("Basic {}", STANDARD.encode(format!("ab:{secret}"))),
            URL_SAFE_NO_PAD.encode(format!("{secret}\n")),
        ] {
            assert!(leak(&text).is_some(), "not seen: {secret} in {text}");
        }
    }
    assert!(leak("Basic Y2xpOnNvbWV0aGluZy1lbHNl").is_none());
}

#[test]
fn nothing_secret_in_debug_or_display() {
    let mut config = Config::new(
        "cli",
        "https://as.example/device",
        "https://as.example/token",
    );
    config.client.client_secret = Some(Secret::new("CLIENT-SECRET-VALUE"));
    config.client.client_auth = Some(ClientAuth::ClientSecretBasic);
    assert_clean("config", &format!("{config:?}"));
    let mut now = Timestamp(0);
    let mut flow = DeviceFlow::new(config.clone(), now).unwrap();
    let Action::Send(req) = flow.poll_action(now) else {
        panic!()
    };
    // The request does carry the secret (in its Basic header): only its Debug must not show it.
    let wire: Vec<String> = req
        .headers
        .iter()
        .map(|h| format!("{}: {}", h.name, h.value))
        .chain([req.body_text().to_owned()])
        .collect();
    let wire = wire.join("\n");
    assert!(
        leak(&wire).is_some(),
        "the request should authenticate: {wire}"
    );
    assert_clean("device request", &format!("{req:?}"));
    let device = HttpResponse::json(
        200,
        &json!({"device_code": "DEVICE-CODE-SECRET", "user_code": "ABCD-EFGH",
        "verification_uri": "https://as.example/v", "expires_in": 60, "interval": 1}),
    );
    assert_clean("device response", &format!("{device:?}"));
    flow.handle_response(req.id, device, now).unwrap();
    let mut seen = Vec::new();
    loop {
        let action = flow.poll_action(now);
        seen.push(format!("{action:?}"));
        match action {
            Action::Send(req) => {
                assert!(
                    req.body_text().contains("DEVICE-CODE-SECRET"),
                    "the poll must carry the device code"
                );
                let tokens = HttpResponse::json(
                    200,
                    &json!({"access_token": "ACCESS-TOKEN-SECRET", "token_type": "Bearer",
                    "refresh_token": "REFRESH-TOKEN-SECRET", "id_token": "ID.TOKEN.SECRET", "expires_in": 60}),
                );
                flow.handle_response(req.id, tokens, now).unwrap();
            }
            Action::Wait { delay_ms, .. } => now = now.plus(delay_ms),
            Action::Done(tokens) => {
                assert_clean("token set", &format!("{tokens:?}"));
                assert_eq!(tokens.access_token.expose(), "ACCESS-TOKEN-SECRET");
                assert_eq!(tokens.access_token.to_string(), "[redacted]");
                break;
            }
            Action::Display(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    for s in &seen {
        assert_clean("action", s);
    }
    let refresh = RefreshConfig {
        client: config.client.clone(),
        token_endpoint: "https://as.example/token".into(),
        refresh_token: Secret::new("REFRESH-TOKEN-SECRET"),
        scope: None,
        timing: Timing::default(),
    };
    assert_clean("refresh config", &format!("{refresh:?}"));
    let mut r = Refresh::new(refresh, now).unwrap();
    assert_clean("refresh request", &format!("{:?}", r.poll_action(now)));
}

#[test]
fn errors_do_not_echo_bodies() {
    let mut flow = DeviceFlow::new(
        Config::new(
            "cli",
            "https://as.example/device",
            "https://as.example/token",
        ),
        Timestamp(0),
    )
    .unwrap();
    let Action::Send(req) = flow.poll_action(Timestamp(0)) else {
        panic!()
    };
    // A broken server echoing a secret-looking value in an unexpected field type.
    let resp = HttpResponse::json(
        200,
        &json!({"device_code": ["DEVICE-CODE-SECRET"], "user_code": "A"}),
    );
    flow.handle_response(req.id, resp, Timestamp(1)).unwrap();
    let Action::Failed(err) = flow.poll_action(Timestamp(1)) else {
        panic!()
    };
    assert_eq!(err.code(), "invalid_response");
    assert_clean("error", &format!("{err:?} {err}"));
}
