//! User-code entry: brute-force limits (RFC 8628 §5.1) and the decision step (§3.3, §5.5).

use deviceflow_server::engine::{DeviceStatus, Entrant, EntryError, Store};

use super::{error, Harness};

/// An entrant whose session is its address (no browser cookie in these engine tests).
fn at(source: &str) -> Entrant<'_> {
    Entrant::new(source, source)
}

#[test]
fn over_its_budget_a_source_is_paced_but_a_right_code_still_gets_through() {
    let mut h = Harness::new();
    let t0 = 800_000; // the 15-minute window ends at 900_000
    let a = h.authorize(t0);
    let e = &h.engine;
    // An attacker behind the victim's NAT: many sessions, one address, 10 wrong guesses.
    for i in 0..10 {
        let session = format!("attacker-{i}");
        assert_eq!(
            e.handle_user_code("BBBB-BBBB", &Entrant::new(&session, "203.0.113.9"), t0 + i),
            Err(EntryError::Invalid)
        );
    }
    // Now every entry from that address waits its turn; none is refused...
    let victim = Entrant::new("victim", "203.0.113.9");
    assert_eq!(
        e.handle_user_code(&a.user_code, &victim, t0 + 11),
        Err(EntryError::Pace { delay_ms: 2_000 })
    );
    let p = e.handle_user_code(&a.user_code, &victim.paced(), t0 + 2_011);
    assert_eq!(p.map(|p| p.user_code), Ok(a.user_code.clone()));
    // ...and the guesses go on being paced (and counted) too.
    assert_eq!(
        e.handle_user_code(
            "CCCC-CCCC",
            &Entrant::new("attacker-x", "203.0.113.9"),
            t0 + 12
        ),
        Err(EntryError::Pace { delay_ms: 2_000 })
    );
    // Other sources are unaffected, and the window passes.
    assert!(e
        .handle_user_code(&a.user_code, &at("203.0.113.10"), t0 + 13)
        .is_ok());
    assert!(e
        .handle_user_code(&a.user_code, &at("203.0.113.9"), 900_000)
        .is_ok());
}

#[test]
fn a_session_that_failed_too_often_is_refused_alone() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    let e = &h.engine;
    let mallory = Entrant::new("mallory", "203.0.113.9");
    for i in 0..5 {
        assert_eq!(
            e.handle_user_code("BBBB-BBBB", &mallory, i),
            Err(EntryError::Invalid)
        );
    }
    assert_eq!(
        e.handle_user_code(&a.user_code, &mallory, 6),
        Err(EntryError::TooManyAttempts)
    );
    assert_eq!(
        e.handle_user_code(&a.user_code, &mallory.paced(), 7),
        Err(EntryError::TooManyAttempts)
    );
    // The victim's own session, from the same address, is not.
    assert!(e
        .handle_user_code(&a.user_code, &Entrant::new("victim", "203.0.113.9"), 8)
        .is_ok());
}

#[test]
fn malformed_and_unknown_codes_all_count() {
    let h = Harness::new();
    for input in ["", "x", "not a code at all", "BBBB-BBBB", "ZZZZ-ZZZZ"] {
        assert_eq!(
            h.engine
                .handle_user_code(input, &Entrant::new("sess", "src"), 0),
            Err(EntryError::Invalid)
        );
    }
    let store = &h.engine.store;
    assert_eq!(store.counter("entry-fail:src", 0).unwrap(), 5);
    assert_eq!(store.counter("entry-fail-session:sess", 0).unwrap(), 5);
    assert_eq!(store.counter("entry-fail:*", 0).unwrap(), 5);
}

#[test]
fn the_global_breaker_slows_everyone_down_and_refuses_no_one() {
    let mut h = Harness::new();
    h.engine.config.limits.failures_global = 3;
    let a = h.authorize(0);
    for src in ["a", "b", "c"] {
        assert_eq!(
            h.engine.handle_user_code("BBBB-BBBB", &at(src), 1),
            Err(EntryError::Invalid)
        );
    }
    assert_eq!(
        h.engine.handle_user_code(&a.user_code, &at("d"), 2),
        Err(EntryError::Pace { delay_ms: 5_000 })
    );
    assert!(h
        .engine
        .handle_user_code(&a.user_code, &at("d").paced(), 5_002)
        .is_ok());
}

#[test]
fn one_code_can_be_entered_a_limited_number_of_times() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    for i in 0..5 {
        assert!(h
            .engine
            .handle_user_code(&a.user_code, &at(&format!("s{i}")), i)
            .is_ok());
    }
    assert_eq!(
        h.engine.handle_user_code(&a.user_code, &at("s9"), 9),
        Err(EntryError::Invalid)
    );
}

#[test]
fn entry_shows_what_the_confirmation_page_needs() {
    let mut h = Harness::new();
    let a = h.authorize(1_000);
    let p = h
        .engine
        .handle_user_code(&a.user_code, &at("s"), 2_000)
        .unwrap();
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
    let p1 = e
        .handle_user_code(&a.user_code, &at("browser-1"), 1)
        .unwrap();
    let p2 = e
        .handle_user_code(&a.user_code, &at("browser-2"), 2)
        .unwrap();
    assert_eq!(
        e.handle_decision(&p1.device_id, "alice", "s", true, 3),
        Ok(DeviceStatus::Approved)
    );
    assert_eq!(
        e.handle_decision(&p2.device_id, "mallory", "s", true, 4),
        Err(EntryError::Invalid)
    );
    assert_eq!(
        e.handle_decision(&p2.device_id, "mallory", "s", false, 4),
        Err(EntryError::Invalid)
    );
    assert_eq!(
        e.handle_user_code(&a.user_code, &at("browser-3"), 5),
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
        .handle_user_code(&a.user_code, &at("s"), 599_000)
        .unwrap();
    assert_eq!(
        h.engine
            .handle_decision(&p.device_id, "alice", "s", true, 600_000),
        Err(EntryError::Invalid)
    );
    assert_eq!(error(&h.poll(&a.device_code, 600_001)), "expired_token");
}

#[test]
fn expired_codes_cannot_be_entered() {
    let mut h = Harness::new();
    let a = h.authorize(0);
    assert_eq!(
        h.engine.handle_user_code(&a.user_code, &at("s"), 600_000),
        Err(EntryError::Invalid)
    );
}
