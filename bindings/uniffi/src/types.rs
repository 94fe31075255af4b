//! FFI-shaped mirrors of the core's values, converted field for field.
//! Everything that can hold a secret (request bodies, `Authorization`, response
//! bodies) redacts itself in Kotlin `toString()` and Swift `description` through
//! the exported `Display`/`Debug`.

use crate::error::FlowError;
use crate::tokens::TokenSet;
use deviceflow as core;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum HttpMethod {
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
    pub method: HttpMethod,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum TransportError {
    Timeout,
    Connect,
    Tls,
    Io,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum WaitReason {
    Interval,
    SlowDown,
    Backoff,
    RetryAfter,
    Expiry,
}

/// What to show the user (RFC 8628 §3.3); every string was checked by the core.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Prompt {
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    /// Show it prominently so users can spot a wrong site.
    pub verification_host: String,
    pub expires_at: u64,
    pub expires_in: u64,
    pub interval: u64,
    pub message: Option<String>,
}

/// What discovery learned (RFC 8414 §3.2).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
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
                reason: reason.into(),
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
            core::Action::Display(p) => Action::Display { prompt: p.into() },
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
            |m| DiscoveryAction::Done { metadata: m.into() },
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
            |r| RevocationAction::Done {
                revoked: Revoked { status: r.status }
            },
            |id, input| RevocationAction::Sign { id: id.0, input }
        )
    }
}

impl From<core::HttpRequest> for HttpRequest {
    fn from(r: core::HttpRequest) -> Self {
        HttpRequest {
            id: r.id.0,
            method: match r.method {
                core::Method::Get => HttpMethod::Get,
                core::Method::Post => HttpMethod::Post,
            },
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

impl From<TransportError> for core::TransportError {
    fn from(k: TransportError) -> Self {
        match k {
            TransportError::Timeout => core::TransportError::Timeout,
            TransportError::Connect => core::TransportError::Connect,
            TransportError::Tls => core::TransportError::Tls,
            TransportError::Io => core::TransportError::Io,
            TransportError::Other => core::TransportError::Other,
        }
    }
}

impl From<core::WaitReason> for WaitReason {
    fn from(r: core::WaitReason) -> Self {
        match r {
            core::WaitReason::Interval => WaitReason::Interval,
            core::WaitReason::SlowDown => WaitReason::SlowDown,
            core::WaitReason::Backoff => WaitReason::Backoff,
            core::WaitReason::RetryAfter => WaitReason::RetryAfter,
            core::WaitReason::Expiry => WaitReason::Expiry,
        }
    }
}

impl From<core::Prompt> for Prompt {
    fn from(p: core::Prompt) -> Self {
        Prompt {
            user_code: p.user_code,
            verification_uri: p.verification_uri,
            verification_uri_complete: p.verification_uri_complete,
            verification_host: p.verification_host,
            expires_at: p.expires_at.0,
            expires_in: p.expires_in,
            interval: p.interval,
            message: p.message,
        }
    }
}

impl From<core::ServerMetadata> for ServerMetadata {
    fn from(m: core::ServerMetadata) -> Self {
        ServerMetadata {
            issuer: m.issuer,
            device_authorization_endpoint: m.device_authorization_endpoint,
            token_endpoint: m.token_endpoint,
            revocation_endpoint: m.revocation_endpoint,
            token_endpoint_auth_methods_supported: m.token_endpoint_auth_methods_supported,
            grant_types_supported: m.grant_types_supported,
            scopes_supported: m.scopes_supported,
            source: m.source,
        }
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
