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

const EXAMPLE: &str = include_str!("../deviceflow.example.toml");
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

#[test]
fn unknown_keys_are_refused_with_their_name_and_line() {
    let text = "listen = \"127.0.0.1:8628\"\nlisten_addr = \"0.0.0.0:1\"\n";
    let e = fail(text);
    assert_at(&e, ErrorKind::UnknownKey, "listen_addr", 2);
    assert!(e.message().contains("unknown key `listen_addr`"), "{e}");

    let text = "[[clients]]\nid = \"a\"\ntype = \"public\"\nscopes = [\"x\"]\n\n\
                [[clients]]\nid = \"b\"\ntype = \"confidential\"\nsecret = \"s3cret\"\nscopes = [\"x\"]\n";
    let e = fail(text);
    assert_at(&e, ErrorKind::UnknownKey, "clients[1].secret", 9);
    assert!(
        e.message().contains("secret_env"),
        "says where a secret goes: {e}"
    );
    assert!(!e.to_string().contains("s3cret"), "never the value: {e}");

    let text = "[limits.connections]\nmax = 10\nmax_conns = 5\n";
    assert_at(
        &fail(text),
        ErrorKind::UnknownKey,
        "limits.connections.max_conns",
        3,
    );

    let text = "[sign_in]\nmethod = \"dev\"\npassword = \"x\"\n";
    assert_at(&fail(text), ErrorKind::UnknownKey, "sign_in.password", 3);
}

#[test]
fn wrong_types_name_the_key_and_line() {
    let e = fail("issuer = \"https://login.example.com\"\n\n[polling]\ninterval = true\n");
    assert_at(&e, ErrorKind::WrongType, "polling.interval", 4);
    assert!(e.message().contains("duration"), "{e}");

    let e = fail("[limits.connections]\nmax = \"many\"\n");
    assert_at(&e, ErrorKind::WrongType, "limits.connections.max", 2);

    let e = fail("trusted_proxies = \"10.0.0.0/8\"\n");
    assert_at(&e, ErrorKind::WrongType, "trusted_proxies", 1);

    let e = fail("[limits.entry]\nfailures_per_session = -1\n");
    assert_at(
        &e,
        ErrorKind::WrongType,
        "limits.entry.failures_per_session",
        2,
    );

    let e = fail("[polling]\ndevice_code_ttl = \"10 minutes\"\n");
    assert_at(&e, ErrorKind::WrongType, "polling.device_code_ttl", 2);

    let e = fail("[[clients]]\nid = \"a\"\ntype = \"secret\"\nscopes = [\"x\"]\n");
    assert_at(&e, ErrorKind::WrongType, "clients[0].type", 3);
    assert!(e.message().contains("`public`"), "{e}");

    let e = fail(
        "[[clients]]\nid = \"a\"\ntype = \"public\"\nscopes = [\"x\"]\ngrants = [\"password\"]\n",
    );
    assert_at(&e, ErrorKind::WrongType, "clients[0].grants[0]", 5);
}

#[test]
fn a_missing_required_key_is_named() {
    let e = fail("[[clients]]\nid = \"a\"\nscopes = [\"x\"]\n");
    assert_eq!(e.kind(), ErrorKind::WrongType, "{e}");
    assert_eq!(e.key(), "clients[0]", "{e}");
    assert!(e.message().contains("missing key `type`"), "{e}");
    assert_eq!(e.line(), Some(1), "the table's header: {e}");

    // `scopes` is required of a client with a grant: named at its id.
    let e = fail("[[clients]]\nid = \"a\"\ntype = \"public\"\n");
    assert_at(&e, ErrorKind::Invalid, "clients[0].scopes", 2);

    let e = fail("listen = \"127.0.0.1:1\"\n[tls]\ncert = \"cert.pem\"\n");
    assert_eq!(e.key(), "tls", "{e}");
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.message().contains("missing key `key`"), "{e}");
}

#[test]
fn syntax_errors_have_a_line() {
    let e = fail("listen = \"127.0.0.1:1\"\nissuer = \n");
    assert_eq!(e.kind(), ErrorKind::Syntax, "{e}");
    assert_eq!(e.line(), Some(2), "{e}");
}

#[test]
fn a_missing_or_empty_secret_variable_is_named() {
    let text = "[[clients]]\nid = \"tv\"\ntype = \"confidential\"\nscopes = [\"x\"]\nsecret_env = \"NOT_SET_ANYWHERE\"\n";
    let e = fail(text);
    assert_at(&e, ErrorKind::Invalid, "clients[0].secret_env", 5);
    assert!(e.message().contains("NOT_SET_ANYWHERE is not set"), "{e}");

    let e = fail(&text.replace("NOT_SET_ANYWHERE", "EMPTY_SECRET"));
    assert_at(&e, ErrorKind::Invalid, "clients[0].secret_env", 5);
    assert!(e.message().contains("EMPTY_SECRET is empty"), "{e}");

    // A secret pasted where the variable's name goes is refused without being repeated.
    let e = fail(&text.replace("NOT_SET_ANYWHERE", "hunter2 is my password"));
    assert_at(&e, ErrorKind::Invalid, "clients[0].secret_env", 5);
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn confidential_clients_need_exactly_one_secret() {
    let head = "[[clients]]\nid = \"tv\"\ntype = \"confidential\"\nscopes = [\"x\"]\n";
    assert_at(&fail(head), ErrorKind::Invalid, "clients[0].type", 3);

    let both = format!(
        "{head}secret_env = \"TV_SECRET\"\nsecret_sha256 = \"{}\"\n",
        "ab".repeat(32)
    );
    assert_at(
        &fail(&both),
        ErrorKind::Invalid,
        "clients[0].secret_sha256",
        6,
    );

    let short = format!("{head}secret_sha256 = \"{}\"\n", "ab".repeat(31));
    assert_at(
        &fail(&short),
        ErrorKind::Invalid,
        "clients[0].secret_sha256",
        5,
    );

    let public = "[[clients]]\nid = \"p\"\ntype = \"public\"\nscopes = [\"x\"]\nsecret_env = \"TV_SECRET\"\n";
    assert_at(
        &fail(public),
        ErrorKind::Invalid,
        "clients[0].secret_env",
        5,
    );

    let hashed = format!("{head}secret_sha256 = \"{}\"\n", hex(&sha256("pw")));
    let c = load(&hashed).unwrap();
    let p = Params::from_pairs([("client_id", "tv")]);
    assert!(ClientRegistry::new(c.clients)
        .authenticate(&p, Some(&basic("tv", "pw")))
        .is_ok());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_bad_cidr_is_named_with_its_index_line_and_column() {
    let text = "listen = \"127.0.0.1:8628\"\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n";
    let e = fail(text);
    assert_at(&e, ErrorKind::Invalid, "trusted_proxies[1]", 2);
    let column = text
        .lines()
        .nth(1)
        .unwrap()
        .find("\"10.0.0.0/33\"")
        .unwrap()
        + 1;
    assert_eq!(e.column(), Some(column), "the column of the value: {e}");
    assert!(e.message().contains("10.0.0.0/33"), "{e}");
}

#[test]
fn an_http_issuer_on_a_public_host_is_refused() {
    let e = fail("listen = \"0.0.0.0:8080\"\nissuer = \"http://login.example.com\"\n");
    assert_at(&e, ErrorKind::Invalid, "issuer", 2);
    assert!(e.message().contains("must be https"), "{e}");
    // On loopback plain http is fine, and https anywhere.
    assert!(load("issuer = \"http://localhost:8628\"\n").is_ok());
    assert!(load("issuer = \"https://login.example.com\"\n").is_ok());
}

#[test]
fn bad_addresses_and_values_out_of_bounds_are_refused() {
    assert_at(
        &fail("listen = \"localhost\"\n"),
        ErrorKind::Invalid,
        "listen",
        1,
    );
    assert_at(
        &fail("[polling]\ninterval = \"10m\"\n"),
        ErrorKind::Invalid,
        "polling.interval",
        2,
    );
    assert_at(
        &fail("[polling]\ninterval = \"1500ms\"\n"),
        ErrorKind::Invalid,
        "polling.interval",
        2,
    );
    assert_at(
        &fail("[polling]\ninterval = 30\ndevice_code_ttl = \"20s\"\n"),
        ErrorKind::Invalid,
        "polling.device_code_ttl",
        3,
    );
    assert_at(
        &fail("[limits.connections]\nmax = 0\n"),
        ErrorKind::Invalid,
        "limits.connections.max",
        2,
    );
    assert_at(
        &fail("[limits.issuance]\nper_source = 0\n"),
        ErrorKind::Invalid,
        "limits.issuance.per_source",
        2,
    );
    assert_at(
        &fail("[limits]\nmax_body_bytes = 10\n"),
        ErrorKind::Invalid,
        "limits.max_body_bytes",
        2,
    );
    assert_at(
        &fail("redeem_grace = \"1h\"\n"),
        ErrorKind::Invalid,
        "redeem_grace",
        1,
    );
    let e = fail(
        "[[clients]]\nid = \"a\"\ntype = \"public\"\nscopes = [\"x\"]\naccess_token_ttl = \"2d\"\n",
    );
    assert_at(&e, ErrorKind::Invalid, "clients[0].access_token_ttl", 5);
    assert!(e.message().contains("between 10s and 1d"), "{e}");
}

#[test]
fn client_ids_scopes_and_grants_are_checked() {
    let client = |body: &str| format!("[[clients]]\nid = \"a\"\ntype = \"public\"\n{body}");
    let dup = format!(
        "{}\n{}",
        client("scopes = [\"x\"]\n"),
        client("scopes = [\"y\"]\n")
    );
    let e = fail(&dup);
    assert_at(&e, ErrorKind::Invalid, "clients[1].id", 7);
    assert!(e.message().contains("duplicate client id \"a\""), "{e}");

    assert_at(
        &fail(&client("scopes = []\n")),
        ErrorKind::Invalid,
        "clients[0].scopes",
        4,
    );
    assert_at(
        &fail(&client("scopes = [\"a\", \"b c\"]\n")),
        ErrorKind::Invalid,
        "clients[0].scopes[1]",
        4,
    );
    assert_at(
        &fail(&client("scopes = [\"a\", \"a\"]\n")),
        ErrorKind::Invalid,
        "clients[0].scopes[1]",
        4,
    );
    assert_at(
        &fail(&client("scopes = [\"a\"]\ngrants = []\n")),
        ErrorKind::Invalid,
        "clients[0].grants",
        5,
    );
    assert_at(
        &fail(&client(
            "scopes = [\"a\"]\ngrants = [\"device_code\", \"device_code\"]\n",
        )),
        ErrorKind::Invalid,
        "clients[0].grants[1]",
        5,
    );
    let e = fail(&client(
        "scopes = [\"a\"]\ngrants = [\"device_code\"]\nrefresh_token_ttl = \"1d\"\n",
    ));
    assert_at(&e, ErrorKind::Invalid, "clients[0].refresh_token_ttl", 6);
    assert_at(
        &fail(&client("name = \"\"\nscopes = [\"a\"]\n")),
        ErrorKind::Invalid,
        "clients[0].name",
        4,
    );
    assert_at(&fail("clients = []\n"), ErrorKind::Invalid, "clients", 1);
    // A resource server that only introspects has no grant and needs no scope.
    let rs = "[[clients]]\nid = \"rs\"\ntype = \"confidential\"\nsecret_env = \"TV_SECRET\"\n\
              grants = []\nintrospection = true\n";
    let c = load(rs).unwrap();
    let rs = &c.clients[0];
    assert!(rs.introspection && !rs.device_grant && !rs.refresh_tokens && rs.scopes.is_empty());
    assert_at(
        &fail(&client("scopes = [\"a\"]\nintrospection = true\n")),
        ErrorKind::Invalid,
        "clients[0].introspection",
        5,
    );
}

#[test]
fn jwt_audience_and_introspection_pass_through() {
    let text = String::from(
        "[[clients]]\nid = \"api\"\ntype = \"confidential\"\nsecret_env = \"TV_SECRET\"\nscopes = [\"read\"]\n\
         access_token_format = \"jwt\"\naudience = \"https://api.example.com\"\nintrospection = true\n"
    );
    let c = load(&text).unwrap();
    let api = &c.clients[0];
    assert_eq!(api.access_token_format, AccessTokenFormat::Jwt);
    assert_eq!(api.audience.as_deref(), Some("https://api.example.com"));
    assert!(api.introspection);
    let e = fail(&text.replace("\"jwt\"", "\"paseto\""));
    assert_at(
        &e,
        ErrorKind::WrongType,
        "clients[0].access_token_format",
        6,
    );
}

#[test]
fn the_store_is_a_sqlite_path_next_to_the_file_or_a_postgres_url() {
    let dir = temp_dir("store");
    let origin = dir.join("deviceflow.toml");
    let c = config::from_str_with_env(
        &with_sign_in("[store]\npath = \"db.sqlite\"\n"),
        &origin,
        &env,
    )
    .unwrap();
    assert_eq!(c.database, Some(dir.join("db.sqlite")));
    let c = config::from_str_with_env(
        &with_sign_in("[store]\npath = \"/var/x.sqlite\"\n"),
        &origin,
        &env,
    )
    .unwrap();
    assert_eq!(c.database, Some(PathBuf::from("/var/x.sqlite")));
    assert_eq!(load("[store]\n").unwrap().database, None, "in memory");

    // PostgreSQL: the URL as given, connected to (and migrated) when the server starts.
    let c = load("[store]\nurl = \"postgres://app@db.internal:5432/deviceflow\"\n").unwrap();
    assert_eq!(
        c.database_url.as_deref(),
        Some("postgres://app@db.internal:5432/deviceflow")
    );
    assert_eq!(c.database, None);
    // Its password from the environment, never shown.
    let text = "[store]\nurl = \"postgres://app@db/df\"\npassword_env = \"DF_DB_PASSWORD\"\n";
    let password = |name: &str| (name == "DF_DB_PASSWORD").then(|| "s3cr3t p@ss".to_owned());
    let c = config::from_str_with_env(&with_sign_in(text), &origin, &password).unwrap();
    assert_eq!(
        c.database_url.as_deref(),
        Some("postgres://app@db/df?password=s3cr3t%20p%40ss")
    );
    assert!(!format!("{c:?}").contains("s3cr3t"), "{c:?}");
    assert_at(&fail(text), ErrorKind::Invalid, "store.password_env", 3);
    let e = fail("[store]\nurl = \"postgres://app:hunter2@db/df\"\npassword_env = \"DEVICEFLOW_API_SECRET\"\n");
    assert_at(&e, ErrorKind::Invalid, "store.password_env", 3);
    assert!(e.message().contains("has a password already"), "{e}");
    // Not a PostgreSQL URL, a URL the driver cannot read, or both stores: refused, no password shown.
    let e = fail("[store]\nurl = \"mysql://app:hunter2@db/df\"\n");
    assert_at(&e, ErrorKind::Invalid, "store.url", 2);
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = fail("[store]\nurl = \"postgres://app:hunter2@db:port/df\"\n");
    assert_at(&e, ErrorKind::Invalid, "store.url", 2);
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert_at(
        &fail("[store]\npath = \"db.sqlite\"\nurl = \"postgres://db/df\"\n"),
        ErrorKind::Invalid,
        "store.url",
        3,
    );
    assert_at(
        &fail("[store]\npath = \"db.sqlite\"\npassword_env = \"DF_DB_PASSWORD\"\n"),
        ErrorKind::Invalid,
        "store.password_env",
        3,
    );
    assert_at(
        &fail("[store]\npath = \"/no/such/dir/db.sqlite\"\n"),
        ErrorKind::Invalid,
        "store.path",
        2,
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("deviceflow-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn tls_files_are_resolved_next_to_the_file_and_must_be_readable() {
    let dir = temp_dir("tls");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let origin = dir.join("deviceflow.toml");
    let text = "listen = \"127.0.0.1:0\"\n[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n";
    let c = config::from_str_with_env(&with_sign_in(text), &origin, &env).unwrap();
    let tls = c.tls.clone().expect("tls");
    assert_eq!(
        (tls.cert, tls.key),
        (dir.join("cert.pem"), dir.join("key.pem"))
    );
    // The files really serve https.
    let server = spawn(c).unwrap();
    assert!(
        server.issuer().starts_with("https://127.0.0.1:"),
        "{}",
        server.issuer()
    );
    server.shutdown();

    let missing = text.replace("key.pem", "nope.pem");
    let e = config::from_str_with_env(&with_sign_in(&missing), &origin, &env).unwrap_err();
    assert_eq!(
        (e.kind(), e.key(), e.line()),
        (ErrorKind::Invalid, "tls.key", Some(4)),
        "{e}"
    );
    assert!(e.message().contains("nope.pem"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sign_in_methods_and_their_keys() {
    assert!(matches!(
        load("[sign_in]\nmethod = \"dev\"\n").unwrap().sign_in,
        SignIn::Dev
    ));
    // Required: the file must say how people sign in.
    let e = config::from_str_with_env("listen = \"127.0.0.1:1\"\n", Path::new("t.toml"), &env)
        .unwrap_err();
    assert_eq!(
        (e.kind(), e.key(), e.line()),
        (ErrorKind::WrongType, "", Some(1)),
        "{e}"
    );
    assert!(e.message().starts_with("missing [sign_in]"), "{e}");

    let c = load(
        "trusted_proxies = [\"127.0.0.1\"]\n[sign_in]\nmethod = \"header\"\n\
         header = \"X-Auth-Request-User\"\nsign_out_url = \"/oauth2/sign_out\"\n",
    )
    .unwrap();
    let SignIn::Header(h) = &c.sign_in else {
        panic!("{:?}", c.sign_in)
    };
    assert_eq!(h.header, "X-Auth-Request-User");
    assert_eq!(h.sign_out_url.as_deref(), Some("/oauth2/sign_out"));

    let upstream = "[sign_in]\nmethod = \"upstream\"\nissuer = \"https://idp.example.com\"\n\
                    client_id = \"df\"\nclient_secret_env = \"TV_SECRET\"\nscopes = [\"openid\", \"email\"]\n";
    let c = load(upstream).unwrap();
    let SignIn::Upstream(u) = &c.sign_in else {
        panic!("{:?}", c.sign_in)
    };
    assert_eq!(u.issuer, "https://idp.example.com");
    assert_eq!(u.client_id, "df");
    assert_eq!(u.client_secret.as_deref(), Some(TV_SECRET));
    assert_eq!(u.scope, "openid email");
    assert!(
        !format!("{c:?}").contains(TV_SECRET),
        "the upstream secret is not shown"
    );

    let e = fail("[sign_in]\nmethod = \"dev\"\nheader = \"X-User\"\n");
    assert_at(&e, ErrorKind::Invalid, "sign_in.header", 3);
    assert!(e.message().contains("not a key of method = \"dev\""), "{e}");
    let e = fail("[sign_in]\nmethod = \"header\"\nheader = \"X User\"\n");
    assert_at(&e, ErrorKind::Invalid, "sign_in.header", 3);
    assert_at(
        &fail("[sign_in]\nmethod = \"header\"\n"),
        ErrorKind::Invalid,
        "sign_in.method",
        2,
    );
    assert_at(
        &fail(&upstream.replace("https://idp", "http://idp")),
        ErrorKind::Invalid,
        "sign_in.issuer",
        3,
    );
    assert_at(
        &fail(&upstream.replace("\"TV_SECRET\"", "\"NOPE\"")),
        ErrorKind::Invalid,
        "sign_in.client_secret_env",
        5,
    );
    assert_at(
        &fail(&upstream.replace("\"openid\", ", "")),
        ErrorKind::Invalid,
        "sign_in.scopes",
        6,
    );
    assert_at(
        &fail("[sign_in]\nmethod = \"ldap\"\n"),
        ErrorKind::WrongType,
        "sign_in.method",
        2,
    );
}

#[test]
fn secrets_never_reach_debug_output() {
    let text = String::from(
        "[[clients]]\nid = \"tv\"\ntype = \"confidential\"\nsecret_env = \"TV_SECRET\"\nscopes = [\"x\"]\n"
    );
    let c = load(&text).unwrap();
    let shown = format!("{c:?}");
    assert!(shown.contains("\"tv\""), "{shown}");
    assert!(!shown.contains(TV_SECRET), "{shown}");
    assert!(!shown.contains(&hex(&sha256(TV_SECRET))), "{shown}");
}

#[test]
fn load_reads_the_file_and_names_it_in_errors() {
    let dir = temp_dir("load");
    let path = dir.join("deviceflow.toml");
    std::fs::write(&path, with_sign_in("[polling]\ninterval = 3\n")).unwrap();
    assert_eq!(config::load(&path).unwrap().interval_secs, 3);
    std::fs::write(&path, with_sign_in("[polling]\nintervall = 3\n")).unwrap();
    let e = config::load(&path).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "{}:2:1: polling.intervall: unknown key",
            path.display()
        )),
        "{e}"
    );
    let e = config::load(dir.join("absent.toml")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Read, "{e}");
    assert!(e.to_string().contains("absent.toml"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A client's own lifetimes reach the token endpoint and the store.
#[test]
fn per_client_lifetimes_reach_the_tokens() {
    let text = "listen = \"127.0.0.1:0\"\n[polling]\ninterval = 1\n\
                [[clients]]\nid = \"short\"\ntype = \"public\"\nscopes = [\"profile\"]\n\
                access_token_ttl = \"2m\"\nrefresh_token_ttl = \"7d\"\n";
    let server = spawn(load(text).unwrap()).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let post = |path: &str, form: &[(&str, &str)]| -> Value {
        let mut r = agent
            .post(&format!("{}{path}", server.issuer()))
            .send_form(form.iter().copied())
            .unwrap();
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    };
    let auth = post("/device_authorization", &[("client_id", "short")]);
    let code = auth["user_code"].as_str().expect("user_code").to_owned();
    let device_code = auth["device_code"].as_str().unwrap().to_owned();
    assert_eq!(
        approve_via_page(server.issuer(), &code, "alice", true).unwrap(),
        Decision::Approved
    );
    std::thread::sleep(Duration::from_millis(1100));
    let tokens = post(
        "/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "short"),
            ("device_code", &device_code),
        ],
    );
    assert_eq!(tokens["expires_in"], 120, "{}", tokens["error"]);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let record = server
        .engine()
        .store
        .token(&sha256(refresh))
        .unwrap()
        .expect("the refresh token is stored");
    assert_eq!(record.expires_at_ms - record.issued_at_ms, 7 * 86_400_000);
    server.shutdown();
}

#[test]
fn the_metrics_address_is_read_and_checked() {
    let ok = deviceflow_server::config::from_str(
        "metrics = \"127.0.0.1:9100\"\n[sign_in]\nmethod = \"dev\"\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap();
    assert_eq!(ok.metrics_addr, Some("127.0.0.1:9100".parse().unwrap()));
    let err = deviceflow_server::config::from_str(
        "metrics = \"localhost\"\n[sign_in]\nmethod = \"dev\"\n",
        std::path::Path::new("t.toml"),
    )
    .unwrap_err();
    assert_eq!((err.key(), err.line()), ("metrics", Some(1)));
}
