//! The accept loop: connection caps with eviction, timeouts, optional TLS; hyper serves each
//! connection and the axum router answers each request.
//!
//! Why our own loop instead of `axum::serve`: it has no header-read timeout, no connection cap
//! and no way to close idle sockets, so ~20,000 idle connections (the file limit) made the
//! server unreachable. Here:
//! * hyper's `header_read_timeout` closes a connection whose request head does not arrive in
//!   time (slowloris); the TLS handshake has the same deadline;
//! * a connection with no request in progress for `idle_timeout` is closed (keep-alive idle);
//! * at most `max_connections` in all and `max_connections_per_source` per address: a new
//!   connection over a cap **evicts the oldest idle connection** (of that address, or of the
//!   address holding the most), so idle or trickling sockets can never keep a real request out.
//!   Only when every connection is inside a request is the new one closed at once. An evicted
//!   connection closes on its own task, so the loop waits for those closes before the next
//!   `accept`: descriptors in use stay under the cap even when thousands of connections wait
//!   in the backlog, and `accept` never fails for want of one (it used to, and each failure
//!   cost the next real request a 50 ms back-off, or a dropped SYN and a second);
//! * each request has `request_timeout` in all (a trickled body included): then 408.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tower::ServiceExt as _;

use super::client_ip::source_key;

/// Connection limits and timeouts. The defaults suit one machine on the internet.
#[derive(Clone, Debug)]
pub struct ConnLimits {
    /// Open connections in all (keep it well under the process's file limit).
    pub max_connections: usize,
    /// Open connections from one address (IPv6: one /64). Trusted proxies are exempt.
    pub max_connections_per_source: usize,
    /// Time to receive a request head (and to finish a TLS handshake).
    pub header_read_timeout: Duration,
    /// A connection with no request in progress for this long is closed.
    pub idle_timeout: Duration,
    /// A whole request, body included, from head to response.
    pub request_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 4096,
            max_connections_per_source: 64,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// One open connection, as the table sees it.
struct Conn {
    id: u64,
    source: String,
    /// Requests in progress on it.
    busy: AtomicUsize,
    /// Milliseconds since the table's epoch when it was last active (opened, or a request ended).
    last_active: AtomicU64,
    kill: Notify,
}

impl Conn {
    fn idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
    }
}

/// Every open connection, by id, and the count per source.
struct Table {
    limits: ConnLimits,
    epoch: Instant,
    next_id: AtomicU64,
    inner: Mutex<Inner>,
    /// Connection tasks still holding their socket (evicted ones included, until they close).
    open: AtomicUsize,
    /// Signalled when one of those tasks lets its socket go.
    closed: Notify,
}

#[derive(Default)]
struct Inner {
    conns: HashMap<u64, Arc<Conn>>,
    per_source: HashMap<String, usize>,
}

impl Table {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Until evicted connections have closed and the sockets in use are back under the cap
    /// (each wait bounded, so a stuck close can delay the loop but never stop it).
    async fn room_to_accept(&self) {
        while self.open.load(Ordering::Acquire) > self.limits.max_connections {
            let wait = tokio::time::timeout(Duration::from_millis(50), self.closed.notified());
            if wait.await.is_err() {
                return;
            }
        }
    }

    fn socket_closed(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.closed.notify_one();
    }

    /// Registers a connection from `source`, evicting idle ones to stay under the caps.
    /// `None`: every connection that could make room is busy; close the new one.
    fn admit(&self, source: String, capped: bool) -> Option<Arc<Conn>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let here = inner.per_source.get(&source).copied().unwrap_or(0);
        if capped && here >= self.limits.max_connections_per_source {
            inner.evict_oldest_idle(Some(&source))?;
        }
        if inner.conns.len() >= self.limits.max_connections {
            let largest = inner
                .per_source
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(s, _)| s.clone());
            if inner.evict_oldest_idle(largest.as_ref()).is_none() {
                inner.evict_oldest_idle(None)?;
            }
        }
        let conn = Arc::new(Conn {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            source: source.clone(),
            busy: AtomicUsize::new(0),
            last_active: AtomicU64::new(self.now()),
            kill: Notify::new(),
        });
        inner.conns.insert(conn.id, conn.clone());
        *inner.per_source.entry(source).or_default() += 1;
        Some(conn)
    }

    fn remove(&self, conn: &Conn) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.conns.remove(&conn.id).is_some() {
            if let Some(n) = inner.per_source.get_mut(&conn.source) {
                *n -= 1;
                if *n == 0 {
                    inner.per_source.remove(&conn.source);
                }
            }
        }
    }

    /// Closes connections idle for longer than `idle_timeout`.
    fn sweep(&self) {
        let now = self.now();
        let idle_ms = self.limits.idle_timeout.as_millis() as u64;
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for c in inner.conns.values() {
            if c.idle() && now.saturating_sub(c.last_active.load(Ordering::Acquire)) >= idle_ms {
                c.kill.notify_one();
            }
        }
    }

    fn kill_all(&self, only_idle: bool) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for c in inner.conns.values() {
            if !only_idle || c.idle() {
                c.kill.notify_one();
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .conns
            .is_empty()
    }
}

impl Inner {
    /// Evicts the longest-idle connection (of `source`, if given). `None` if there is none.
    fn evict_oldest_idle(&mut self, source: Option<&String>) -> Option<()> {
        let victim = self
            .conns
            .values()
            .filter(|c| c.idle() && source.is_none_or(|s| *s == c.source))
            .min_by_key(|c| c.last_active.load(Ordering::Acquire))?
            .clone();
        victim.kill.notify_one();
        self.conns.remove(&victim.id);
        if let Some(n) = self.per_source.get_mut(&victim.source) {
            *n -= 1;
            if *n == 0 {
                self.per_source.remove(&victim.source);
            }
        }
        Some(())
    }
}

/// Marks a connection busy for the life of one request.
struct Busy<'a>(&'a Conn, &'a Table);

impl<'a> Busy<'a> {
    fn enter(conn: &'a Conn, table: &'a Table) -> Self {
        conn.busy.fetch_add(1, Ordering::AcqRel);
        Busy(conn, table)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.last_active.store(self.1.now(), Ordering::Release);
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnLimits {
    /// These limits with `max_connections` under the process's file limit (less room for the
    /// store, the listener and the runtime), so the cap, not `accept` failing, is what bites.
    pub fn within_file_limit(mut self) -> Self {
        if let Some(files) = file_limit() {
            let room = files.saturating_sub(RESERVED_FILES).max(16);
            self.max_connections = self.max_connections.min(room);
            self.max_connections_per_source = self.max_connections_per_source.min(room);
        }
        self
    }
}

/// Descriptors kept free for everything but client connections.
const RESERVED_FILES: usize = 64;

#[cfg(unix)]
fn file_limit() -> Option<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    (ok && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur as usize)
}

#[cfg(not(unix))]
fn file_limit() -> Option<usize> {
    None
}

/// What the loop needs besides the router.
pub struct Listener {
    pub tcp: TcpListener,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub limits: ConnLimits,
    /// Addresses exempt from the per-source cap (trusted proxies carry many clients).
    pub uncapped: Arc<dyn Fn(IpAddr) -> bool + Send + Sync>,
}

/// Serves until `stop` fires; then stops accepting, lets requests in progress finish for up
/// to `grace`, and closes the rest.
pub async fn run(listener: Listener, app: Router, stop: impl Future<Output = ()>, grace: Duration) {
    let table = Arc::new(Table {
        limits: listener.limits.clone(),
        epoch: Instant::now(),
        next_id: AtomicU64::new(0),
        inner: Mutex::default(),
        open: AtomicUsize::new(0),
        closed: Notify::new(),
    });
    let (closing_tx, closing_rx) = watch::channel(false);
    let sweeper = {
        let table = table.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                table.sweep();
            }
        })
    };
    let mut stop = std::pin::pin!(stop);
    loop {
        table.room_to_accept().await;
        let accepted = tokio::select! {
            _ = &mut stop => break,
            a = listener.tcp.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            // Out of file descriptors and the like: back off briefly instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let capped = !(listener.uncapped)(peer.ip());
        let Some(conn) = table.admit(source_key(peer.ip()), capped) else {
            drop(stream);
            continue;
        };
        table.open.fetch_add(1, Ordering::AcqRel);
        let (table, app, tls, closing) = (
            table.clone(),
            app.clone(),
            listener.tls.clone(),
            closing_rx.clone(),
        );
        tokio::spawn(async move {
            match tls {
                None => serve_conn(stream, peer, &conn, &table, app, closing).await,
                Some(acceptor) => {
                    let deadline = table.limits.header_read_timeout;
                    let handshake = tokio::select! {
                        h = tokio::time::timeout(deadline, acceptor.accept(stream)) => {
                            h.ok().and_then(Result::ok)
                        }
                        _ = conn.kill.notified() => None,
                    };
                    if let Some(tls_stream) = handshake {
                        serve_conn(tls_stream, peer, &conn, &table, app, closing).await;
                    }
                }
            }
            table.remove(&conn);
            table.socket_closed();
        });
    }
    drop(listener.tcp);
    let _ = closing_tx.send(true);
    let deadline = Instant::now() + grace;
    while !table.is_empty() && Instant::now() < deadline {
        table.kill_all(true);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    table.kill_all(false);
    sweeper.abort();
}

/// One connection: hyper's HTTP/1.1 with the head timeout; each request marked busy, given
/// the peer address and a deadline; closed early when the table says so.
async fn serve_conn<I>(
    io: I,
    peer: SocketAddr,
    conn: &Arc<Conn>,
    table: &Arc<Table>,
    app: Router,
    mut closing: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let request_timeout = table.limits.request_timeout;
    let (svc_conn, svc_table) = (conn.clone(), table.clone());
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        let (conn, table, app) = (svc_conn.clone(), svc_table.clone(), app.clone());
        async move {
            let _busy = Busy::enter(&conn, &table);
            req.extensions_mut().insert(ConnectInfo(peer));
            let answer = tokio::time::timeout(request_timeout, app.oneshot(req.map(Body::new)));
            Ok::<_, Infallible>(match answer.await {
                Ok(Ok(resp)) => resp,
                Ok(Err(never)) => match never {},
                Err(_) => timed_out(),
            })
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(table.limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    let http = builder.serve_connection(TokioIo::new(io), service);
    let mut http = std::pin::pin!(http);
    let mut graceful = false;
    loop {
        tokio::select! {
            _ = http.as_mut() => break,
            _ = conn.kill.notified() => break,
            changed = closing.changed(), if !graceful => {
                if changed.is_err() || *closing.borrow() {
                    graceful = true;
                    http.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

fn timed_out() -> Response<Body> {
    let mut resp = Response::new(Body::from("request timeout\n"));
    *resp.status_mut() = StatusCode::REQUEST_TIMEOUT;
    resp.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    resp
}
