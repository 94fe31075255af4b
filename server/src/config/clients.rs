//! `[[clients]]`: registered clients, their secrets, scopes, grants and token lifetimes.

use std::collections::BTreeMap;

use toml::Spanned;

use super::check::{check_client_id, check_display_name, check_scope, is_env_name};
use super::schema::{ClientEntry, ClientType, Grant, SecretMethod, TokenFormat};
use super::{ConfigError, Ctx};
use crate::engine::codes::{sha256, Digest32};
use crate::engine::{AccessTokenFormat, AuthMethod, Client};
use crate::http::cors::check_origin;

const SEC: u64 = 1_000;
const MIN: u64 = 60 * SEC;
const DAY: u64 = 24 * 60 * MIN;

pub(super) fn build(
    list: &Spanned<Vec<ClientEntry>>,
    cx: &Ctx,
) -> Result<Vec<Client>, ConfigError> {
    if list.get_ref().is_empty() {
        return Err(cx.invalid("clients", list.span(), "no clients: add at least one [[clients]] table (or leave `clients` out for the default `deviceflow-cli`)"));
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, entry) in list.get_ref().iter().enumerate() {
        let id = entry.id.get_ref();
        if let Some(first) = seen.insert(id, i) {
            return Err(cx.invalid(
                format!("clients[{i}].id"),
                entry.id.span(),
                format!("duplicate client id {id:?} (also clients[{first}].id)"),
            ));
        }
        out.push(client(i, entry, cx)?);
    }
    Ok(out)
}

fn client(i: usize, e: &ClientEntry, cx: &Ctx) -> Result<Client, ConfigError> {
    let key = |k: &str| format!("clients[{i}].{k}");
    let bad = |k: &str, at: std::ops::Range<usize>, why: &str| cx.invalid(key(k), at, why);
    let id = e.id.get_ref();
    check_client_id(id).map_err(|why| bad("id", e.id.span(), why))?;
    let name = match &e.name {
        Some(n) => {
            check_display_name(n.get_ref()).map_err(|why| bad("name", n.span(), why))?;
            n.get_ref().as_str()
        }
        None => id.as_str(),
    };
    let grants = grants(&key("grants"), e, cx)?;
    let scopes = match &e.scopes {
        Some(list) => scopes(&key("scopes"), list, cx, !grants.is_empty())?,
        None if grants.is_empty() => Vec::new(),
        None => {
            return Err(bad(
                "scopes",
                e.id.span(),
                "missing: list the scopes this client may ask for",
            ))
        }
    };
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let mut client = match *e.kind.get_ref() {
        ClientType::Public => {
            for (k, span) in [
                ("secret_env", e.secret_env.as_ref().map(Spanned::span)),
                ("secret_sha256", e.secret_sha256.as_ref().map(Spanned::span)),
                ("auth_method", e.auth_method.as_ref().map(Spanned::span)),
            ] {
                if let Some(span) = span {
                    return Err(bad(k, span, "a public client has no secret: remove this key, or set type = \"confidential\""));
                }
            }
            Client::public(id, name, &scopes)
        }
        ClientType::Confidential => {
            let hash = secret_hash(i, e, cx)?;
            let method = match e.auth_method.as_ref().map(|m| *m.get_ref()) {
                None | Some(SecretMethod::ClientSecretBasic) => AuthMethod::ClientSecretBasic,
                Some(SecretMethod::ClientSecretPost) => AuthMethod::ClientSecretPost,
            };
            Client::confidential_hashed(id, name, method, hash, &scopes)
        }
    };
    client.device_grant = grants.contains(&Grant::DeviceCode);
    client.refresh_tokens = grants.contains(&Grant::RefreshToken);
    tokens(i, e, cx, client)
}

/// `allowed_origins` of each client that has some (client id → origins): exact browser
/// origins, public clients only (a page cannot keep a secret), none twice.
pub(super) fn origins(
    list: &Spanned<Vec<ClientEntry>>,
    cx: &Ctx,
) -> Result<BTreeMap<String, Vec<String>>, ConfigError> {
    let mut out = BTreeMap::new();
    for (i, e) in list.get_ref().iter().enumerate() {
        let Some(origins) = &e.allowed_origins else {
            continue;
        };
        let key = format!("clients[{i}].allowed_origins");
        if *e.kind.get_ref() != ClientType::Public && !origins.get_ref().is_empty() {
            return Err(cx.invalid(
                key,
                origins.span(),
                "only a public client may be called from a browser (a page cannot keep a \
                 client secret): remove this key, or use a public client for the browser app",
            ));
        }
        let mut seen: Vec<String> = Vec::new();
        for (j, o) in origins.get_ref().iter().enumerate() {
            let at = format!("{key}[{j}]");
            check_origin(o.get_ref()).map_err(|why| cx.invalid(&at, o.span(), why))?;
            if seen.contains(o.get_ref()) {
                return Err(cx.invalid(&at, o.span(), "listed twice"));
            }
            seen.push(o.get_ref().clone());
        }
        if !seen.is_empty() {
            out.insert(e.id.get_ref().clone(), seen);
        }
    }
    Ok(out)
}

/// Lifetimes, access token format and audience, and the right to introspect.
fn tokens(i: usize, e: &ClientEntry, cx: &Ctx, client: Client) -> Result<Client, ConfigError> {
    let key = |k: &str| format!("clients[{i}].{k}");
    let bad = |k: &str, at: std::ops::Range<usize>, why: &str| cx.invalid(key(k), at, why);
    let access = e
        .access_token_ttl
        .as_ref()
        .map(|v| cx.secs(&key("access_token_ttl"), v, 10 * SEC, DAY))
        .transpose()?;
    let refresh = match &e.refresh_token_ttl {
        Some(v) if !client.refresh_tokens => {
            return Err(bad(
                "refresh_token_ttl",
                v.span(),
                "this client gets no refresh tokens (its `grants` leave out \"refresh_token\")",
            ));
        }
        Some(v) => Some(cx.dur(&key("refresh_token_ttl"), v, MIN, 365 * DAY)?),
        None => None,
    };
    let mut client =
        client.with_token_ttls(access.map(|s| s as i64 * 1000), refresh.map(|ms| ms as i64));
    if let Some(format) = &e.access_token_format {
        client.access_token_format = match format.get_ref() {
            TokenFormat::Opaque => AccessTokenFormat::Opaque,
            TokenFormat::Jwt => AccessTokenFormat::Jwt,
        };
    }
    if let Some(aud) = &e.audience {
        if aud.get_ref().is_empty() || aud.get_ref().chars().any(|c| c.is_control() || c == ' ') {
            return Err(bad(
                "audience",
                aud.span(),
                "an audience is a non-empty URI or name without spaces",
            ));
        }
        client.audience = Some(aud.get_ref().clone());
    }
    if let Some(flag) = &e.introspection {
        if *flag.get_ref() && client.is_public() {
            return Err(bad(
                "introspection",
                flag.span(),
                "only a confidential client may call /introspect",
            ));
        }
        client.introspection = *flag.get_ref();
    }
    Ok(client)
}

/// `grants` (default both), none twice. No grant at all only for a resource server that calls
/// `/introspect` and nothing else.
fn grants(key: &str, e: &ClientEntry, cx: &Ctx) -> Result<Vec<Grant>, ConfigError> {
    let Some(list) = &e.grants else {
        return Ok(vec![Grant::DeviceCode, Grant::RefreshToken]);
    };
    let mut set = Vec::new();
    for (j, g) in list.get_ref().iter().enumerate() {
        if set.contains(g.get_ref()) {
            return Err(cx.invalid(format!("{key}[{j}]"), g.span(), "listed twice"));
        }
        set.push(*g.get_ref());
    }
    let introspects = e.introspection.as_ref().is_some_and(|f| *f.get_ref());
    if set.is_empty() && !introspects {
        return Err(cx.invalid(
            key,
            list.span(),
            "no grants: list \"device_code\" and/or \"refresh_token\" (or leave `grants` out \
             for both; only a resource server with `introspection = true` has none)",
        ));
    }
    Ok(set)
}

/// Each a valid scope token, none twice; at least one if `required`.
fn scopes(
    key: &str,
    list: &Spanned<Vec<Spanned<String>>>,
    cx: &Ctx,
    required: bool,
) -> Result<Vec<String>, ConfigError> {
    if required && list.get_ref().is_empty() {
        return Err(cx.invalid(key, list.span(), "no scopes: list at least one"));
    }
    let mut out: Vec<String> = Vec::new();
    for (j, s) in list.get_ref().iter().enumerate() {
        let at = format!("{key}[{j}]");
        check_scope(s.get_ref()).map_err(|why| cx.invalid(&at, s.span(), why))?;
        if out.contains(s.get_ref()) {
            return Err(cx.invalid(
                &at,
                s.span(),
                format!("scope {:?} is listed twice", s.get_ref()),
            ));
        }
        out.push(s.get_ref().clone());
    }
    Ok(out)
}

/// Exactly one of `secret_env` (read now, hashed, dropped) and `secret_sha256`.
fn secret_hash(i: usize, e: &ClientEntry, cx: &Ctx) -> Result<Digest32, ConfigError> {
    let key = |k: &str| format!("clients[{i}].{k}");
    match (&e.secret_env, &e.secret_sha256) {
        (None, None) => Err(cx.invalid(key("type"), e.kind.span(), "a confidential client needs `secret_env` (an environment variable holding the secret) or `secret_sha256`")),
        (Some(_), Some(hash)) => Err(cx.invalid(key("secret_sha256"), hash.span(), "give either `secret_env` or `secret_sha256`, not both")),
        (Some(var), None) => {
            let name = var.get_ref();
            if !is_env_name(name) {
                // Not echoed: it may be the secret itself, pasted in the wrong place.
                return Err(cx.invalid(key("secret_env"), var.span(), "not an environment variable name ([A-Za-z_][A-Za-z0-9_]*): give the variable's name, never the secret"));
            }
            match (cx.env)(name) {
                None => Err(cx.invalid(key("secret_env"), var.span(), format!("environment variable {name} is not set"))),
                Some(v) if v.is_empty() => Err(cx.invalid(key("secret_env"), var.span(), format!("environment variable {name} is empty"))),
                Some(secret) => Ok(sha256(&secret)),
            }
        }
        (None, Some(hash)) => {
            let mut digest = [0u8; 32];
            hex::decode_to_slice(hash.get_ref(), &mut digest).map_err(|_| {
                cx.invalid(key("secret_sha256"), hash.span(), "must be 64 hex digits: the SHA-256 of the secret (`printf %s \"$SECRET\" | sha256sum`)")
            })?;
            Ok(digest)
        }
    }
}
