//! A token response lost on the way: the same client presenting the same device code shortly
//! after the redemption gets the same response again (no new tokens), while those tokens are
//! unused. Otherwise a second presentation is a replay, as before: `invalid_grant`, grant revoked.

use std::path::Path;
use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use deviceflow_server::engine::codes::device_code_key;
use deviceflow_server::engine::{DeviceRecord, Store, TokenKind, TokenState, DEVICE_CODE_GRANT};
use deviceflow_server::store::{MemoryStore, SqliteStore};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{error, Harness, TempDir};

type H = Harness<Arc<dyn Store>>;
/// Lists a grant's tokens (kind, state), sorted.
type Tokens<'a> = &'a dyn Fn(&str) -> Vec<(TokenKind, TokenState)>;

fn sorted(mut v: Vec<(TokenKind, TokenState)>) -> Vec<(TokenKind, TokenState)> {
    v.sort_by_key(|&(kind, state)| (kind as u8, state as u8));
    v
}

fn sqlite_tokens(path: &Path, grant: &str) -> Vec<(TokenKind, TokenState)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT kind, state FROM tokens WHERE grant_id = ?1")
        .unwrap();
    let rows = stmt
        .query_map([grant], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .unwrap();
    sorted(
        rows.map(|r| {
            let (kind, state) = r.unwrap();
            let kind = if kind == "access" {
                TokenKind::Access
            } else {
                TokenKind::Refresh
            };
            (kind, TokenState::parse(&state).unwrap())
        })
        .collect(),
    )
}

/// Runs `case` on a MemoryStore and on a file-backed SqliteStore.
fn on_both_stores(case: fn(&mut H, Tokens)) {
    let memory = Arc::new(MemoryStore::new());
    let m = memory.clone();
    let list = move |grant: &str| {
        sorted(
            m.tokens()
                .into_iter()
                .filter(|t| t.grant_id == grant)
                .map(|t| (t.kind, t.state))
                .collect(),
        )
    };
    case(&mut Harness::with_store(memory as Arc<dyn Store>), &list);

    let dir = TempDir::new("lost-response");
    let path = dir.path().join("db.sqlite");
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    case(&mut Harness::with_store(sqlite), &|grant| {
        sqlite_tokens(&path, grant)
    });
}

fn record(h: &H, device_code: &str) -> DeviceRecord {
    h.engine
        .store
        .device_by_code(&device_code_key(device_code))
        .unwrap()
        .unwrap()
}

/// Authorize at 0, approve at 1 s, redeem at 5 s: the device code and the token response.
fn redeemed(h: &mut H) -> (String, Value) {
    let a = h.authorize(0);
    h.decide(&a.user_code, true, 1_000);
    let r = h.poll(&a.device_code, 5_000);
    assert_eq!(r.status, 200, "{:?}", r.body);
    (a.device_code, r.body)
}

const ONE_SET_ACTIVE: [(TokenKind, TokenState); 2] = [
    (TokenKind::Access, TokenState::Active),
    (TokenKind::Refresh, TokenState::Active),
];
const ONE_SET_REVOKED: [(TokenKind, TokenState); 2] = [
    (TokenKind::Access, TokenState::Revoked),
    (TokenKind::Refresh, TokenState::Revoked),
];

#[test]
fn within_the_grace_period_the_same_response_comes_back_byte_for_byte() {
    on_both_stores(|h, tokens| {
        let (code, first) = redeemed(h);
        let grant = record(h, &code).id;
        for at in [5_001, 30_000, 64_999] {
            let again = h.poll(&code, at);
            assert_eq!(again.status, 200, "at {at}: {:?}", again.body);
            assert_eq!(
                serde_json::to_vec(&again.body).unwrap(),
                serde_json::to_vec(&first).unwrap(),
                "at {at}"
            );
        }
        assert_eq!(tokens(&grant), ONE_SET_ACTIVE, "no new tokens were minted");
        // And they are the real ones: the refresh token works.
        let rt = first["refresh_token"].as_str().unwrap();
        assert_eq!(h.refresh(rt, 70_000).status, 200);
    });
}

#[test]
fn after_the_grace_period_it_is_a_replay_and_the_tokens_are_revoked() {
    on_both_stores(|h, tokens| {
        let (code, first) = redeemed(h);
        let grant = record(h, &code).id;
        assert_eq!(error(&h.poll(&code, 65_000)), "invalid_grant");
        assert_eq!(tokens(&grant), ONE_SET_REVOKED);
        let rt = first["refresh_token"].as_str().unwrap();
        assert_eq!(error(&h.refresh(rt, 66_000)), "invalid_grant");
        // And it stays a replay.
        assert_eq!(error(&h.poll(&code, 67_000)), "invalid_grant");
    });
}

#[test]
fn after_the_client_refreshed_it_is_a_replay() {
    on_both_stores(|h, tokens| {
        let (code, first) = redeemed(h);
        let grant = record(h, &code).id;
        let rt = first["refresh_token"].as_str().unwrap();
        let refreshed = h.refresh(rt, 6_000);
        assert_eq!(refreshed.status, 200);
        assert_eq!(error(&h.poll(&code, 7_000)), "invalid_grant");
        // The replay revoked the grant, including the tokens of the refresh.
        assert!(tokens(&grant)
            .iter()
            .all(|&(_, s)| s == TokenState::Revoked));
        let rt2 = refreshed.body["refresh_token"].as_str().unwrap();
        assert_eq!(error(&h.refresh(rt2, 8_000)), "invalid_grant");
    });
}

#[test]
fn after_the_grant_was_revoked_it_is_a_replay() {
    on_both_stores(|h, _| {
        let (code, first) = redeemed(h);
        let revoke = Harness::request(&[
            ("client_id", "cli"),
            ("token", first["refresh_token"].as_str().unwrap()),
        ]);
        assert_eq!(h.engine.handle_revocation(&revoke, 6_000).status, 200);
        let r = h.poll(&code, 7_000);
        assert_eq!(error(&r), "invalid_grant");
        assert!(r.body.get("access_token").is_none());
    });
}

#[test]
fn another_client_presenting_the_code_gets_invalid_grant() {
    on_both_stores(|h, tokens| {
        let (code, first) = redeemed(h);
        let grant = record(h, &code).id;
        let req = Harness::request(&[
            ("grant_type", DEVICE_CODE_GRANT),
            ("client_id", "post"),
            ("client_secret", "post-secret"),
            ("device_code", &code),
        ]);
        let r = h.engine.handle_token(&req, 6_000, &mut h.rng);
        assert_eq!(error(&r), "invalid_grant");
        assert!(r.body.get("access_token").is_none());
        assert_eq!(tokens(&grant), ONE_SET_ACTIVE);
        // The client it was issued to still gets its response.
        assert_eq!(h.poll(&code, 7_000).body, first);
    });
}

#[test]
fn the_stored_response_is_sealed_under_the_device_code_not_its_stored_hash() {
    on_both_stores(|h, _| {
        let (code, first) = redeemed(h);
        let d = record(h, &code);
        assert_eq!(d.redeemed_at_ms, Some(5_000));
        let sealed = d.sealed_response.clone().expect("a sealed response");
        let plain = serde_json::to_vec(&first).unwrap();
        assert_eq!(
            sealed.len(),
            12 + plain.len() + 16,
            "nonce ‖ ciphertext ‖ tag"
        );
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        for secret in ["access_token", "refresh_token"] {
            let token = first[secret].as_str().unwrap().as_bytes();
            assert!(!contains(&sealed, token), "{secret} in clear");
            assert!(!contains(&sealed, secret.as_bytes()));
        }
        let debug = format!("{d:?}");
        assert!(
            debug.contains(&format!("<{} bytes>", sealed.len())),
            "{debug}"
        );
        assert!(!debug.contains(&format!("{:?}", &sealed[..12])), "{debug}");

        let (nonce, ciphertext) = sealed.split_at(12);
        let open = |key: [u8; 32]| {
            ChaCha20Poly1305::new(Key::from_slice(&key))
                .decrypt(Nonce::from_slice(nonce), ciphertext)
                .ok()
        };
        // What the database holds (the lookup hash) does not open it; the device code does.
        assert_eq!(open(d.device_code_hash), None);
        let key = Sha256::new()
            .chain_update(b"deviceflow token-response seal v1\0")
            .chain_update(code.as_bytes())
            .finalize()
            .into();
        assert_eq!(open(key), Some(plain));
    });
}

#[test]
fn a_response_lost_just_before_the_code_expires_is_still_answered_again() {
    on_both_stores(|h, tokens| {
        let a = h.authorize(0);
        h.decide(&a.user_code, true, 1_000);
        // Redeemed one second before the 600 s expiry; the retry comes after it.
        let first = h.poll(&a.device_code, 599_000);
        assert_eq!(first.status, 200, "{:?}", first.body);
        let again = h.poll(&a.device_code, 605_000);
        assert_eq!(again.status, 200, "{:?}", again.body);
        assert_eq!(again.body, first.body);
        let grant = record(h, &a.device_code).id;
        assert_eq!(tokens(&grant), ONE_SET_ACTIVE);
        // Past the grace period the expired code answers as before, revoking nothing.
        assert_eq!(error(&h.poll(&a.device_code, 660_000)), "expired_token");
        assert_eq!(tokens(&grant), ONE_SET_ACTIVE);
    });
}
