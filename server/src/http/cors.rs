//! CORS on the OAuth endpoints, so that a browser app (a TV app served as a web page, a
//! single-page app) on another origin can call them: device authorization, token, revocation,
//! metadata, JWKS and userinfo. Never on the verification pages or the sign-in flow: those stay
//! same-origin (`frame-ancestors 'none'`), and their routes do not get this layer at all.
//!
//! Origins are allowed per client ([`ServerConfig::allowed_origins`](super::ServerConfig),
//! `allowed_origins = [...]` in a `[[clients]]` table), matched exactly against the browser's
//! `Origin` header: `scheme://host[:port]`, lowercase, no default port, no path, never `*`.
//!
//! * A preflight (`OPTIONS` with `Access-Control-Request-Method`) cannot name its client (the
//!   `client_id` is in the body that follows), so it is allowed when **any** client lists the
//!   origin; it changes nothing and reaches no handler.
//! * The actual response of device authorization, token and revocation carries
//!   `Access-Control-Allow-Origin` only when the request's own client (`client_id` in the form,
//!   or HTTP Basic) lists the origin; metadata, JWKS and userinfo (no client in the request)
//!   when any client does.
//! * A refused origin gets no CORS headers at all: the browser then withholds the response
//!   from the page. Every response of these routes carries `Vary: Origin`.
//!
//! Why not tower-http's `CorsLayer`: its origin predicate sees the request head only, and the
//! per-client rule needs the form body's `client_id`; it is also not a dependency here.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use base64::Engine as _;

use super::reply::Reply;
use crate::engine::Client;

const ALLOW_METHODS: &str = "GET, POST, OPTIONS";
const ALLOW_HEADERS: &str = "Content-Type, Authorization, DPoP";
const EXPOSE_HEADERS: &str = "WWW-Authenticate, DPoP-Nonce, Retry-After";
/// Seconds a browser may cache a preflight answer (Chromium caps it at 7200).
const MAX_AGE: &str = "600";

/// Checks one configured origin: `scheme://host[:port]` exactly as a browser sends it in
/// `Origin` (http or https, lowercase host, no default port, no path, query or wildcard).
/// Returns why not.
pub fn check_origin(origin: &str) -> Result<(), String> {
    if origin.contains('*') {
        return Err(format!(
            "{origin:?}: wildcards are not allowed: list each origin (scheme://host[:port])"
        ));
    }
    let (scheme, rest) = origin
        .split_once("://")
        .ok_or_else(|| format!("{origin:?} is not an origin: write scheme://host[:port]"))?;
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "{origin:?}: the scheme must be http or https (lowercase)"
        ));
    }
    if rest.contains(['/', '?', '#']) {
        let bare = format!(
            "{scheme}://{}",
            rest.split(['/', '?', '#']).next().unwrap_or("")
        );
        return Err(format!(
            "{origin:?}: an origin has no path, query or trailing slash: write {bare:?}"
        ));
    }
    if rest.contains(['@', ' ', '\\']) || rest.chars().any(char::is_control) {
        return Err(format!(
            "{origin:?} is not an origin: write scheme://host[:port]"
        ));
    }
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{origin:?}: unclosed [ in the IPv6 address"))?;
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!("{origin:?}: not an IPv6 address in [ ]"));
            }
            match after {
                "" => (v6, None),
                p => (
                    v6,
                    Some(p.strip_prefix(':').ok_or_else(|| {
                        format!("{origin:?}: expected :port after the IPv6 address")
                    })?),
                ),
            }
        }
        None => match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        },
    };
    if host.is_empty() {
        return Err(format!("{origin:?}: no host"));
    }
    if !rest.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err(format!(
            "{origin:?}: the host must be lowercase letters, digits, dots and hyphens, as a \
             browser sends it (punycode for other names)"
        ));
    }
    if let Some(port) = port {
        let n = port
            .parse::<u16>()
            .ok()
            .filter(|n| *n > 0 && !port.starts_with('0') && !port.starts_with('+'))
            .ok_or_else(|| format!("{origin:?}: the port must be a number from 1 to 65535"))?;
        if (scheme, n) == ("http", 80) || (scheme, n) == ("https", 443) {
            let bare = format!("{scheme}://{}", &rest[..rest.len() - port.len() - 1]);
            return Err(format!(
                "{origin:?}: browsers leave out the default port: write {bare:?}"
            ));
        }
    }
    Ok(())
}

/// The allowed origins of every client, ready for the middleware.
#[derive(Debug, Default)]
pub(crate) struct Cors {
    by_client: HashMap<String, HashSet<String>>,
    any: HashSet<String>,
    max_body_bytes: usize,
}

impl Cors {
    /// Checks `allowed` (client id → origins) against the clients: each origin well formed,
    /// each client registered and public (a browser cannot keep a client secret).
    pub(crate) fn new(
        allowed: &BTreeMap<String, Vec<String>>,
        clients: &[Client],
        max_body_bytes: usize,
    ) -> io::Result<Self> {
        let bad = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
        let mut cors = Cors {
            max_body_bytes,
            ..Cors::default()
        };
        for (client_id, origins) in allowed {
            if origins.is_empty() {
                continue;
            }
            let client = clients
                .iter()
                .find(|c| &c.client_id == client_id)
                .ok_or_else(|| {
                    bad(format!(
                        "allowed_origins: no client {client_id:?} is registered"
                    ))
                })?;
            if !client.is_public() {
                return Err(bad(format!(
                    "allowed_origins of {client_id:?}: only a public client may be called from \
                     a browser (a page cannot keep a client secret)"
                )));
            }
            for origin in origins {
                check_origin(origin)
                    .map_err(|why| bad(format!("allowed_origins of {client_id:?}: {why}")))?;
                cors.any.insert(origin.clone());
                cors.by_client
                    .entry(client_id.clone())
                    .or_default()
                    .insert(origin.clone());
            }
        }
        Ok(cors)
    }

    fn allows(&self, client_id: &str, origin: &str) -> bool {
        self.by_client
            .get(client_id)
            .is_some_and(|set| set.contains(origin))
    }
}

/// Which client list an actual (non-preflight) response is checked against.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope {
    /// Device authorization, token, revocation: the request's own client.
    RequestClient,
    /// Metadata, JWKS, userinfo: any client.
    AnyClient,
}

/// The middleware of the CORS routes (see the module docs).
pub(crate) async fn layer(
    State((cors, scope)): State<(Arc<Cors>, Scope)>,
    req: Request,
    next: Next,
) -> Reply {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(origin) = origin.filter(|o| cors.any.contains(o)) else {
        let preflight = is_preflight(&req);
        let mut resp = if preflight {
            // Refused: answered here (nothing reaches a handler), without CORS headers.
            empty(StatusCode::NO_CONTENT)
        } else {
            next.run(req).await
        };
        vary(resp.headers_mut(), preflight);
        return resp;
    };
    if is_preflight(&req) {
        let mut resp = empty(StatusCode::NO_CONTENT);
        let h = resp.headers_mut();
        allow_origin(h, &origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(ALLOW_METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(MAX_AGE),
        );
        vary(h, true);
        return resp;
    }
    let (req, allowed) = match scope {
        Scope::AnyClient => (req, true),
        Scope::RequestClient => {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = to_bytes(body, cors.max_body_bytes).await else {
                let mut resp = empty(StatusCode::PAYLOAD_TOO_LARGE);
                vary(resp.headers_mut(), false);
                return resp;
            };
            let allowed =
                request_client(&parts.headers, &bytes).is_some_and(|id| cors.allows(&id, &origin));
            (Request::from_parts(parts, Body::from(bytes)), allowed)
        }
    };
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if allowed {
        allow_origin(h, &origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    vary(h, false);
    resp
}

fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

fn empty(status: StatusCode) -> Reply {
    let mut resp = Reply::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

fn allow_origin(h: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
}

fn vary(h: &mut HeaderMap, preflight: bool) {
    let value = if preflight {
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    } else {
        "Origin"
    };
    h.append(header::VARY, HeaderValue::from_static(value));
}

/// The client a request names: `client_id` in the form and/or the HTTP Basic user (RFC 6749
/// §2.3.1). `None` when it names none, or two different ones (the engine refuses those).
fn request_client(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let mut ids = form_urlencoded::parse(body)
        .filter(|(k, _)| k == "client_id")
        .map(|(_, v)| v.into_owned())
        .collect::<Vec<_>>();
    if let Some(id) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(basic_user)
    {
        ids.push(id);
    }
    let first = ids.first()?.clone();
    ids.iter().all(|id| *id == first).then_some(first)
}

/// The user of `Basic base64(urlencode(id):urlencode(secret))`.
fn basic_user(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, _) = text.split_once(':')?;
    form_urlencoded::parse(format!("u={id}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_as_browsers_send_them() {
        for ok in [
            "https://tv.example",
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "https://[::1]:8443",
            "https://a-b.example.com:8443",
        ] {
            assert_eq!(check_origin(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("*", "wildcards"),
            ("https://*.example", "wildcards"),
            (
                "https://tv.example/",
                "trailing slash: write \"https://tv.example\"",
            ),
            ("https://tv.example/app", "no path"),
            ("tv.example", "not an origin"),
            ("ftp://tv.example", "http or https"),
            ("HTTPS://tv.example", "http or https"),
            ("https://TV.example", "lowercase"),
            ("https://tv.example:443", "write \"https://tv.example\""),
            ("http://tv.example:80", "default port"),
            ("https://tv.example:0", "port"),
            ("https://tv.example:99999", "port"),
            ("https://user@tv.example", "not an origin"),
            ("https://", "no host"),
            ("null", "not an origin"),
        ] {
            let err = check_origin(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn the_request_client_comes_from_the_form_or_basic() {
        let mut h = HeaderMap::new();
        assert_eq!(
            request_client(&h, b"client_id=tv&x=1").as_deref(),
            Some("tv")
        );
        assert_eq!(request_client(&h, b"grant_type=x"), None);
        assert_eq!(request_client(&h, b"client_id=a&client_id=b"), None);
        // "my app:secret" with the id url-encoded.
        let basic = base64::engine::general_purpose::STANDARD.encode("my%20app:s3cret");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
        );
        assert_eq!(request_client(&h, b"").as_deref(), Some("my app"));
        assert_eq!(request_client(&h, b"client_id=other"), None);
    }
}
