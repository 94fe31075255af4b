//! Tokens behind an opaque handle: no generated `toString()`, `description` or
//! reflection can print them; each value is reached only through an accessor.

use crate::error::{guard, FlowError};
use deviceflow as core;
use std::sync::Arc;

/// The result of a login or refresh (RFC 6749 §5.1), expiry made absolute.
/// Prints as `TokenSet { access_token: [redacted], ... }`.
#[derive(Clone, PartialEq, uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct TokenSet(pub(crate) core::TokenSet);

#[uniffi::export]
impl TokenSet {
    /// Restores tokens saved with [`TokenSet::to_json`].
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>, FlowError> {
        guard(|| {
            serde_json::from_str(&json)
                .map(|t| Arc::new(TokenSet(t)))
                .map_err(|e| FlowError::new("invalid_config", format!("not a saved TokenSet: {e}")))
        })
    }
    /// The tokens as JSON, for storage. The output is a secret.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }
    pub fn access_token(&self) -> String {
        self.0.access_token.expose().to_owned()
    }
    /// As sent (`Bearer`, `bearer`, `DPoP`); compare case-insensitively.
    pub fn token_type(&self) -> String {
        self.0.token_type.clone()
    }
    pub fn refresh_token(&self) -> Option<String> {
        self.0.refresh_token.as_ref().map(|s| s.expose().to_owned())
    }
    /// The raw OpenID Connect ID token; not verified.
    pub fn id_token(&self) -> Option<String> {
        self.0.id_token.as_ref().map(|s| s.expose().to_owned())
    }
    pub fn scope(&self) -> Option<String> {
        self.0.scope.clone()
    }
    /// Expiry of the access token on the clock the flow was driven with (Unix ms in the drivers).
    pub fn expires_at(&self) -> Option<u64> {
        self.0.expires_at.map(|t| t.0)
    }
    pub fn expires_in(&self) -> Option<u64> {
        self.0.expires_in
    }
    /// Every other field of the token response, as a JSON object.
    pub fn extra_json(&self) -> String {
        core::json::ToJson::to_json(&self.0.extra)
    }
    /// The ID token's claims as JSON, decoded WITHOUT verifying anything: display only.
    pub fn id_token_claims_unverified_json(&self) -> Option<String> {
        self.0
            .id_token_claims_unverified()
            .map(|m| core::json::ToJson::to_json(&m))
    }
    /// True when the access token expires at `now` or within `skew_ms`.
    pub fn needs_refresh(&self, now: u64, skew_ms: u64) -> bool {
        self.0.needs_refresh(core::Timestamp(now), skew_ms)
    }
}

redacted_fmt!(TokenSet, |t, f| std::fmt::Debug::fmt(&t.0, f));
