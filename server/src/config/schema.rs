//! The file as serde reads it. Every table refuses unknown keys; values that are checked
//! further keep their position (`Spanned`) so that a check can name the line.

use serde::Deserialize;
use toml::Spanned;

use super::duration::Dur;

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub listen: Option<S<String>>,
    pub issuer: Option<S<String>>,
    pub tls: Option<Tls>,
    pub trusted_proxies: Option<Vec<S<String>>>,
    /// Required: a server must never believe a typed name without being told to.
    pub sign_in: SignIn,
    pub clients: Option<S<Vec<ClientEntry>>>,
    pub polling: Option<Polling>,
    pub limits: Option<Limits>,
    pub store: Option<Store>,
    pub redeem_grace: Option<S<Dur>>,
    pub metrics: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tls {
    pub cert: S<String>,
    pub key: S<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SignInMethod {
    Dev,
    Header,
    Upstream,
}

/// One flat table for every method (each method's keys are checked against `method`), so
/// that each key keeps its own position and an unknown key is reported as such.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignIn {
    pub method: S<SignInMethod>,
    /// `header`: the request header a trusted proxy sets to the signed-in user, and where
    /// "Not you?" leads (the proxy's sign-out).
    pub header: Option<S<String>>,
    pub sign_out_url: Option<S<String>>,
    /// `upstream`: the identity provider's issuer, and this server's client there.
    pub issuer: Option<S<String>>,
    pub client_id: Option<S<String>>,
    pub client_secret_env: Option<S<String>>,
    pub scopes: Option<S<Vec<S<String>>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ClientType {
    Public,
    Confidential,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SecretMethod {
    ClientSecretBasic,
    ClientSecretPost,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Grant {
    DeviceCode,
    RefreshToken,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenFormat {
    Opaque,
    Jwt,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientEntry {
    pub id: S<String>,
    pub name: Option<S<String>>,
    #[serde(rename = "type")]
    pub kind: S<ClientType>,
    pub auth_method: Option<S<SecretMethod>>,
    pub secret_env: Option<S<String>>,
    pub secret_sha256: Option<S<String>>,
    pub scopes: Option<S<Vec<S<String>>>>,
    pub grants: Option<S<Vec<S<Grant>>>>,
    pub access_token_ttl: Option<S<Dur>>,
    pub refresh_token_ttl: Option<S<Dur>>,
    pub access_token_format: Option<S<TokenFormat>>,
    pub audience: Option<S<String>>,
    pub introspection: Option<S<bool>>,
    /// Browser origins allowed to call the OAuth endpoints with CORS (public clients only).
    pub allowed_origins: Option<S<Vec<S<String>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Polling {
    pub interval: Option<S<Dur>>,
    pub device_code_ttl: Option<S<Dur>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Limits {
    pub entry: Option<EntryLimits>,
    pub issuance: Option<IssuanceLimits>,
    pub connections: Option<Connections>,
    pub max_body_bytes: Option<S<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryLimits {
    pub window: Option<S<Dur>>,
    pub failures_per_session: Option<S<u32>>,
    pub failures_per_source: Option<S<u32>>,
    pub failures_global: Option<S<u32>>,
    pub entries_per_code: Option<S<u32>>,
    pub paced_delay: Option<S<Dur>>,
    pub breaker_delay: Option<S<Dur>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssuanceLimits {
    pub window: Option<S<Dur>>,
    pub per_source: Option<S<u32>>,
    pub per_client: Option<S<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Connections {
    pub max: Option<S<u64>>,
    pub per_source: Option<S<u64>>,
    pub header_timeout: Option<S<Dur>>,
    pub idle_timeout: Option<S<Dur>>,
    pub request_timeout: Option<S<Dur>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Store {
    pub path: Option<S<String>>,
    pub url: Option<S<String>>,
    pub password_env: Option<S<String>>,
}
