//! Configuration records: ONE record per operation, so a new option is a new
//! field with a default, never a new constructor argument (firezone's JNA lesson).
//! Each mirrors the core's serde JSON (`tests/vectors/README.md`) field for field.

use crate::dpop::DpopConfig;
use crate::error::{guard, FlowError};
use deviceflow as core;
use deviceflow::{ClientAuth, Param, TokenTypeHint};

/// How the client authenticates (RFC 6749 §2.3.1). `Public` is the core's `none`
/// (renamed: Swift's `.none` would clash with `Optional.none`).
#[uniffi::remote(Enum)]
pub enum ClientAuth {
    #[uniffi(name = "Public")]
    None,
    ClientSecretBasic,
    ClientSecretPost,
}

#[uniffi::remote(Enum)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

/// An extra authorization request parameter such as `audience` (may repeat).
#[uniffi::remote(Record)]
pub struct Param {
    pub name: String,
    pub value: String,
}

/// Timing and limits; `null` keeps the core's documented default.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct Timing {
    #[uniffi(default)]
    pub default_interval_ms: Option<u64>,
    #[uniffi(default)]
    pub margin_ms: Option<u64>,
    #[uniffi(default)]
    pub max_backoff_ms: Option<u64>,
    #[uniffi(default)]
    pub max_transient_failures: Option<u32>,
    #[uniffi(default)]
    pub retry_base_ms: Option<u64>,
    #[uniffi(default)]
    pub request_retries: Option<u32>,
    #[uniffi(default)]
    pub request_budget_ms: Option<u64>,
    #[uniffi(default)]
    pub max_interval_s: Option<u64>,
    #[uniffi(default)]
    pub max_expires_in_s: Option<u64>,
    #[uniffi(default)]
    pub max_retry_after_s: Option<u64>,
    #[uniffi(default)]
    pub max_body_bytes: Option<u64>,
}

/// A device flow (RFC 8628). Give `issuer` (discovery runs first) or both endpoints.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display, Debug)]
pub struct FlowConfig {
    pub client_id: String,
    #[uniffi(default)]
    pub client_secret: Option<String>,
    #[uniffi(default)]
    pub client_auth: Option<ClientAuth>,
    #[uniffi(default)]
    pub issuer: Option<String>,
    #[uniffi(default)]
    pub device_authorization_endpoint: Option<String>,
    #[uniffi(default)]
    pub token_endpoint: Option<String>,
    /// Space-separated scopes.
    #[uniffi(default)]
    pub scope: Option<String>,
    #[uniffi(default)]
    pub params: Vec<Param>,
    #[uniffi(default)]
    pub timing: Option<Timing>,
    /// Token types besides `Bearer` this app can use (RFC 6749 §7.1); others fail
    /// with `invalid_response`.
    #[uniffi(default)]
    pub extra_token_types: Vec<String>,
    /// DPoP (RFC 9449): prove possession of this key on every request; the machine
    /// then asks for signatures with `Sign` actions. The drivers' `dpop` option fills it in.
    #[uniffi(default)]
    pub dpop: Option<DpopConfig>,
}

/// A refresh (RFC 6749 §6).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display, Debug)]
pub struct RefreshConfig {
    pub client_id: String,
    pub token_endpoint: String,
    pub refresh_token: String,
    #[uniffi(default)]
    pub client_secret: Option<String>,
    #[uniffi(default)]
    pub client_auth: Option<ClientAuth>,
    #[uniffi(default)]
    pub scope: Option<String>,
    #[uniffi(default)]
    pub timing: Option<Timing>,
    /// Token types besides `Bearer` this app can use (RFC 6749 §7.1).
    #[uniffi(default)]
    pub extra_token_types: Vec<String>,
    /// DPoP (RFC 9449): prove possession of this key on every request; the machine
    /// then asks for signatures with `Sign` actions. The drivers' `dpop` option fills it in.
    #[uniffi(default)]
    pub dpop: Option<DpopConfig>,
}

/// A revocation (RFC 7009).
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display, Debug)]
pub struct RevocationConfig {
    pub client_id: String,
    pub revocation_endpoint: String,
    pub token: String,
    #[uniffi(default)]
    pub token_type_hint: Option<TokenTypeHint>,
    #[uniffi(default)]
    pub client_secret: Option<String>,
    #[uniffi(default)]
    pub client_auth: Option<ClientAuth>,
    #[uniffi(default)]
    pub timing: Option<Timing>,
    /// DPoP (RFC 9449): prove possession of this key on every request; the machine
    /// then asks for signatures with `Sign` actions. The drivers' `dpop` option fills it in.
    #[uniffi(default)]
    pub dpop: Option<DpopConfig>,
}

fn client(id: &str, secret: &Option<String>, auth: Option<ClientAuth>) -> core::Client {
    core::Client {
        client_id: id.to_owned(),
        client_secret: secret.clone().map(core::Secret::new),
        client_auth: auth,
    }
}

pub(crate) fn timing(t: &Option<Timing>) -> core::Timing {
    let d = core::Timing::default();
    let Some(t) = t else { return d };
    core::Timing {
        default_interval_ms: t.default_interval_ms.unwrap_or(d.default_interval_ms),
        margin_ms: t.margin_ms.unwrap_or(d.margin_ms),
        max_backoff_ms: t.max_backoff_ms.unwrap_or(d.max_backoff_ms),
        max_transient_failures: t.max_transient_failures.unwrap_or(d.max_transient_failures),
        retry_base_ms: t.retry_base_ms.unwrap_or(d.retry_base_ms),
        request_retries: t.request_retries.unwrap_or(d.request_retries),
        request_budget_ms: t.request_budget_ms.unwrap_or(d.request_budget_ms),
        max_interval_s: t.max_interval_s.unwrap_or(d.max_interval_s),
        max_expires_in_s: t.max_expires_in_s.unwrap_or(d.max_expires_in_s),
        max_retry_after_s: t.max_retry_after_s.unwrap_or(d.max_retry_after_s),
        max_body_bytes: t.max_body_bytes.map_or(d.max_body_bytes, |b| {
            usize::try_from(b).unwrap_or(usize::MAX)
        }),
    }
}

impl From<&FlowConfig> for core::Config {
    fn from(c: &FlowConfig) -> Self {
        core::Config {
            client: client(&c.client_id, &c.client_secret, c.client_auth),
            issuer: c.issuer.clone(),
            device_authorization_endpoint: c.device_authorization_endpoint.clone(),
            token_endpoint: c.token_endpoint.clone(),
            scope: c.scope.clone(),
            params: c.params.clone(),
            timing: timing(&c.timing),
            extra_token_types: c.extra_token_types.clone(),
            dpop: c.dpop.as_ref().map(Into::into),
        }
    }
}

impl From<&RefreshConfig> for core::RefreshConfig {
    fn from(c: &RefreshConfig) -> Self {
        core::RefreshConfig {
            client: client(&c.client_id, &c.client_secret, c.client_auth),
            token_endpoint: c.token_endpoint.clone(),
            refresh_token: core::Secret::new(c.refresh_token.clone()),
            scope: c.scope.clone(),
            timing: timing(&c.timing),
        }
    }
}

impl From<&RevocationConfig> for core::RevocationConfig {
    fn from(c: &RevocationConfig) -> Self {
        core::RevocationConfig {
            client: client(&c.client_id, &c.client_secret, c.client_auth),
            revocation_endpoint: c.revocation_endpoint.clone(),
            token: core::Secret::new(c.token.clone()),
            token_type_hint: c.token_type_hint,
            timing: timing(&c.timing),
        }
    }
}

/// A device flow configuration for a known provider (`github`, `google`,
/// `microsoft` with a tenant, `gitlab` with an optional instance URL), with its
/// endpoints, quirks and default scope filled in.
#[uniffi::export(default(tenant_or_url = None, client_secret = None))]
pub fn provider_config(
    name: String,
    client_id: String,
    tenant_or_url: Option<String>,
    client_secret: Option<String>,
) -> Result<FlowConfig, FlowError> {
    guard(|| {
        let provider =
            core::Provider::from_name(&name, tenant_or_url.as_deref()).ok_or_else(|| {
                FlowError::new(
                    "invalid_config",
                    format!(
                        "unknown provider {name:?}; known: {}",
                        core::Provider::NAMES.join(", ")
                    ),
                )
            })?;
        let c = provider.config(client_id, client_secret);
        Ok(FlowConfig {
            client_id: c.client.client_id,
            client_secret: c.client.client_secret.map(|s| s.expose().to_owned()),
            client_auth: c.client.client_auth,
            issuer: c.issuer,
            device_authorization_endpoint: c.device_authorization_endpoint,
            token_endpoint: c.token_endpoint,
            scope: c.scope,
            params: Vec::new(),
            timing: None,
            extra_token_types: Vec::new(),
            dpop: None,
        })
    })
}

// Redaction: print through the core types, whose Debug hides every Secret.
redacted_fmt!(FlowConfig, |c, f| write!(f, "{:?}", core::Config::from(c)));
redacted_fmt!(RefreshConfig, |c, f| write!(
    f,
    "{:?}",
    core::RefreshConfig::from(c)
));
redacted_fmt!(RevocationConfig, |c, f| write!(
    f,
    "{:?}",
    core::RevocationConfig::from(c)
));
