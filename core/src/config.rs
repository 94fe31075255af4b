//! Configuration of a flow: the client, the endpoints, and the timing rules.

use crate::display::check_secure_url;
use crate::dpop::DpopConfig;
use crate::error::ConfigError;
use crate::secret::Secret;
use serde::{Deserialize, Deserializer, Serialize};

/// How the client authenticates at the device authorization and token endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// A public client: `client_id` in the body, no secret.
    None,
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
}

impl ClientAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::ClientSecretBasic => "client_secret_basic",
            ClientAuth::ClientSecretPost => "client_secret_post",
        }
    }
}

/// The OAuth client. `Debug` redacts the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Defaults to `client_secret_basic` with a secret and `none` without.
    #[serde(default)]
    pub client_auth: Option<ClientAuth>,
}

impl Client {
    pub fn public(client_id: impl Into<String>) -> Self {
        Client {
            client_id: client_id.into(),
            client_secret: None,
            client_auth: None,
        }
    }
    /// The method in force.
    pub fn auth_method(&self) -> ClientAuth {
        self.client_auth.unwrap_or(if self.client_secret.is_some() {
            ClientAuth::ClientSecretBasic
        } else {
            ClientAuth::None
        })
    }
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.client_id.is_empty() || self.client_id.chars().any(char::is_control) {
            return Err(ConfigError::new(
                "client_id must be non-empty printable text",
            ));
        }
        match (self.auth_method(), &self.client_secret) {
            (ClientAuth::None, _) => Ok(()),
            (m, None) => Err(ConfigError::new(format!(
                "{} needs a client_secret",
                m.as_str()
            ))),
            (_, Some(_)) => Ok(()),
        }
    }
}

/// An extra request parameter such as `audience` or `resource` (may repeat).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub value: String,
}

/// Timing and limits. The defaults are the documented behaviour; change them only
/// for a reason (tests use smaller limits to stay short).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Timing {
    /// Interval when the server sends none (RFC 8628 §3.2: 5 s).
    pub default_interval_ms: u64,
    /// Safety margin added to each poll's wait, which is measured from the end of the
    /// previous response: `min(margin_ms, interval / 10)`. After a `slow_down` the margin
    /// becomes at least a fifth of the interval. See `pacer.rs` for why 20 ms.
    pub margin_ms: u64,
    /// Cap for the doubling backoff after transient failures (never below the interval).
    pub max_backoff_ms: u64,
    /// Transient failures in a row (network errors, 5xx/429 without an OAuth error)
    /// after which the flow fails with `network_error`.
    pub max_transient_failures: u32,
    /// Backoff base for one-shot requests (discovery, device authorization,
    /// refresh, revocation): the n-th retry waits `retry_base_ms × 2^n`.
    pub retry_base_ms: u64,
    /// Retries of a one-shot request before it fails with `network_error`.
    pub request_retries: u32,
    /// Overall time of a one-shot operation (discovery, device authorization, refresh,
    /// revocation), its retries included, counted from its first `Send`. Each `Send`
    /// carries what is left as `timeout_ms`; a retry that cannot start before the
    /// budget ends is not attempted: the operation fails with `network_error` at once.
    /// The default is the hosts' default per-request deadline (30 s), so a server that
    /// hangs or trickles its answer costs the user one deadline, not one per attempt.
    pub request_budget_ms: u64,
    /// Largest `interval` accepted from a server, in seconds.
    pub max_interval_s: u64,
    /// Largest `expires_in` accepted for a device code, in seconds.
    pub max_expires_in_s: u64,
    /// Largest `Retry-After` honoured, in seconds (longer values are capped).
    pub max_retry_after_s: u64,
    /// Responses with a longer body are refused with `invalid_response`.
    pub max_body_bytes: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            default_interval_ms: 5_000,
            margin_ms: 20,
            max_backoff_ms: 60_000,
            max_transient_failures: 6,
            retry_base_ms: 500,
            request_retries: 2,
            request_budget_ms: 30_000,
            max_interval_s: 600,
            max_expires_in_s: 86_400,
            max_retry_after_s: 600,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Configuration of a device flow.
///
/// Give either `issuer` (discovery runs first, RFC 8414 / OpenID Connect Discovery)
/// or both endpoints. Explicit endpoints win over discovered ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    #[serde(flatten)]
    pub client: Client,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: Option<String>,
    /// Extra parameters for the device authorization request (RFC 8628 §3.1).
    #[serde(default, deserialize_with = "params_from_map_or_list")]
    pub params: Vec<Param>,
    #[serde(default)]
    pub timing: Timing,
    /// Token types besides `Bearer` that the host knows how to use (RFC 6749 §7.1),
    /// compared case-insensitively. A token of any other type is refused with
    /// `invalid_response` rather than handed out as if it were a bearer token.
    #[serde(default)]
    pub extra_token_types: Vec<String>,
    /// DPoP (RFC 9449): the key's public half and entropy; `None` for bearer tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<DpopConfig>,
}

impl Config {
    /// A public client with explicit endpoints.
    pub fn new(
        client_id: impl Into<String>,
        device_authorization_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
    ) -> Self {
        Config {
            client: Client::public(client_id),
            issuer: None,
            device_authorization_endpoint: Some(device_authorization_endpoint.into()),
            token_endpoint: Some(token_endpoint.into()),
            scope: None,
            params: Vec::new(),
            timing: Timing::default(),
            extra_token_types: Vec::new(),
            dpop: None,
        }
    }

    /// A public client whose endpoints come from discovery.
    pub fn from_issuer(client_id: impl Into<String>, issuer: impl Into<String>) -> Self {
        Config {
            client: Client::public(client_id),
            issuer: Some(issuer.into()),
            device_authorization_endpoint: None,
            token_endpoint: None,
            scope: None,
            params: Vec::new(),
            timing: Timing::default(),
            extra_token_types: Vec::new(),
            dpop: None,
        }
    }

    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Proves possession of this key on every token request (RFC 9449); see `DPOP.md`.
    pub fn with_dpop(mut self, dpop: DpopConfig) -> Self {
        self.dpop = Some(dpop);
        self
    }

    pub fn with_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push(Param {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.client.validate()?;
        let has_endpoints =
            self.device_authorization_endpoint.is_some() && self.token_endpoint.is_some();
        if self.issuer.is_none() && !has_endpoints {
            return Err(ConfigError::new(
                "give an issuer, or both device_authorization_endpoint and token_endpoint",
            ));
        }
        for url in [
            &self.issuer,
            &self.device_authorization_endpoint,
            &self.token_endpoint,
        ]
        .into_iter()
        .flatten()
        {
            check_endpoint(url)?;
        }
        if let Some(d) = &self.dpop {
            crate::dpop::Dpop::new(d.clone())?;
        }
        for p in &self.params {
            if RESERVED_PARAMS.contains(&p.name.as_str()) {
                return Err(ConfigError::new(format!(
                    "parameter {} is set by the flow",
                    p.name
                )));
            }
        }
        Ok(())
    }
}

/// Parameters the machine owns; an extra parameter may not override them.
const RESERVED_PARAMS: [&str; 5] = [
    "client_id",
    "client_secret",
    "grant_type",
    "device_code",
    "scope",
];

pub(crate) fn check_endpoint(url: &str) -> Result<(), ConfigError> {
    check_secure_url(url)
        .map(|_| ())
        .map_err(|e| ConfigError::new(format!("\"{}\": {e}", crate::display::clean_text(url))))
}

fn params_from_map_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Param>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Map(serde_json::Map<String, serde_json::Value>),
        List(Vec<Param>),
        Pairs(Vec<(String, String)>),
    }
    let to_text = |v: serde_json::Value| match v {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    };
    Ok(match Form::deserialize(d)? {
        Form::Map(m) => m
            .into_iter()
            .map(|(name, v)| Param {
                name,
                value: to_text(v),
            })
            .collect(),
        Form::List(l) => l,
        Form::Pairs(p) => p
            .into_iter()
            .map(|(name, value)| Param { name, value })
            .collect(),
    })
}
