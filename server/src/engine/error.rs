//! OAuth error responses (RFC 6749 §5.2) and the RFC 8628 §3.5 polling errors.

use serde_json::json;

/// An error answered as `{"error": …, "error_description": …}` with HTTP 400 (401 for
/// `invalid_client`, RFC 6749 §5.2), or a rate limit: HTTP 429 with `Retry-After` and no `error`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
    pub status: u16,
    /// Only on `slow_down`: the interval the client should now use, in seconds (a GitHub
    /// extension that some clients read; RFC 8628 clients add 5 s anyway).
    pub interval: Option<u64>,
    /// Only on a rate limit (HTTP 429): the host sends it as `Retry-After` (seconds).
    pub retry_after_s: Option<u64>,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        let status = if code == "invalid_client" { 401 } else { 400 };
        OAuthError {
            code,
            description: description.into(),
            status,
            interval: None,
            retry_after_s: None,
        }
    }

    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new("unauthorized_client", d)
    }
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_grant_type", d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", d)
    }
    pub fn unsupported_token_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_token_type", d)
    }
    pub fn server_error(d: impl Into<String>) -> Self {
        let mut e = Self::new("server_error", d);
        e.status = 500;
        e
    }
    pub fn authorization_pending() -> Self {
        Self::new("authorization_pending", "the user has not yet approved")
    }
    pub fn slow_down(interval_s: u64) -> Self {
        let mut e = Self::new("slow_down", "polling too fast");
        e.interval = Some(interval_s);
        e
    }
    pub fn access_denied() -> Self {
        Self::new("access_denied", "the user denied the request")
    }
    pub fn expired_token() -> Self {
        Self::new("expired_token", "the device code has expired")
    }
    /// HTTP 429 with `Retry-After: retry_after_s`. Its body has no `error` member: RFC 6749 has no
    /// code for it, and a client (ours included) reads a 429 without one as transient and
    /// retries after the delay, while an OAuth `error` would end its login. `code` is
    /// `rate_limited` for logs only.
    pub fn rate_limited(retry_after_s: u64, d: impl Into<String>) -> Self {
        let mut e = Self::new("rate_limited", d);
        e.status = 429;
        e.retry_after_s = Some(retry_after_s);
        e
    }

    pub fn into_response(self) -> super::Response {
        Err(self).into()
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        if self.status == 429 {
            return json!({ "error_description": self.description });
        }
        let mut body = json!({ "error": self.code, "error_description": self.description });
        if let Some(i) = self.interval {
            body["interval"] = json!(i);
        }
        body
    }
}

impl From<super::store::StoreError> for OAuthError {
    fn from(e: super::store::StoreError) -> Self {
        OAuthError::server_error(format!("storage: {e}"))
    }
}
