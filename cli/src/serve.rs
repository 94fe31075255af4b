//! `deviceflow serve`: the project's own authorization server (`deviceflow-server`), on
//! loopback for trying things, or on the internet with `--issuer`, TLS and trusted proxies.

use crate::exit::CliError;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
#[cfg(feature = "server")]
use {
    crate::demo::start,
    crate::exit::INVALID_INPUT,
    crate::human,
    crate::interrupt,
    crate::ndjson,
    deviceflow_server::config::{self as file_config, check_issuer, parse_cidr},
    deviceflow_server::http::signin::{HeaderSignIn, SignIn, UpstreamSignIn},
    deviceflow_server::{ServerConfig, TlsFiles},
    serde_json::json,
    std::time::Duration,
};

const SERVE_HELP: &str = "\
Examples:
  deviceflow serve                                   # http://127.0.0.1:8628, in-memory database
  deviceflow serve --db /var/lib/deviceflow/db.sqlite --listen 0.0.0.0:443 \\
      --issuer https://login.example.com --tls-cert fullchain.pem --tls-key privkey.pem
  deviceflow serve --db db.sqlite --listen 127.0.0.1:8628 \\
      --issuer https://login.example.com --trust-proxy 127.0.0.1/32   # behind a TLS proxy

  deviceflow serve --config /etc/deviceflow/deviceflow.toml    # everything from a file
  deviceflow serve --config deviceflow.toml --port 9000       # a flag overrides the file

  DEVICEFLOW_DATABASE_PASSWORD=... deviceflow serve --database postgres://deviceflow@db/deviceflow \\
      --listen 0.0.0.0:8628 --issuer https://login.example.com --trust-proxy 10.0.0.0/8
                                                     # one of several instances behind a balancer

With --db or --database, pending sign-ins, tokens and keys survive a restart (or a crash).
The configuration file (TOML) is described key by key in server/deviceflow.example.toml.";

#[derive(Args)]
#[command(after_help = SERVE_HELP)]
pub struct ServeArgs {
    /// Read the configuration from this TOML file (listen address, issuer, TLS, proxies,
    /// sign-in, clients, limits, store). A flag given explicitly overrides the file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on (default 127.0.0.1:8628).
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "port")]
    pub listen: Option<SocketAddr>,
    /// Port on 127.0.0.1 (0 = any free port); shorthand for --listen 127.0.0.1:PORT.
    #[arg(long)]
    pub port: Option<u16>,
    /// The public URL clients and browsers use (https, unless on loopback). Default: the
    /// listening address.
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// SQLite database file, created 0600 (default: in memory, gone when the server stops).
    #[arg(long, value_name = "PATH", conflicts_with = "database")]
    pub db: Option<PathBuf>,
    /// A PostgreSQL database (postgres://user@host:port/database), which several instances
    /// behind a load balancer can share. Its password, if any, from DEVICEFLOW_DATABASE_PASSWORD.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Serve https with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A proxy (CIDR) whose Forwarded / X-Forwarded-For headers name the client (repeatable;
    /// replaces the file's list). Headers from anywhere else are ignored.
    #[arg(long, value_name = "CIDR")]
    pub trust_proxy: Vec<String>,
    /// Polling interval advertised to clients, in seconds (default 5).
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u64>,
    /// Open connections in all; over it the longest-idle connection is closed (default 4096).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Open connections per client address, IPv6 per /64 (default 64).
    #[arg(long, value_name = "N")]
    pub max_connections_per_source: Option<usize>,
    /// Seconds a client has to send a request head and finish a TLS handshake (default 10).
    #[arg(long, value_name = "SECS")]
    pub header_timeout: Option<u64>,
    /// Seconds an idle keep-alive connection stays open (default 30).
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Device authorizations per minute from one client address, then 429 + Retry-After
    /// (default 60).
    #[arg(long, value_name = "N")]
    pub codes_per_source: Option<u32>,
    /// Device authorizations per minute for one client (default 6000).
    #[arg(long, value_name = "N")]
    pub codes_per_client: Option<u32>,
    /// Sign-in on the verification page: a name box, believed as typed. For demos and tests
    /// only (a warning is printed). One sign-in option (or the file's [sign_in]) is required.
    #[arg(long, conflicts_with_all = ["user_header", "upstream_issuer"])]
    pub dev_sign_in: bool,
    /// Sign-in by a header an authenticating proxy sets (oauth2-proxy: X-Auth-Request-User),
    /// believed only from --trust-proxy addresses; any other address is refused.
    #[arg(long, value_name = "NAME", conflicts_with = "upstream_issuer")]
    pub user_header: Option<String>,
    /// Sign-in with an upstream OpenID provider (authorization code flow with PKCE); register
    /// {issuer}/device/callback there. Its client secret, if any, comes from
    /// DEVICEFLOW_UPSTREAM_CLIENT_SECRET.
    #[arg(long, value_name = "URL", requires = "upstream_client_id")]
    pub upstream_issuer: Option<String>,
    /// This server's client id at the upstream provider.
    #[arg(long, value_name = "ID", requires = "upstream_issuer")]
    pub upstream_client_id: Option<String>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (a separate listener: keep it off
    /// the public network).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<SocketAddr>,
    /// Write the audit trail to stderr as JSON lines: one event per issuance, failed code
    /// entry, approval, denial, redemption, refresh, reuse detection and revocation (who,
    /// which client, from where, when; never a code, token or secret).
    #[arg(long)]
    pub audit_log: bool,
}

#[cfg(feature = "server")]
impl ServeArgs {
    /// The file's configuration (or the defaults), then every flag given on top of it.
    fn config(&self) -> Result<ServerConfig, CliError> {
        let mut config = match &self.config {
            Some(path) => file_config::load(path)
                .map_err(|e| CliError::new("invalid_config", e.to_string(), INVALID_INPUT))?,
            None => ServerConfig {
                addr: file_config::DEFAULT_LISTEN,
                ..ServerConfig::default()
            },
        };
        if let Some(addr) = self.listen {
            config.addr = addr;
        }
        if let Some(addr) = self.metrics {
            config.metrics_addr = Some(addr);
        }
        if let Some(port) = self.port {
            config.addr = SocketAddr::from(([127, 0, 0, 1], port));
        }
        if let Some(issuer) = &self.issuer {
            check_issuer(issuer)
                .map_err(|why| CliError::input(format!("--issuer {issuer}: {why}")))?;
            config.issuer = Some(issuer.clone());
        }
        if let Some(db) = &self.db {
            config.database = Some(db.clone());
            config.database_url = None;
        }
        if let Some(url) = &self.database {
            config.database_url = Some(database_url(url)?);
            config.database = None;
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config.tls = Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        if !self.trust_proxy.is_empty() {
            config.trusted_proxies = self
                .trust_proxy
                .iter()
                .map(|cidr| {
                    parse_cidr(cidr).ok_or_else(|| {
                        CliError::input(format!(
                            "--trust-proxy {cidr}: not a CIDR (e.g. 10.0.0.0/8)"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(secs) = self.interval {
            config.interval_secs = secs;
        }
        if self.max_connections == Some(0) || self.max_connections_per_source == Some(0) {
            return Err(CliError::input("connection limits must be at least 1"));
        }
        let conn = &mut config.connections;
        conn.max_connections = self.max_connections.unwrap_or(conn.max_connections);
        conn.max_connections_per_source = self
            .max_connections_per_source
            .unwrap_or(conn.max_connections_per_source);
        if let Some(secs) = self.header_timeout {
            conn.header_read_timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(secs) = self.idle_timeout {
            conn.idle_timeout = Duration::from_secs(secs.max(1));
        }
        let issuance = &mut config.issuance;
        issuance.per_source = self.codes_per_source.unwrap_or(issuance.per_source);
        issuance.per_client = self.codes_per_client.unwrap_or(issuance.per_client);
        self.sign_in(&mut config)?;
        Ok(config)
    }

    /// The sign-in flags over the file's `[sign_in]`. With neither, refuses to start: a server
    /// that believes a typed name must never be the silent default.
    fn sign_in(&self, config: &mut ServerConfig) -> Result<(), CliError> {
        if self.dev_sign_in {
            config.sign_in = SignIn::Dev;
        } else if let Some(header) = &self.user_header {
            if config.trusted_proxies.is_empty() {
                return Err(CliError::input(format!(
                    "--user-header {header} needs --trust-proxy: the header is believed only \
                     from the proxies named there"
                )));
            }
            config.sign_in = SignIn::Header(HeaderSignIn::new(header));
        } else if let (Some(issuer), Some(id)) = (&self.upstream_issuer, &self.upstream_client_id) {
            let mut up = UpstreamSignIn::new(issuer, id);
            up.client_secret = std::env::var(UPSTREAM_SECRET_ENV)
                .ok()
                .filter(|s| !s.is_empty());
            config.sign_in = SignIn::Upstream(up);
        } else if self.config.is_none() {
            return Err(CliError::input(
                "choose how people sign in on the verification page: \
                 --upstream-issuer URL --upstream-client-id ID (an OpenID provider), \
                 --user-header NAME --trust-proxy CIDR (an authenticating proxy), \
                 or --dev-sign-in (a typed name, believed: demos and tests only)",
            ));
        }
        Ok(())
    }
}

/// How people sign in, for the startup lines.
#[cfg(feature = "server")]
fn sign_in_line(sign_in: &SignIn, issuer: &str) -> String {
    match sign_in {
        SignIn::Dev => "dev: a typed name, believed (demos and tests only)".to_owned(),
        SignIn::Header(h) => format!("the {} header from a trusted proxy", h.header),
        SignIn::Upstream(u) => format!(
            "upstream {} as client {} (redirect URI {})",
            u.issuer,
            u.client_id,
            deviceflow_server::http::signin::callback_uri(issuer)
        ),
        SignIn::Host(_) => "the host application".to_owned(),
    }
}

/// Where `--database`'s password comes from (never a flag: flags show in `ps`).
#[cfg(feature = "server")]
const DATABASE_PASSWORD_ENV: &str = "DEVICEFLOW_DATABASE_PASSWORD";

/// `--database URL`, checked (a PostgreSQL URL the driver can read), with the password from
/// [`DATABASE_PASSWORD_ENV`] when that is set.
#[cfg(feature = "server")]
fn database_url(url: &str) -> Result<String, CliError> {
    use deviceflow_server::store::postgres::{is_postgres_url, redact_url, with_password};
    let shown = redact_url(url);
    if !is_postgres_url(url) {
        return Err(CliError::input(format!(
            "--database {shown}: not a PostgreSQL URL (postgres://user@host:port/database); \
             use --db for a SQLite file"
        )));
    }
    let parsed: deviceflow_server::store::postgres::ConnectConfig = url
        .parse()
        .map_err(|e| CliError::input(format!("--database {shown}: {e}")))?;
    match std::env::var(DATABASE_PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(_) if parsed.get_password().is_some() => Err(CliError::input(format!(
            "--database {shown} has a password and {DATABASE_PASSWORD_ENV} is set too: keep it \
             in the variable only"
        ))),
        Some(password) => Ok(with_password(url, &password)),
        None => Ok(url.to_owned()),
    }
}

/// Where `--upstream-client-id`'s secret comes from (never a flag: flags show in `ps`).
#[cfg(feature = "server")]
const UPSTREAM_SECRET_ENV: &str = "DEVICEFLOW_UPSTREAM_CLIENT_SECRET";

/// Printed on stderr whenever the server runs with the dev sign-in.
#[cfg(feature = "server")]
const DEV_SIGN_IN_WARNING: &str = "warning: dev sign-in: the verification page believes any \
name typed into it. Use it for demos and tests only; for real users use --upstream-issuer or \
--user-header.";

/// Lets the server use every file descriptor the hard limit allows (as Go's runtime does): the
/// soft limit is often 1,024, which would cap connections far below what the machine can hold.
#[cfg(all(unix, feature = "server"))]
fn raise_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max.min(1 << 20);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// The server's audit events (`tracing` target `deviceflow::audit`) as JSON lines on stderr;
/// nothing else is logged.
#[cfg(feature = "server")]
fn audit_to_stderr() {
    use tracing_subscriber::layer::SubscriberExt;
    let only_audit = tracing_subscriber::filter::Targets::new()
        .with_target("deviceflow::audit", tracing::Level::INFO);
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_writer(std::io::stderr);
    let subscriber = tracing_subscriber::registry().with(json).with(only_audit);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

#[cfg(feature = "server")]
pub fn serve(args: ServeArgs, json: bool) -> Result<(), CliError> {
    let config = args.config()?;
    let clients = config.clients.clone();
    let database = config.database.clone();
    let database_url = config.database_url.clone();
    let sign_in = config.sign_in.clone();
    #[cfg(unix)]
    raise_file_limit();
    if args.audit_log {
        audit_to_stderr();
    }
    let server = start(config)?;
    let issuer = server.issuer().to_owned();
    if matches!(sign_in, SignIn::Dev) {
        human::say(DEV_SIGN_IN_WARNING);
    }
    // The client to suggest: the first that can use the device grant, public ones first.
    let suggested = clients
        .iter()
        .filter(|c| c.device_grant)
        .min_by_key(|c| !c.is_public());
    if json {
        let ids: Vec<&str> = clients.iter().map(|c| c.client_id.as_str()).collect();
        ndjson::emit(&[
            ("status", json!("serving")),
            ("issuer", json!(issuer)),
            ("listen", json!(server.local_addr().to_string())),
            ("verification_uri", json!(server.verification_uri())),
            ("client_id", json!(suggested.map(|c| c.client_id.as_str()))),
            ("clients", json!(ids)),
            (
                "metrics",
                json!(server.metrics_addr().map(|a| format!("http://{a}/metrics"))),
            ),
        ]);
    } else {
        let db = match (&database_url, &database) {
            (Some(url), _) => format!(
                "PostgreSQL at {}",
                deviceflow_server::store::postgres::redact_url(url)
            ),
            (None, Some(p)) => format!("SQLite at {}", p.display()),
            (None, None) => "SQLite in memory: everything is forgotten when it stops".to_owned(),
        };
        human::say(&format!(
            "deviceflow authorization server at {issuer}  (listening on {}, {db})",
            server.local_addr()
        ));
        human::say(&format!(
            "  verification page  {}",
            server.verification_uri()
        ));
        if let Some(a) = server.metrics_addr() {
            human::say(&format!("  metrics            http://{a}/metrics"));
        }
        human::say(&format!("  your devices       {issuer}/device/grants"));
        human::say(&format!(
            "  metadata           {issuer}/.well-known/oauth-authorization-server"
        ));
        if let Some(path) = &args.config {
            human::say(&format!("  configuration      {}", path.display()));
        }
        human::say(&format!(
            "  sign-in            {}",
            sign_in_line(&sign_in, &issuer)
        ));
        for c in &clients {
            let kind = if c.is_public() {
                "public client"
            } else {
                "confidential"
            };
            let scopes = if c.scopes.is_empty() {
                String::new()
            } else {
                format!("  (scopes: {})", c.scopes.join(" "))
            };
            human::say(&format!("  {kind:<19}{}{scopes}", c.client_id));
        }
        if let Some(c) = suggested {
            let secret = if c.is_public() {
                ""
            } else {
                "DEVICEFLOW_CLIENT_SECRET=... "
            };
            human::say("");
            human::say(&format!(
                "Sign in from another terminal:\n  {secret}deviceflow login --issuer {issuer} --client-id {} --scope \"{}\"",
                c.client_id,
                c.scopes.join(" ")
            ));
        }
        human::say("");
        human::say("Press Ctrl-C to stop.");
    }
    run_until_interrupted(server, json);
    Ok(())
}

/// Serves until Ctrl-C (or SIGTERM), then stops the server and says so.
#[cfg(feature = "server")]
pub(crate) fn run_until_interrupted(server: deviceflow_server::ServerHandle, json: bool) {
    while !interrupt::requested() {
        interrupt::sleep(Duration::from_secs(3600));
    }
    server.shutdown();
    if !json {
        human::say("Stopped.");
    }
}

#[cfg(not(feature = "server"))]
pub fn serve(_: ServeArgs, _: bool) -> Result<(), CliError> {
    Err(CliError::new(
        "unsupported",
        crate::demo::NO_SERVER,
        crate::exit::FAILURE,
    ))
}
