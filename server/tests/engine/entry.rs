//! User-code entry: brute-force limits (RFC 8628 §5.1) and the decision step (§3.3, §5.5).

use deviceflow_server::engine::{DeviceStatus, EntryError, Store};

use super::{error, Harness};

#[test]
fn failures_per_source_are_limited_even_for_a_right_code() {
    let mut h = Harness::new();
    let t0 = 800_000; // the 15-minute window ends at 900_000
    let a = h.authorize(t0);
    let e = &h.engine;
    for i in 0..10 {
        assert_eq!(
            e.handle_user_code("BBBB-BBBB", "203.0.113.9", t0 + i),
            Err(EntryError::Invalid)
        );
    }
    assert_eq!(
        e.handle_user_code(&a.user_code, "203.0.113.9", t0 + 11),
        Err(EntryError::TooManyAttempts)
    );
    // Other sources are unaffected, and the window passes.
    assert!(e
        .handle_user_code(&a.user_code, "203.0.113.10", t0 + 12)
        .is_ok());
    assert!(e
        .handle_user_code(&a.user_code, "203.0.113.9", 900_000)
        .is_ok());
}

#[test]
fn malformed_and_unknown_codes_both_count() {
    let h = Harness::new();
    for input in ["", "x", "not a code at all", "BBBB-BBBB", "ZZZZ-ZZZZ"] {
        assert_eq!(
            h.engine.handle_user_code(input, "s", 0),
            Err(EntryError::Invalid)
        );
    }
    assert_eq!(h.engine.store.counter("entry-fail:s", 0).unwrap(), 5);
}

#[test]
fn global_failures_trip_the_breaker() {
    let mut h = Harness::new();
    h.engine.config.limits.failures_global = 3;
    let a = h.authorize(0);
    for src in ["a", "b", "c"] {
        assert_eq!(
            h.engine.handle_user_code("BBBB-BBBB", src, 1),
            Err(EntryError::Invalid)
        );
    }
    assert_eq!(
        h.engine.handle_user_code(&a.user_code, "d", 2),
        Err(EntryError::TooManyAttempts)
    );
}

#[test]
fn one_code_can_be_entered_a_limited_number_of_times() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    for i in 0..5 {
        assert!(h
            .engine
            .handle_user_code(&a.user_code, &format!("s{i}"), i)
            .is_ok());
    }
    assert_eq!(
        h.engine.handle_user_code(&a.user_code, "s9", 9),
        Err(EntryError::Invalid)
    );
}

#[test]
fn entry_shows_what_the_confirmation_page_needs() {
    let mut h = Harness::new();
    let a = h.authorize(1_000);
    let p = h.engine.handle_user_code(&a.user_code, "s", 2_000).unwrap();
    assert_eq!(p.client_id, "cli");
    assert_eq!(p.client_name, "Test CLI");
    assert!(p.client_is_public);
    assert_eq!(p.scopes, ["openid", "profile", "offline_access"]);
    assert_eq!(p.user_code, a.user_code);
    assert_eq!(p.created_at_ms, 1_000);
    assert_eq!(p.source, "192.0.2.1");
}

#[test]
fn first_decision_wins_and_locks_the_code() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    let e = &h.engine;
    let p1 = e.handle_user_code(&a.user_code, "browser-1", 1).unwrap();
    let p2 = e.handle_user_code(&a.user_code, "browser-2", 2).unwrap();
    assert_eq!(
        e.handle_decision(&p1.device_id, "alice", true, 3),
        Ok(DeviceStatus::Approved)
    );
    assert_eq!(
        e.handle_decision(&p2.device_id, "mallory", true, 4),
        Err(EntryError::Invalid)
    );
    assert_eq!(
        e.handle_decision(&p2.device_id, "mallory", false, 4),
        Err(EntryError::Invalid)
    );
    assert_eq!(
        e.handle_user_code(&a.user_code, "browser-3", 5),
        Err(EntryError::Invalid)
    );
    let r = h.poll(&a.device_code, 6);
    assert_eq!(r.status, 200);
}

#[test]
fn decision_rechecks_expiry() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    let p = h
        .engine
        .handle_user_code(&a.user_code, "s", 599_000)
        .unwrap();
    assert_eq!(
        h.engine
            .handle_decision(&p.device_id, "alice", true, 600_000),
        Err(EntryError::Invalid)
    );
    assert_eq!(error(&h.poll(&a.device_code, 600_001)), "expired_token");
}

#[test]
fn expired_codes_cannot_be_entered() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    assert_eq!(
        h.engine.handle_user_code(&a.user_code, "s", 600_000),
        Err(EntryError::Invalid)
    );
}
