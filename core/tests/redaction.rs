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

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s}: {text}");
    }
}

#[test]
fn nothing_secret_in_debug_or_display() {
    let mut config = Config::new(
        "cli",
        "https://as.example/device",
        "https://as.example/token",
    );
    config.client.client_secret = Some(Secret::new("CLIENT-SECRET-VALUE"));
    assert_clean("config", &format!("{config:?}"));
    let mut now = Timestamp(0);
    let mut flow = DeviceFlow::new(config.clone(), now).unwrap();
    let Action::Send(req) = flow.poll_action(now) else {
        panic!()
    };
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
