//! Reads the core's configuration JSON (`tests/vectors/README.md`) from the core's own
//! `json::Value`, without serde's derived deserializers: those (with `#[serde(flatten)]` and an
//! untagged enum) cost about 85 KB of wasm. Same shape and rules as the derives: unknown keys
//! ignored, `null` means absent for optional fields, wrong types are errors.

use deviceflow::json::{Object, ToJson, Value};
use deviceflow::{
    Client, ClientAuth, Config, DpopConfig, Param, PublicJwk, RefreshConfig, RevocationConfig,
    Secret, Timing, TokenTypeHint,
};
use std::collections::BTreeMap;

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Object, String> {
    v.as_object()
        .ok_or_else(|| format!("{what} must be an object"))
}

fn opt_string(o: &Object, key: &str) -> Result<Option<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

fn string(o: &Object, key: &str) -> Result<String, String> {
    opt_string(o, key)?.ok_or_else(|| format!("missing field `{key}`"))
}

fn client(o: &Object) -> Result<Client, String> {
    let client_auth = match opt_string(o, "client_auth")?.as_deref() {
        None => None,
        Some("none") => Some(ClientAuth::None),
        Some("client_secret_basic") => Some(ClientAuth::ClientSecretBasic),
        Some("client_secret_post") => Some(ClientAuth::ClientSecretPost),
        Some(other) => return Err(format!("unknown client_auth \"{other}\"")),
    };
    Ok(Client {
        client_id: string(o, "client_id")?,
        client_secret: opt_string(o, "client_secret")?.map(Secret::new),
        client_auth,
    })
}

fn timing(o: &Object) -> Result<Timing, String> {
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
fn params(o: &Object) -> Result<Vec<Param>, String> {
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
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Object(p) => Ok(param(&string(p, "name")?, string(p, "value")?)),
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(n), Value::String(v)] => Ok(param(n, v.clone())),
                    _ => Err("params pairs must be [name, value] strings".to_owned()),
                },
                _ => Err("params items must be {name, value} or [name, value]".to_owned()),
            })
            .collect(),
        Some(_) => Err("params must be an object or an array".to_owned()),
    }
}

pub fn device_flow(v: &Value) -> Result<Config, String> {
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
pub fn dpop(o: &Object) -> Result<Option<DpopConfig>, String> {
    let d = match o.get("dpop") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => object(v, "dpop")?,
    };
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
    match d.get("device_request") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(b)) => config.device_request = *b,
        Some(_) => return Err("dpop.device_request must be a boolean".to_owned()),
    }
    config.nonces = nonces(d.get("nonces"))?;
    Ok(Some(config))
}

/// `{origin: nonce}` (strings), as the core's `Dpop::nonces` hands it out.
pub fn nonces(v: Option<&Value>) -> Result<BTreeMap<String, String>, String> {
    let Some(v) = v.filter(|v| !matches!(v, Value::Null)) else {
        return Ok(BTreeMap::new());
    };
    object(v, "dpop.nonces")?
        .iter()
        .map(|(k, v)| match v {
            Value::String(n) => Ok((k.clone(), n.clone())),
            _ => Err("dpop.nonces values must be strings".to_owned()),
        })
        .collect()
}

/// `extra_token_types`: an array of strings.
pub fn extra_token_types(o: &Object) -> Result<Vec<String>, String> {
    match o.get("extra_token_types") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "extra_token_types must be strings".to_owned())
            })
            .collect(),
        Some(_) => Err("extra_token_types must be an array of strings".to_owned()),
    }
}

pub fn discovery(v: &Value) -> Result<(String, Timing), String> {
    let o = object(v, "the configuration")?;
    Ok((string(o, "issuer")?, timing(o)?))
}

pub fn refresh(v: &Value) -> Result<RefreshConfig, String> {
    let o = object(v, "the configuration")?;
    Ok(RefreshConfig {
        client: client(o)?,
        token_endpoint: string(o, "token_endpoint")?,
        refresh_token: Secret::new(string(o, "refresh_token")?),
        scope: opt_string(o, "scope")?,
        timing: timing(o)?,
    })
}

pub fn revocation(v: &Value) -> Result<RevocationConfig, String> {
    let o = object(v, "the configuration")?;
    let token_type_hint = match opt_string(o, "token_type_hint")?.as_deref() {
        None => None,
        Some("access_token") => Some(TokenTypeHint::AccessToken),
        Some("refresh_token") => Some(TokenTypeHint::RefreshToken),
        Some(other) => return Err(format!("unknown token_type_hint \"{other}\"")),
    };
    Ok(RevocationConfig {
        client: client(o)?,
        revocation_endpoint: string(o, "revocation_endpoint")?,
        token: Secret::new(string(o, "token")?),
        token_type_hint,
        timing: timing(o)?,
    })
}
