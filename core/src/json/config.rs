//! The configuration documents of `tests/vectors/README.md` read from a [`Value`], for hosts
//! that cross a boundary as JSON text (the WebAssembly binding). The serde derives on
//! [`Config`] and the others read the same documents for Rust users; they are not used here
//! because their generic code (`#[serde(flatten)]`, an untagged enum) was most of the wasm.
//! Same shape and rules as the derives: unknown keys ignored, `null` means absent for
//! optional fields, wrong types are errors (`core/tests/vectors.rs` checks
//! that both readers agree on every vector).

use super::{Object, ToJson, Value};
use crate::config::{Client, ClientAuth, Config, Param, Timing};
use crate::dpop::{DpopConfig, PublicJwk};
use crate::nonces::Nonces;
use crate::refresh::RefreshConfig;
use crate::revocation::{RevocationConfig, TokenTypeHint};
use crate::secret::Secret;

type Read<T> = Result<T, String>;

/// The document as an object (`what` names it in the error).
pub fn object<'a>(v: &'a Value, what: &str) -> Read<&'a Object> {
    v.as_object()
        .ok_or_else(|| format!("{what} must be an object"))
}

/// `key`'s value, `None` when absent or `null`.
fn get<'a>(o: &'a Object, key: &str) -> Option<&'a Value> {
    o.get(key).filter(|v| !matches!(v, Value::Null))
}

fn opt_string(o: &Object, key: &str) -> Read<Option<String>> {
    match get(o, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

fn string(o: &Object, key: &str) -> Read<String> {
    opt_string(o, key)?.ok_or_else(|| format!("missing field `{key}`"))
}

/// An optional string that must be one of `names` (the index is returned).
fn one_of(o: &Object, key: &str, names: &[&str]) -> Read<Option<usize>> {
    let Some(s) = opt_string(o, key)? else {
        return Ok(None);
    };
    let found = names.iter().position(|n| *n == s);
    found
        .map(Some)
        .ok_or_else(|| format!("unknown {key} \"{s}\""))
}

fn client(o: &Object) -> Read<Client> {
    const AUTH: [ClientAuth; 3] = [
        ClientAuth::None,
        ClientAuth::ClientSecretBasic,
        ClientAuth::ClientSecretPost,
    ];
    let client_auth = one_of(o, "client_auth", &AUTH.map(ClientAuth::as_str))?.map(|i| AUTH[i]);
    Ok(Client {
        client_id: string(o, "client_id")?,
        client_secret: opt_string(o, "client_secret")?.map(Secret::new),
        client_auth,
    })
}

fn timing(o: &Object) -> Read<Timing> {
    let mut t = Timing::default();
    let Some(v) = o.get("timing") else {
        return Ok(t);
    };
    for (key, value) in object(v, "timing")? {
        let n = value
            .as_u64()
            .ok_or_else(|| format!("timing.{key} must be a non-negative integer"));
        let small = |n: u64| u32::try_from(n).map_err(|_| format!("timing.{key} is too large"));
        match key.as_str() {
            "default_interval_ms" => t.default_interval_ms = n?,
            "margin_ms" => t.margin_ms = n?,
            "max_backoff_ms" => t.max_backoff_ms = n?,
            "max_transient_failures" => t.max_transient_failures = small(n?)?,
            "retry_base_ms" => t.retry_base_ms = n?,
            "request_retries" => t.request_retries = small(n?)?,
            "request_budget_ms" => t.request_budget_ms = n?,
            "max_interval_s" => t.max_interval_s = n?,
            "max_expires_in_s" => t.max_expires_in_s = n?,
            "max_retry_after_s" => t.max_retry_after_s = n?,
            "max_body_bytes" => t.max_body_bytes = usize::try_from(n?).unwrap_or(usize::MAX),
            _ => {}
        }
    }
    Ok(t)
}

/// `params`: `{name: value}` (non-string values as JSON text), `[{name, value}]` or `[[name, value]]`.
fn params(o: &Object) -> Read<Vec<Param>> {
    let param = |name: &str, value: String| Param {
        name: name.to_owned(),
        value,
    };
    match o.get("params") {
        None => Ok(Vec::new()),
        Some(Value::Object(m)) => Ok(m
            .iter()
            .map(|(k, v)| param(k, v.as_str().map_or_else(|| v.to_json(), str::to_owned)))
            .collect()),
        Some(Value::Array(items)) => {
            // Loops rather than `collect` into a `Result` (here and below): less wasm.
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match item {
                    Value::Object(p) => param(&string(p, "name")?, string(p, "value")?),
                    Value::Array(pair) => match pair.as_slice() {
                        [Value::String(n), Value::String(v)] => param(n, v.clone()),
                        _ => return Err("params pairs must be [name, value] strings".to_owned()),
                    },
                    _ => {
                        return Err("params items must be {name, value} or [name, value]".to_owned())
                    }
                });
            }
            Ok(out)
        }
        Some(_) => Err("params must be an object or an array".to_owned()),
    }
}

/// A device flow's [`Config`].
pub fn device_flow(v: &Value) -> Read<Config> {
    let o = object(v, "the configuration")?;
    Ok(Config {
        client: client(o)?,
        issuer: opt_string(o, "issuer")?,
        device_authorization_endpoint: opt_string(o, "device_authorization_endpoint")?,
        token_endpoint: opt_string(o, "token_endpoint")?,
        scope: opt_string(o, "scope")?,
        params: params(o)?,
        timing: timing(o)?,
        extra_token_types: extra_token_types(o)?,
        dpop: dpop(o)?,
    })
}

/// `dpop`: the core's `DpopConfig` (`jwk` `{kty, crv, x, y}`, `entropy`, `device_request`
/// default true, `nonces` `{origin: nonce}`); absent or `null` means DPoP off.
pub fn dpop(o: &Object) -> Read<Option<DpopConfig>> {
    let Some(d) = get(o, "dpop") else {
        return Ok(None);
    };
    let d = object(d, "dpop")?;
    let jwk = object(d.get("jwk").ok_or("missing field `dpop.jwk`")?, "dpop.jwk")?;
    let coord = |key: &str| string(jwk, key).map_err(|e| format!("dpop.jwk: {e}"));
    let mut key = PublicJwk::p256(coord("x")?, coord("y")?);
    if let Some(kty) = opt_string(jwk, "kty")? {
        key.kty = kty;
    }
    if let Some(crv) = opt_string(jwk, "crv")? {
        key.crv = crv;
    }
    let mut config = DpopConfig::new(key, string(d, "entropy")?);
    match get(d, "device_request") {
        None => {}
        Some(Value::Bool(b)) => config.device_request = *b,
        Some(_) => return Err("dpop.device_request must be a boolean".to_owned()),
    }
    config.nonces = nonces(d.get("nonces"))?;
    Ok(Some(config))
}

/// `{origin: nonce}` (strings), as [`Dpop::nonces`](crate::Dpop::nonces) hands it out.
pub fn nonces(v: Option<&Value>) -> Read<Nonces> {
    let Some(v) = v.filter(|v| !matches!(v, Value::Null)) else {
        return Ok(Nonces::new());
    };
    // The last of duplicate keys wins, as with a map.
    let mut nonces = Nonces::new();
    for (origin, v) in object(v, "dpop.nonces")?.iter() {
        let Value::String(n) = v else {
            return Err("dpop.nonces values must be strings".to_owned());
        };
        nonces.insert(origin.clone(), n.clone());
    }
    Ok(nonces)
}

/// `extra_token_types`: an array of strings.
pub fn extra_token_types(o: &Object) -> Read<Vec<String>> {
    match get(o, "extra_token_types") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                let Value::String(t) = i else {
                    return Err("extra_token_types must be strings".to_owned());
                };
                out.push(t.clone());
            }
            Ok(out)
        }
        Some(_) => Err("extra_token_types must be an array of strings".to_owned()),
    }
}

/// Discovery's issuer and timing.
pub fn discovery(o: &Object) -> Read<(String, Timing)> {
    Ok((string(o, "issuer")?, timing(o)?))
}

pub fn refresh(o: &Object) -> Read<RefreshConfig> {
    Ok(RefreshConfig {
        client: client(o)?,
        token_endpoint: string(o, "token_endpoint")?,
        refresh_token: Secret::new(string(o, "refresh_token")?),
        scope: opt_string(o, "scope")?,
        timing: timing(o)?,
    })
}

pub fn revocation(o: &Object) -> Read<RevocationConfig> {
    const HINT: [TokenTypeHint; 2] = [TokenTypeHint::AccessToken, TokenTypeHint::RefreshToken];
    let hint = one_of(o, "token_type_hint", &["access_token", "refresh_token"])?;
    Ok(RevocationConfig {
        client: client(o)?,
        revocation_endpoint: string(o, "revocation_endpoint")?,
        token: Secret::new(string(o, "token")?),
        token_type_hint: hint.map(|i| HINT[i]),
        timing: timing(o)?,
    })
}
