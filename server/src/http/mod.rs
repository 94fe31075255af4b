//! The HTTP server: axum on tokio, SQLite by default, 127.0.0.1 by default.
//!
//! ```no_run
//! let server = deviceflow_server::spawn(deviceflow_server::ServerConfig::default()).unwrap();
//! println!("issuer: {}", server.issuer());
//! server.shutdown();
//! ```

pub mod client_ip;
pub mod cors;
mod grants;
mod html;
mod lanes;
pub mod listen;
mod metrics;
mod oauth;
mod pages;
mod reply;
pub mod session;
pub mod signin;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::oneshot;

pub use client_ip::TrustedProxies;
pub use ipnet::IpNet;
pub use listen::ConnLimits;
pub use signin::SignIn;

use crate::engine::{
    Client, ClientRegistry, Engine, EngineConfig, EntryLimits, IssuanceLimits, Random, Store,
};
use crate::store::{PostgresStore, SqliteStore};

/// The engine as the server holds it: any store behind an `Arc`.
pub type SharedEngine = Arc<Engine<Arc<dyn Store>>>;

/// Everything `spawn`/`serve` need. `ServerConfig::default()` is a loopback server on a free port
/// with an in-memory SQLite database and the `deviceflow-cli` public client.
#[derive(Clone)]
pub struct ServerConfig {
    /// Where to listen. Default `127.0.0.1:0` (port 0 = any free port).
    pub addr: SocketAddr,
    /// The issuer URL; default `http://{bound address}`.
    pub issuer: Option<String>,
    /// SQLite database file; `None` = an in-memory SQLite database.
    pub database: Option<PathBuf>,
    /// A PostgreSQL database (`postgres://user:password@host:port/db`), shared by every instance
    /// configured with it; overrides `database`. Opened, and migrated, when the server starts.
    pub database_url: Option<String>,
    /// Another store instead of SQLite; overrides `database` and `database_url`.
    pub store: Option<Arc<dyn Store>>,
    pub clients: Vec<Client>,
    /// Browser origins (`scheme://host[:port]`, exact) allowed to call the OAuth endpoints
    /// with CORS, by client id (public clients only); see [`cors`]. Default: none.
    pub allowed_origins: BTreeMap<String, Vec<String>>,
    /// Advertised polling interval (RFC 8628 §3.2).
    pub interval_secs: u64,
    /// `expires_in` of device codes.
    pub device_code_ttl_secs: u64,
    pub access_token_ttl_secs: u64,
    pub limits: EntryLimits,
    /// Device authorizations per source and per client (RFC 8628 §5.2, RFC 10027 rate limits).
    pub issuance: IssuanceLimits,
    /// How long a client whose token response was lost may present its device code again and
    /// get the same response (see the server README).
    pub redeem_grace_secs: u64,
    /// Largest request body accepted (bytes).
    pub max_body_bytes: usize,
    /// Serve https with this certificate chain and key (PEM files); `None` = plain http
    /// (behind a TLS-terminating proxy, or on loopback).
    pub tls: Option<TlsFiles>,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` name the client (`--trust-proxy`).
    pub trusted_proxies: Vec<IpNet>,
    /// Connection caps and timeouts.
    pub connections: ConnLimits,
    /// Serve Prometheus metrics at `http://{metrics_addr}/metrics` (a separate listener; keep
    /// it off the public network). `None`: no metrics listener.
    pub metrics_addr: Option<SocketAddr>,
    /// How the verification page knows who is signed in: the host's [`signin::Authenticator`],
    /// an authenticating proxy's header, an upstream OpenID provider, or the dev name box.
    /// Default: [`SignIn::Dev`] (a typed name, believed: demos and tests only).
    pub sign_in: SignIn,
}

/// A PEM certificate chain and its PEM private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            issuer: None,
            database: None,
            database_url: None,
            store: None,
            clients: default_clients(),
            allowed_origins: BTreeMap::new(),
            interval_secs: 5,
            device_code_ttl_secs: 600,
            access_token_ttl_secs: 3600,
            limits: EntryLimits::default(),
            issuance: IssuanceLimits::default(),
            redeem_grace_secs: 60,
            max_body_bytes: 16 * 1024,
            tls: None,
            trusted_proxies: Vec::new(),
            connections: ConnLimits::default(),
            metrics_addr: None,
            sign_in: SignIn::Dev,
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("addr", &self.addr)
            .field("issuer", &self.issuer)
            .field("database", &self.database)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(crate::store::postgres::redact_url),
            )
            .field("store", &self.store.as_ref().map(|_| "<custom>"))
            .field("clients", &self.clients)
            .field("allowed_origins", &self.allowed_origins)
            .field("interval_secs", &self.interval_secs)
            .field("device_code_ttl_secs", &self.device_code_ttl_secs)
            .field("limits", &self.limits)
            .field("issuance", &self.issuance)
            .field("redeem_grace_secs", &self.redeem_grace_secs)
            .field("tls", &self.tls)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("connections", &self.connections)
            .field("sign_in", &self.sign_in)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// The default configuration on `127.0.0.1:port`.
    pub fn on_port(port: u16) -> Self {
        ServerConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            ..ServerConfig::default()
        }
    }
}

/// The clients every server knows: `deviceflow-cli`, public, device code + refresh token.
pub fn default_clients() -> Vec<Client> {
    vec![Client::public(
        "deviceflow-cli",
        "deviceflow CLI",
        &["openid", "profile", "email", "offline_access"],
    )]
}

/// A running server. Dropping it stops the server too (without waiting).
pub struct ServerHandle {
    local_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    issuer: String,
    engine: SharedEngine,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("local_addr", &self.local_addr)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Where the metrics listener is bound, if `metrics_addr` was set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// `http://127.0.0.1:PORT`: what clients use for discovery.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{issuer}/device`: the page a person opens.
    pub fn verification_uri(&self) -> String {
        self.engine.config.verification_uri()
    }

    /// The engine, for hosts and tests that want to look at the store.
    pub fn engine(&self) -> &SharedEngine {
        &self.engine
    }

    /// Stops accepting connections, lets in-flight requests finish (at most 2 s) and, for a
    /// server from [`spawn`], waits for its thread.
    pub fn shutdown(mut self) {
        self.stop.take().map(|s| s.send(()));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.take().map(|s| s.send(()));
    }
}

#[derive(Clone)]
pub(crate) struct AppState {
    engine: SharedEngine,
    sessions: Arc<session::Sessions>,
    lanes: Arc<lanes::Lanes>,
    trusted: Arc<TrustedProxies>,
    signer: Arc<signin::Signer>,
    metrics: metrics::Shared,
}

impl AppState {
    /// The key limits count the request's client under (see [`client_ip`]).
    fn source(&self, peer: SocketAddr, headers: &HeaderMap) -> String {
        client_ip::source_key(self.trusted.client_ip(peer.ip(), headers))
    }

    /// Runs an engine call: on this task when the store is local (SQLite, memory: a call takes
    /// microseconds, less than handing it to another thread and back, which was most of a
    /// request's CPU time), else on tokio's blocking pool (a database server's round trips).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SharedEngine) -> T + Send + 'static,
    ) -> T {
        if self.engine.store.is_local() {
            let started = std::time::Instant::now();
            let out = f(&self.engine);
            self.metrics.engine_call(started);
            return out;
        }
        let (engine, metrics) = (self.engine.clone(), self.metrics.clone());
        let call = move || {
            let started = std::time::Instant::now();
            let out = f(&engine);
            metrics.engine_call(started);
            out
        };
        match tokio::task::spawn_blocking(call).await {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Starts the server on the current tokio runtime and returns once it is listening.
pub async fn serve(config: ServerConfig) -> io::Result<ServerHandle> {
    let (handle, run) = start(config).await?;
    tokio::spawn(run);
    Ok(handle)
}

/// Starts the server on its own thread and tokio runtime (2 workers, or 1 when the process may
/// run on one core only: two would take turns on it); for callers without one.
pub fn spawn(config: ServerConfig) -> io::Result<ServerHandle> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(2));
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("deviceflow-server".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build();
            let rt = match rt {
                Ok(rt) => rt,
                Err(e) => return drop(tx.send(Err(e))),
            };
            rt.block_on(async move {
                match start(config).await {
                    Ok((handle, run)) => {
                        let _ = tx.send(Ok(handle));
                        run.await;
                    }
                    Err(e) => drop(tx.send(Err(e))),
                }
            });
        })?;
    let mut handle = rx
        .recv()
        .map_err(|_| io::Error::other("server thread exited"))??;
    handle.thread = Some(thread);
    Ok(handle)
}

async fn start(config: ServerConfig) -> io::Result<(ServerHandle, impl Future<Output = ()>)> {
    let tls = config.tls.as_ref().map(tls_acceptor).transpose()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let local_addr = listener.local_addr()?;
    let issuer = match &config.issuer {
        Some(issuer) => issuer.trim_end_matches('/').to_owned(),
        None if local_addr.ip().is_unspecified() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "listening on every interface needs the issuer: the public URL clients use",
            ))
        }
        None => format!("{scheme}://{local_addr}"),
    };
    let (app, metrics_app, engine) = build(&config, &issuer)?;
    let metrics_listener = match config.metrics_addr {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => Some(l.local_addr()?),
        None => None,
    };
    let trusted = Arc::new(TrustedProxies(config.trusted_proxies.clone()));
    let listener = listen::Listener {
        tcp: listener,
        tls,
        limits: config.connections.clone().within_file_limit(),
        uncapped: Arc::new(move |ip| trusted.contains(ip)),
    };
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (closing_tx, closing_rx) = tokio::sync::watch::channel(false);
    let metrics_run = metrics_listener.map(|tcp| {
        let mut closing = closing_rx.clone();
        let listener = listen::Listener {
            tcp,
            tls: None,
            limits: ConnLimits::default().within_file_limit(),
            uncapped: Arc::new(|_| false),
        };
        let stop = async move {
            let _ = closing.wait_for(|c| *c).await;
        };
        listen::run(listener, metrics_app, stop, Duration::from_secs(1))
    });
    let run = {
        let engine = engine.clone();
        async move {
            let housekeeping = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    let engine = engine.clone();
                    let _ = tokio::task::spawn_blocking(move || housekeeping(&engine)).await;
                }
            });
            let metrics = metrics_run.map(tokio::spawn);
            // A dropped handle (Err) stops the server as well.
            let stop = async move {
                let _ = stop_rx.await;
                let _ = closing_tx.send(true);
            };
            listen::run(listener, app, stop, Duration::from_secs(2)).await;
            if let Some(m) = metrics {
                let _ = m.await;
            }
            housekeeping.abort();
        }
    };
    let handle = ServerHandle {
        local_addr,
        metrics_addr,
        issuer,
        engine,
        stop: Some(stop_tx),
        thread: None,
    };
    Ok((handle, run))
}

/// What runs once a minute: expired records purged (and signing keys rotated).
fn housekeeping(engine: &SharedEngine) {
    let _ = engine.handle_key_rotation(now_ms(), &mut crate::OsRandom);
    let _ = engine.handle_housekeeping(now_ms());
}

/// The store, keys, engine and routes for `issuer` (no trailing `/`).
/// Returns the public router, the metrics router and the engine.
fn build(config: &ServerConfig, issuer: &str) -> io::Result<(Router, Router, SharedEngine)> {
    let cors = cors::Cors::new(
        &config.allowed_origins,
        &config.clients,
        config.max_body_bytes,
    )?;
    let store: Arc<dyn Store> = match (&config.store, &config.database_url, &config.database) {
        (Some(store), _, _) => store.clone(),
        (None, Some(url), _) => Arc::new(PostgresStore::open(url).map_err(io::Error::other)?),
        (None, None, Some(path)) => Arc::new(SqliteStore::open(path).map_err(io::Error::other)?),
        (None, None, None) => Arc::new(SqliteStore::in_memory().map_err(io::Error::other)?),
    };
    // Keys that must outlive the process live in the store: the first instance's key wins.
    let key = |name: &str| -> io::Result<[u8; 32]> {
        let mut fresh = [0u8; 32];
        crate::OsRandom.fill(&mut fresh);
        store.secret(name, &fresh).map_err(io::Error::other)
    };
    let user_code_key = key("user-code-hmac")?;
    let session_key = key("session-cookie")?;
    let mut engine_config = EngineConfig::new(issuer, user_code_key);
    engine_config.interval_ms = config.interval_secs as i64 * 1000;
    engine_config.device_code_ttl_ms = config.device_code_ttl_secs as i64 * 1000;
    engine_config.access_token_ttl_ms = config.access_token_ttl_secs as i64 * 1000;
    engine_config.limits = config.limits.clone();
    engine_config.issuance = config.issuance.clone();
    engine_config.redeem_grace_ms = config.redeem_grace_secs as i64 * 1000;
    let engine: SharedEngine = Arc::new(Engine::new(
        engine_config,
        ClientRegistry::new(config.clients.clone()),
        store,
    ));
    // The JWT signing key (made now if the store has none), so `/jwks` is never empty.
    engine
        .handle_key_rotation(now_ms(), &mut crate::OsRandom)
        .map_err(io::Error::other)?;
    let trusted = TrustedProxies(config.trusted_proxies.clone());
    let signer = signin::Signer::new(&config.sign_in, issuer, &trusted)?;
    let state = AppState {
        engine: engine.clone(),
        sessions: Arc::new(session::Sessions::new(
            session_key,
            issuer.starts_with("https://"),
            issuer_path(issuer),
        )),
        lanes: Arc::default(),
        trusted: Arc::new(trusted),
        signer: Arc::new(signer),
        metrics: Arc::default(),
    };
    let metrics = metrics::router(state.clone());
    let router = router(state, config.max_body_bytes, Arc::new(cors));
    Ok((router, metrics, engine))
}

/// The path of an issuer URL (`""` for `https://a.example`, `/login/device` for
/// `https://a.example/login/device`): where the pages live and their cookie is scoped.
fn issuer_path(issuer: &str) -> &str {
    let rest = issuer.split_once("://").map_or("", |(_, rest)| rest);
    rest.find('/').map_or("", |i| &rest[i..])
}

/// The server as a router for a host application ([`embed`]).
pub struct Embedded {
    /// Nest it at the issuer's path: `Router::new().nest("/login/device", embedded.router)`,
    /// and serve with `into_make_service_with_connect_info::<SocketAddr>()` (the pages and
    /// limits need the peer address).
    pub router: Router,
    pub engine: SharedEngine,
    /// The issuer as configured (no trailing `/`).
    pub issuer: String,
}

impl fmt::Debug for Embedded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Embedded")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Embedded {
    /// `{issuer}/device`: the page a person opens.
    pub fn verification_uri(&self) -> String {
        self.engine.config.verification_uri()
    }
}

/// The endpoints and pages as an axum [`Router`] for a host application to nest under its own
/// prefix, typically with [`signin::SignIn::Host`] and the host's [`signin::Authenticator`].
///
/// `config.issuer` is required and must be the public URL the router is nested at
/// (`https://app.example/login/device`): metadata, endpoints, links, redirects and the cookie
/// path all derive from it. `addr`, `tls` and `connections` are the host's business and are
/// ignored. Expired records are purged once a minute on the caller's runtime for as long as
/// the router lives.
pub async fn embed(config: ServerConfig) -> io::Result<Embedded> {
    let issuer = config
        .issuer
        .as_deref()
        .map(|i| i.trim_end_matches('/').to_owned())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "an embedded server needs its issuer: the URL it is nested at",
            )
        })?;
    let (router, _metrics, engine) = build(&config, &issuer)?;
    let weak = Arc::downgrade(&engine);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            let Some(engine) = weak.upgrade() else { break };
            let _ = tokio::task::spawn_blocking(move || housekeeping(&engine)).await;
        }
    });
    Ok(Embedded {
        router,
        engine,
        issuer,
    })
}

/// A TLS acceptor (rustls, ring) for the PEM files; HTTP/1.1 only.
fn tls_acceptor(files: &TlsFiles) -> io::Result<tokio_rustls::TlsAcceptor> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::{crypto, ServerConfig};
    let bad = |what: &str, path: &PathBuf, e: &dyn fmt::Display| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} {}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad("TLS certificate", &files.cert, &e))?;
    if certs.is_empty() {
        return Err(bad(
            "TLS certificate",
            &files.cert,
            &"no certificate in the file",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| bad("TLS private key", &files.key, &e))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| bad("TLS certificate and key", &files.cert, &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

fn router(state: AppState, max_body_bytes: usize, cors: Arc<cors::Cors>) -> Router {
    use cors::Scope;
    let with_cors = |routes: Router<AppState>, scope| {
        routes.layer(axum::middleware::from_fn_with_state(
            (cors.clone(), scope),
            cors::layer,
        ))
    };
    // CORS (for browser apps) on these only: never on the pages or the sign-in flow.
    let client_routes = Router::new()
        .route("/device_authorization", post(oauth::device_authorization))
        .route("/token", post(oauth::token))
        .route("/revoke", post(oauth::revoke));
    let open_routes = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::metadata),
        )
        .route("/.well-known/openid-configuration", get(oauth::metadata))
        .route("/userinfo", get(oauth::userinfo))
        .route("/jwks", get(oauth::jwks));
    Router::new()
        .merge(with_cors(client_routes, Scope::RequestClient))
        .merge(with_cors(open_routes, Scope::AnyClient))
        .route("/introspect", post(oauth::introspect))
        .route("/device", get(pages::entry).post(pages::submit))
        .route("/device/confirm", post(pages::confirm))
        .route("/device/grants", get(grants::list))
        .route("/device/grants/revoke", post(grants::revoke))
        .merge(signin::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::map_response(reply::security_headers))
        .with_state(state)
}
