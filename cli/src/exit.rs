//! Exit statuses (documented in `--help` and `cli/README.md`) and the error type
//! every command returns.

use deviceflow::{ErrorCode, FlowError};

pub const OK: i32 = 0;
/// Anything else: server or protocol failure, storage failure.
pub const FAILURE: i32 = 1;
/// Bad arguments or configuration, or a client/scope the server refused.
pub const INVALID_INPUT: i32 = 2;
/// The user denied the request.
pub const DENIED: i32 = 3;
/// The code expired before anyone approved it.
pub const EXPIRED: i32 = 4;
/// The server could not be reached.
pub const NETWORK: i32 = 5;
/// Not logged in, or the stored login can no longer be refreshed: run `login`.
pub const LOGIN_REQUIRED: i32 = 6;
/// Interrupted (Ctrl-C).
pub const INTERRUPTED: i32 = 130;

/// The text for `--help`.
pub const HELP: &str = "\
Exit status:
  0    success (login: only when authenticated)
  1    other failure (server error, invalid server response, storage)
  2    invalid input (arguments, configuration; client or scope refused)
  3    access denied by the user
  4    the code expired before it was approved
  5    network error (server unreachable)
  6    login required (no stored login, or it can no longer be refreshed)
  130  interrupted (Ctrl-C)";

/// A failed command: a stable code (as in the core), a sentence, an exit status.
#[derive(Debug)]
pub struct CliError {
    pub code: String,
    pub message: String,
    pub exit: i32,
    /// Already reported to the user; `main` only sets the exit status.
    pub silent: bool,
    /// What the server itself said, when the failure was an OAuth error response.
    /// (Boxed: errors travel in every `Result`; this keeps them small.)
    pub server: Box<ServerSaid>,
}

/// The server's own words from an OAuth error response (RFC 6749 §5.2), beside our stable
/// code: `error` may be any string the server chose (`invalid_grant`, `consent_required`, …).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ServerSaid {
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
    /// HTTP status of the response that ended the command.
    pub status: Option<u16>,
}

impl CliError {
    pub fn new(code: &str, message: impl Into<String>, exit: i32) -> Self {
        CliError {
            code: code.to_owned(),
            message: message.into(),
            exit,
            silent: false,
            server: Box::default(),
        }
    }
    pub fn silent(mut self) -> Self {
        self.silent = true;
        self
    }
    pub fn input(message: impl Into<String>) -> Self {
        CliError::new("invalid_input", message, INVALID_INPUT)
    }
    pub fn storage(message: impl Into<String>) -> Self {
        CliError::new("storage_error", message, FAILURE)
    }
    pub fn login_required(message: impl Into<String>) -> Self {
        CliError::new("login_required", message, LOGIN_REQUIRED)
    }
}

impl From<FlowError> for CliError {
    fn from(e: FlowError) -> Self {
        let exit = match e.code {
            ErrorCode::AccessDenied => DENIED,
            ErrorCode::ExpiredToken => EXPIRED,
            ErrorCode::NetworkError => NETWORK,
            ErrorCode::InvalidGrant => LOGIN_REQUIRED,
            ErrorCode::Cancelled => INTERRUPTED,
            ErrorCode::InvalidClient | ErrorCode::InvalidScope | ErrorCode::UnauthorizedClient => {
                INVALID_INPUT
            }
            _ => FAILURE,
        };
        let code = e.code();
        CliError {
            server: Box::new(ServerSaid {
                error: e.error,
                error_description: e.error_description,
                error_uri: e.error_uri,
                status: e.status,
            }),
            ..CliError::new(code, e.message, exit)
        }
    }
}

impl From<deviceflow::ConfigError> for CliError {
    fn from(e: deviceflow::ConfigError) -> Self {
        CliError::new(e.code(), e.message, INVALID_INPUT)
    }
}
