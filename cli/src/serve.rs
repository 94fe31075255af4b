//! `deviceflow serve`: the project's own authorization server (`deviceflow-server`), on
//! loopback for trying things, or on the internet with `--issuer`, TLS and trusted proxies.

use crate::exit::CliError;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
#[cfg(feature = "server")]
use {
    crate::demo::{start, DEMO_CLIENT, DEMO_SCOPE},
    crate::human,
    crate::interrupt,
    crate::ndjson,
    deviceflow_server::{ConnLimits, IpNet, ServerConfig, TlsFiles},
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

With --db, pending sign-ins, tokens and keys survive a restart (or a crash).";

#[derive(Args)]
#[command(after_help = SERVE_HELP)]
pub struct ServeArgs {
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
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Serve https with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A proxy (CIDR) whose Forwarded / X-Forwarded-For headers name the client (repeatable).
    /// Headers from anywhere else are ignored.
    #[arg(long, value_name = "CIDR")]
    pub trust_proxy: Vec<String>,
    /// Polling interval advertised to clients, in seconds.
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
    /// Open connections in all; over it the longest-idle connection is closed.
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub max_connections: usize,
    /// Open connections per client address (IPv6: per /64).
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_connections_per_source: usize,
    /// Seconds a client has to send a request head (and finish a TLS handshake).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds an idle keep-alive connection stays open.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub idle_timeout: u64,
    /// Device authorizations per minute from one client address (then 429 + Retry-After).
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub codes_per_source: u32,
    /// Device authorizations per minute for one client.
    #[arg(long, value_name = "N", default_value_t = 6000)]
    pub codes_per_client: u32,
}

#[cfg(feature = "server")]
impl ServeArgs {
    fn config(&self) -> Result<ServerConfig, CliError> {
        let addr = match (self.listen, self.port) {
            (Some(addr), _) => addr,
            (None, port) => SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(8628))),
        };
        let mut config = ServerConfig::on_port(0);
        config.addr = addr;
        config.interval_secs = self.interval;
        config.database = self.db.clone();
        if let Some(issuer) = &self.issuer {
            check_issuer(issuer)?;
            config.issuer = Some(issuer.clone());
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            config.tls = Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        for cidr in &self.trust_proxy {
            let net: IpNet = cidr
                .parse()
                .or_else(|_| cidr.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    CliError::input(format!(
                        "--trust-proxy {cidr}: not a CIDR (e.g. 10.0.0.0/8)"
                    ))
                })?;
            config.trusted_proxies.push(net);
        }
        if self.max_connections == 0 || self.max_connections_per_source == 0 {
            return Err(CliError::input("connection limits must be at least 1"));
        }
        config.issuance.per_source = self.codes_per_source;
        config.issuance.per_client = self.codes_per_client;
        config.connections = ConnLimits {
            max_connections: self.max_connections,
            max_connections_per_source: self.max_connections_per_source,
            header_read_timeout: Duration::from_secs(self.header_timeout.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
            ..ConnLimits::default()
        };
        Ok(config)
    }
}

/// An issuer is an absolute https URL without query or fragment; plain http only on loopback.
#[cfg(feature = "server")]
fn check_issuer(issuer: &str) -> Result<(), CliError> {
    let bad = |why: &str| CliError::input(format!("--issuer {issuer}: {why}"));
    let rest = if let Some(rest) = issuer.strip_prefix("https://") {
        rest
    } else if let Some(rest) = issuer.strip_prefix("http://") {
        let host = rest.split(['/', ':']).next().unwrap_or("");
        let bracketed = rest.strip_prefix('[').and_then(|r| r.split_once(']'));
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
            || bracketed.is_some_and(|(ip, _)| {
                ip.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
            });
        if !loopback {
            return Err(bad("must be https (plain http only on loopback)"));
        }
        rest
    } else {
        return Err(bad("must start with https://"));
    };
    if rest.is_empty() || rest.contains(['?', '#', '@', ' ', '\\']) {
        return Err(bad(
            "must be a URL with a host and no query, fragment or user",
        ));
    }
    Ok(())
}

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

#[cfg(feature = "server")]
pub fn serve(args: ServeArgs, json: bool) -> Result<(), CliError> {
    let config = args.config()?;
    #[cfg(unix)]
    raise_file_limit();
    let server = start(config)?;
    let issuer = server.issuer().to_owned();
    if json {
        ndjson::emit(&[
            ("status", json!("serving")),
            ("issuer", json!(issuer)),
            ("listen", json!(server.local_addr().to_string())),
            ("verification_uri", json!(server.verification_uri())),
            ("client_id", json!(DEMO_CLIENT)),
        ]);
    } else {
        let db = match &args.db {
            Some(p) => format!("SQLite at {}", p.display()),
            None => "SQLite in memory: everything is forgotten when it stops".to_owned(),
        };
        human::say(&format!(
            "deviceflow authorization server at {issuer}  (listening on {}, {db})",
            server.local_addr()
        ));
        human::say(&format!(
            "  verification page  {}",
            server.verification_uri()
        ));
        human::say(&format!(
            "  metadata           {issuer}/.well-known/oauth-authorization-server"
        ));
        human::say(&format!(
            "  public client      {DEMO_CLIENT}  (scopes: {DEMO_SCOPE})"
        ));
        human::say("");
        human::say(&format!(
            "Sign in from another terminal:\n  deviceflow login --issuer {issuer} --client-id {DEMO_CLIENT} --scope \"{DEMO_SCOPE}\""
        ));
        human::say("");
        human::say("Press Ctrl-C to stop.");
    }
    while !interrupt::requested() {
        interrupt::sleep(Duration::from_secs(3600));
    }
    server.shutdown();
    if !json {
        human::say("Stopped.");
    }
    Ok(())
}

#[cfg(not(feature = "server"))]
pub fn serve(_: ServeArgs, _: bool) -> Result<(), CliError> {
    Err(CliError::new(
        "unsupported",
        crate::demo::NO_SERVER,
        crate::exit::FAILURE,
    ))
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use super::check_issuer;

    #[test]
    fn issuers() {
        for ok in [
            "https://login.example.com",
            "https://login.example.com:8443/tenant",
            "http://127.0.0.1:8628",
            "http://localhost:1",
            "http://[::1]:8628",
        ] {
            assert!(check_issuer(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://login.example.com",
            "ftp://x",
            "https://",
            "https://a.example?x=1",
            "https://user@a.example",
            "login.example.com",
        ] {
            assert!(check_issuer(bad).is_err(), "{bad}");
        }
    }
}
