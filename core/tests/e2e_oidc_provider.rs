//! End to end against a real authorization server (node-oidc-provider, started
//! here on 127.0.0.1): discover, log in (approval through the provider's own
//! pages), refresh with rotation, revoke, and see the revoked token refused.
//! Drives the sans-IO core with a plain blocking HTTP client.

mod common;

use common::provider::{approve, now, provider_available, send, start_provider};
use deviceflow::*;
use std::time::{Duration, Instant};

/// The sync driver loop from the crate docs, with a hook for `Display`.
macro_rules! drive {
    ($op:expr, $on_display:expr) => {{
        let op = &mut $op;
        loop {
            match op.poll_action(now()) {
                Action::Send(req) => match send(&req) {
                    Ok(resp) => op.handle_response(req.id, resp, now()).unwrap(),
                    Err(kind) => op.handle_transport_error(req.id, kind, now()).unwrap(),
                },
                Action::Display(p) =>
                {
                    #[allow(clippy::redundant_closure_call)]
                    ($on_display)(p)
                }
                Action::Wait { delay_ms, .. } => {
                    std::thread::sleep(Duration::from_millis(delay_ms))
                }
                Action::AwaitingResponse { .. } | Action::Sign { .. } => unreachable!(),
                Action::Done(v) => break Ok(v),
                Action::Failed(e) => break Err(e),
            }
        }
    }};
}

#[test]
fn discover_login_refresh_revoke() {
    if !provider_available() {
        return;
    }
    let p = start_provider(&[]);
    let mut d = Discovery::new(&p.issuer, now()).unwrap();
    let meta = drive!(d, |_p: Prompt| ()).expect("discovery");
    assert_eq!(meta.issuer, p.issuer);
    let revocation_endpoint = meta
        .revocation_endpoint
        .clone()
        .expect("revocation endpoint");
    assert!(meta.device_authorization_endpoint.is_some());

    let config = Config::from_issuer("public-cli", &p.issuer).with_scope("openid offline_access");
    let mut flow = DeviceFlow::new(config.clone(), now()).unwrap();
    let mut approver = None;
    let tokens = drive!(flow, |prompt: Prompt| {
        assert!(prompt.verification_uri.starts_with(&p.issuer));
        approver = Some(approve(&p.issuer, &prompt.user_code, false));
    })
    .expect("login");
    assert!(approver.unwrap().wait().unwrap().success());
    assert!(tokens.token_type.eq_ignore_ascii_case("bearer"));
    assert!(tokens.expires_at.is_some());
    assert_eq!(tokens.id_token_claims_unverified().unwrap()["sub"], "alice");
    let first_refresh = tokens
        .refresh_token
        .clone()
        .expect("refresh token with offline_access");

    let refresh_config = |rt: &Secret| RefreshConfig {
        client: config.client.clone(),
        token_endpoint: meta.token_endpoint.clone().unwrap(),
        refresh_token: rt.clone(),
        scope: None,
        timing: Timing::default(),
    };
    let mut r = Refresh::new(refresh_config(&first_refresh), now()).unwrap();
    let refreshed = drive!(r, |_p: Prompt| ()).expect("refresh");
    let second_refresh = refreshed.refresh_token.clone().unwrap();
    assert_ne!(
        second_refresh.expose(),
        first_refresh.expose(),
        "the provider rotates refresh tokens"
    );
    assert_ne!(
        refreshed.access_token.expose(),
        tokens.access_token.expose()
    );

    let mut revoke = Revocation::new(
        RevocationConfig {
            client: config.client.clone(),
            revocation_endpoint,
            token: second_refresh.clone(),
            token_type_hint: Some(TokenTypeHint::RefreshToken),
            timing: Timing::default(),
        },
        now(),
    )
    .unwrap();
    assert_eq!(drive!(revoke, |_p: Prompt| ()).expect("revoke").status, 200);

    let mut again = Refresh::new(refresh_config(&second_refresh), now()).unwrap();
    let err = drive!(again, |_p: Prompt| ()).expect_err("a revoked refresh token is refused");
    assert_eq!(err.code(), "invalid_grant");
    assert!(err.requires_login());
}

#[test]
fn denial_and_confidential_client() {
    if !provider_available() {
        return;
    }
    let p = start_provider(&[]);
    let config = Config::from_issuer("public-cli", &p.issuer).with_scope("openid");
    let mut flow = DeviceFlow::new(config, now()).unwrap();
    let mut approver = None;
    let err = drive!(flow, |prompt: Prompt| approver =
        Some(approve(&p.issuer, &prompt.user_code, true)))
    .expect_err("denied");
    assert!(approver.unwrap().wait().unwrap().success());
    assert_eq!(err.code(), "access_denied");

    let mut config = Config::from_issuer("basic-cli", &p.issuer).with_scope("openid");
    config.client.client_secret = Some(Secret::new("basic-secret"));
    let mut flow = DeviceFlow::new(config, now()).unwrap();
    let mut approver = None;
    let tokens = drive!(flow, |prompt: Prompt| approver =
        Some(approve(&p.issuer, &prompt.user_code, false)))
    .expect("confidential login");
    assert!(approver.unwrap().wait().unwrap().success());
    assert!(!tokens.access_token.expose().is_empty());
}

#[test]
fn slow_down_and_expiry_against_the_real_server() {
    if !provider_available() {
        return;
    }
    let p = start_provider(&[("SLOW_DOWN_FIRST", "1"), ("DEVICE_TTL", "10")]);
    let config = Config::from_issuer("public-cli", &p.issuer).with_scope("openid");
    let mut flow = DeviceFlow::new(config, now()).unwrap();
    let started = Instant::now();
    let mut reasons = Vec::new();
    let err = loop {
        match flow.poll_action(now()) {
            Action::Send(req) => match send(&req) {
                Ok(resp) => flow.handle_response(req.id, resp, now()).unwrap(),
                Err(kind) => flow.handle_transport_error(req.id, kind, now()).unwrap(),
            },
            Action::Wait {
                delay_ms, reason, ..
            } => {
                reasons.push((reason, flow.interval_ms()));
                std::thread::sleep(Duration::from_millis(delay_ms));
            }
            Action::Failed(e) => break e,
            Action::Display(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(err.code(), "expired_token", "nobody approves: {err}");
    // DEVICE_INTERVAL=1: the first poll gets slow_down, so the interval becomes 6 s for good
    // (and the wait 6 s + a fifth: 7.2 s, which still ends before the 10 s expiry).
    assert_eq!(reasons[0], (WaitReason::Interval, Some(1_000)));
    assert_eq!(reasons[1], (WaitReason::SlowDown, Some(6_000)));
    // The end comes from the server's expired_token or the client's deadline, whichever is first.
    assert!(reasons
        .iter()
        .skip(2)
        .all(|r| matches!(r.0, WaitReason::SlowDown | WaitReason::Expiry)));
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(9) && elapsed < Duration::from_secs(14),
        "{elapsed:?}"
    );
}
