//! The storage interface the host implements (SQLite and in-memory here; Postgres would fit).
//!
//! Only hashes of codes and tokens cross this boundary. Every transition that must happen once
//! (approve/deny, redeem, rotate, a poll's timing update) is a single call with compare-and-set
//! semantics: it returns `false` when the expected state was no longer there.

use super::codes::Digest32;

/// Where a device authorization stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    Pending,
    Approved,
    Denied,
    /// Redeemed for tokens; kept as a tombstone so a replay can be detected.
    Consumed,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Denied => "denied",
            DeviceStatus::Consumed => "consumed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeviceStatus::Pending,
            "approved" => DeviceStatus::Approved,
            "denied" => DeviceStatus::Denied,
            "consumed" => DeviceStatus::Consumed,
            _ => return None,
        })
    }
}

/// One device authorization (RFC 8628 §3.1-3.2). `id` doubles as the grant id of its tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: String,
    pub device_code_hash: Digest32,
    pub user_code_hash: Digest32,
    pub client_id: String,
    pub scope: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub interval_ms: i64,
    pub status: DeviceStatus,
    /// The user who approved (set with `Approved`).
    pub subject: Option<String>,
    pub last_poll_ms: Option<i64>,
    pub slow_downs: u32,
    /// Where the device authorization request came from (shown on the confirmation page).
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenState {
    Active,
    /// A refresh token that was exchanged; presenting it again is reuse (RFC 9700 §4.14.2).
    Rotated,
    Revoked,
}

impl TokenState {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Rotated => "rotated",
            TokenState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => TokenState::Active,
            "rotated" => TokenState::Rotated,
            "revoked" => TokenState::Revoked,
            _ => return None,
        })
    }
}

/// An issued access or refresh token, by hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub hash: Digest32,
    pub kind: TokenKind,
    pub grant_id: String,
    pub client_id: String,
    pub scope: String,
    pub subject: String,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    /// The refresh chain's absolute cap; a rotated refresh token never outlives it.
    pub grant_expires_at_ms: i64,
    pub state: TokenState,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Storage for the engine. Implementations must make each method atomic.
pub trait Store: Send + Sync {
    /// Inserts a new pending authorization. `Ok(false)` if its device or user code hash is
    /// already taken (the engine then draws new codes).
    fn insert_device(&self, device: &DeviceRecord) -> Result<bool, StoreError>;
    fn device_by_id(&self, id: &str) -> Result<Option<DeviceRecord>, StoreError>;
    fn device_by_code(
        &self,
        device_code_hash: &Digest32,
    ) -> Result<Option<DeviceRecord>, StoreError>;
    fn device_by_user_code(
        &self,
        user_code_hash: &Digest32,
    ) -> Result<Option<DeviceRecord>, StoreError>;
    /// `from` → `to`, setting `subject` when given. `Ok(false)` if the status was not `from`.
    fn set_status(
        &self,
        id: &str,
        from: DeviceStatus,
        to: DeviceStatus,
        subject: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Records a poll at `now_ms` if `last_poll_ms` still equals `previous` (adding one to
    /// `slow_downs` when `slow_down`). `Ok(false)` if another poll got there first.
    fn record_poll(
        &self,
        id: &str,
        previous: Option<i64>,
        now_ms: i64,
        slow_down: bool,
    ) -> Result<bool, StoreError>;
    /// `Approved` → `Consumed` and inserts `tokens`, all or nothing. `Ok(false)` if not approved.
    fn redeem(&self, id: &str, tokens: &[TokenRecord]) -> Result<bool, StoreError>;
    fn token(&self, hash: &Digest32) -> Result<Option<TokenRecord>, StoreError>;
    /// Marks the active refresh token `old` as `Rotated` and inserts `tokens`, all or nothing.
    /// `Ok(false)` if `old` was not active.
    fn rotate(&self, old: &Digest32, tokens: &[TokenRecord]) -> Result<bool, StoreError>;
    fn revoke_token(&self, hash: &Digest32) -> Result<(), StoreError>;
    /// Revokes every token of the grant.
    fn revoke_grant(&self, grant_id: &str) -> Result<(), StoreError>;
    /// Adds one to the counter `key` for the window starting at `window_start_ms` (a counter from
    /// an older window restarts at zero) and returns the new count.
    fn bump_counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError>;
    /// The count for `key` in the window starting at `window_start_ms` (0 if older or absent).
    fn counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError>;
    /// Deletes devices that expired before `before_ms`, tokens that expired before it, and
    /// counters whose window started before it.
    fn purge(&self, before_ms: i64) -> Result<(), StoreError>;
}

/// A shared store (`Arc<SqliteStore>`, `Arc<dyn Store>`) is a store.
impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    fn insert_device(&self, d: &DeviceRecord) -> Result<bool, StoreError> {
        (**self).insert_device(d)
    }
    fn device_by_id(&self, id: &str) -> Result<Option<DeviceRecord>, StoreError> {
        (**self).device_by_id(id)
    }
    fn device_by_code(&self, h: &Digest32) -> Result<Option<DeviceRecord>, StoreError> {
        (**self).device_by_code(h)
    }
    fn device_by_user_code(&self, h: &Digest32) -> Result<Option<DeviceRecord>, StoreError> {
        (**self).device_by_user_code(h)
    }
    fn set_status(
        &self,
        id: &str,
        from: DeviceStatus,
        to: DeviceStatus,
        subject: Option<&str>,
    ) -> Result<bool, StoreError> {
        (**self).set_status(id, from, to, subject)
    }
    fn record_poll(
        &self,
        id: &str,
        previous: Option<i64>,
        now_ms: i64,
        slow_down: bool,
    ) -> Result<bool, StoreError> {
        (**self).record_poll(id, previous, now_ms, slow_down)
    }
    fn redeem(&self, id: &str, tokens: &[TokenRecord]) -> Result<bool, StoreError> {
        (**self).redeem(id, tokens)
    }
    fn token(&self, h: &Digest32) -> Result<Option<TokenRecord>, StoreError> {
        (**self).token(h)
    }
    fn rotate(&self, old: &Digest32, tokens: &[TokenRecord]) -> Result<bool, StoreError> {
        (**self).rotate(old, tokens)
    }
    fn revoke_token(&self, h: &Digest32) -> Result<(), StoreError> {
        (**self).revoke_token(h)
    }
    fn revoke_grant(&self, grant_id: &str) -> Result<(), StoreError> {
        (**self).revoke_grant(grant_id)
    }
    fn bump_counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError> {
        (**self).bump_counter(key, window_start_ms)
    }
    fn counter(&self, key: &str, window_start_ms: i64) -> Result<u32, StoreError> {
        (**self).counter(key, window_start_ms)
    }
    fn purge(&self, before_ms: i64) -> Result<(), StoreError> {
        (**self).purge(before_ms)
    }
}
