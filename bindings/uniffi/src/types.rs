//! The core's values across the FFI. Plain values are the core's own types, declared
//! to uniffi as remote types (`#[uniffi::remote]`, `custom_type!`): no copy, no `From`.
//! What can hold a secret (request bodies, `Authorization`, response bodies) is an
//! FFI-shaped record that redacts itself in Kotlin `toString()` and Swift `description`
//! through the exported `Display`/`Debug`, which uniffi cannot add to a remote type.

use crate::error::FlowError;
use crate::tokens::TokenSet;
use deviceflow as core;
use deviceflow::{Method, Prompt, Revoked, ServerMetadata, Timestamp, TransportError, WaitReason};
use std::sync::Arc;

// The caller's clock in milliseconds (a `ULong` / `UInt64` on the foreign side).
uniffi::custom_type!(Timestamp, u64, {
    remote,
    lower: |t| t.0,
    try_lift: |ms| Ok(Timestamp(ms)),
});

#[uniffi::remote(Enum)]
#[uniffi(name = "HttpMethod")]
pub enum Method {
    Get,
    Post,
}

/// One header; a list keeps order and duplicates.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display, Debug)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// A request to perform exactly once; answer with `handleResponse(request.id, ..)`
/// or `handleTransportError(request.id, ..)`.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display, Debug)]
pub struct HttpRequest {
    pub id: u64,
    pub method: Method,
    pub url: String,
    pub headers: Vec<Header>,
    /// Form-encoded body (empty for GET). Holds secrets: never log it.
    pub body: Vec<u8>,
    /// The most this request may take, in ms: what is left of a one-shot operation's
    /// budget (`Timing.requestBudgetMs`); null for token polls. End it at the smaller
    /// of this and the transport's own deadline.
    #[uniffi(default)]
    pub timeout_ms: Option<u64>,
}

/// A response of any status.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Display, Debug)]
pub struct HttpResponse {
    pub status: u16,
    #[uniffi(default)]
    pub headers: Vec<Header>,
    #[uniffi(default)]
    pub body: Vec<u8>,
}

/// Why a request got no HTTP response (RFC 8628 §3.5).
#[uniffi::remote(Enum)]
pub enum TransportError {
    Timeout,
    Connect,
    Tls,
    Io,
    Other,
}

#[uniffi::remote(Enum)]
pub enum WaitReason {
    Interval,
    SlowDown,
    Backoff,
    RetryAfter,
    Expiry,
}

/// What to show the user (RFC 8628 §3.3); every string was checked by the core.
#[uniffi::remote(Record)]
pub struct Prompt {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    /// Show it prominently so users can spot a wrong site.
    pub verification_host: String,
    pub expires_at: Timestamp,
    pub expires_in: u64,
    pub interval: u64,
    pub message: Option<String>,
}

/// What discovery learned (RFC 8414 §3.2).
#[uniffi::remote(Record)]
pub struct ServerMetadata {
    pub issuer: String,
    pub device_authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub scopes_supported: Vec<String>,
    pub source: String,
}

/// The token is revoked (RFC 7009 §2.2).
#[uniffi::remote(Record)]
pub struct Revoked {
    pub status: u16,
}

/// The next thing to do, for `DeviceFlow` and `Refresh`. `Send` and `Display`
/// are handed out once each; the others repeat until something changes.
#[derive(Clone, Debug, uniffi::Enum)]
pub enum Action {
    /// DPoP: sign `input`'s UTF-8 bytes (ES256, raw `r||s` or DER) and answer with
    /// `handleSignature(id, ..)`; the `Send` with that id follows. Repeats until answered.
    Sign {
        id: u64,
        input: String,
    },
    Send {
        request: HttpRequest,
    },
    Display {
        prompt: Prompt,
    },
    Wait {
        until: u64,
        delay_ms: u64,
        reason: WaitReason,
    },
    AwaitingResponse {
        id: u64,
    },
    Done {
        tokens: Arc<TokenSet>,
    },
    Failed {
        error: Arc<FlowError>,
    },
}

#[derive(Clone, Debug, uniffi::Enum)]
pub enum DiscoveryAction {
    Send {
        request: HttpRequest,
    },
    Wait {
        until: u64,
        delay_ms: u64,
        reason: WaitReason,
    },
    AwaitingResponse {
        id: u64,
    },
    Done {
        metadata: ServerMetadata,
    },
    Failed {
        error: Arc<FlowError>,
    },
}

#[derive(Clone, Debug, uniffi::Enum)]
pub enum RevocationAction {
    /// DPoP: sign `input`'s UTF-8 bytes (ES256, raw `r||s` or DER) and answer with
    /// `handleSignature(id, ..)`; the `Send` with that id follows. Repeats until answered.
    Sign {
        id: u64,
        input: String,
    },
    Send {
        request: HttpRequest,
    },
    Wait {
        until: u64,
        delay_ms: u64,
        reason: WaitReason,
    },
    AwaitingResponse {
        id: u64,
    },
    Done {
        revoked: Revoked,
    },
    Failed {
        error: Arc<FlowError>,
    },
}

/// Maps the variants every operation shares; `$done` maps the result.
macro_rules! convert_action {
    ($action:expr, $out:ident, |$r:ident| $done:expr, |$id:ident, $input:ident| $sign:expr) => {
        match $action {
            core::Action::Sign {
                id: $id,
                input: $input,
            } => $sign,
            core::Action::Send(req) => $out::Send {
                request: req.into(),
            },
            core::Action::Wait {
                until,
                delay_ms,
                reason,
            } => $out::Wait {
                until: until.0,
                delay_ms,
                reason,
            },
            core::Action::AwaitingResponse { id } => $out::AwaitingResponse { id: id.0 },
            core::Action::Done($r) => $done,
            core::Action::Failed(e) => $out::Failed {
                error: Arc::new(e.into()),
            },
            core::Action::Display(_) => unreachable!("only the device flow displays"),
        }
    };
}

impl From<core::Action> for Action {
    fn from(a: core::Action) -> Self {
        match a {
            core::Action::Display(prompt) => Action::Display { prompt },
            other => convert_action!(
                other,
                Action,
                |t| Action::Done {
                    tokens: Arc::new(TokenSet(t))
                },
                |id, input| Action::Sign { id: id.0, input }
            ),
        }
    }
}

impl From<core::Action<core::ServerMetadata>> for DiscoveryAction {
    fn from(a: core::Action<core::ServerMetadata>) -> Self {
        convert_action!(
            a,
            DiscoveryAction,
            |metadata| DiscoveryAction::Done { metadata },
            |_id, _input| DiscoveryAction::Failed {
                // Discovery only GETs: the core never asks it to sign.
                error: Arc::new(FlowError::new("internal", "discovery never signs"))
            }
        )
    }
}

impl From<core::Action<core::Revoked>> for RevocationAction {
    fn from(a: core::Action<core::Revoked>) -> Self {
        convert_action!(
            a,
            RevocationAction,
            |revoked| RevocationAction::Done { revoked },
            |id, input| RevocationAction::Sign { id: id.0, input }
        )
    }
}

impl From<core::HttpRequest> for HttpRequest {
    fn from(r: core::HttpRequest) -> Self {
        HttpRequest {
            id: r.id.0,
            method: r.method,
            url: r.url,
            headers: r
                .headers
                .into_iter()
                .map(|h| Header {
                    name: h.name,
                    value: h.value,
                })
                .collect(),
            body: r.body,
            timeout_ms: r.timeout_ms,
        }
    }
}

impl From<HttpResponse> for core::HttpResponse {
    fn from(r: HttpResponse) -> Self {
        let headers = r
            .headers
            .into_iter()
            .map(|h| core::Header::new(h.name, h.value))
            .collect();
        core::HttpResponse::new(r.status, headers, r.body)
    }
}

// ---- redaction: the core's Debug impls already hide bodies and Authorization.

fn core_header(h: &Header) -> core::Header {
    core::Header::new(h.name.clone(), h.value.clone())
}

redacted_fmt!(Header, |h, f| write!(f, "{:?}", core_header(h)));
redacted_fmt!(HttpRequest, |r, f| {
    let headers: Vec<_> = r.headers.iter().map(core_header).collect();
    write!(
        f,
        "HttpRequest(id={}, {:?} {}, headers={:?}, body=[redacted {} bytes])",
        r.id,
        r.method,
        r.url,
        headers,
        r.body.len()
    )
});
redacted_fmt!(HttpResponse, |r, f| {
    let headers: Vec<_> = r.headers.iter().map(core_header).collect();
    write!(
        f,
        "HttpResponse(status={}, headers={:?}, body=[redacted {} bytes])",
        r.status,
        headers,
        r.body.len()
    )
});
