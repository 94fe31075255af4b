//! The refresh token grant with rotation and reuse detection (RFC 6749 §6; RFC 9700 §4.14.2).

use serde_json::Value;

use super::audit::{Event, Kind};
use super::clients::Needs;
use super::codes::sha256;
use super::mint::GrantInfo;
use super::{ClientRequest, Engine, OAuthError, Random, Store, TokenKind, TokenRecord, TokenState};

impl<S: Store> Engine<S> {
    pub(crate) fn refresh_grant(
        &self,
        req: &ClientRequest,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> Result<Value, OAuthError> {
        let client = self.clients.authenticate_for(req, Needs::RefreshTokens)?;
        let presented = req.params.require("refresh_token")?;
        let invalid = || OAuthError::invalid_grant("refresh token is invalid, expired or revoked");
        let Some(old) = self.store.token(&sha256(presented))? else {
            return Err(invalid());
        };
        if old.kind != TokenKind::Refresh || old.client_id != client.client_id {
            return Err(invalid());
        }
        match old.state {
            TokenState::Revoked => return Err(invalid()),
            TokenState::Rotated => {
                // Someone holds an old copy: the legitimate holder or an attacker, we can't tell.
                self.store.revoke_grant(&old.grant_id)?;
                audit(
                    Kind::ReuseDetected,
                    &old,
                    &req.source,
                    now_ms,
                    "rotated refresh token",
                );
                return Err(invalid());
            }
            TokenState::Active => {}
        }
        if now_ms >= old.expires_at_ms {
            return Err(invalid());
        }
        let scope = match req.params.get("scope") {
            None => old.scope.clone(),
            Some(narrower) => {
                let had: Vec<&str> = old.scope.split(' ').collect();
                if narrower
                    .split(' ')
                    .any(|s| !s.is_empty() && !had.contains(&s))
                {
                    return Err(OAuthError::invalid_scope(
                        "a refresh may only narrow the scope",
                    ));
                }
                narrower
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        let grant = GrantInfo {
            grant_id: &old.grant_id,
            scope: &scope,
            subject: &old.subject,
            grant_expires_at_ms: old.grant_expires_at_ms,
        };
        let minted = self.mint(client, &grant, now_ms, rng)?;
        if self.store.rotate(&old.hash, &minted.records)? {
            audit(Kind::Refresh, &old, &req.source, now_ms, &scope);
            Ok(minted.body)
        } else {
            // Rotated by a concurrent request with the same token: treat as reuse.
            self.store.revoke_grant(&old.grant_id)?;
            audit(
                Kind::ReuseDetected,
                &old,
                &req.source,
                now_ms,
                "concurrent refresh",
            );
            Err(invalid())
        }
    }
}

fn audit(kind: Kind, old: &TokenRecord, source: &str, now_ms: i64, detail: &str) {
    Event {
        kind,
        at_ms: now_ms,
        client_id: &old.client_id,
        grant: &old.grant_id,
        subject: &old.subject,
        source,
        detail,
    }
    .emit();
}
