//! The SQLite store: the same engine rules, compare-and-set transitions, hashes only on disk.

use deviceflow_server::engine::Entrant;
use std::sync::Arc;

use deviceflow_server::engine::{DeviceStatus, Store, TokenState};
use deviceflow_server::store::{MemoryStore, SqliteStore};

use super::{error, Harness};

fn harness() -> Harness<SqliteStore> {
    Harness::with_store(SqliteStore::in_memory().unwrap())
}

#[test]
fn full_flow_on_sqlite() {
    let mut h = harness();
    let a = h.authorize(0);
    assert_eq!(error(&h.poll(&a.device_code, 500)), "authorization_pending");
    assert_eq!(error(&h.poll(&a.device_code, 1_000)), "slow_down");
    assert_eq!(
        error(&h.poll(&a.device_code, 5_500)),
        "authorization_pending"
    );
    h.decide(&a.user_code, true, 6_000);
    let t = h.poll(&a.device_code, 6_100);
    assert_eq!(t.status, 200);
    // Within the grace period: the same response (it may have been lost), no new tokens.
    assert_eq!(h.poll(&a.device_code, 12_000), t);
    // After it: a replay.
    assert_eq!(error(&h.poll(&a.device_code, 66_100)), "invalid_grant");
    let rt = t.body["refresh_token"].as_str().unwrap();
    assert_eq!(
        error(&h.refresh(rt, 67_000)),
        "invalid_grant",
        "replay revoked the grant"
    );

    let t = h.tokens(20_000);
    let rt1 = t["refresh_token"].as_str().unwrap();
    let r = h.refresh(rt1, 30_000);
    let rt2 = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(error(&h.refresh(rt1, 31_000)), "invalid_grant");
    assert_eq!(error(&h.refresh(&rt2, 32_000)), "invalid_grant");

    let b = h.authorize(40_000);
    h.decide(&b.user_code, false, 41_000);
    assert_eq!(error(&h.poll(&b.device_code, 42_000)), "access_denied");
    assert_eq!(error(&h.poll(&b.device_code, 640_000)), "expired_token");
}

#[test]
fn transitions_are_compare_and_set() {
    let mut h = harness();
    h.authorize(0);
    let s = &h.engine.store;
    let hash = deviceflow_server::engine::codes::sha256("x");
    assert!(s.device_by_code(&hash).unwrap().is_none());
    let id = {
        let a = h.authorize(1);
        let p = h
            .engine
            .handle_user_code(&a.user_code, &Entrant::new("s", "s"), 2)
            .unwrap();
        p.device_id
    };
    let s = &h.engine.store;
    assert!(s.record_poll(&id, None, 10, false).unwrap());
    assert!(!s.record_poll(&id, None, 11, true).unwrap());
    assert!(s.record_poll(&id, Some(10), 12, true).unwrap());
    let d = s.device_by_id(&id).unwrap().unwrap();
    assert_eq!((d.last_poll_ms, d.slow_downs), (Some(12), 1));
    assert!(s
        .set_status(
            &id,
            DeviceStatus::Pending,
            DeviceStatus::Approved,
            Some("bob")
        )
        .unwrap());
    assert!(!s
        .set_status(&id, DeviceStatus::Pending, DeviceStatus::Denied, None)
        .unwrap());
    assert!(s.redeem(&id, &[], 20, b"sealed").unwrap());
    assert!(!s.redeem(&id, &[], 21, b"other").unwrap());
    let d = s.device_by_id(&id).unwrap().unwrap();
    assert_eq!(d.subject.as_deref(), Some("bob"));
    assert_eq!(d.status, DeviceStatus::Consumed);
    assert_eq!(
        d.redeemed_at_ms,
        Some(20),
        "the first redemption's time stays"
    );
    assert_eq!(d.sealed_response.as_deref(), Some(&b"sealed"[..]));
    assert_eq!(s.bump_counter("k", 0).unwrap(), 1);
    assert_eq!(s.bump_counter("k", 0).unwrap(), 2);
    assert_eq!(
        s.bump_counter("k", 100).unwrap(),
        1,
        "a new window restarts"
    );
    assert_eq!(s.counter("k", 0).unwrap(), 0);
}

#[test]
fn purge_keeps_tombstones_until_the_horizon() {
    let mut h = harness();
    let a = h.authorize(0);
    h.engine.handle_housekeeping(600_000 + 1_000).unwrap();
    assert_eq!(error(&h.poll(&a.device_code, 601_000)), "expired_token");
    h.engine.handle_housekeeping(600_000 + 3_600_001).unwrap();
    assert_eq!(error(&h.poll(&a.device_code, 4_300_000)), "invalid_grant");
}

#[test]
fn the_database_file_holds_no_plaintext_code_or_token() {
    let dir = std::env::temp_dir().join(format!("deviceflow-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("store.sqlite");
    let mut h = Harness::with_store(SqliteStore::open(&path).unwrap());
    let a = h.authorize(0);
    h.decide(&a.user_code, true, 1);
    let t = h.poll(&a.device_code, 2).body;
    drop(h);
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let hay = String::from_utf8_lossy(&bytes);
    for secret in [
        a.device_code.as_str(),
        &a.user_code.replace('-', ""),
        t["access_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!hay.contains(secret), "{secret} found on disk");
    }
    assert!(hay.contains("consumed") || bytes.len() > 4096);
    std::fs::remove_dir_all(&dir).unwrap();
    let _ = TokenState::Active;
}

/// Eight polls racing at approval: one redemption wins the compare-and-set; the losers answer
/// from the consumed record, which within the grace period is the winner's response. So every
/// poll gets 200 with the same body, and the store holds one token set.
fn racing_polls<S: Store + 'static>(store: S, tokens_of: impl Fn(&S) -> usize) {
    use std::sync::Barrier;
    let mut h = Harness::with_store(store);
    let a = h.authorize(0);
    h.decide(&a.user_code, true, 1);
    let engine = Arc::new(h.engine);
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8u64)
        .map(|i| {
            let (engine, barrier, code) = (engine.clone(), barrier.clone(), a.device_code.clone());
            std::thread::spawn(move || {
                let req = super::request(&[
                    ("grant_type", deviceflow_server::engine::DEVICE_CODE_GRANT),
                    ("client_id", "cli"),
                    ("device_code", &code),
                ]);
                barrier.wait();
                engine.handle_token(&req, 2, &mut super::TestRng(1_000 * (i + 1)))
            })
        })
        .collect();
    let answers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(answers.iter().all(|r| r.status == 200), "{answers:?}");
    assert!(
        answers.iter().all(|r| r.body == answers[0].body),
        "one token set"
    );
    assert_eq!(
        tokens_of(&engine.store),
        2,
        "one access and one refresh token"
    );
}

#[test]
fn concurrent_polls_redeem_an_approved_code_exactly_once() {
    for _ in 0..20 {
        let dir = super::TempDir::new("race");
        let path = dir.path().join("db.sqlite");
        racing_polls(SqliteStore::open(&path).unwrap(), |_| {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.query_row("SELECT count(*) FROM tokens", [], |r| r.get(0))
                .unwrap()
        });
        racing_polls(Arc::new(MemoryStore::new()), |s| s.tokens().len());
    }
}
