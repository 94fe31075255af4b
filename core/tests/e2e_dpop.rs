//! DPoP (RFC 9449) end to end against node-oidc-provider with the client `dpop-cli`
//! (`dpop_bound_access_tokens`) and server nonces required (`DPOP_NONCE=1`): log in
//! with the core's software key, use the token at userinfo (with a proof, and refused
//! without), refresh with the same key (refused with another), revoke.

mod common;

use common::provider::{self, approve, now, provider_available, Provider};
use deviceflow::*;
use std::time::Duration;

/// node-oidc-provider with server nonces required, or `None` (SKIPPED) when not installed.
fn start_provider() -> Option<Provider> {
    provider_available().then(|| provider::start_provider(&[("DPOP_NONCE", "1")]))
}

fn send(req: &HttpRequest) -> HttpResponse {
    provider::send(req).expect("transport")
}

/// What the driver saw: statuses of all answers (nonce retries included).
#[derive(Default)]
struct Seen {
    signs: usize,
    statuses: Vec<u16>,
}

macro_rules! drive {
    ($op:expr, $key:expr, $seen:expr, $on_display:expr) => {{
        let op = &mut $op;
        loop {
            match op.poll_action(now()) {
                Action::Sign { id, input } => {
                    $seen.signs += 1;
                    op.handle_signature(id, &$key.sign(input.as_bytes()), now())
                        .unwrap()
                }
                Action::Send(req) => {
                    let resp = send(&req);
                    $seen.statuses.push(resp.status);
                    op.handle_response(req.id, resp, now()).unwrap()
                }
                Action::Display(p) =>
                {
                    #[allow(clippy::redundant_closure_call)]
                    ($on_display)(p)
                }
                Action::Wait { delay_ms, .. } => {
                    std::thread::sleep(Duration::from_millis(delay_ms))
                }
                Action::AwaitingResponse { .. } => unreachable!(),
                Action::Done(v) => break Ok(v),
                Action::Failed(e) => break Err(e),
            }
        }
    }};
}

fn entropy() -> String {
    use base64::Engine;
    let t = now().0.to_be_bytes();
    let pid = std::process::id().to_be_bytes();
    let bytes = [&t[..], &pid[..], &[9u8; 8][..]].concat();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn key_of(seed: u8) -> SoftwareKey {
    SoftwareKey::from_bytes(&[seed; 32]).unwrap()
}

#[test]
fn dpop_login_userinfo_refresh_revoke() {
    let Some(p) = start_provider() else { return };
    let key = key_of(3);
    let dpop = DpopConfig::new(key.public_jwk(), entropy());

    let config = Config::from_issuer("dpop-cli", &p.issuer)
        .with_scope("openid offline_access")
        .with_dpop(dpop.clone());
    let mut flow = DeviceFlow::new(config.clone(), now()).unwrap();
    let mut approver = None;
    let mut seen = Seen::default();
    let tokens = drive!(flow, key, seen, |prompt: Prompt| approver =
        Some(approve(&p.issuer, &prompt.user_code, false)))
    .expect("DPoP login");
    assert!(approver.unwrap().wait().unwrap().success());
    assert_eq!(tokens.token_type, "DPoP");
    // The first token poll met use_dpop_nonce (400) and was resent at once; every
    // POST had its own proof (device request + polls + the retry).
    assert!(seen.statuses.contains(&400), "{:?}", seen.statuses);
    assert!(seen.signs >= 3, "{}", seen.signs);
    let nonces = flow.dpop().unwrap().nonces().clone();
    assert_eq!(
        nonces.len(),
        1,
        "one nonce, for the provider's origin: {nonces:?}"
    );

    // The token works at userinfo with a proof (ath), after the resource's own nonce dance.
    let userinfo = format!("{}/me", p.issuer);
    let mut res = Dpop::new(DpopConfig {
        nonces: nonces.clone(),
        ..dpop.clone()
    })
    .unwrap();
    let at = tokens.access_token.expose();
    let get = |headers: Vec<Header>| {
        send(&HttpRequest {
            id: RequestId(0),
            method: Method::Get,
            url: userinfo.clone(),
            headers,
            body: Vec::new(),
            timeout_ms: None,
        })
    };
    let mut answer = None;
    for _ in 0..2 {
        let h = res
            .resource_headers_with(|i| key.sign(i), "GET", &userinfo, at, now())
            .unwrap();
        let r = get(h);
        if !res.handle_response(&userinfo, &r) {
            answer = Some(r);
            break;
        }
    }
    let answer = answer.expect("userinfo answered after at most one nonce retry");
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let claims: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(claims["sub"], "alice");
    // Without a proof, or as a bearer token, the same token is refused (400 or 401).
    let refused = |s: u16| s == 400 || s == 401;
    assert!(refused(
        get(vec![Header::new("authorization", format!("DPoP {at}"))]).status
    ));
    assert!(refused(
        get(vec![Header::new("authorization", format!("Bearer {at}"))]).status
    ));

    // Refresh with the same key (the refresh token of a public client is bound to it).
    let meta = flow.metadata().unwrap().clone();
    let refresh = |rt: &Secret, k: &SoftwareKey| {
        let cfg = RefreshConfig {
            client: config.client.clone(),
            token_endpoint: meta.token_endpoint.clone().unwrap(),
            refresh_token: rt.clone(),
            scope: None,
            timing: Timing::default(),
        };
        let d = DpopConfig {
            nonces: nonces.clone(),
            ..DpopConfig::new(k.public_jwk(), entropy())
        };
        Refresh::new(cfg, now()).unwrap().with_dpop(d).unwrap()
    };
    let rt = tokens.refresh_token.clone().expect("refresh token");
    let mut wrong = refresh(&rt, &key_of(4));
    let mut s = Seen::default();
    let err = drive!(wrong, key_of(4), s, |_p: Prompt| ()).expect_err("another key is refused");
    assert_eq!(err.code(), "invalid_grant", "{err}");
    let mut right = refresh(&rt, &key);
    let mut s = Seen::default();
    let refreshed = drive!(right, key, s, |_p: Prompt| ()).expect("refresh with the same key");
    assert_eq!(refreshed.token_type, "DPoP");
    assert_ne!(refreshed.access_token.expose(), at);

    let mut revoke = Revocation::new(
        RevocationConfig {
            client: config.client.clone(),
            revocation_endpoint: meta.revocation_endpoint.clone().unwrap(),
            token: refreshed.refresh_token.clone().unwrap(),
            token_type_hint: Some(TokenTypeHint::RefreshToken),
            timing: Timing::default(),
        },
        now(),
    )
    .unwrap()
    .with_dpop(DpopConfig::new(key.public_jwk(), entropy()))
    .unwrap();
    let mut s = Seen::default();
    assert_eq!(
        drive!(revoke, key, s, |_p: Prompt| ())
            .expect("revoke")
            .status,
        200
    );
}

#[test]
fn dpop_client_without_a_proof_is_refused() {
    let Some(p) = start_provider() else { return };
    let config = Config::from_issuer("dpop-cli", &p.issuer).with_scope("openid");
    let mut flow = DeviceFlow::new(config, now()).unwrap();
    let mut approver = None;
    let key = key_of(5); // unused: no DPoP, so no Sign
    let mut seen = Seen::default();
    let err = drive!(flow, key, seen, |prompt: Prompt| approver =
        Some(approve(&p.issuer, &prompt.user_code, false)))
    .expect_err("dpop_bound_access_tokens needs a proof");
    let _ = approver.map(|mut a| a.wait());
    assert_eq!(seen.signs, 0);
    assert!(
        matches!(
            err.code(),
            "invalid_grant" | "invalid_request" | "invalid_dpop_proof"
        ),
        "{err}"
    );
}
