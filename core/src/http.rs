//! Owned HTTP values that cross the sans-IO boundary.
//!
//! The machine never performs I/O: it hands out [`HttpRequest`]s and takes back
//! [`HttpResponse`]s (any status) or a [`TransportError`]. Only owned, simple types
//! appear here so every binding can mirror them field for field.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The caller's clock in milliseconds from any origin that never goes backwards.
///
/// The machine never reads a clock. If you persist a [`crate::TokenSet`], drive the
/// machine with Unix-epoch milliseconds so `expires_at` stays meaningful across
/// processes.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// `self + ms`, saturating.
    pub fn plus(self, ms: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(ms))
    }
    /// Milliseconds from `earlier` to `self`, 0 if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Links a response to the request it answers. Unique within one machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

/// HTTP method of a request the machine asks the caller to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One header. A list keeps order and duplicates, which a map would lose.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.eq_ignore_ascii_case("authorization") {
            write!(f, "{}: [redacted]", self.name)
        } else {
            write!(f, "{}: {:?}", self.name, self.value)
        }
    }
}

/// A request to perform. Carry it out exactly once, then answer with
/// `handle_response(req.id, ..)` or `handle_transport_error(req.id, ..)`.
///
/// `timeout_ms` is the most the request may take, counted from when it was handed
/// out: end it at the smaller of this and your own per-request deadline, and report
/// [`TransportError::Timeout`]. One-shot operations (discovery, device authorization,
/// refresh, revocation) set it to what is left of their overall budget
/// ([`crate::Timing::request_budget_ms`]), which their retries share; token polls
/// leave it `None` (your own deadline applies).
///
/// `Debug` never shows the body or the `Authorization` value: both can hold
/// secrets (device code, refresh token, client secret).
#[must_use]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub id: RequestId,
    pub method: Method,
    pub url: String,
    pub headers: Vec<Header>,
    /// The form-encoded body (UTF-8 text), empty for GET.
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
    /// The longest this request may take, in ms from when it was handed out (see above).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

impl HttpRequest {
    /// The body as text (request bodies are always form-urlencoded ASCII).
    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("id", &self.id.0)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &self.headers)
            .field(
                "body",
                &format_args!("[redacted {} bytes]", self.body.len()),
            )
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// A response of any status, fed back to the machine.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HttpResponse {
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<Header>,
    #[serde(default, with = "body_text")]
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn new(status: u16, headers: Vec<Header>, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers,
            body: body.into(),
        }
    }
    /// A JSON response with `Content-Type: application/json`.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        HttpResponse::new(
            status,
            vec![Header::new("content-type", "application/json")],
            body.to_string(),
        )
    }
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field(
                "body",
                &format_args!("[redacted {} bytes]", self.body.len()),
            )
            .finish()
    }
}

/// Why a request produced no HTTP response (RFC 8628 §3.5: "connection timeout").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportError {
    /// The request timed out.
    Timeout,
    /// DNS failure, connection refused or reset.
    Connect,
    /// TLS handshake or certificate failure.
    Tls,
    /// The response was cut short or could not be read.
    Io,
    /// Anything else below HTTP.
    Other,
}

impl TransportError {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportError::Timeout => "timeout",
            TransportError::Connect => "connect",
            TransportError::Tls => "tls",
            TransportError::Io => "io",
            TransportError::Other => "other",
        }
    }
}

/// Bodies cross JSON (vectors, bindings) as text; invalid UTF-8 is replaced.
mod body_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(body))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(String::deserialize(d)?.into_bytes())
    }
}
