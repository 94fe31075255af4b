//! DPoP (RFC 9449) glue: the configuration record, the core's `SoftwareKey`, and the
//! resource-request helper (`Dpop`), each a field-for-field mapping of the core
//! (`core/DPOP.md`). The core builds every proof; the host only signs.

use crate::error::{guard, lock, FlowError};
use crate::types::{Header, HttpResponse};
use deviceflow as core;
use deviceflow::PublicJwk;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The public half of an EC P-256 key as a JWK (RFC 7517): `x` and `y` base64url.
#[uniffi::remote(Record)]
pub struct PublicJwk {
    pub x: String,
    pub y: String,
    #[uniffi(default = "EC")]
    pub kty: String,
    #[uniffi(default = "P-256")]
    pub crv: String,
}

/// Turns DPoP on for one operation (`FlowConfig.dpop`, `RefreshConfig.dpop`,
/// `RevocationConfig.dpop`); the drivers fill it in from a `DpopSigner`.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display, Debug)]
pub struct DpopConfig {
    pub jwk: PublicJwk,
    /// At least 16 fresh random bytes, base64url, new for every operation (each
    /// proof's `jti` is derived from them: the core has no RNG).
    pub entropy: String,
    /// Send a proof with the device authorization request too.
    #[uniffi(default = true)]
    pub device_request: bool,
    /// Latest `DPoP-Nonce` per origin (`https://host[:port]`), e.g. `dpopNonces()` of
    /// an earlier operation.
    #[uniffi(default)]
    pub nonces: HashMap<String, String>,
}

impl From<&DpopConfig> for core::DpopConfig {
    fn from(c: &DpopConfig) -> Self {
        core::DpopConfig {
            jwk: c.jwk.clone(),
            entropy: c.entropy.clone(),
            device_request: c.device_request,
            nonces: c.nonces.clone().into_iter().collect(),
        }
    }
}

pub(crate) fn nonces(dpop: Option<&core::Dpop>) -> HashMap<String, String> {
    dpop.map(|d| d.nonces().clone().into_iter().collect())
        .unwrap_or_default()
}

// The core's Debug shows only the thumbprint, device_request and nonces.
redacted_fmt!(DpopConfig, |c, f| write!(
    f,
    "{:?}",
    core::DpopConfig::from(c)
));

/// An ES256 (P-256) key held in memory, the core's own: for hosts without a keystore.
/// Prints only its thumbprint.
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct SoftwareKey(core::SoftwareKey);

#[uniffi::export]
impl SoftwareKey {
    /// A key from 32 bytes: fresh random bytes (a new key) or a stored key's scalar.
    /// Throws `invalid_config` when they are not a valid P-256 scalar (retry with new bytes).
    #[uniffi::constructor]
    pub fn new(bytes: Vec<u8>) -> Result<Arc<Self>, FlowError> {
        guard(|| {
            Ok(Arc::new(SoftwareKey(core::SoftwareKey::from_bytes(
                &bytes,
            )?)))
        })
    }
    /// A key from the text [`SoftwareKey::secret`] returned.
    #[uniffi::constructor]
    pub fn from_secret(secret: String) -> Result<Arc<Self>, FlowError> {
        guard(|| {
            let key = core::SoftwareKey::from_secret(&core::Secret::new(secret))?;
            Ok(Arc::new(SoftwareKey(key)))
        })
    }
    /// The private scalar, base64url, to store beside the tokens it binds. A secret.
    pub fn secret(&self) -> Result<String, FlowError> {
        guard(|| Ok(self.0.secret().expose().to_owned()))
    }
    pub fn public_jwk(&self) -> Result<PublicJwk, FlowError> {
        guard(|| Ok(self.0.public_jwk()))
    }
    /// The JWK SHA-256 thumbprint (RFC 7638): the `jkt` tokens are bound to.
    pub fn thumbprint(&self) -> Result<String, FlowError> {
        guard(|| Ok(self.0.public_jwk().thumbprint()))
    }
    /// The ES256 signature of `input`, raw `r||s` (64 bytes, RFC 6979 deterministic).
    pub fn sign(&self, input: Vec<u8>) -> Result<Vec<u8>, FlowError> {
        guard(|| Ok(self.0.sign(&input)))
    }
}

redacted_fmt!(SoftwareKey, |k, f| write!(f, "{:?}", k.0));

/// Proofs for requests to resource servers (the core's `Dpop`): the signing input
/// with `ath` and the origin's nonce, then the two headers from its signature.
#[derive(uniffi::Object)]
pub struct Dpop(Mutex<core::Dpop>);

#[uniffi::export]
impl Dpop {
    /// Throws `invalid_config` for a key that is not P-256 or entropy under 16 bytes.
    #[uniffi::constructor]
    pub fn new(config: DpopConfig) -> Result<Arc<Self>, FlowError> {
        guard(|| {
            Ok(Arc::new(Dpop(Mutex::new(core::Dpop::new(
                (&config).into(),
            )?))))
        })
    }
    /// The JWS signing input of a proof for this resource request (sign its UTF-8
    /// bytes). `now` is Unix-epoch milliseconds.
    pub fn resource_input(
        &self,
        method: String,
        url: String,
        access_token: String,
        now: u64,
    ) -> Result<String, FlowError> {
        guard(|| {
            let mut d = lock(&self.0)?;
            Ok(d.resource_input(&method, &url, &access_token, core::Timestamp(now)))
        })
    }
    /// Records the response's `DPoP-Nonce` for the URL's origin; true when it asks
    /// for the request again with a new proof (`use_dpop_nonce`).
    pub fn handle_response(&self, url: String, response: HttpResponse) -> Result<bool, FlowError> {
        guard(|| Ok(lock(&self.0)?.handle_response(&url, &response.into())))
    }
    /// The latest nonce per origin.
    pub fn nonces(&self) -> Result<HashMap<String, String>, FlowError> {
        guard(|| Ok(nonces(Some(&*lock(&self.0)?))))
    }
    /// The key's thumbprint (`jkt`).
    pub fn thumbprint(&self) -> Result<String, FlowError> {
        guard(|| Ok(lock(&self.0)?.thumbprint()))
    }
}

/// `authorization: DPoP <token>` and `dpop: <proof>` from a resource signing input
/// and its ES256 signature (raw `r||s` or DER); `invalid_signature` otherwise.
#[uniffi::export]
pub fn dpop_resource_headers(
    input: String,
    signature: Vec<u8>,
    access_token: String,
) -> Result<Vec<Header>, FlowError> {
    guard(|| {
        let headers = core::Dpop::resource_headers(&input, &signature, &access_token)?;
        Ok(headers
            .into_iter()
            .map(|h| Header {
                name: h.name,
                value: h.value,
            })
            .collect())
    })
}
