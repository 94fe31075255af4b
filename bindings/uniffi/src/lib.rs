//! Kotlin and Swift bindings of the `deviceflow` core through uniffi (proc-macro,
//! library mode). Thin glue only: FFI-shaped mirrors of the core's types
//! (`types.rs`, `config.rs`), one error type with a stable `code()` (`error.rs`),
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

pub use config::{
    provider_config, ClientAuth, FlowConfig, Param, RefreshConfig, RevocationConfig, Timing,
    TokenTypeHint,
};
pub use dpop::{dpop_resource_headers, Dpop, DpopConfig, PublicJwk, SoftwareKey};
pub use error::{guard_selftest_panic, FlowError};
pub use machines::{DeviceFlow, Discovery, Refresh, Revocation};
pub use tokens::TokenSet;
pub use types::{
    Action, DiscoveryAction, Header, HttpMethod, HttpRequest, HttpResponse, Prompt,
    RevocationAction, Revoked, ServerMetadata, TransportError, WaitReason,
};

uniffi::setup_scaffolding!();
