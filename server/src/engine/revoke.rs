//! Token revocation (RFC 7009).

use serde_json::{json, Value};

use super::audit::{Event, Kind};
use super::clients::Needs;
use super::codes::sha256;
use super::{ClientRequest, Engine, OAuthError, Response, Store, TokenKind};

impl<S: Store> Engine<S> {
    /// `POST /revoke`. Unknown tokens, and tokens of other clients, get 200 too (§2.2): the
    /// answer never tells whether a token exists. Revoking a refresh token revokes its whole
    /// grant, access tokens included (§2.1).
    pub fn handle_revocation(&self, req: &ClientRequest, now_ms: i64) -> Response {
        self.revocation(req, now_ms).into()
    }

    fn revocation(&self, req: &ClientRequest, now_ms: i64) -> Result<Value, OAuthError> {
        let client = self.clients.authenticate_for(req, Needs::Nothing)?;
        let token = req.params.require("token")?;
        // `token_type_hint` only speeds up a search; one hash lookup covers both kinds anyway.
        if let Some(record) = self.store.token(&sha256(token))? {
            if record.client_id == client.client_id {
                let detail = match record.kind {
                    TokenKind::Refresh => {
                        self.store.revoke_grant(&record.grant_id)?;
                        "refresh token and its grant"
                    }
                    TokenKind::Access => {
                        self.store.revoke_token(&record.hash)?;
                        "access token"
                    }
                };
                Event {
                    kind: Kind::Revocation,
                    at_ms: now_ms,
                    client_id: &record.client_id,
                    grant: &record.grant_id,
                    subject: &record.subject,
                    source: &req.source,
                    detail,
                }
                .emit();
            }
        }
        Ok(json!({}))
    }
}
