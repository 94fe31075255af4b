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
/// Its `Debug` shows the length of `sealed_response`, never its bytes.
#[derive(Clone, PartialEq, Eq)]
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
    /// When it was redeemed (set with `Consumed`).
    pub redeemed_at_ms: Option<i64>,
    /// The token response of the redemption, sealed under a key derived from the device code
    /// (which the server does not keep): 12-byte nonce ‖ ChaCha20-Poly1305 ciphertext and tag.
    /// Lets a client whose response was lost get the same answer again (see `engine/seal.rs`).
    pub sealed_response: Option<Vec<u8>>,
}

impl std::fmt::Debug for DeviceRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceRecord")
            .field("id", &self.id)
            .field("device_code_hash", &self.device_code_hash)
            .field("user_code_hash", &self.user_code_hash)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("created_at_ms", &self.created_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("interval_ms", &self.interval_ms)
            .field("status", &self.status)
            .field("subject", &self.subject)
            .field("last_poll_ms", &self.last_poll_ms)
            .field("slow_downs", &self.slow_downs)
            .field("source", &self.source)
            .field("redeemed_at_ms", &self.redeemed_at_ms)
            .field(
                "sealed_response",
                &self
                    .sealed_response
                    .as_ref()
                    .map(|s| format!("<{} bytes>", s.len())),
            )
            .finish()
    }
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

/// A JWS signing key for JWT access tokens (RFC 9068), kept in the store so that every process
/// signs with, and publishes, the same keys. The newest generation signs; older ones are only
/// published until the tokens they signed have expired (see `engine/keys.rs`). Its `Debug`
/// never shows the private key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// 0, 1, 2, …, unique: two processes rotating at once both try the next generation, and the
    /// first insert wins.
    pub generation: i64,
    /// The JWK `kid`: the key's RFC 7638 thumbprint (SHA-256, base64url).
    pub kid: String,
    pub created_at_ms: i64,
    /// The private key, PKCS#8 DER (ES256: a P-256 key).
    pub private_key: Vec<u8>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("generation", &self.generation)
            .field("kid", &self.kid)
            .field("created_at_ms", &self.created_at_ms)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// A rate limit an insert counts against: the counter `key` of the window starting at
/// `window_start_ms` goes up by one, and the insert is refused once it is over `limit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota<'a> {
    pub key: &'a str,
    pub window_start_ms: i64,
    pub limit: u32,
}

/// What [`Store::insert_device`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Insertion {
    /// Stored, and counted against every quota.
    Inserted,
    /// Its device or user code hash (or id) is taken: nothing stored (the engine then draws
    /// new codes). Whether the quotas were counted is up to the store.
    CodeTaken,
    /// `quotas[i]` is over its limit: counted against it and those before it (not those after),
    /// nothing stored.
    OverQuota(usize),
}

/// An insert made by [`Store::insert_device_grouped`] that may not be committed yet: pass it to
/// [`Store::commit_through`] before answering the request that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CommitTicket(pub u64);

/// Storage for the engine. Implementations must make each method atomic.
pub trait Store: Send + Sync {
    /// Counts a new pending authorization against `quotas`, in order, and inserts it if none is
    /// over its limit: one transaction (a device authorization is one commit, not one per
    /// counter).
    fn insert_device(
        &self,
        device: &DeviceRecord,
        quotas: &[Quota<'_>],
    ) -> Result<Insertion, StoreError>;
    /// [`insert_device`](Store::insert_device), but the store may leave it uncommitted, to be
    /// committed together with other inserts made before [`commit_through`](Store::commit_through)
    /// is called with the ticket (group commit: one transaction for requests that arrive
    /// together). The result is final (`CodeTaken` and `OverQuota` are exact per call); only its
    /// durability waits for the ticket. `None`: committed already (the default).
    fn insert_device_grouped(
        &self,
        device: &DeviceRecord,
        quotas: &[Quota<'_>],
    ) -> Result<(Insertion, Option<CommitTicket>), StoreError> {
        self.insert_device(device, quotas).map(|i| (i, None))
    }
    /// Commits the group of `ticket` (and every earlier one) unless that is done already. An
    /// error means its inserts are lost: the requests that made them must not be answered as if
    /// they had been stored.
    fn commit_through(&self, ticket: CommitTicket) -> Result<(), StoreError> {
        let _ = ticket;
        Ok(())
    }
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
    /// `Approved` → `Consumed`, recording `redeemed_at_ms` and `sealed_response`, and inserts
    /// `tokens`, all or nothing. `Ok(false)` if not approved.
    fn redeem(
        &self,
        id: &str,
        tokens: &[TokenRecord],
        redeemed_at_ms: i64,
        sealed_response: &[u8],
    ) -> Result<bool, StoreError>;
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
    /// Deletes devices that expired before `before_ms` unless their grant still holds a token
    /// unexpired at `before_ms` (such a record is the grant's: the devices page names it),
    /// sealed responses of redemptions before `before_ms`, tokens that expired before it, and
    /// counters whose window started before it. Never secrets.
    fn purge(&self, before_ms: i64) -> Result<(), StoreError>;
    /// The grants `subject` approved that hold an active token unexpired at `now_ms`, most
    /// recently used first (at most 100). Devices page only.
    fn grants_of(&self, subject: &str, now_ms: i64)
        -> Result<Vec<super::GrantSummary>, StoreError>;
    /// How many device authorizations are pending and unexpired at `now_ms` (for metrics);
    /// `None` from a store that cannot count them cheaply.
    fn pending_count(&self, now_ms: i64) -> Result<Option<u64>, StoreError> {
        let _ = now_ms;
        Ok(None)
    }
    /// Whether every call is local work of microseconds (an embedded database, memory), never a
    /// network round trip. A host may then run calls on its event loop instead of handing each
    /// to a thread pool (the hand-off costs more than the call); `false`, the safe answer, is the
    /// default.
    fn is_local(&self) -> bool {
        false
    }
    /// The secret stored under `name`, storing `fresh` first if there is none, atomically: the
    /// first caller's value wins and every later caller (process, instance) gets the same one.
    /// For keys that must outlive a restart and be shared (the user-code HMAC key, the session
    /// cookie key): pass 32 fresh random bytes each time.
    fn secret(&self, name: &str, fresh: &[u8; 32]) -> Result<[u8; 32], StoreError>;
    /// Every JWT signing key, oldest generation first.
    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// Inserts `key` unless its generation (or kid) is already taken, atomically: `Ok(false)` if
    /// another process got there first, whose key then stands.
    fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StoreError>;
    /// Deletes the signing key of `generation` (retired: every token it signed has expired).
    fn delete_signing_key(&self, generation: i64) -> Result<(), StoreError>;
}

/// A shared store (`Arc<SqliteStore>`, `Arc<dyn Store>`) is a store.
impl<T: Store + ?Sized> Store for std::sync::Arc<T> {
    fn insert_device(&self, d: &DeviceRecord, q: &[Quota<'_>]) -> Result<Insertion, StoreError> {
        (**self).insert_device(d, q)
    }
    fn insert_device_grouped(
        &self,
        d: &DeviceRecord,
        q: &[Quota<'_>],
    ) -> Result<(Insertion, Option<CommitTicket>), StoreError> {
        (**self).insert_device_grouped(d, q)
    }
    fn commit_through(&self, ticket: CommitTicket) -> Result<(), StoreError> {
        (**self).commit_through(ticket)
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
    fn redeem(
        &self,
        id: &str,
        tokens: &[TokenRecord],
        redeemed_at_ms: i64,
        sealed_response: &[u8],
    ) -> Result<bool, StoreError> {
        (**self).redeem(id, tokens, redeemed_at_ms, sealed_response)
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
    fn pending_count(&self, now_ms: i64) -> Result<Option<u64>, StoreError> {
        (**self).pending_count(now_ms)
    }
    fn is_local(&self) -> bool {
        (**self).is_local()
    }
    fn grants_of(
        &self,
        subject: &str,
        now_ms: i64,
    ) -> Result<Vec<super::GrantSummary>, StoreError> {
        (**self).grants_of(subject, now_ms)
    }
    fn purge(&self, before_ms: i64) -> Result<(), StoreError> {
        (**self).purge(before_ms)
    }
    fn secret(&self, name: &str, fresh: &[u8; 32]) -> Result<[u8; 32], StoreError> {
        (**self).secret(name, fresh)
    }
    fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        (**self).signing_keys()
    }
    fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StoreError> {
        (**self).insert_signing_key(key)
    }
    fn delete_signing_key(&self, generation: i64) -> Result<(), StoreError> {
        (**self).delete_signing_key(generation)
    }
}
