//! Sealing a token response under a key only the client holds: the device code.
//!
//! The store keeps `codes::device_code_key(device_code)` (SHA-256 based) to find the record; the seal key is SHA-256 over a
//! domain-separation prefix and the device code, a different value that cannot be computed from
//! the stored hash. So the sealed response can be opened by whoever presents the device code,
//! and a leaked database (or backup) does not reveal the tokens in it.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

use super::Random;

const KEY_DOMAIN: &[u8] = b"deviceflow token-response seal v1\0";
const NONCE_BYTES: usize = 12;

fn cipher(device_code: &str) -> ChaCha20Poly1305 {
    let key: [u8; 32] = Sha256::new()
        .chain_update(KEY_DOMAIN)
        .chain_update(device_code.as_bytes())
        .finalize()
        .into();
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// `nonce ‖ ciphertext ‖ tag` of `plaintext`, under the key of `device_code`, with a fresh
/// random nonce.
pub(crate) fn seal(device_code: &str, plaintext: &[u8], rng: &mut dyn Random) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_BYTES];
    rng.fill(&mut nonce);
    let ciphertext = cipher(device_code)
        .encrypt(Nonce::from_slice(&nonce), plaintext)
        .expect("ChaCha20-Poly1305 seals any message shorter than 256 GiB");
    let mut out = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// The plaintext of `sealed`, or `None` if it was not sealed under `device_code` or was altered.
pub(crate) fn open(device_code: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE_BYTES {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
    cipher(device_code)
        .decrypt(Nonce::from_slice(nonce), ciphertext)
        .ok()
}
