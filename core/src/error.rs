//! Errors. Two tiers, as in h11: [`FlowError`] is an outcome of the protocol
//! (the server or network said no) and arrives as data in `Action::Failed`;
//! [`MisuseError`] and [`ConfigError`] mean the caller did something wrong.
//!
//! Every error has a stable snake_case code shared by every language binding.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Stable identity of a [`FlowError`]. The string form (`code.as_str()`) is the
/// same in Rust, Python (`e.code`), JavaScript (`err.code`), Kotlin and Swift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The user denied the request (RFC 8628 §3.5).
    AccessDenied,
    /// The device code expired before approval, by the server's word or the client's deadline.
    ExpiredToken,
    /// Client authentication failed (RFC 6749 §5.2).
    InvalidClient,
    /// The grant (device code or refresh token) is invalid, used or revoked: log in again.
    InvalidGrant,
    /// The requested scope is invalid or too broad.
    InvalidScope,
    /// The request was malformed according to the server.
    InvalidRequest,
    /// The client is not allowed to use this grant.
    UnauthorizedClient,
    /// The server does not offer what was asked (no device endpoint, grant type unsupported).
    Unsupported,
    /// Any other OAuth error code; the server's code is in `error`.
    ServerError,
    /// The server's answer was malformed, oversized, of the wrong type or unsafe to show.
    InvalidResponse,
    /// Discovery returned metadata for a different issuer (RFC 8414 §3.3).
    IssuerMismatch,
    /// The server could not be reached, repeatedly.
    NetworkError,
    /// The caller cancelled the flow.
    Cancelled,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::ServerError => "server_error",
            ErrorCode::InvalidResponse => "invalid_response",
            ErrorCode::IssuerMismatch => "issuer_mismatch",
            ErrorCode::NetworkError => "network_error",
            ErrorCode::Cancelled => "cancelled",
        }
    }

    /// Every code, for bindings that mirror the list.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::AccessDenied,
        ErrorCode::ExpiredToken,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::InvalidScope,
        ErrorCode::InvalidRequest,
        ErrorCode::UnauthorizedClient,
        ErrorCode::Unsupported,
        ErrorCode::ServerError,
        ErrorCode::InvalidResponse,
        ErrorCode::IssuerMismatch,
        ErrorCode::NetworkError,
        ErrorCode::Cancelled,
    ];

    /// The code for an OAuth `error` value received from a server: the RFC
    /// names, then the providers' own words for the same outcomes ([`ERROR_ALIASES`]).
    pub(crate) fn from_oauth(error: &str) -> ErrorCode {
        if let Some(code) = ErrorCode::ALL
            .iter()
            .find(|c| c.is_oauth_code() && c.as_str() == error)
        {
            return *code;
        }
        ERROR_ALIASES
            .iter()
            .find(|(alias, _)| *alias == error)
            .map_or(ErrorCode::ServerError, |(_, code)| *code)
    }

    /// True for codes that are also RFC 6749 / RFC 8628 `error` values.
    fn is_oauth_code(self) -> bool {
        !matches!(
            self,
            ErrorCode::Unsupported
                | ErrorCode::ServerError
                | ErrorCode::InvalidResponse
                | ErrorCode::IssuerMismatch
                | ErrorCode::NetworkError
                | ErrorCode::Cancelled
        )
    }
}

/// Server `error` values that mean one of our codes under another name. The
/// server's own word is kept in [`FlowError::error`].
pub const ERROR_ALIASES: &[(&str, ErrorCode)] = &[
    ("unsupported_grant_type", ErrorCode::Unsupported),
    ("unsupported_token_type", ErrorCode::Unsupported),
    // GitHub: the app has not enabled the device flow.
    ("device_flow_disabled", ErrorCode::Unsupported),
    // GitHub: wrong client id or secret, at either endpoint.
    ("incorrect_client_credentials", ErrorCode::InvalidClient),
    // GitHub: the device code is not valid.
    ("incorrect_device_code", ErrorCode::InvalidGrant),
    // Microsoft Entra: the device code was not recognised.
    ("bad_verification_code", ErrorCode::InvalidGrant),
    // Microsoft Entra: the user said no.
    ("authorization_declined", ErrorCode::AccessDenied),
];

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol outcome: why a flow ended without tokens.
///
/// Serialises as `{"code", "message", "error", "error_description", "error_uri", "status"}`;
/// the last four are present when the server supplied them. Server-supplied text is
/// stripped of control characters before it gets here.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct FlowError {
    pub code: ErrorCode,
    /// A human sentence saying what happened (never contains secrets).
    pub message: String,
    /// The server's raw OAuth `error` code, when the server sent one.
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub error_uri: Option<String>,
    /// HTTP status of the response that ended the flow, if any.
    #[serde(default)]
    pub status: Option<u16>,
}

impl fmt::Debug for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FlowError({}: {})", self.code, self.message)
    }
}

impl FlowError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        FlowError {
            code,
            message: message.into(),
            error: None,
            error_description: None,
            error_uri: None,
            status: None,
        }
    }
    /// The stable code as a string (`"access_denied"`, ...).
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }
    pub(crate) fn invalid_response(status: Option<u16>, reason: impl Into<String>) -> Self {
        FlowError {
            status,
            ..FlowError::new(ErrorCode::InvalidResponse, reason)
        }
    }
    /// True when only a new interactive login can recover (refresh token dead, code expired).
    pub fn requires_login(&self) -> bool {
        matches!(
            self.code,
            ErrorCode::InvalidGrant | ErrorCode::ExpiredToken | ErrorCode::AccessDenied
        )
    }
}

/// The caller used the machine wrongly. Nothing about the flow changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MisuseError {
    /// No request with this id is awaiting an answer (stale, duplicate or unknown).
    #[error("no request {0} is awaiting a response")]
    UnknownRequest(u64),
    /// The flow already finished (done, failed or cancelled); it accepts no more input.
    #[error("the flow has already finished")]
    Finished,
    /// A DPoP signature is neither 64 raw bytes (`r||s`) nor a DER ECDSA signature.
    #[error("the signature is neither raw r||s (64 bytes) nor DER")]
    InvalidSignature,
}

impl MisuseError {
    pub fn code(&self) -> &'static str {
        match self {
            MisuseError::UnknownRequest(_) => "unknown_request",
            MisuseError::Finished => "finished",
            MisuseError::InvalidSignature => "invalid_signature",
        }
    }
}

/// The configuration cannot start a flow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
        }
    }
    pub fn code(&self) -> &'static str {
        "invalid_config"
    }
}
