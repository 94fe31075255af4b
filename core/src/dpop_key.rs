//! A software P-256 key for hosts that have no keystore (feature `software-key`,
//! on by default; the wasm build leaves it out: browsers use WebCrypto).

use crate::dpop::PublicJwk;
use crate::error::ConfigError;
use crate::secret::Secret;
use crate::wire::B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use std::fmt;

/// An ES256 signing key held in memory. `Debug` shows only the thumbprint.
#[derive(Clone)]
pub struct SoftwareKey(SigningKey);

impl SoftwareKey {
    /// A key from 32 bytes: fresh random bytes to make a new key, or the bytes
    /// [`SoftwareKey::secret`] returned to load a stored one. The core has no RNG.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfigError> {
        SigningKey::from_slice(bytes)
            .map(SoftwareKey)
            .map_err(|_| ConfigError::new("a P-256 private key is 32 bytes in 1..n-1"))
    }

    /// The private scalar `d`, base64url, for storage next to the tokens it binds.
    pub fn secret(&self) -> Secret {
        Secret::new(B64.encode(self.0.to_bytes()))
    }

    /// A key from [`SoftwareKey::secret`]'s text.
    pub fn from_secret(d: &Secret) -> Result<Self, ConfigError> {
        let bytes = B64
            .decode(d.expose())
            .map_err(|_| ConfigError::new("the stored DPoP key is not base64url"))?;
        SoftwareKey::from_bytes(&bytes)
    }

    pub fn public_jwk(&self) -> PublicJwk {
        let point = self.0.verifying_key().to_sec1_point(false);
        let bytes = point.as_bytes();
        PublicJwk::p256(B64.encode(&bytes[1..33]), B64.encode(&bytes[33..65]))
    }

    /// The ES256 signature of `signing_input`, raw `r||s` (RFC 6979: deterministic).
    pub fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        let sig: Signature = self.0.sign(signing_input);
        sig.to_bytes().to_vec()
    }
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SoftwareKey(jkt {})", self.public_jwk().thumbprint())
    }
}
