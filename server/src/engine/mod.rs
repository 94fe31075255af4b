//! The sans-IO authorization server: parsed requests and `now_ms` in, responses out.
//!
//! No sockets, no clock, no entropy source: the host passes the time (Unix ms), a [`Random`]
//! source and a [`Store`]. One method per endpoint, named `handle_*`.

pub mod audit;
mod authorize;
pub mod clients;
pub mod codes;
pub mod error;
mod grants;
mod introspect;
mod issuance;
mod jwt;
mod keys;
mod metadata;
mod mint;
mod params;
mod poll;
pub mod poll_timing {
    //! The `slow_down` timing rule, exposed for tests and documentation.
    pub use super::poll::{is_early, tolerance_ms};
}
pub mod random;
mod refresh;
mod revoke;
mod seal;
pub mod store;
mod token;
mod user_interaction;
mod userinfo;

use std::fmt;

pub use clients::{AccessTokenFormat, AuthMethod, Client, ClientRegistry};
pub use error::OAuthError;
pub use grants::{DeviceGrant, GrantSummary};
pub use issuance::IssuanceLimits;
pub use keys::KeyRotation;
pub use params::Params;
pub use random::Random;
pub use store::{
    CommitTicket, DeviceRecord, DeviceStatus, Insertion, Quota, SigningKeyRecord, Store,
    StoreError, TokenKind, TokenRecord, TokenState,
};
pub use user_interaction::{Entrant, EntryError, PendingDevice};

/// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Lifetimes, interval and brute-force limits. All times in milliseconds.
#[derive(Clone)]
pub struct EngineConfig {
    /// `https://host[:port]` with no trailing slash; endpoints hang off it.
    pub issuer: String,
    /// `expires_in` of device codes (RFC 8628 §3.2; §5.4 asks for a short one).
    pub device_code_ttl_ms: i64,
    /// The advertised polling interval (always sent, §3.2).
    pub interval_ms: i64,
    pub access_token_ttl_ms: i64,
    /// Idle expiry of refresh tokens; each rotation starts it again.
    pub refresh_idle_ttl_ms: i64,
    /// Absolute cap on a refresh chain (RFC 9700 §4.14.2).
    pub refresh_absolute_ttl_ms: i64,
    /// Expired device records are kept this long to answer `expired_token` and detect replay.
    pub tombstone_ms: i64,
    pub limits: EntryLimits,
    /// Rate limits on issuing device codes (per source, per client).
    pub issuance: IssuanceLimits,
    /// How long after a redemption the same client presenting the same device code gets the same
    /// token response again (its first one was lost), while those tokens are still unused.
    pub redeem_grace_ms: i64,
    /// Age at which the JWT signing key is replaced by a new one (the old one stays published
    /// until every token it signed has expired). Default 30 days.
    pub signing_key_rotation_ms: i64,
    /// Key of the user-code HMAC. Losing it only orphans codes that are still pending.
    pub user_code_key: [u8; 32],
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("issuer", &self.issuer)
            .field("device_code_ttl_ms", &self.device_code_ttl_ms)
            .field("interval_ms", &self.interval_ms)
            .field("access_token_ttl_ms", &self.access_token_ttl_ms)
            .field("refresh_idle_ttl_ms", &self.refresh_idle_ttl_ms)
            .field("limits", &self.limits)
            .field("issuance", &self.issuance)
            .field("redeem_grace_ms", &self.redeem_grace_ms)
            .field("signing_key_rotation_ms", &self.signing_key_rotation_ms)
            .field("user_code_key", &"<redacted>")
            .finish()
    }
}

impl EngineConfig {
    /// Defaults: 10 min codes, 5 s interval, 1 h access tokens, 30 d idle / 365 d absolute refresh.
    pub fn new(issuer: &str, user_code_key: [u8; 32]) -> Self {
        EngineConfig {
            issuer: issuer.trim_end_matches('/').to_owned(),
            device_code_ttl_ms: 600_000,
            interval_ms: 5_000,
            access_token_ttl_ms: 3_600_000,
            refresh_idle_ttl_ms: 30 * 86_400_000,
            refresh_absolute_ttl_ms: 365 * 86_400_000,
            tombstone_ms: 3_600_000,
            limits: EntryLimits::default(),
            issuance: IssuanceLimits::default(),
            redeem_grace_ms: 60_000,
            signing_key_rotation_ms: 30 * 86_400_000,
            user_code_key,
        }
    }

    /// `verification_uri` (RFC 8628 §3.2).
    pub fn verification_uri(&self) -> String {
        format!("{}/device", self.issuer)
    }
}

/// Brute-force limits on user-code entry (RFC 8628 §5.1). With 20^8 codes and K live ones, each
/// guess hits with probability K/20^8; these limits bound the guesses without ever letting one
/// entrant refuse another's right code (see [`Engine::handle_user_code`]).
#[derive(Clone, Debug)]
pub struct EntryLimits {
    /// Fixed window over which failures are counted.
    pub window_ms: i64,
    /// Failed entries one browser session may make per window; then that session is refused.
    pub failures_per_session: u32,
    /// Failed entries per source (address) per window at full speed; then entries from it are
    /// paced by `paced_entry_ms`, one at a time.
    pub failures_per_source: u32,
    /// Failed entries from everyone per window at full speed; then every entry is paced by
    /// `breaker_entry_ms` (the circuit breaker slows entry down, it never refuses).
    pub failures_global: u32,
    pub paced_entry_ms: u64,
    pub breaker_entry_ms: u64,
    /// Times one user code may be entered over its life (one-time-ish codes, CDFS §6.1.3).
    pub entries_per_code: u32,
}

impl Default for EntryLimits {
    fn default() -> Self {
        EntryLimits {
            window_ms: 15 * 60_000,
            failures_per_session: 5,
            failures_per_source: 10,
            failures_global: 1_000,
            paced_entry_ms: 2_000,
            breaker_entry_ms: 5_000,
            entries_per_code: 5,
        }
    }
}

/// A request to a client endpoint (device authorization, token, revocation).
#[derive(Clone, Debug)]
pub struct ClientRequest {
    pub params: Params,
    /// The raw `Authorization` header, if any.
    pub authorization: Option<String>,
    /// Who is asking (an IP address); used for limits and shown on the confirmation page.
    pub source: String,
}

/// A JSON response: the HTTP status and body. The host adds `Cache-Control: no-store`.
#[derive(Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: serde_json::Value,
    /// Set on HTTP 429: the host sends it as `Retry-After` (seconds).
    pub retry_after_s: Option<u64>,
}

/// Prints the status and the error code only: a body may carry codes or tokens.
impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("error", &self.body.get("error"))
            .field("retry_after_s", &self.retry_after_s)
            .finish_non_exhaustive()
    }
}

impl From<Result<serde_json::Value, OAuthError>> for Response {
    fn from(r: Result<serde_json::Value, OAuthError>) -> Self {
        match r {
            Ok(body) => Response {
                status: 200,
                body,
                retry_after_s: None,
            },
            Err(e) => Response {
                status: e.status,
                body: e.body(),
                retry_after_s: e.retry_after_s,
            },
        }
    }
}

/// The engine: configuration, clients and a store.
pub struct Engine<S> {
    pub config: EngineConfig,
    pub clients: ClientRegistry,
    pub store: S,
}

impl<S: Store> Engine<S> {
    pub fn new(config: EngineConfig, clients: ClientRegistry, store: S) -> Self {
        Engine {
            config,
            clients,
            store,
        }
    }

    /// Drops tombstones, expired tokens and old counters. Call it now and then.
    pub fn handle_housekeeping(&self, now_ms: i64) -> Result<(), StoreError> {
        let horizon = self
            .config
            .tombstone_ms
            .max(self.config.device_code_ttl_ms)
            .max(self.config.limits.window_ms)
            .max(self.config.issuance.window_ms);
        self.store.purge(now_ms - horizon)
    }
}
