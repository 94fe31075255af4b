//! Token polling (RFC 8628 §3.5) with the engine's precedence rules (expiry comes first;
//! an early poll after approval still gets the tokens) and fairness rules (an on-time client is
//! never told to slow down), as the tests below pin them.

use deviceflow_server::engine::poll_timing::{is_early, tolerance_ms};
use deviceflow_server::engine::{DeviceStatus, Store, TokenState, DEVICE_CODE_GRANT};
use deviceflow_server::store::SqliteStore;

use super::{error, Harness};

#[test]
fn first_poll_is_never_early() {
    let mut h = Harness::new();
    let a = h.authorize(10_000);
    // Straight after issuance, and even at the same millisecond.
    assert_eq!(
        error(&h.poll(&a.device_code, 10_000)),
        "authorization_pending"
    );
}

#[test]
fn on_time_polls_get_pending() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    for i in 1..=20 {
        assert_eq!(
            error(&h.poll(&a.device_code, i * 5_000)),
            "authorization_pending"
        );
    }
}

#[test]
fn whole_second_truncation_never_punishes_an_on_time_client() {
    // A client that sleeps 5 s but whose clock or scheduler rounds to whole seconds: polls land
    // at 0.99 s then 6.0 s (5.01 s apart), or 5.99 s then 10.0 s (4.01 s apart).
    let mut h = Harness::new();
    let a = h.authorize(0);
    for (at, expect) in [
        (990, "authorization_pending"),
        (6_000, "authorization_pending"),
        (10_000, "authorization_pending"),
        (15_999, "authorization_pending"),
        (20_000, "authorization_pending"),
    ] {
        assert_eq!(error(&h.poll(&a.device_code, at)), expect, "at {at} ms");
    }
    assert_eq!(tolerance_ms(5_000), 1_000);
    assert_eq!(tolerance_ms(1_000), 200);
    assert!(!is_early(Some(5_990), 10_000, 5_000));
    assert!(is_early(Some(5_990), 9_989, 5_000));
    assert!(!is_early(None, 0, 5_000));
}

#[test]
fn early_poll_gets_slow_down_with_raised_interval_and_recovers() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    assert_eq!(
        error(&h.poll(&a.device_code, 1_000)),
        "authorization_pending"
    );
    let r = h.poll(&a.device_code, 2_000);
    assert_eq!(error(&r), "slow_down");
    assert_eq!(r.body["interval"], 10);
    let r = h.poll(&a.device_code, 3_000);
    assert_eq!(error(&r), "slow_down");
    assert_eq!(r.body["interval"], 15);
    // Measured against the advertised interval: the next on-time poll is pending again.
    assert_eq!(
        error(&h.poll(&a.device_code, 8_000)),
        "authorization_pending"
    );
}

#[test]
fn an_early_poll_after_approval_still_gets_the_tokens() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    assert_eq!(
        error(&h.poll(&a.device_code, 1_000)),
        "authorization_pending"
    );
    h.decide(&a.user_code, true, 1_500);
    let r = h.poll(&a.device_code, 1_600);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["access_token"].is_string());
    assert!(r.body["refresh_token"].is_string());
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["scope"], "openid profile offline_access");
}

#[test]
fn expiry_comes_first_and_stays() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    h.decide(&a.user_code, true, 1_000);
    assert_eq!(error(&h.poll(&a.device_code, 600_000)), "expired_token");
    assert_eq!(error(&h.poll(&a.device_code, 600_001)), "expired_token");
    let b = h.authorize(0);
    assert_eq!(
        error(&h.poll(&b.device_code, 599_999)),
        "authorization_pending"
    );
    assert_eq!(error(&h.poll(&b.device_code, 700_000)), "expired_token");
}

#[test]
fn denial_reaches_the_device_as_access_denied_and_stays() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    h.decide(&a.user_code, false, 1_000);
    assert_eq!(error(&h.poll(&a.device_code, 5_000)), "access_denied");
    assert_eq!(error(&h.poll(&a.device_code, 5_001)), "access_denied");
}

#[test]
fn redemption_is_one_time_and_replay_revokes_the_grant() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    h.decide(&a.user_code, true, 1_000);
    let first = h.poll(&a.device_code, 5_000);
    assert_eq!(first.status, 200);
    // After the lost-response grace period (60 s) a second presentation is a replay.
    let replay = h.poll(&a.device_code, 65_000);
    assert_eq!(error(&replay), "invalid_grant");
    let tokens = h.engine.store.tokens();
    assert_eq!(tokens.len(), 2);
    assert!(tokens.iter().all(|t| t.state == TokenState::Revoked));
    // The refresh token from the first redemption is dead too.
    let rt = first.body["refresh_token"].as_str().unwrap();
    assert_eq!(error(&h.refresh(rt, 66_000)), "invalid_grant");
}

#[test]
fn unknown_device_code_is_invalid_grant() {
    let mut h = Harness::new();
    assert_eq!(error(&h.poll("nope", 0)), "invalid_grant");
}

#[test]
fn another_client_presenting_the_code_kills_it() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    let mut req = Harness::request(&[
        ("grant_type", DEVICE_CODE_GRANT),
        ("client_id", "post"),
        ("client_secret", "post-secret"),
        ("device_code", &a.device_code),
    ]);
    let r = h.engine.handle_token(&req, 1_000, &mut h.rng);
    assert_eq!(error(&r), "invalid_grant");
    assert_eq!(error(&h.poll(&a.device_code, 6_000)), "access_denied");
    req.params = deviceflow_server::engine::Params::from_pairs([("grant_type", "password")]);
    assert_eq!(h.engine.handle_token(&req, 0, &mut h.rng).status, 401);
}

#[test]
fn recording_a_poll_is_compare_and_set() {
    // Two polls that read the same `last_poll_ms`: the store lets only one record its poll.
    let mut h = Harness::new();
    let a = h.authorize(0);
    let d = h.engine.store.devices().pop().unwrap();
    assert!(h.engine.store.record_poll(&d.id, None, 100, false).unwrap());
    assert!(!h.engine.store.record_poll(&d.id, None, 100, false).unwrap());
    assert_eq!(
        error(&h.poll(&a.device_code, 6_000)),
        "authorization_pending"
    );
    assert_eq!(d.status, DeviceStatus::Pending);
}

#[test]
fn token_endpoint_request_errors() {
    let mut h = Harness::new();
    let r = h
        .engine
        .handle_token(&Harness::request(&[("client_id", "cli")]), 0, &mut h.rng);
    assert_eq!(error(&r), "invalid_request");
    let r = h.engine.handle_token(
        &Harness::request(&[("grant_type", "password"), ("client_id", "cli")]),
        0,
        &mut h.rng,
    );
    assert_eq!(error(&r), "unsupported_grant_type");
    let r = h.engine.handle_token(
        &Harness::request(&[("grant_type", DEVICE_CODE_GRANT), ("client_id", "cli")]),
        0,
        &mut h.rng,
    );
    assert_eq!(error(&r), "invalid_request");
    assert_eq!(r.status, 400);
}

/// 2,000 unknown device codes from one source, then that source's real codes: each still gets
/// its true answer (tokens, pending), and the unknown ones wrote nothing to the store.
fn unknown_codes_never_poison_a_source<S: Store>(mut h: Harness<S>) {
    let a = h.authorize(0);
    h.decide(&a.user_code, true, 1_000);
    let b = h.authorize(1_000);
    for i in 0..2_000 {
        let r = h.poll(&format!("guess-{i}"), 2_000 + i);
        assert_eq!(error(&r), "invalid_grant");
        assert_eq!(r.body["error_description"], "unknown device_code");
    }
    let r = h.poll(&a.device_code, 5_000);
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body["access_token"].is_string());
    assert_eq!(
        error(&h.poll(&b.device_code, 5_000)),
        "authorization_pending"
    );
    let window = 0; // the 15-minute window of every poll above
    assert_eq!(
        h.engine
            .store
            .counter("unknown-device-code:192.0.2.1", window)
            .unwrap(),
        0,
        "an unknown code costs a read, not a write"
    );
}

#[test]
fn a_source_presenting_unknown_device_codes_still_gets_its_real_answers() {
    unknown_codes_never_poison_a_source(Harness::new());
    unknown_codes_never_poison_a_source(Harness::with_store(SqliteStore::in_memory().unwrap()));
}
