//! JWT access tokens (RFC 9068): signed with the current key of `keys.rs` (ES256), header
//! `typ: at+jwt` and `kid`, claims `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`, `scope`.
//!
//! A JWT access token is stored like an opaque one, by the SHA-256 of its whole string, so
//! revocation, reuse detection, `/introspect` and `/userinfo` treat both forms alike. A resource
//! server that only checks the signature cannot see a revocation: the token stays valid to it
//! until `exp`, which is why access tokens are short-lived and `/introspect` exists.

use jsonwebtoken::Header;
use serde::Serialize;

use super::keys::{encoding_key, ALGORITHM};
use super::mint::GrantInfo;
use super::random::token;
use super::{Client, Engine, OAuthError, Random, Store};

/// RFC 9068 §2.2. Times in seconds since the epoch.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    exp: i64,
    aud: &'a str,
    sub: &'a str,
    client_id: &'a str,
    iat: i64,
    jti: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
}

impl<S: Store> Engine<S> {
    /// The `aud` of `client`'s access tokens: its configured audience, else the issuer.
    pub(crate) fn audience<'a>(&'a self, client: &'a Client) -> &'a str {
        client.audience.as_deref().unwrap_or(&self.config.issuer)
    }

    /// A signed JWT access token for `grant`, issued at `now_ms`, expiring at `expires_at_ms`.
    pub(crate) fn jwt_access_token(
        &self,
        client: &Client,
        grant: &GrantInfo<'_>,
        now_ms: i64,
        expires_at_ms: i64,
        rng: &mut dyn Random,
    ) -> Result<String, OAuthError> {
        let key = self.signing_key(now_ms, rng)?;
        let jti = token(rng, 16);
        let mut header = Header::new(ALGORITHM);
        header.typ = Some("at+jwt".into());
        header.kid = Some(key.kid.clone());
        let claims = Claims {
            iss: &self.config.issuer,
            exp: expires_at_ms.div_euclid(1000),
            aud: self.audience(client),
            sub: grant.subject,
            client_id: &client.client_id,
            iat: now_ms.div_euclid(1000),
            jti: &jti,
            scope: grant.scope,
        };
        jsonwebtoken::encode(&header, &claims, &encoding_key(&key))
            .map_err(|e| OAuthError::server_error(format!("signing an access token: {e}")))
    }
}
