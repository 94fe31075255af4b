//! A sans-IO client for the OAuth 2.0 Device Authorization Grant
//! ([RFC 8628](https://www.rfc-editor.org/rfc/rfc8628)), with discovery
//! (RFC 8414 / OpenID Connect Discovery), refresh (RFC 6749 §6) and
//! revocation (RFC 7009).
//!
//! This crate performs no I/O and never reads a clock. The caller passes `now`
//! (milliseconds from any origin that never goes backwards) into every call,
//! performs the HTTP requests it is handed, and feeds the responses back.
//! That makes it deterministic, testable without a network, and usable from any
//! runtime: the Python, JavaScript, Kotlin and Swift bindings all drive this
//! same machine.
//!
//! # The driving loop
//!
//! Call [`DeviceFlow::poll_action`] and do what it says, until `Done` or `Failed`.
//! **Invariant:** after every `handle_*` call, poll again before anything else;
//! `Send` and `Display` are handed out exactly once each.
//!
//! ```
//! use deviceflow::{Action, Config, DeviceFlow, HttpRequest, HttpResponse, Timestamp};
//! use serde_json::json;
//!
//! // A stand-in for your HTTP client: here, a scripted server.
//! fn http(req: &HttpRequest, polls: &mut u32) -> HttpResponse {
//!     if req.url.ends_with("/device") {
//!         return HttpResponse::json(200, &json!({
//!             "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
//!             "user_code": "WDJB-MJHT",
//!             "verification_uri": "https://example.com/device",
//!             "expires_in": 1800, "interval": 5 }));
//!     }
//!     *polls += 1;
//!     if *polls < 3 {
//!         HttpResponse::json(400, &json!({ "error": "authorization_pending" }))
//!     } else {
//!         HttpResponse::json(200, &json!({ "access_token": "2YotnFZFEjr1zCsicMWpAA",
//!                                           "token_type": "Bearer", "expires_in": 3600 }))
//!     }
//! }
//!
//! let config = Config::new("my-client", "https://example.com/device", "https://example.com/token")
//!     .with_scope("openid offline_access");
//! let mut now = Timestamp(0); // e.g. milliseconds since the Unix epoch
//! let mut flow = DeviceFlow::new(config, now).expect("valid config");
//! let mut polls = 0;
//! let tokens = loop {
//!     match flow.poll_action(now) {
//!         Action::Send(req) => {
//!             let resp = http(&req, &mut polls); // on a network error: flow.handle_transport_error(..)
//!             flow.handle_response(req.id, resp, now).unwrap();
//!         }
//!         Action::Display(prompt) => {
//!             println!("Open {} and enter {}", prompt.verification_uri, prompt.user_code);
//!         }
//!         Action::Wait { delay_ms, .. } => now = now.plus(delay_ms), // sleep(delay_ms)
//!         Action::AwaitingResponse { .. } => unreachable!("this loop answers every Send at once"),
//!         Action::Sign { .. } => unreachable!("only with DPoP on (see DPOP.md)"),
//!         Action::Done(tokens) => break tokens,
//!         Action::Failed(err) => panic!("login failed: {} ({})", err, err.code()),
//!     }
//! };
//! assert_eq!(tokens.token_type, "Bearer");
//! assert_eq!(now, Timestamp(15_060)); // three polls, each 5 s + a 20 ms margin after the last answer
//! assert_eq!(format!("{tokens:?}").contains("2YotnFZFEjr1zCsicMWpAA"), false); // redacted
//! ```
//!
//! [`Discovery`], [`Refresh`] and [`Revocation`] have the same methods and are
//! driven by the same loop, until `Done` or `Failed`. They never `Display`, but may
//! `Send` more than once: again after a transient failure (a `Wait` first, within
//! the request budget), and [`Discovery`] tries the RFC 8414 well-known URL when the
//! OpenID Connect one gives no usable document.
//!
//! # Errors
//!
//! Outcomes of the protocol (denied, expired, bad server data, network down)
//! arrive as [`Action::Failed`] with a [`FlowError`] whose [`ErrorCode`] is a
//! stable string shared by every binding. Only mistakes by the caller (an
//! unknown request id, input after the flow finished) are a Rust `Err`
//! ([`MisuseError`]); a bad configuration is a [`ConfigError`].
//!
//! # Timing
//!
//! See `pacer.rs`: interval + a 20 ms margin measured from the end of each
//! response (a fifth of the interval after a `slow_down`), `slow_down` adds 5 s
//! for good, transient failures back off by doubling (never below the interval),
//! and nothing is sent at or after the device code's expiry. One-shot requests
//! (discovery, device authorization, refresh, revocation) retry within one overall
//! budget, 30 s by default, whose remainder every `Send` carries as
//! [`HttpRequest::timeout_ms`].
//!
//! # DPoP
//!
//! With [`Config::with_dpop`] (or `Refresh`/`Revocation::with_dpop`) every POST first asks
//! for a signature with [`Action::Sign`], answered by `handle_signature`; `use_dpop_nonce`
//! is retried at once inside the machine. See `DPOP.md` and [`Dpop`] for resource requests.
//!
//! # Token types
//!
//! A token response must carry `token_type` `Bearer` (any case), or a type the host
//! lists in `extra_token_types`; anything else fails with `invalid_response`, so a
//! token is never handed out to be used as a bearer token when it is not one.

// `missing_docs` is not enforced: field-level docs are given where the name is not enough.
#![forbid(unsafe_code)]

/// Adds the shared sans-IO methods to a one-request operation wrapper.
macro_rules! operation_methods {
    ($name:ident, $out:ty) => {
        impl $name {
            /// The next thing to do (same contract as [`crate::DeviceFlow::poll_action`]).
            pub fn poll_action(&mut self, now: $crate::Timestamp) -> $crate::Action<$out> {
                self.0.poll_action(now)
            }
            /// Feeds the response (any HTTP status) to the request with this id.
            pub fn handle_response(
                &mut self,
                id: $crate::RequestId,
                response: $crate::HttpResponse,
                now: $crate::Timestamp,
            ) -> Result<(), $crate::MisuseError> {
                self.0.handle_response(id, response, now)
            }
            /// The DPoP signature asked for by `Action::Sign` with this id (raw `r||s` or DER).
            pub fn handle_signature(
                &mut self,
                id: $crate::RequestId,
                signature: &[u8],
                now: $crate::Timestamp,
            ) -> Result<(), $crate::MisuseError> {
                self.0.handle_signature(id, signature, now)
            }
            /// Proves possession of this DPoP key from the first request on (RFC 9449);
            /// `Action::Sign` then precedes each `Send`, and `DPoP` tokens are accepted.
            pub fn with_dpop(
                mut self,
                dpop: $crate::DpopConfig,
            ) -> Result<Self, $crate::ConfigError> {
                self.0.set_dpop($crate::Dpop::new(dpop)?);
                Ok(self)
            }
            /// The DPoP state (thumbprint, nonces learnt), when on.
            pub fn dpop(&self) -> Option<&$crate::Dpop> {
                self.0.dpop()
            }
            /// The request with this id got no HTTP response.
            pub fn handle_transport_error(
                &mut self,
                id: $crate::RequestId,
                kind: $crate::TransportError,
                now: $crate::Timestamp,
            ) -> Result<(), $crate::MisuseError> {
                self.0.handle_transport_error(id, kind, now)
            }
            /// Stops at once; the next action is `Failed` with code `cancelled`.
            pub fn cancel(&mut self, now: $crate::Timestamp) -> Result<(), $crate::MisuseError> {
                self.0.cancel(now)
            }
            /// True after `Done` or `Failed`.
            pub fn is_finished(&self) -> bool {
                self.0.is_finished()
            }
        }
    };
}

mod action;
mod authorization;
/// The polling-interval constant (the rules are in `pacer.rs`).
pub mod backoff {
    pub use crate::pacer::SLOW_DOWN_STEP_MS;
}
mod config;
mod discovery;
pub mod display;
mod dpop;
#[cfg(feature = "software-key")]
mod dpop_key;
mod error;
mod exchange;
mod http;
pub mod json;
mod machine;
mod nonces;
mod operation;
mod outbox;
mod pacer;
mod provider;
mod refresh;
mod revocation;
mod secret;
mod tokens;
mod wire;

pub use action::{Action, Prompt, WaitReason};
pub use config::{Client, ClientAuth, Config, Param, Timing};
pub use discovery::{discovery_urls, Discovery, ServerMetadata, DEVICE_CODE_GRANT};
pub use dpop::{ath, Dpop, DpopConfig, PublicJwk};
#[cfg(feature = "software-key")]
pub use dpop_key::SoftwareKey;
pub use error::{ConfigError, ErrorCode, FlowError, MisuseError, ERROR_ALIASES};
pub use http::{Header, HttpRequest, HttpResponse, Method, RequestId, Timestamp, TransportError};
pub use machine::DeviceFlow;
pub use nonces::Nonces;
pub use provider::{Provider, ProviderInfo};
pub use refresh::{Refresh, RefreshConfig};
pub use revocation::{Revocation, RevocationConfig, Revoked, TokenTypeHint};
pub use secret::Secret;
pub use tokens::TokenSet;
