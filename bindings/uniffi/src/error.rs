//! One error type for everything that goes wrong, with the stable `code()` shared
//! by every language: the core's flow codes (`access_denied`, `expired_token`, ...),
//! `invalid_config`, the misuse codes `unknown_request` and `finished`, and
//! `internal` for a Rust panic caught at the boundary.
//!
//! It is a uniffi Object used as an error: Kotlin sees `FlowException`
//! (a `kotlin.Exception`), Swift `FlowError` (a `Swift.Error`). The same value is
//! carried, not thrown, by `Action.Failed`, so a driver can simply throw it.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, MutexGuard};

#[derive(Clone, Debug, PartialEq, Eq, uniffi::Object)]
#[uniffi::export(Display, Debug, Eq)]
pub struct FlowError {
    code: String,
    message: String,
    error: Option<String>,
    error_description: Option<String>,
    error_uri: Option<String>,
    status: Option<u16>,
}

impl FlowError {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        FlowError {
            code: code.to_owned(),
            message: message.into(),
            error: None,
            error_description: None,
            error_uri: None,
            status: None,
        }
    }
}

#[uniffi::export]
impl FlowError {
    /// The stable snake_case code, e.g. `access_denied`, `invalid_config`, `finished`.
    pub fn code(&self) -> String {
        self.code.clone()
    }
    /// A human sentence; never contains secrets.
    pub fn message(&self) -> String {
        self.message.clone()
    }
    /// The server's raw OAuth `error` value, when it sent one (RFC 6749 §5.2).
    /// The `oauth_` prefix avoids Swift's `LocalizedError.errorDescription`.
    pub fn oauth_error(&self) -> Option<String> {
        self.error.clone()
    }
    /// The server's `error_description`, cleaned of control characters.
    pub fn oauth_error_description(&self) -> Option<String> {
        self.error_description.clone()
    }
    /// The server's `error_uri`.
    pub fn oauth_error_uri(&self) -> Option<String> {
        self.error_uri.clone()
    }
    /// HTTP status of the response that ended the operation, if any.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
    /// True when only a new interactive login can recover.
    pub fn requires_login(&self) -> bool {
        matches!(
            self.code.as_str(),
            "invalid_grant" | "expired_token" | "access_denied"
        )
    }
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for FlowError {}

impl From<deviceflow::FlowError> for FlowError {
    fn from(e: deviceflow::FlowError) -> Self {
        FlowError {
            code: e.code().to_owned(),
            message: e.message,
            error: e.error,
            error_description: e.error_description,
            error_uri: e.error_uri,
            status: e.status,
        }
    }
}

impl From<deviceflow::ConfigError> for FlowError {
    fn from(e: deviceflow::ConfigError) -> Self {
        FlowError::new(e.code(), e.message)
    }
}

impl From<deviceflow::MisuseError> for FlowError {
    fn from(e: deviceflow::MisuseError) -> Self {
        FlowError::new(e.code(), e.to_string())
    }
}

/// Runs `f`, turning a panic into `Err(FlowError { code: "internal" })`.
/// uniffi also catches panics, but as an untyped internal error that Swift turns
/// into a crash for non-throwing calls; this keeps the contract "every call
/// either returns or throws FlowError".
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, FlowError>) -> Result<T, FlowError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Err(FlowError::new(
            "internal",
            format!("internal error in deviceflow (please report): {what}"),
        ))
    })
}

/// Locks a machine. A machine that panicked mid-call is not trusted again.
pub(crate) fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, FlowError> {
    m.lock().map_err(|_| {
        FlowError::new(
            "internal",
            "this operation hit an internal error earlier and cannot continue",
        )
    })
}

/// Test hook, not API: always throws `FlowError` with code `internal` (the code every
/// caught Rust panic gets), by panicking inside the boundary guard on purpose, so tests in
/// every language can prove a panic arrives that way and the process survives. Applications
/// have no reason to call it; it may change or go without notice.
#[uniffi::export]
pub fn guard_selftest_panic() -> Result<(), FlowError> {
    guard(|| panic!("self-test panic"))
}
