//! Minting access and refresh tokens (opaque, 256 random bits, or for access tokens a signed JWT
//! by the client's `access_token_format`), stored by SHA-256 only.

use serde_json::{json, Value};

use super::codes::sha256;
use super::random::token;
use super::{
    AccessTokenFormat, Client, Engine, OAuthError, Random, Store, TokenKind, TokenRecord,
    TokenState,
};

/// Tokens ready to store (`records`) and the response body that carries them (`body`).
pub(crate) struct Minted {
    pub records: Vec<TokenRecord>,
    pub body: Value,
}

/// What a new token set is for.
pub(crate) struct GrantInfo<'a> {
    pub grant_id: &'a str,
    pub scope: &'a str,
    pub subject: &'a str,
    pub grant_expires_at_ms: i64,
}

impl<S: Store> Engine<S> {
    pub(crate) fn mint(
        &self,
        client: &Client,
        grant: &GrantInfo<'_>,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> Result<Minted, OAuthError> {
        let cfg = &self.config;
        let record = |kind, secret: &str, expires_at_ms| TokenRecord {
            hash: sha256(secret),
            kind,
            grant_id: grant.grant_id.to_owned(),
            client_id: client.client_id.clone(),
            scope: grant.scope.to_owned(),
            subject: grant.subject.to_owned(),
            issued_at_ms: now_ms,
            expires_at_ms,
            grant_expires_at_ms: grant.grant_expires_at_ms,
            state: TokenState::Active,
        };
        let access_ttl_ms = client
            .access_token_ttl_ms
            .unwrap_or(cfg.access_token_ttl_ms);
        let access_exp = now_ms + access_ttl_ms;
        let access = match client.access_token_format {
            AccessTokenFormat::Opaque => token(rng, 32),
            AccessTokenFormat::Jwt => {
                self.jwt_access_token(client, grant, now_ms, access_exp, rng)?
            }
        };
        let mut records = vec![record(TokenKind::Access, &access, access_exp)];
        let mut body = json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": access_ttl_ms / 1000,
            "scope": grant.scope,
        });
        if client.refresh_tokens {
            let refresh = token(rng, 32);
            let idle_ms = client
                .refresh_token_ttl_ms
                .unwrap_or(cfg.refresh_idle_ttl_ms);
            let refresh_exp = (now_ms + idle_ms).min(grant.grant_expires_at_ms);
            records.push(record(TokenKind::Refresh, &refresh, refresh_exp));
            body["refresh_token"] = json!(refresh);
        }
        Ok(Minted { records, body })
    }
}
