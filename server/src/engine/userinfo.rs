//! A minimal userinfo endpoint (OpenID Connect Core §5.3): who approved, so a device can show
//! "signed in as …" (RFC 8628 §5.1, §5.5: a hijacked link is then noticeable).

use serde_json::json;

use super::codes::sha256;
use super::{Engine, Response, Store, TokenKind, TokenState};

impl<S: Store> Engine<S> {
    /// `GET /userinfo` with `Authorization: Bearer <access token>`: `{"sub": …}`, or 401
    /// `invalid_token` (RFC 6750 §3.1) for a missing, unknown, expired or revoked token.
    pub fn handle_userinfo(&self, authorization: Option<&str>, now_ms: i64) -> Response {
        let invalid = Response {
            status: 401,
            body: json!({ "error": "invalid_token", "error_description": "the access token is invalid" }),
            retry_after_s: None,
        };
        let Some(token) = authorization
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
        else {
            return invalid;
        };
        match self.store.token(&sha256(token)) {
            Ok(Some(t))
                if t.kind == TokenKind::Access
                    && t.state == TokenState::Active
                    && now_ms < t.expires_at_ms =>
            {
                Response {
                    status: 200,
                    body: json!({ "sub": t.subject }),
                    retry_after_s: None,
                }
            }
            Ok(_) => invalid,
            Err(e) => super::OAuthError::from(e).into_response(),
        }
    }
}
