//! The blocking HTTP transport: performs the requests the core hands out.
//!
//! TLS verification is always on (rustls with the webpki roots). Every request has
//! one deadline covering connect, send, the response head and the whole body
//! (`--http-timeout`, default 30 s, or what is left of the operation's budget when the core
//! says less, `HttpRequest::timeout_ms`; connecting alone gets at most 10 s of it).
//! Proxy environment variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
//! `NO_PROXY`) are honoured, except for loopback hosts, which are always reached
//! directly. Redirects are not followed: OAuth endpoints answer directly, and a
//! redirected POST would lose its body (the 3xx goes to the core, which refuses it).
//! Bodies are read up to one byte past the core's `max_body_bytes`, so an oversized
//! body is refused by the core without being read whole. No `Accept-Encoding` is sent
//! and nothing is inflated (ureq's `gzip` feature is off): a compressed body reaches
//! the core as the bytes it is (not JSON: refused), under the same cap.

use crate::settings;
use deviceflow::{Header, HttpRequest, HttpResponse, Method, TransportError};
use std::io::Read;
use std::time::Duration;
use ureq::Agent;

/// Upper bound on the time spent connecting, within the request deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response head read (status line and headers).
const MAX_HEADER_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct Transport {
    proxied: Agent,
    direct: Agent,
    /// Most bytes read from one body.
    body_cap: u64,
    /// The deadline of one request (`--http-timeout`).
    timeout: Duration,
}

impl Transport {
    /// With the process settings (`--http-timeout`, the core's `max_body_bytes`).
    pub fn new() -> Self {
        let s = settings::get();
        Transport::with(s.http_timeout, s.timing.max_body_bytes)
    }

    pub fn with(timeout: Duration, max_body_bytes: usize) -> Self {
        Transport {
            proxied: agent(ureq::Proxy::try_from_env(), timeout),
            direct: agent(None, timeout),
            body_cap: (max_body_bytes as u64).saturating_add(1),
            timeout,
        }
    }

    /// Performs one request; an HTTP response of any status is `Ok`.
    pub fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let agent = if is_loopback_url(&req.url) {
            &self.direct
        } else {
            &self.proxied
        };
        // What is left of the operation's budget (the core's `timeout_ms`), if shorter.
        let deadline = req.timeout_ms.map_or(self.timeout, |ms| {
            self.timeout.min(Duration::from_millis(ms))
        });
        let result = match req.method {
            Method::Get => {
                let mut r = agent.get(&req.url);
                for h in &req.headers {
                    r = r.header(h.name.as_str(), h.value.as_str());
                }
                r.config().timeout_global(Some(deadline)).build().call()
            }
            Method::Post => {
                let mut r = agent.post(&req.url);
                for h in &req.headers {
                    r = r.header(h.name.as_str(), h.value.as_str());
                }
                r.config()
                    .timeout_global(Some(deadline))
                    .build()
                    .send(&req.body[..])
            }
        };
        let mut resp = result.map_err(classify)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter_map(|(name, value)| Some(Header::new(name.as_str(), value.to_str().ok()?)))
            .collect();
        let mut body = Vec::new();
        resp.body_mut()
            .as_reader()
            .take(self.body_cap)
            .read_to_end(&mut body)
            .map_err(|e| classify_io(&e))?;
        Ok(HttpResponse::new(status, headers, body))
    }
}

fn agent(proxy: Option<ureq::Proxy>, timeout: Duration) -> Agent {
    Agent::config_builder()
        .proxy(proxy)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .max_response_header_size(MAX_HEADER_BYTES)
        // Ask for the body as it is; should ureq's `gzip` feature ever be on, what it
        // inflates still stops at `body_cap`.
        .accept_encoding(ureq::config::AutoHeaderValue::None)
        .timeout_global(Some(timeout))
        .timeout_connect(Some(CONNECT_TIMEOUT.min(timeout)))
        .user_agent(concat!("deviceflow-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn is_loopback_url(url: &str) -> bool {
    deviceflow::display::parse_url(url)
        .map(|p| deviceflow::display::is_loopback_host(p.host))
        .unwrap_or(false)
}

fn classify(e: ureq::Error) -> TransportError {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => TransportError::Timeout,
        E::HostNotFound | E::ConnectionFailed | E::ConnectProxyFailed(_) => TransportError::Connect,
        E::Tls(_) | E::Rustls(_) | E::TlsRequired => TransportError::Tls,
        E::Io(ref io) => classify_io(io),
        E::Protocol(_) | E::BodyStalled | E::LargeResponseHeader(..) => TransportError::Io,
        _ => TransportError::Other,
    }
}

fn classify_io(e: &std::io::Error) -> TransportError {
    use std::io::ErrorKind as K;
    // ureq reports handshake and certificate failures as io::Error wrapping rustls's error.
    if e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>()) {
        return TransportError::Tls;
    }
    match e.kind() {
        K::TimedOut | K::WouldBlock => TransportError::Timeout,
        K::ConnectionRefused
        | K::ConnectionReset
        | K::ConnectionAborted
        | K::NotConnected
        | K::AddrNotAvailable => TransportError::Connect,
        _ => {
            // ureq wraps its own errors (timeouts, TLS) in io::Error while reading bodies.
            let text = e.to_string().to_ascii_lowercase();
            if text.contains("timeout") || text.contains("timed out") {
                TransportError::Timeout
            } else {
                TransportError::Io
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_bypasses_proxy() {
        assert!(is_loopback_url("http://127.0.0.1:8080/token"));
        assert!(is_loopback_url("http://localhost/x"));
        assert!(!is_loopback_url("https://login.example.com/token"));
    }

    /// Answers one request with `head` followed by `body`, then closes.
    fn one_shot(head: &'static str, body: Vec<u8>) -> String {
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        });
        format!("http://{addr}/")
    }

    fn get(url: String) -> HttpRequest {
        HttpRequest {
            id: deviceflow::RequestId(1),
            method: Method::Get,
            url,
            headers: vec![],
            body: vec![],
            timeout_ms: None,
        }
    }

    #[test]
    fn bodies_stop_one_byte_past_the_limit_and_redirects_stay() {
        let t = Transport::with(Duration::from_secs(5), 100);
        let url = one_shot(
            "HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n",
            vec![b' '; 1_000_000],
        );
        assert_eq!(t.send(&get(url)).unwrap().body.len(), 101);
        let url = one_shot(
            "HTTP/1.1 307 X\r\nlocation: http://127.0.0.1:9/elsewhere\r\ncontent-length: 0\r\n\r\n",
            vec![],
        );
        assert_eq!(t.send(&get(url)).unwrap().status, 307);
        // A gzip body is handed over as it came, not inflated.
        let url = one_shot(
            "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 4\r\n\r\n",
            vec![0x1f, 0x8b, 8, 0],
        );
        assert_eq!(t.send(&get(url)).unwrap().body, vec![0x1f, 0x8b, 8, 0]);
    }

    #[test]
    fn the_budget_left_shortens_the_deadline() {
        // A server that accepts and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut req = get(format!("http://127.0.0.1:{port}/"));
        req.timeout_ms = Some(300);
        let started = std::time::Instant::now();
        let t = Transport::with(Duration::from_secs(30), 100);
        assert_eq!(t.send(&req).unwrap_err(), TransportError::Timeout);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        drop(listener);
    }

    #[test]
    fn refused_connection_is_a_connect_error() {
        // Bind then drop a listener to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let req = HttpRequest {
            id: deviceflow::RequestId(1),
            method: Method::Get,
            url: format!("http://127.0.0.1:{port}/"),
            headers: vec![],
            body: vec![],
            timeout_ms: None,
        };
        assert_eq!(
            Transport::new().send(&req).unwrap_err(),
            TransportError::Connect
        );
    }
}
