//! User codes (RFC 8628 §6.1) and device codes (§5.2), and the hashes that are all we store.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::random::{self, Random};

/// The base-20 alphabet of RFC 8628 §6.1: no vowels (no accidental words), no digits.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// Significant characters in a user code: 20^8 ≈ 2^34.6.
pub const USER_CODE_LEN: usize = 8;
/// Random bytes in a device code (256 bits; §5.2 asks for "very high entropy").
pub const DEVICE_CODE_BYTES: usize = 32;

/// A SHA-256 or HMAC-SHA-256 digest: how codes and tokens are looked up in the store.
pub type Digest32 = [u8; 32];

/// A new user code in its normalised form (8 alphabet characters, no dash).
///
/// Rejection sampling: bytes ≥ 240 are redrawn, so every letter has probability exactly 1/20
/// (`byte % 20` on all 256 values would favour the first 16 letters).
pub fn new_user_code(rng: &mut dyn Random) -> String {
    let mut out = String::with_capacity(USER_CODE_LEN);
    let mut buf = [0u8; 16];
    while out.len() < USER_CODE_LEN {
        rng.fill(&mut buf);
        for &b in &buf {
            if b < 240 && out.len() < USER_CODE_LEN {
                out.push(ALPHABET[(b % 20) as usize] as char);
            }
        }
    }
    out
}

/// A new device code: its creation time in ms (12 hex digits) and a dot, then 256 random bits
/// (base64url). The time only orders the store's key ([`device_code_key`]); the secret is the
/// random part.
pub fn new_device_code(rng: &mut dyn Random, now_ms: i64) -> String {
    format!(
        "{:012x}.{}",
        now_ms.max(0),
        random::token(rng, DEVICE_CODE_BYTES)
    )
}

/// The key the store finds a device code by. For a time-prefixed code: the creation time's
/// 6 bytes, then the first 26 bytes of SHA-256 of the whole code, so keys of new codes land at
/// the end of the store's unique index instead of on a random leaf in every commit (one page
/// fewer to write per device authorization). Codes without the prefix, issued before it
/// existed and still pending across an upgrade, keep their key: the whole SHA-256. 208 bits of
/// digest still cannot be inverted or collided, and the key, like the hash before it, is not
/// the seal key (`seal.rs`).
pub fn device_code_key(code: &str) -> Digest32 {
    let digest = sha256(code);
    let Some(ms) = time_prefix(code) else {
        return digest;
    };
    let mut key = [0u8; 32];
    key[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    key[6..].copy_from_slice(&digest[..26]);
    key
}

/// The milliseconds of a `new_device_code` prefix: exactly 12 lowercase hex digits and a dot.
fn time_prefix(code: &str) -> Option<u64> {
    let (hex, _) = code.split_once('.')?;
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if hex.len() != 12 || !hex.bytes().all(lower_hex) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// What the user typed → the stored form: upper-cased, everything outside the alphabet dropped
/// (dashes, spaces, stray punctuation), as RFC 8628 §6.1 recommends. `None` if the result is not
/// exactly 8 characters, so garbage never reaches the store.
pub fn normalize_user_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input
        .chars()
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| c.is_ascii() && ALPHABET.contains(&(*c as u8)))
        .collect();
    (code.len() == USER_CODE_LEN).then_some(code)
}

/// The display form `XXXX-XXXX` of a normalised user code.
pub fn display_user_code(normalised: &str) -> String {
    let (a, b) = normalised.split_at(normalised.len().min(4));
    format!("{a}-{b}")
}

/// SHA-256, for high-entropy secrets (device codes, tokens, client secrets).
pub fn sha256(secret: &str) -> Digest32 {
    Sha256::digest(secret.as_bytes()).into()
}

/// Keyed HMAC-SHA-256 for user codes: 34.6 bits could be brute-forced from a plain hash if the
/// database leaked, but not without the key.
pub fn user_code_hmac(key: &[u8; 32], normalised: &str) -> Digest32 {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(normalised.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Equality that takes the same time wherever the first difference is.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
