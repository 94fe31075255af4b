//! The blocking HTTP transport: performs the requests the core hands out.
//!
//! TLS verification is always on (rustls with the webpki roots). Every request has
//! a timeout. Proxy environment variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
//! `NO_PROXY`) are honoured, except for loopback hosts, which are always reached
//! directly. Redirects are not followed: OAuth endpoints answer directly, and a
//! redirected POST would lose its body. Bodies are read up to [`MAX_BODY_BYTES`];
//! the core refuses anything over its own, smaller limit.

use deviceflow::{Header, HttpRequest, HttpResponse, Method, TransportError};
use std::io::Read;
use std::time::Duration;
use ureq::Agent;

/// Upper bound on what is read from any response body.
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;
/// Whole-request deadline (connect, send, receive headers and body).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Transport {
    proxied: Agent,
    direct: Agent,
}

impl Transport {
    pub fn new() -> Self {
        Transport {
            proxied: agent(ureq::Proxy::try_from_env()),
            direct: agent(None),
        }
    }

    /// Performs one request; an HTTP response of any status is `Ok`.
    pub fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let agent = if is_loopback_url(&req.url) {
            &self.direct
        } else {
            &self.proxied
        };
        let result = match req.method {
            Method::Get => {
                let mut r = agent.get(&req.url);
                for h in &req.headers {
                    r = r.header(h.name.as_str(), h.value.as_str());
                }
                r.call()
            }
            Method::Post => {
                let mut r = agent.post(&req.url);
                for h in &req.headers {
                    r = r.header(h.name.as_str(), h.value.as_str());
                }
                r.send(&req.body[..])
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
            .take(MAX_BODY_BYTES)
            .read_to_end(&mut body)
            .map_err(|e| classify_io(&e))?;
        Ok(HttpResponse::new(status, headers, body))
    }
}

fn agent(proxy: Option<ureq::Proxy>) -> Agent {
    Agent::config_builder()
        .proxy(proxy)
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .timeout_connect(Some(CONNECT_TIMEOUT))
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
        };
        assert_eq!(
            Transport::new().send(&req).unwrap_err(),
            TransportError::Connect
        );
    }
}
