//! The profiles `deviceflow mcp` may use, from the operator only: a TOML file (`--config`) and
//! profiles saved by `deviceflow login` (`--allow`). Each becomes a [`Target`]: the `login`
//! arguments a new sign-in runs with, and what a stored login must match to be handed out
//! (same server, same client, the same scopes: a login made elsewhere under the same name is
//! refused rather than passed to the agent).

use crate::args::LoginArgs;
use crate::exit::CliError;
use crate::plan::{plan, Plan};
use crate::store::{check_profile_name, Profile, Store, StoreKind};
use deviceflow::display::clean_text;
use deviceflow::{ClientAuth, Provider};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One `[profiles.NAME]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    pub issuer: Option<String>,
    pub device_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub provider: Option<String>,
    pub tenant: Option<String>,
    pub client_id: String,
    /// `basic`, `post` or `none`.
    pub client_auth: Option<String>,
    /// The environment variable holding the client secret (never the secret itself).
    pub client_secret_env: Option<String>,
    pub scope: Option<String>,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// `auto` (default), `keyring` or `file`.
    pub store: Option<StoreKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    profiles: BTreeMap<String, ProfileConfig>,
}

/// Where a profile came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Config,
    Saved,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Saved => "saved",
        }
    }
}

/// A profile the agent may use.
#[derive(Clone, Debug)]
pub struct Target {
    pub name: String,
    pub source: Source,
    pub settings: ProfileConfig,
    /// For a saved profile: its provider, kept on a new login.
    provider: Option<String>,
    /// For a saved profile: its client secret, if it had one.
    client_secret: Option<String>,
}

/// Every configured profile, by name.
#[derive(Clone, Debug, Default)]
pub struct Profiles(BTreeMap<String, Target>);

impl Profiles {
    pub fn load(config: Option<&Path>, allow: &[String]) -> Result<Profiles, CliError> {
        let mut all = BTreeMap::new();
        if let Some(path) = config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
            for t in
                parse(&text).map_err(|e| CliError::input(format!("{}: {e}", path.display())))?
            {
                all.insert(t.name.clone(), t);
            }
        }
        if !allow.is_empty() {
            let store = Store::open_default().map_err(CliError::storage)?;
            for name in allow {
                check_profile_name(name).map_err(CliError::input)?;
                if all.contains_key(name) {
                    return Err(CliError::input(format!(
                        "profile \"{name}\" is both in --config and --allow: keep one"
                    )));
                }
                let (profile, secrets) =
                    store
                        .load(name)
                        .map_err(CliError::storage)?
                        .ok_or_else(|| {
                            CliError::input(format!(
                            "--allow {name}: no saved profile \"{name}\"; run `deviceflow login \
                             --profile {name} ...` first, or describe it in --config"
                        ))
                        })?;
                let secret = secrets
                    .and_then(|s| s.client_secret)
                    .map(|s| s.expose().to_owned());
                all.insert(name.clone(), Target::saved(&profile, secret));
            }
        }
        if all.is_empty() {
            return Err(CliError::input(
                "no profiles: give --config FILE (see `deviceflow mcp --help`) and/or --allow NAME",
            ));
        }
        let profiles = Profiles(all);
        for t in profiles.0.values() {
            t.plan()?; // every mistake now, not at the agent's first call
        }
        Ok(profiles)
    }

    pub fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.0.values()
    }

    /// The named profile, or the only one when none is named; else an error that says which
    /// profiles there are.
    pub fn get(&self, name: Option<&str>) -> Result<&Target, String> {
        let known = || self.names().join(", ");
        match name.filter(|n| !n.is_empty()) {
            Some(n) => self.0.get(n).ok_or_else(|| {
                format!(
                    "profile \"{}\" is not configured for this MCP server (configured: {}); \
                     only the operator can add profiles",
                    clean_text(&n.chars().take(64).collect::<String>()),
                    known()
                )
            }),
            None if self.0.len() == 1 => Ok(self.0.values().next().expect("one profile")),
            None => Err(format!("name a profile: one of {}", known())),
        }
    }
}

/// The `[profiles.*]` tables of a configuration file.
pub fn parse(text: &str) -> Result<Vec<Target>, String> {
    let file: FileConfig = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.profiles.is_empty() {
        return Err("no [profiles.NAME] table".into());
    }
    let mut out = Vec::new();
    for (name, settings) in file.profiles {
        check_profile_name(&name)?;
        let s = &settings;
        let conflict = |why: &str| Err(format!("[profiles.{name}]: {why}"));
        if s.provider.is_some() && (s.issuer.is_some() || s.device_endpoint.is_some()) {
            return conflict("provider cannot go with issuer or device_endpoint");
        }
        if s.tenant.is_some() && s.provider.is_none() {
            return conflict("tenant needs provider");
        }
        if s.device_endpoint.is_some() != s.token_endpoint.is_some() {
            return conflict("device_endpoint and token_endpoint go together");
        }
        if s.store == Some(StoreKind::None) {
            return conflict("store = \"none\" would keep no login to hand out");
        }
        if let Some(var) = &s.client_secret_env {
            let mut b = var.bytes();
            let ok = b
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                && b.all(|c| c.is_ascii_alphanumeric() || c == b'_');
            if !ok {
                return conflict("client_secret_env must be a variable name (letters, digits, _)");
            }
        }
        out.push(Target {
            name,
            source: Source::Config,
            settings,
            provider: None,
            client_secret: None,
        });
    }
    Ok(out)
}

impl Target {
    /// A profile saved by `deviceflow login`: a new sign-in goes to its saved endpoints with its
    /// saved client and scopes.
    pub fn saved(p: &Profile, client_secret: Option<String>) -> Target {
        let auth = match p.client_auth {
            ClientAuth::None => "none",
            ClientAuth::ClientSecretBasic => "basic",
            ClientAuth::ClientSecretPost => "post",
        };
        Target {
            name: p.name.clone(),
            source: Source::Saved,
            settings: ProfileConfig {
                issuer: p.issuer.clone(),
                device_endpoint: Some(p.device_authorization_endpoint.clone()),
                token_endpoint: Some(p.token_endpoint.clone()),
                revocation_endpoint: p.revocation_endpoint.clone(),
                client_id: p.client_id.clone(),
                client_auth: Some(auth.into()),
                scope: p.scope.clone(),
                store: Some(p.store),
                ..ProfileConfig::default()
            },
            provider: p.provider.clone(),
            client_secret,
        }
    }

    /// The sign-in plan (no network): the same rules as `deviceflow login`.
    pub fn plan(&self) -> Result<Plan, CliError> {
        let s = &self.settings;
        let secret = match &s.client_secret_env {
            Some(var) => Some(
                std::env::var(var)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        CliError::input(format!(
                            "profile \"{}\": client_secret_env names {var}, which is not set",
                            self.name
                        ))
                    })?,
            ),
            None => self.client_secret.clone(),
        };
        let args = LoginArgs {
            issuer: s.issuer.clone(),
            device_endpoint: s.device_endpoint.clone(),
            token_endpoint: s.token_endpoint.clone(),
            revocation_endpoint: s.revocation_endpoint.clone(),
            provider: s.provider.clone(),
            tenant: s.tenant.clone(),
            client_id: Some(s.client_id.clone()),
            client_secret: secret,
            client_auth: s.client_auth.clone(),
            scope: s.scope.clone(),
            params: s.params.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            store: s.store.unwrap_or(StoreKind::Auto),
            prompt: crate::prompt_args::PromptArgs::neither(),
            dpop: false,
        };
        if let Some(m) = &args.client_auth {
            if !matches!(m.as_str(), "basic" | "post" | "none") {
                return Err(CliError::input(format!(
                    "profile \"{}\": client_auth is basic, post or none",
                    self.name
                )));
            }
        }
        let mut p = plan(&args).map_err(|e| CliError {
            message: format!("profile \"{}\": {}", self.name, e.message),
            ..e
        })?;
        if let Some(name) = &self.provider {
            if let Some(known) = Provider::from_name(name, None) {
                p.trusted_hosts
                    .extend(known.info().verification_hosts.iter().cloned());
            }
            p.provider = Some(name.clone());
        }
        Ok(p)
    }

    /// Where the tokens go (`auto` resolved).
    pub fn store_kind(&self) -> Result<StoreKind, String> {
        Store::resolve(self.settings.store.unwrap_or(StoreKind::Auto))
    }

    /// The server shown to the agent.
    pub fn server(&self) -> Option<String> {
        let s = &self.settings;
        s.issuer
            .clone()
            .or_else(|| s.provider.clone())
            .or_else(|| self.provider.clone())
            .or_else(|| s.token_endpoint.clone())
    }

    /// Whether a stored login is the one this profile describes: the same client at the same
    /// server with the same scopes. `Err` says what differs.
    pub fn check_stored(&self, stored: &Profile) -> Result<(), String> {
        let s = &self.settings;
        let differs = |what: &str| {
            Err(format!(
                "the stored login of profile \"{}\" has another {what} than this MCP server is \
                 configured with; it is neither handed out nor logged out here (the operator can \
                 remove it: `deviceflow logout --profile {}`)",
                self.name, self.name
            ))
        };
        if stored.client_id != s.client_id {
            return differs("client");
        }
        let same_url = |a: &str, b: &str| a.trim_end_matches('/') == b.trim_end_matches('/');
        if let Some(issuer) = &s.issuer {
            if !stored
                .issuer
                .as_deref()
                .is_some_and(|i| same_url(i, issuer))
            {
                return differs("server");
            }
        }
        if let Some(token) = &s.token_endpoint {
            if !same_url(&stored.token_endpoint, token) {
                return differs("server");
            }
        }
        let provider = s.provider.as_ref().or(self.provider.as_ref());
        if let Some(p) = provider {
            if !stored
                .provider
                .as_deref()
                .is_some_and(|sp| sp.eq_ignore_ascii_case(p))
            {
                return differs("server");
            }
        }
        if scopes(stored.scope.as_deref()) != scopes(s.scope.as_deref()) {
            return differs("scope");
        }
        Ok(())
    }
}

fn scopes(s: Option<&str>) -> std::collections::BTreeSet<&str> {
    s.unwrap_or("").split_whitespace().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
        [profiles.work]
        issuer = "https://auth.example.com"
        client_id = "my-cli"
        scope = "openid offline_access"
        store = "file"
        params = { audience = "https://api.example.com" }

        [profiles.gh]
        provider = "github"
        client_id = "Iv1.abc"
    "#;

    fn stored(name: &str) -> Profile {
        Profile {
            name: name.into(),
            provider: None,
            issuer: Some("https://auth.example.com/".into()),
            device_authorization_endpoint: "https://auth.example.com/device".into(),
            token_endpoint: "https://auth.example.com/token".into(),
            revocation_endpoint: None,
            client_id: "my-cli".into(),
            client_auth: ClientAuth::None,
            scope: Some("offline_access openid".into()),
            store: StoreKind::File,
            account: None,
            logged_in_at_ms: 1,
        }
    }

    #[test]
    fn a_config_file_becomes_plans() {
        let targets = parse(EXAMPLE).unwrap();
        assert_eq!(targets.len(), 2);
        let profiles = Profiles(targets.into_iter().map(|t| (t.name.clone(), t)).collect());
        let work = profiles.get(Some("work")).unwrap();
        let p = work.plan().unwrap();
        assert_eq!(p.config.issuer.as_deref(), Some("https://auth.example.com"));
        assert_eq!(p.config.scope.as_deref(), Some("openid offline_access"));
        assert_eq!(p.config.params[0].name, "audience");
        assert_eq!(work.store_kind().unwrap(), StoreKind::File);
        let gh = profiles.get(Some("gh")).unwrap().plan().unwrap();
        assert_eq!(gh.provider.as_deref(), Some("github"));
        let e = profiles.get(Some("evil")).unwrap_err();
        assert!(
            e.contains("not configured") && e.contains("gh, work"),
            "{e}"
        );
        assert!(profiles.get(None).unwrap_err().contains("name a profile"));
    }

    #[test]
    fn mistakes_in_the_file_are_refused() {
        for (bad, why) in [
            ("[profiles.a]\nclient_id = \"c\"\nissuer = \"https://a\"\nsecret = \"x\"", "unknown field"),
            ("[profiles.a]\nissuer = \"https://a\"", "client_id"),
            ("[profiles.\"../x\"]\nclient_id = \"c\"\nissuer = \"https://a\"", "profile name"),
            ("[profiles.a]\nclient_id = \"c\"\nprovider = \"github\"\nissuer = \"https://a\"", "provider cannot"),
            ("[profiles.a]\nclient_id = \"c\"\ndevice_endpoint = \"https://a/d\"", "go together"),
            ("[profiles.a]\nclient_id = \"c\"\nissuer = \"https://a\"\nstore = \"none\"", "keep no login"),
            ("[profiles.a]\nclient_id = \"c\"\nissuer = \"https://a\"\nclient_secret_env = \"A-B\"", "variable name"),
            ("", "no [profiles"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let t = parse("[profiles.a]\nclient_id = \"c\"\nissuer = \"https://a\"\nclient_auth = \"basic\"\nclient_secret_env = \"DEVICEFLOW_TEST_UNSET_SECRET\"").unwrap();
        let e = t[0].plan().err().expect("the secret's variable is not set");
        assert!(e.message.contains("not set"), "{}", e.message);
    }

    #[test]
    fn a_stored_login_must_match_server_client_and_scopes() {
        let work = parse(EXAMPLE).unwrap().pop().unwrap();
        assert_eq!(work.name, "work");
        assert!(
            work.check_stored(&stored("work")).is_ok(),
            "scope order and a trailing / do not matter"
        );
        let mut other = stored("work");
        other.issuer = Some("https://evil.example".into());
        assert!(work.check_stored(&other).unwrap_err().contains("server"));
        let mut other = stored("work");
        other.client_id = "another".into();
        assert!(work.check_stored(&other).unwrap_err().contains("client"));
        let mut wider = stored("work");
        wider.scope = Some("openid offline_access admin".into());
        assert!(work.check_stored(&wider).unwrap_err().contains("scope"));
    }

    #[test]
    fn a_saved_profile_signs_in_again_where_it_did() {
        let mut p = stored("old");
        p.provider = Some("github".into());
        let t = Target::saved(&p, None);
        assert!(t.check_stored(&p).is_ok());
        let plan = t.plan().unwrap();
        assert_eq!(
            plan.config.device_authorization_endpoint.as_deref(),
            Some("https://auth.example.com/device")
        );
        assert_eq!(
            plan.config.issuer.as_deref(),
            Some("https://auth.example.com/")
        );
        assert_eq!(plan.provider.as_deref(), Some("github"));
        assert!(plan.trusted_hosts.contains(&"github.com".to_string()));
    }
}
