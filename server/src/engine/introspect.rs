//! Token introspection (RFC 7662) for resource servers.

use serde_json::{json, Value};

use super::clients::Needs;
use super::codes::sha256;
use super::{ClientRequest, Engine, OAuthError, Response, Store, TokenKind, TokenState};

impl<S: Store> Engine<S> {
    /// `POST /introspect` with `token` (`token_type_hint` is not needed: one hash lookup covers
    /// every kind). The caller must be a confidential client marked `introspection`: a public
    /// client cannot authenticate (`invalid_client`, 401), any other is `unauthorized_client`.
    ///
    /// An active access token, opaque or JWT, gets `active`, `scope`, `client_id`, `sub`,
    /// `token_type` (`Bearer`), `exp`, `iat`, `iss` and `aud` (§2.2). Anything else is
    /// `{"active": false}` and nothing more: unknown, expired, revoked, and refresh tokens, which
    /// no resource server may accept (§4: the answer says whether the token can be used at the
    /// protected resource asking).
    pub fn handle_introspection(&self, req: &ClientRequest, now_ms: i64) -> Response {
        self.introspection(req, now_ms).into()
    }

    fn introspection(&self, req: &ClientRequest, now_ms: i64) -> Result<Value, OAuthError> {
        self.clients.authenticate_for(req, Needs::Introspection)?;
        let token = req.params.require("token")?;
        let record = self.store.token(&sha256(token))?.filter(|t| {
            t.kind == TokenKind::Access && t.state == TokenState::Active && now_ms < t.expires_at_ms
        });
        let Some(t) = record else {
            return Ok(json!({ "active": false }));
        };
        let aud = match self.clients.get(&t.client_id) {
            Some(client) => self.audience(client),
            None => &self.config.issuer,
        };
        Ok(json!({
            "active": true,
            "scope": t.scope,
            "client_id": t.client_id,
            "sub": t.subject,
            "token_type": "Bearer",
            "exp": t.expires_at_ms.div_euclid(1000),
            "iat": t.issued_at_ms.div_euclid(1000),
            "iss": self.config.issuer,
            "aud": aud,
        }))
    }
}
