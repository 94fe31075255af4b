//! The configuration file (`deviceflow_server::config`): the shipped example loads into the
//! `ServerConfig` it describes, its values reach the running server, and every kind of mistake
//! is refused with the key path and the line (and column) where it is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use deviceflow_server::config::{self, ConfigError, ErrorKind};
use deviceflow_server::engine::codes::sha256;
use deviceflow_server::engine::{
    AccessTokenFormat, AuthMethod, ClientRegistry, EntryLimits, IssuanceLimits, Params, Store,
};
use deviceflow_server::{approve_via_page, spawn, ConnLimits, Decision, ServerConfig, SignIn};
use serde_json::Value;

mod errors;
mod sections;

const EXAMPLE: &str = include_str!("../../deviceflow.example.toml");
const TV_SECRET: &str = "tv-secret-from-the-environment";

fn env(name: &str) -> Option<String> {
    match name {
        "DEVICEFLOW_TV_SECRET" | "TV_SECRET" => Some(TV_SECRET.to_owned()),
        "DEVICEFLOW_API_SECRET" => Some("api-secret".to_owned()),
        "EMPTY_SECRET" => Some(String::new()),
        _ => None,
    }
}

/// `[sign_in]` is required; appended (after everything, so lines stay) when the text has none.
fn with_sign_in(text: &str) -> String {
    if text.contains("[sign_in]") {
        text.to_owned()
    } else {
        format!("{text}\n[sign_in]\nmethod = \"dev\"\n")
    }
}

fn load(text: &str) -> Result<ServerConfig, ConfigError> {
    config::from_str_with_env(&with_sign_in(text), Path::new("test.toml"), &env)
}

fn fail(text: &str) -> ConfigError {
    match load(text) {
        Ok(c) => panic!("accepted: {c:?}\n{text}"),
        Err(e) => e,
    }
}

/// 1-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
        + 1
}

/// The error is of `kind`, names `key` at `line`, and says so in its one-line `Display`.
#[track_caller]
fn assert_at(e: &ConfigError, kind: ErrorKind, key: &str, line: usize) {
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(e.key(), key, "{e}");
    assert_eq!(e.line(), Some(line), "{e}");
    let shown = e.to_string();
    let column = e.column().expect("a column with the line");
    assert!(
        shown.starts_with(&format!("test.toml:{line}:{column}: {key}: ")),
        "{shown}"
    );
    assert!(!shown.contains('\n'), "one line: {shown}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn basic(id: &str, secret: &str) -> String {
    let raw = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[test]
fn the_example_loads_into_what_it_describes() {
    let c = config::from_str_with_env(EXAMPLE, Path::new("deviceflow.example.toml"), &env)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.addr, "127.0.0.1:8628".parse().unwrap());
    assert_eq!(c.issuer, None, "the listening address");
    let proxies: Vec<String> = c.trusted_proxies.iter().map(|n| n.to_string()).collect();
    assert_eq!(proxies, ["127.0.0.1/32", "::1/128"]);
    assert!(c.tls.is_none());
    assert!(c.database.is_none());
    assert_eq!(c.redeem_grace_secs, 60);
    assert_eq!(c.interval_secs, 5);
    assert_eq!(c.device_code_ttl_secs, 600);

    let ids: Vec<&str> = c.clients.iter().map(|c| c.client_id.as_str()).collect();
    assert_eq!(ids, ["deviceflow-cli", "tv-app", "build-agent", "api"]);
    let (cli, tv, agent, api) = (&c.clients[0], &c.clients[1], &c.clients[2], &c.clients[3]);
    assert!(matches!(c.sign_in, SignIn::Dev));
    assert!(cli.is_public());
    assert_eq!(cli.name, "deviceflow CLI");
    assert_eq!(cli.scopes, ["openid", "profile", "email", "offline_access"]);
    assert!(cli.device_grant && cli.refresh_tokens);
    assert_eq!(cli.access_token_ttl_ms, Some(3_600_000));
    assert_eq!(cli.refresh_token_ttl_ms, Some(30 * 86_400_000));
    assert_eq!(cli.access_token_format, AccessTokenFormat::Opaque);
    assert_eq!(tv.auth_method, AuthMethod::ClientSecretBasic);
    assert_eq!(tv.name, "Living-room TV");
    assert_eq!(tv.scopes, ["profile"]);
    assert!(
        tv.device_grant && !tv.refresh_tokens,
        "grants = [\"device_code\"]"
    );
    assert_eq!(tv.access_token_ttl_ms, Some(900_000));
    assert_eq!(tv.refresh_token_ttl_ms, None);
    assert_eq!(agent.auth_method, AuthMethod::ClientSecretPost);
    assert!(agent.device_grant && agent.refresh_tokens);
    assert_eq!(agent.refresh_token_ttl_ms, Some(7 * 86_400_000));
    assert_eq!(agent.access_token_format, AccessTokenFormat::Jwt);
    assert_eq!(agent.audience.as_deref(), Some("https://api.example.com"));
    assert!(!agent.introspection && !cli.introspection);
    assert!(api.introspection && !api.device_grant && !api.refresh_tokens);
    assert!(api.scopes.is_empty());

    // The example says its limits are the defaults: they must be.
    let defaults = ServerConfig::default();
    assert_eq!(
        format!("{:?}", c.limits),
        format!("{:?}", EntryLimits::default())
    );
    assert_eq!(c.issuance, IssuanceLimits::default());
    assert_eq!(
        format!("{:?}", c.connections),
        format!("{:?}", ConnLimits::default())
    );
    assert_eq!(c.max_body_bytes, defaults.max_body_bytes);
    assert_eq!(c.interval_secs, defaults.interval_secs);
    assert_eq!(c.device_code_ttl_secs, defaults.device_code_ttl_secs);
    assert_eq!(c.redeem_grace_secs, defaults.redeem_grace_secs);

    // The secrets: tv-app's from the environment, build-agent's from its hash ("secret").
    let registry = ClientRegistry::new(c.clients.clone());
    let tv_params = Params::from_pairs([("client_id", "tv-app")]);
    let ok = registry.authenticate(&tv_params, Some(&basic("tv-app", TV_SECRET)));
    assert_eq!(ok.map(|c| c.client_id.as_str()), Ok("tv-app"));
    assert!(registry
        .authenticate(&tv_params, Some(&basic("tv-app", "wrong")))
        .is_err());
    let post = |secret: &str| {
        let p = Params::from_pairs([("client_id", "build-agent"), ("client_secret", secret)]);
        registry.authenticate(&p, None).is_ok()
    };
    assert!(post("secret"));
    assert!(!post("Secret"));
}

#[test]
fn the_example_without_its_variable_names_the_key_and_line() {
    let e = config::from_str_with_env(EXAMPLE, Path::new("test.toml"), &|_| None).unwrap_err();
    let line = line_of(EXAMPLE, "secret_env = \"DEVICEFLOW_TV_SECRET\"");
    assert_at(&e, ErrorKind::Invalid, "clients[1].secret_env", line);
    assert!(
        e.message()
            .contains("environment variable DEVICEFLOW_TV_SECRET is not set"),
        "{e}"
    );
    assert_eq!(e.column(), Some(14), "the column of the value: {e}");
}

#[test]
fn no_file_keys_means_the_defaults_on_port_8628() {
    let c = load("").unwrap();
    let d = ServerConfig::default();
    assert_eq!(c.addr, config::DEFAULT_LISTEN);
    assert_eq!(c.addr.port(), 8628);
    assert_eq!(c.issuer, None);
    let ids: Vec<&str> = c.clients.iter().map(|c| c.client_id.as_str()).collect();
    assert_eq!(ids, ["deviceflow-cli"], "the default client list");
    assert_eq!(c.interval_secs, d.interval_secs);
    assert_eq!(c.access_token_ttl_secs, d.access_token_ttl_secs);
}

#[test]
fn a_listed_client_list_replaces_the_default_one() {
    let c = load(
        "[[clients]]\nid = \"kiosk\"\ntype = \"public\"\nscopes = [\"profile\"]\ngrants = [\"refresh_token\"]\n",
    )
    .unwrap();
    assert_eq!(c.clients.len(), 1);
    let kiosk = &c.clients[0];
    assert_eq!(kiosk.client_id, "kiosk");
    assert_eq!(kiosk.name, "kiosk", "the name defaults to the id");
    assert!(!kiosk.device_grant && kiosk.refresh_tokens);
    assert_eq!(kiosk.access_token_ttl_ms, None);
}

#[test]
fn durations_take_seconds_or_units() {
    let c = load(
        "redeem_grace = 0\n[polling]\ninterval = 2\ndevice_code_ttl = \"15m\"\n\
         [limits.entry]\npaced_delay = \"250ms\"\nwindow = \"1h\"\n\
         [limits.connections]\nidle_timeout = \"2m\"\n",
    )
    .unwrap();
    assert_eq!(c.redeem_grace_secs, 0);
    assert_eq!(c.interval_secs, 2);
    assert_eq!(c.device_code_ttl_secs, 900);
    assert_eq!(c.limits.paced_entry_ms, 250);
    assert_eq!(c.limits.window_ms, 3_600_000);
    assert_eq!(c.connections.idle_timeout, Duration::from_secs(120));
}
