//! The server half of the OAuth 2.0 Device Authorization Grant (RFC 8628).
//!
//! * [`engine`]: a sans-IO authorization server. Time (Unix ms), randomness and storage come
//!   from the host; it never reads a clock or touches a socket.
//! * [`store`]: [`store::SqliteStore`] (the default), [`store::PostgresStore`] (several
//!   instances on one database) and [`store::MemoryStore`].
//! * [`http`]: an axum server with the endpoints and the verification pages: [`spawn`], or
//!   [`embed`] for a host application's own axum app; who is signed in comes from
//!   [`http::signin`].
//! * [`config`]: the TOML configuration file of `deviceflow serve --config`, read into a
//!   [`ServerConfig`] with errors that name the key and line.
//! * `approve_via_page` (feature `approve-client`): approves or denies through the real pages.

pub mod config;
pub mod engine;
pub mod http;
mod os_random;
pub mod store;

#[cfg(feature = "approve-client")]
mod approve;

#[cfg(feature = "approve-client")]
pub use approve::{approve_via_page, ApproveError, Decision};
pub use http::{
    default_clients, embed, serve, spawn, ConnLimits, Embedded, IpNet, ServerConfig, ServerHandle,
    SignIn, TlsFiles,
};
pub use os_random::OsRandom;
