//! Presets for well-known providers. Their quirks are data here; the machine
//! itself handles every shape leniently (GitHub's 200-with-error and form
//! bodies, Google's `verification_url` and non-400 statuses, Microsoft's `message`).

use crate::config::{Client, ClientAuth, Config, Timing};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// A provider preset. `{tenant}` and `{base}` in the table are filled from the variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum Provider {
    #[serde(rename = "github")]
    GitHub,
    Google,
    /// Microsoft Entra ID; `tenant` is `common`, `organizations`, `consumers` or a tenant id.
    Microsoft {
        tenant: String,
    },
    /// GitLab.com, or a self-managed instance at `base_url`.
    #[serde(rename = "gitlab")]
    GitLab {
        base_url: Option<String>,
    },
}

/// Endpoints and behaviour of a provider, filled in for one tenant or instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    pub name: String,
    /// For discovery and ID token checks; `None` where the provider has none (GitHub).
    pub issuer: Option<String>,
    pub device_authorization_endpoint: String,
    pub token_endpoint: String,
    /// RFC 7009 endpoint; `None` where revocation is not RFC 7009 (GitHub, Microsoft).
    pub revocation_endpoint: Option<String>,
    pub default_scope: String,
    /// How the client must authenticate, when the provider requires one way.
    pub client_auth: Option<ClientAuth>,
    /// Hosts its `verification_uri` legitimately uses (they differ from the issuer's).
    pub verification_hosts: Vec<String>,
    /// Whether it sends `verification_uri_complete` (usable for a QR code).
    pub sends_verification_uri_complete: bool,
}

struct Preset {
    name: &'static str,
    issuer: Option<&'static str>,
    device: &'static str,
    token: &'static str,
    revocation: Option<&'static str>,
    scope: &'static str,
    client_auth: Option<ClientAuth>,
    verification_hosts: &'static [&'static str],
    complete_uri: bool,
}

const GITHUB: Preset = Preset {
    name: "github",
    issuer: None,
    device: "https://github.com/login/device/code",
    token: "https://github.com/login/oauth/access_token",
    revocation: None,
    scope: "read:user",
    client_auth: None,
    verification_hosts: &["github.com"],
    complete_uri: false,
};

const GOOGLE: Preset = Preset {
    name: "google",
    issuer: Some("https://accounts.google.com"),
    device: "https://oauth2.googleapis.com/device/code",
    token: "https://oauth2.googleapis.com/token",
    revocation: Some("https://oauth2.googleapis.com/revoke"),
    scope: "openid email profile",
    // "TVs and Limited Input devices" clients send their secret in the body.
    client_auth: Some(ClientAuth::ClientSecretPost),
    verification_hosts: &["www.google.com", "google.com"],
    complete_uri: false,
};

const MICROSOFT: Preset = Preset {
    name: "microsoft",
    issuer: Some("https://login.microsoftonline.com/{tenant}/v2.0"),
    device: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/devicecode",
    token: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    revocation: None,
    scope: "openid profile offline_access",
    client_auth: None,
    verification_hosts: &["microsoft.com", "login.microsoft.com", "www.microsoft.com"],
    complete_uri: false,
};

const GITLAB: Preset = Preset {
    name: "gitlab",
    issuer: Some("{base}"),
    device: "{base}/oauth/authorize_device",
    token: "{base}/oauth/token",
    revocation: Some("{base}/oauth/revoke"),
    scope: "openid read_user",
    client_auth: None,
    verification_hosts: &[],
    complete_uri: true,
};

impl Provider {
    /// Parses `github`, `google`, `microsoft` (with `tenant`, default `common`) or
    /// `gitlab` (with an optional instance URL).
    pub fn from_name(name: &str, tenant_or_url: Option<&str>) -> Option<Provider> {
        match name.to_ascii_lowercase().as_str() {
            "github" => Some(Provider::GitHub),
            "google" => Some(Provider::Google),
            "microsoft" | "entra" | "azure" => Some(Provider::Microsoft {
                tenant: tenant_or_url.unwrap_or("common").to_owned(),
            }),
            "gitlab" => Some(Provider::GitLab {
                base_url: tenant_or_url.map(str::to_owned),
            }),
            _ => None,
        }
    }

    /// The names `from_name` accepts.
    pub const NAMES: [&'static str; 4] = ["github", "google", "microsoft", "gitlab"];

    fn preset(&self) -> (&'static Preset, String, String) {
        match self {
            Provider::GitHub => (&GITHUB, String::new(), String::new()),
            Provider::Google => (&GOOGLE, String::new(), String::new()),
            Provider::Microsoft { tenant } => (&MICROSOFT, tenant.clone(), String::new()),
            Provider::GitLab { base_url } => {
                let base = base_url
                    .as_deref()
                    .unwrap_or("https://gitlab.com")
                    .trim_end_matches('/');
                (&GITLAB, String::new(), base.to_owned())
            }
        }
    }

    /// The preset with its placeholders filled in.
    pub fn info(&self) -> ProviderInfo {
        let (p, tenant, base) = self.preset();
        let fill = |s: &str| s.replace("{tenant}", &tenant).replace("{base}", &base);
        let mut hosts: Vec<String> = p.verification_hosts.iter().map(|h| h.to_string()).collect();
        if let Some(host) = crate::display::parse_url(&fill(p.device))
            .ok()
            .map(|u| u.host.to_ascii_lowercase())
        {
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        ProviderInfo {
            name: p.name.to_owned(),
            issuer: p.issuer.map(fill),
            device_authorization_endpoint: fill(p.device),
            token_endpoint: fill(p.token),
            revocation_endpoint: p.revocation.map(fill),
            default_scope: p.scope.to_owned(),
            client_auth: p.client_auth,
            verification_hosts: hosts,
            sends_verification_uri_complete: p.complete_uri,
        }
    }

    /// A device flow configuration for this provider with its default scope.
    pub fn config(&self, client_id: impl Into<String>, client_secret: Option<String>) -> Config {
        let info = self.info();
        Config {
            client: Client {
                client_id: client_id.into(),
                client_auth: if client_secret.is_some() {
                    info.client_auth
                } else {
                    None
                },
                client_secret: client_secret.map(Secret::new),
            },
            issuer: info.issuer,
            device_authorization_endpoint: Some(info.device_authorization_endpoint),
            token_endpoint: Some(info.token_endpoint),
            scope: Some(info.default_scope),
            params: Vec::new(),
            timing: Timing::default(),
            extra_token_types: Vec::new(),
            dpop: None,
        }
    }
}
