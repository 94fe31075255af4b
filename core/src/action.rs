//! What the machine asks the caller to do next.

use crate::error::FlowError;
use crate::http::{HttpRequest, RequestId, Timestamp};
use crate::tokens::TokenSet;
use serde::{Deserialize, Serialize};

/// The next thing to do, returned by `poll_action(now)`.
///
/// `Send` and `Display` are edge-triggered: each is handed out once.
/// `Wait`, `AwaitingResponse`, `Done` and `Failed` repeat until something changes.
/// `T` is the operation's result: [`TokenSet`] for the device flow and refresh,
/// [`crate::ServerMetadata`] for discovery, [`crate::Revoked`] for revocation.
///
/// JSON shape: `{"type": "send" | "sign" | "display" | "wait" | "awaiting_response" | "done" | "failed", ...}`
/// with the variant's fields beside `type` (see `tests/vectors/README.md`).
#[must_use]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action<T = TokenSet> {
    /// Perform this request, then call `handle_response` or `handle_transport_error` with its id.
    Send(HttpRequest),
    /// Sign `input` (its UTF-8 bytes) with the DPoP key, ES256, and answer with
    /// `handle_signature(id, signature)`: raw `r||s` or DER. Repeats until answered;
    /// the `Send` with this id follows, carrying the proof. Only with DPoP on.
    Sign { id: RequestId, input: String },
    /// Show this to the user (RFC 8628 §3.3). Always includes `user_code`.
    Display(Prompt),
    /// Nothing to do before `until` (`delay_ms` from the `now` you passed). Waking early is harmless.
    Wait {
        until: Timestamp,
        delay_ms: u64,
        reason: WaitReason,
    },
    /// A request is in flight; feed its response.
    AwaitingResponse { id: RequestId },
    /// Finished with a result. Terminal.
    Done(T),
    /// Finished without a result. Terminal.
    Failed(FlowError),
}

/// Why the machine is waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The polling interval (RFC 8628 §3.5).
    Interval,
    /// The interval after the server asked to slow down.
    SlowDown,
    /// Backing off after a network failure or a 5xx/429 without an OAuth error.
    Backoff,
    /// The server's `Retry-After`.
    RetryAfter,
    /// Nothing left before the device code expires; the flow then fails with `expired_token`.
    Expiry,
}

impl WaitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Interval => "interval",
            WaitReason::SlowDown => "slow_down",
            WaitReason::Backoff => "backoff",
            WaitReason::RetryAfter => "retry_after",
            WaitReason::Expiry => "expiry",
        }
    }
}

/// What to show the user (RFC 8628 §3.2, §3.3). Every string has been checked:
/// URIs are https (or http to loopback) without control characters, the user code
/// is short printable ASCII, and `message` is stripped of control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub user_code: String,
    pub verification_uri: String,
    /// The URI with the code embedded (for a QR code). Show `user_code` anyway (§3.3.1).
    pub verification_uri_complete: Option<String>,
    /// Host of `verification_uri`: show it prominently so users can spot a wrong site.
    pub verification_host: String,
    /// When the code stops working, on the caller's clock.
    pub expires_at: Timestamp,
    /// Lifetime in seconds, as the server sent it.
    pub expires_in: u64,
    /// Polling interval in seconds the client will honour.
    pub interval: u64,
    /// The server's free-text instructions (Microsoft sends one), cleaned.
    pub message: Option<String>,
}
