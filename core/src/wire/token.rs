//! Successful token responses (RFC 6749 §5.1).

use super::fields::{opt_seconds_ms, opt_str, req_str, Object};
use crate::http::Timestamp;
use crate::secret::Secret;
use crate::tokens::TokenSet;

/// The `token_type`s a token response may carry (RFC 6749 §7.1): `Bearer` always,
/// `DPoP` when the request carried a DPoP proof (RFC 9449 §5: the server may still
/// answer `Bearer`), and whatever else the host says it can use. Any other type is
/// refused: a host handed such a token would send it as a bearer token.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TokenTypes<'a> {
    /// True when the token request was DPoP-bound.
    pub dpop: bool,
    /// The host's extra types (`extra_token_types`), compared case-insensitively.
    pub extra: &'a [String],
}

impl TokenTypes<'_> {
    pub fn accepts(&self, token_type: &str) -> bool {
        token_type.eq_ignore_ascii_case("bearer")
            || (self.dpop && token_type.eq_ignore_ascii_case("dpop"))
            || self
                .extra
                .iter()
                .any(|t| t.eq_ignore_ascii_case(token_type))
    }
}

/// Parses a token response. `access_token` and `token_type` are required, and the
/// type must be one `accepted` lists; `expires_in` (number or numeric string)
/// becomes an absolute `expires_at`.
pub(crate) fn parse_tokens(
    mut obj: Object,
    now: Timestamp,
    accepted: TokenTypes<'_>,
) -> Result<TokenSet, String> {
    let access_token = Secret::new(req_str(&obj, "access_token")?);
    let token_type = req_str(&obj, "token_type")?;
    if token_type.len() > 64 || !token_type.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("token_type is not a short printable word".into());
    }
    if !accepted.accepts(token_type) {
        return Err(format!(
            "token_type \"{token_type}\" is not one this client can use \
             (Bearer{}; list others in extra_token_types)",
            if accepted.dpop { ", DPoP" } else { "" }
        ));
    }
    let token_type = token_type.to_owned();
    let expires_in_ms = opt_seconds_ms(&obj, "expires_in")?;
    let refresh_token = opt_str(&obj, "refresh_token")?
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let scope = opt_str(&obj, "scope")?.map(str::to_owned);
    let id_token = opt_str(&obj, "id_token")?
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    for key in [
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
        "id_token",
    ] {
        obj.remove(key);
    }
    Ok(TokenSet {
        access_token,
        token_type,
        expires_at: expires_in_ms.map(|ms| now.plus(ms)),
        expires_in: expires_in_ms.map(|ms| ms / 1000),
        refresh_token,
        scope,
        id_token,
        extra: obj.dedup(),
    })
}
