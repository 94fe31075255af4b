//! The result of a login or refresh (RFC 6749 §5.1).

use crate::http::Timestamp;
use crate::json::{Object, Value};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Tokens from the token endpoint, with the expiry made absolute.
///
/// `Debug` redacts every token. Serialising (serde) writes them out: that is the
/// explicit form for storage, so treat the output as a secret.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenSet {
    pub access_token: Secret,
    /// As sent by the server (`Bearer`, `bearer`, `DPoP`, ...); compare case-insensitively.
    pub token_type: String,
    /// When the access token expires, on the caller's clock, if the server said.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// The server's `expires_in`, in seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<Secret>,
    #[serde(default)]
    pub scope: Option<String>,
    /// The raw OpenID Connect ID token. Not verified by this crate.
    #[serde(default)]
    pub id_token: Option<Secret>,
    /// Every other field of the response, untouched.
    #[serde(default)]
    pub extra: Object,
}

impl TokenSet {
    /// True when the access token has expired at `now`, or will within `skew_ms`.
    /// A token without a known expiry never needs a refresh by this rule.
    pub fn needs_refresh(&self, now: Timestamp, skew_ms: u64) -> bool {
        self.expires_at.is_some_and(|at| now.plus(skew_ms) >= at)
    }

    /// True when the access token's known expiry has passed.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.needs_refresh(now, 0)
    }

    /// The claims of the ID token, decoded WITHOUT verifying its signature,
    /// issuer, audience or expiry. Use only for display ("signed in as ...").
    pub fn id_token_claims_unverified(&self) -> Option<Object> {
        let payload = self.id_token.as_ref()?.expose().split('.').nth(1)?;
        let bytes = crate::wire::B64
            .decode(payload.trim_end_matches('='))
            .ok()?;
        match crate::json::parse(std::str::from_utf8(&bytes).ok()?).ok()? {
            Value::Object(map) => Some(map.dedup()),
            _ => None,
        }
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("scope", &self.scope)
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}
