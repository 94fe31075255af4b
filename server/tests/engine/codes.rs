//! RFC 8628 §6.1 user codes and §5.2 device codes.

use deviceflow_server::engine::codes::{
    device_code_key, display_user_code, new_device_code, new_user_code, normalize_user_code,
    sha256, ALPHABET,
};
use deviceflow_server::engine::{Entrant, Store};

use super::{Harness, TestRng};

#[test]
fn user_codes_are_8_base20_characters_shown_with_a_dash() {
    let mut h = Harness::new();
    for i in 0..200 {
        // One a second: 60 a minute is what one source may ask for.
        let code = h.authorize(i * 1_000).user_code;
        assert_eq!(code.len(), 9);
        assert_eq!(&code[4..5], "-");
        assert!(
            code.replace('-', "").bytes().all(|b| ALPHABET.contains(&b)),
            "{code}"
        );
    }
}

#[test]
fn alphabet_is_the_rfc_base20_set() {
    assert_eq!(ALPHABET, b"BCDFGHJKLMNPQRSTVWXZ");
}

#[test]
fn input_is_matched_case_and_dash_insensitively() {
    assert_eq!(
        normalize_user_code("wdjb-mjht").as_deref(),
        Some("WDJBMJHT")
    );
    assert_eq!(
        normalize_user_code(" WDJB MJHT ").as_deref(),
        Some("WDJBMJHT")
    );
    assert_eq!(normalize_user_code("wdjbmjht").as_deref(), Some("WDJBMJHT"));
    assert_eq!(
        normalize_user_code("WDJB–MJHT.").as_deref(),
        Some("WDJBMJHT")
    );
    assert_eq!(normalize_user_code("WDJB-MJH"), None);
    assert_eq!(normalize_user_code("WDJB-MJHTX"), None);
    assert_eq!(normalize_user_code(&"B".repeat(10_000)), None);
    assert_eq!(display_user_code("WDJBMJHT"), "WDJB-MJHT");

    let mut h = Harness::new();
    let a = h.authorize(0);
    let typed = a.user_code.to_lowercase().replace('-', " ");
    assert!(h
        .engine
        .handle_user_code(&typed, &Entrant::new("s", "s"), 1)
        .is_ok());
}

#[test]
fn rejection_sampling_discards_biased_bytes() {
    // Bytes 240..=255 would map onto the first 16 letters a second time; they must be skipped.
    let mut calls = 0;
    let mut rng = |buf: &mut [u8]| {
        calls += 1;
        for (i, b) in buf.iter_mut().enumerate() {
            *b = if i % 2 == 0 { 255 } else { (i / 2) as u8 };
        }
    };
    let code = new_user_code(&mut rng);
    assert_eq!(code, "BCDFGHJK");
    assert_eq!(calls, 1);
}

#[test]
fn letters_are_uniform() {
    let mut rng = TestRng(99);
    let mut counts = [0u32; 20];
    for _ in 0..20_000 {
        for b in new_user_code(&mut rng).bytes() {
            counts[ALPHABET.iter().position(|&a| a == b).unwrap()] += 1;
        }
    }
    // 160,000 letters: 8,000 expected each; ±6 % is > 10 standard deviations of slack.
    for c in counts {
        assert!((7_520..=8_480).contains(&c), "{counts:?}");
    }
}

#[test]
fn device_codes_carry_256_bits_and_never_repeat() {
    let mut rng = TestRng(5);
    let mut seen = std::collections::HashSet::new();
    for i in 0..1000 {
        let code = new_device_code(&mut rng, 1_700_000_000_000 + i / 10);
        let (time, secret) = code.split_once('.').unwrap();
        assert_eq!(
            u64::from_str_radix(time, 16).unwrap(),
            1_700_000_000_000 + i as u64 / 10
        );
        assert_eq!(secret.len(), 43, "32 bytes base64url unpadded");
        assert!(secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(seen.insert(code));
    }
}

#[test]
fn device_code_keys_follow_issue_time_and_older_codes_keep_their_hash() {
    let mut rng = TestRng(6);
    let early = new_device_code(&mut rng, 1_700_000_000_000);
    let late = new_device_code(&mut rng, 1_700_000_000_001);
    let (k_early, k_late) = (device_code_key(&early), device_code_key(&late));
    assert!(k_early < k_late, "keys sort by issue time");
    assert_eq!(k_early[..6], 1_700_000_000_000u64.to_be_bytes()[2..]);
    assert_eq!(k_early[6..], sha256(&early)[..26]);
    // A code from before the prefix (plain base64url, which has no dot) is found by its hash.
    let legacy = "x7Rz0Q2mYt4Lw9bC1dF3gH5jK7lN9pR2sT4vW6yZ8aB";
    assert_eq!(device_code_key(legacy), sha256(legacy));
    // Near misses of the prefix are not prefixes: they too are looked up by the plain hash.
    for odd in ["018bcfe56800x.a", "018BCFE56800.a", "18bcfe56800.a", ".a"] {
        assert_eq!(device_code_key(odd), sha256(odd), "{odd}");
    }
}

#[test]
fn authorization_response_always_has_interval_and_expiry() {
    let mut h = Harness::new();
    let b = h.authorize(0).body;
    assert_eq!(b["interval"], 5);
    assert_eq!(b["expires_in"], 600);
    let uri = b["verification_uri"].as_str().unwrap();
    assert_eq!(uri, "http://127.0.0.1:9/device");
    assert_eq!(
        b["verification_uri_complete"].as_str().unwrap(),
        format!("{uri}?user_code={}", b["user_code"].as_str().unwrap())
    );
}

#[test]
fn a_code_issued_before_time_prefixes_is_still_found_and_redeemed() {
    // A login pending across the upgrade: its record is keyed by the plain SHA-256 of a code
    // without the prefix. Polls find it, and after approval it redeems.
    let mut h = Harness::new();
    let a = h.authorize(0);
    let mut old = h.engine.store.devices().pop().unwrap();
    h.decide(&a.user_code, false, 1); // the new-style record leaves the way
    let legacy = "x7Rz0Q2mYt4Lw9bC1dF3gH5jK7lN9pR2sT4vW6yZ8aB";
    old.id = "legacy".into();
    old.device_code_hash = sha256(legacy);
    old.user_code_hash[0] ^= 1;
    h.engine.store.insert_device(&old, &[]).unwrap();
    assert_eq!(h.poll(legacy, 6_000).body["error"], "authorization_pending");
    h.engine
        .handle_decision("legacy", "alice", "198.51.100.7", true, 7_000)
        .unwrap();
    let t = h.poll(legacy, 12_000);
    assert_eq!(t.status, 200, "{}", t.body);
    assert!(t.body["access_token"].is_string());
}
