//! The signing keys of JWT access tokens (RFC 9068 §2.1): ES256 (ECDSA on P-256 with SHA-256),
//! made from the host's randomness, kept in the store, rotated by age, and published as a JWK Set
//! (RFC 7517 §5) at `/jwks`.
//!
//! The life of a key, in the host's time (ms):
//! * the newest generation signs. Once it is `signing_key_rotation_ms` old, the next generation is
//!   made: by [`Engine::handle_key_rotation`] (the server calls it every minute), or by the next
//!   token minted if that has not run yet, so no token is ever signed by an overdue key;
//! * a superseded key stays published until its **retirement**: its successor's creation time plus
//!   the longest access token lifetime of any client, since no token it signed outlives that. Then
//!   it leaves the JWK Set and the store.
//!
//! Several processes on one store: a generation can be inserted once (the first process wins), and
//! every process reads the keys from the store when it signs or publishes, so all of them sign
//! with the same key and publish the same set.

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::pkcs8::EncodePrivateKey;
use serde_json::json;

use super::{Engine, OAuthError, Random, Response, SigningKeyRecord, Store, StoreError};

/// The JWS algorithm of every access token: ECDSA P-256 SHA-256 (deterministic nonces, RFC 6979,
/// so signing needs no randomness).
pub(crate) const ALGORITHM: Algorithm = Algorithm::ES256;

/// What [`Engine::handle_key_rotation`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRotation {
    /// The `kid` of the key that signs from now on.
    pub signing_kid: String,
    /// Whether this call made that key (the first key, or a rotation).
    pub created: bool,
    /// The `kid`s of keys this call deleted: superseded, and every token they signed has expired.
    pub dropped: Vec<String>,
}

impl<S: Store> Engine<S> {
    /// Makes the first signing key, makes the next one once the signing key is
    /// `signing_key_rotation_ms` old, and deletes retired keys. Call it at start and then
    /// periodically (the server: every minute).
    pub fn handle_key_rotation(
        &self,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> Result<KeyRotation, StoreError> {
        let (signing, created) = self.current_key(now_ms, rng)?;
        let keys = self.store.signing_keys()?;
        let mut dropped = Vec::new();
        for (key, retires_at) in self.retirements(&keys) {
            if retires_at.is_some_and(|at| now_ms >= at) {
                self.store.delete_signing_key(key.generation)?;
                dropped.push(key.kid.clone());
            }
        }
        Ok(KeyRotation {
            signing_kid: signing.kid,
            created,
            dropped,
        })
    }

    /// `GET /jwks`: the public keys (RFC 7517 §5) of the signing key and of the superseded keys
    /// not yet retired at `now_ms`, each with its `kid`, `use: sig` and `alg: ES256`. Never a
    /// private part.
    pub fn handle_jwks(&self, now_ms: i64) -> Response {
        let published = || -> Result<JwkSet, StoreError> {
            let keys = self.store.signing_keys()?;
            let jwks = self
                .retirements(&keys)
                .filter(|(_, retires_at)| retires_at.is_none_or(|at| now_ms < at))
                .map(|(key, _)| public_jwk(key))
                .collect::<Result<_, _>>()?;
            Ok(JwkSet { keys: jwks })
        };
        match published() {
            Ok(set) => Response {
                status: 200,
                body: json!(set),
                retry_after_s: None,
            },
            Err(e) => OAuthError::from(e).into_response(),
        }
    }

    /// The key to sign with at `now_ms`: the newest, after making the next one if there is none
    /// yet or the newest is due for rotation.
    pub(crate) fn signing_key(
        &self,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> Result<SigningKeyRecord, StoreError> {
        self.current_key(now_ms, rng).map(|(key, _)| key)
    }

    /// The signing key and whether this call made it.
    fn current_key(
        &self,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> Result<(SigningKeyRecord, bool), StoreError> {
        let keys = self.store.signing_keys()?;
        let newest = keys.last();
        if let Some(key) = newest {
            if now_ms < key.created_at_ms + self.config.signing_key_rotation_ms {
                return Ok((key.clone(), false));
            }
        }
        let generation = newest.map_or(0, |k| k.generation + 1);
        let fresh = new_key(generation, now_ms, rng)?;
        if self.store.insert_signing_key(&fresh)? {
            return Ok((fresh, true));
        }
        // Another process made this generation first: its key stands.
        let winner = self.store.signing_keys()?.pop();
        winner
            .map(|k| (k, false))
            .ok_or_else(|| StoreError("the signing key vanished".into()))
    }

    /// Each key (oldest first) with its retirement time; `None` for the signing key.
    fn retirements<'k>(
        &self,
        keys: &'k [SigningKeyRecord],
    ) -> impl Iterator<Item = (&'k SigningKeyRecord, Option<i64>)> {
        let lifetime = self.longest_access_token_ms();
        keys.iter().enumerate().map(move |(i, key)| {
            let successor = keys.get(i + 1);
            (key, successor.map(|s| s.created_at_ms + lifetime))
        })
    }

    /// The longest access token lifetime any client gets: no token outlives it.
    fn longest_access_token_ms(&self) -> i64 {
        self.clients
            .iter()
            .filter_map(|c| c.access_token_ttl_ms)
            .fold(self.config.access_token_ttl_ms, i64::max)
    }
}

/// A new P-256 key from the host's randomness: 32 bytes, drawn again in the (2^-32) case that
/// they are not a valid scalar (zero or not below the group order).
fn new_key(
    generation: i64,
    now_ms: i64,
    rng: &mut dyn Random,
) -> Result<SigningKeyRecord, StoreError> {
    let secret = loop {
        let mut bytes = [0u8; 32];
        rng.fill(&mut bytes);
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
            break secret;
        }
    };
    let der = secret
        .to_pkcs8_der()
        .map_err(|e| StoreError(format!("encoding a signing key: {e}")))?;
    let mut key = SigningKeyRecord {
        generation,
        kid: String::new(),
        created_at_ms: now_ms,
        private_key: der.as_bytes().to_vec(),
    };
    key.kid = public_jwk(&key)?
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| StoreError(format!("signing key thumbprint: {e}")))?;
    Ok(key)
}

/// The public JWK of a stored key (RFC 7518 §6.2.1: `kty`, `crv`, `x`, `y`), with its `kid`,
/// `use` and `alg`.
fn public_jwk(key: &SigningKeyRecord) -> Result<Jwk, StoreError> {
    let mut jwk = Jwk::from_encoding_key(&encoding_key(key), ALGORITHM)
        .map_err(|e| StoreError(format!("signing key {}: {e}", key.generation)))?;
    jwk.common.key_id = (!key.kid.is_empty()).then(|| key.kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok(jwk)
}

/// The key in the form the JOSE library signs with.
pub(crate) fn encoding_key(key: &SigningKeyRecord) -> EncodingKey {
    EncodingKey::from_ec_der(&key.private_key)
}
