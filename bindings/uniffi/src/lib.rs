//! Kotlin and Swift bindings of the `deviceflow` core through uniffi (proc-macro,
//! library mode). Thin glue only: the core's plain values as uniffi remote types, and
//! FFI-shaped records only where the core's shape cannot cross as it is (redacting
//! requests and configs: `types.rs`, `config.rs`), one error type with a stable `code()` (`error.rs`),
//! tokens behind an opaque handle (`tokens.rs`), and the four sans-IO machines
//! behind a `Mutex` because uniffi objects take `&self` (`machines.rs`).
//!
//! Every exported call runs inside [`error::guard`]: a Rust panic becomes a
//! `FlowError` with code `internal` instead of unwinding into the JVM or Swift.

// uniffi returns errors by value; FlowError (an Object-as-error) is only built on failure.
#![allow(clippy::result_large_err)]

/// `Display` and `Debug` from one redacting formatter: uniffi exports both (Kotlin
/// `toString()`, Swift `description`/`debugDescription`) and they must print the same.
macro_rules! redacted_fmt {
    ($ty:ty, |$this:ident, $f:ident| $body:expr) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, $f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let $this = self;
                $body
            }
        }
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(self, f)
            }
        }
    };
}

mod config;
mod dpop;
mod error;
mod machines;
mod tokens;
mod types;

pub use config::{provider_config, FlowConfig, RefreshConfig, RevocationConfig, Timing};
pub use deviceflow::{
    ClientAuth, Method as HttpMethod, Param, Prompt, PublicJwk, Revoked, ServerMetadata, Timestamp,
    TokenTypeHint, TransportError, WaitReason,
};
pub use dpop::{dpop_resource_headers, Dpop, DpopConfig, SoftwareKey};
pub use error::{guard_selftest_panic, FlowError};
pub use machines::{DeviceFlow, Discovery, Refresh, Revocation};
pub use tokens::TokenSet;
pub use types::{Action, DiscoveryAction, Header, HttpRequest, HttpResponse, RevocationAction};

uniffi::setup_scaffolding!();
