//! The audit trail: one JSON event per transition, with who, which client, from where and when,
//! and no code, token or secret anywhere in it.

use std::cell::RefCell;
use std::io::Write;
use std::sync::Once;

use deviceflow_server::engine::{Entrant, EntryError};
use serde_json::Value;

use super::{error, Harness};

thread_local! {
    static CAPTURED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A `tracing` writer into this thread's buffer. One global JSON subscriber for the whole test
/// binary (tracing caches per-callsite interest globally, so a thread-scoped subscriber can miss
/// events another test thread saw first); engine events are emitted on the calling thread.
struct ThreadBuffer;

impl Write for ThreadBuffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with(|c| c.borrow_mut().extend_from_slice(b));
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(|| ThreadBuffer)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    CAPTURED.with(|c| c.borrow_mut().clear());
}

#[test]
fn every_transition_leaves_one_event_and_no_secret() {
    capture();
    let mut secrets = Vec::new();
    {
        let mut h = Harness::new();
        let a = h.authorize(0);
        secrets.extend([a.device_code.clone(), a.user_code.clone()]);
        assert_eq!(
            h.engine
                .handle_user_code("BBBB-BBBB", &Entrant::new("sess-1", "203.0.113.9"), 500),
            Err(EntryError::Invalid)
        );
        h.decide(&a.user_code, true, 1_000);
        let tokens = h.poll(&a.device_code, 5_000).body;
        let rt = tokens["refresh_token"].as_str().unwrap().to_owned();
        secrets.extend([
            tokens["access_token"].as_str().unwrap().to_owned(),
            rt.clone(),
        ]);
        let refreshed = h.refresh(&rt, 6_000).body;
        secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());
        assert_eq!(error(&h.refresh(&rt, 7_000)), "invalid_grant"); // reuse
        let b = h.authorize(8_000);
        h.decide(&b.user_code, false, 9_000);
        let c = h.tokens(10_000);
        let revoke = Harness::request(&[
            ("client_id", "cli"),
            ("token", c["refresh_token"].as_str().unwrap()),
        ]);
        assert_eq!(h.engine.handle_revocation(&revoke, 20_000).status, 200);
    }
    let text = CAPTURED.with(|c| String::from_utf8(c.borrow().clone()).unwrap());
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a secret is in the audit log");
    }
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|v: &Value| v["target"] == "deviceflow::audit")
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "issuance",
            "entry_failure",
            "approval",
            "redemption",
            "refresh",
            "reuse_detected",
            "issuance",
            "denial",
            "issuance",
            "approval",
            "redemption",
            "revocation",
        ]
    );
    let approval = &events[2];
    assert_eq!(approval["subject"], "alice");
    assert_eq!(approval["source"], "198.51.100.7");
    assert_eq!(approval["client_id"], "cli");
    assert_eq!(approval["at_ms"], 1_000);
    // One grant id follows the login from issuance to reuse detection.
    let grant = events[0]["grant"].as_str().unwrap();
    assert!(!grant.is_empty());
    for e in &events[..6] {
        if e["event"] != "entry_failure" {
            assert_eq!(e["grant"], grant, "{e}");
        }
    }
    assert_eq!(events[1]["source"], "203.0.113.9");
}
