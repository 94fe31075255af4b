//! The user's side: code entry with brute-force limits (RFC 8628 §5.1) and the explicit
//! approve/deny decision (§3.3, §5.4).

use super::codes::{display_user_code, normalize_user_code, user_code_hmac};
use super::{DeviceStatus, Engine, Store, StoreError};

/// What the confirmation page shows about a pending request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingDevice {
    /// Opaque id to carry (server-side) to [`Engine::handle_decision`].
    pub device_id: String,
    pub client_id: String,
    pub client_name: String,
    /// A public client's name is its own claim, not something we verified (RFC 8628 §5.6).
    pub client_is_public: bool,
    pub scopes: Vec<String>,
    /// `XXXX-XXXX`, for the user to compare with the device.
    pub user_code: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub source: String,
}

/// Why an entry or a decision was refused. Deliberately coarse: one generic message for wrong,
/// expired and used codes, so entries don't reveal which codes exist (§5.5).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("that code is invalid, expired or already used")]
    Invalid,
    #[error("too many attempts; try again later")]
    TooManyAttempts,
    #[error("storage: {0}")]
    Store(String),
}

impl From<StoreError> for EntryError {
    fn from(e: StoreError) -> Self {
        EntryError::Store(e.0)
    }
}

impl<S: Store> Engine<S> {
    /// A user typed `input` on the verification page, from `source` (an IP, a session id).
    /// Failures count per source and globally; a blocked source is refused even a right code.
    pub fn handle_user_code(
        &self,
        input: &str,
        source: &str,
        now_ms: i64,
    ) -> Result<PendingDevice, EntryError> {
        let limits = &self.config.limits;
        let window = now_ms - now_ms.rem_euclid(limits.window_ms.max(1));
        let source_key = format!("entry-fail:{source}");
        if self.store.counter(&source_key, window)? >= limits.failures_per_source
            || self.store.counter("entry-fail:*", window)? >= limits.failures_global
        {
            return Err(EntryError::TooManyAttempts);
        }
        match self.lookup_pending(input, now_ms)? {
            Some(found) => Ok(found),
            None => {
                self.store.bump_counter(&source_key, window)?;
                self.store.bump_counter("entry-fail:*", window)?;
                Err(EntryError::Invalid)
            }
        }
    }

    fn lookup_pending(
        &self,
        input: &str,
        now_ms: i64,
    ) -> Result<Option<PendingDevice>, EntryError> {
        let Some(code) = normalize_user_code(input) else {
            return Ok(None);
        };
        let hash = user_code_hmac(&self.config.user_code_key, &code);
        let Some(device) = self.store.device_by_user_code(&hash)? else {
            return Ok(None);
        };
        if device.status != DeviceStatus::Pending || now_ms >= device.expires_at_ms {
            return Ok(None);
        }
        let entries = self
            .store
            .bump_counter(&format!("entry-code:{}", device.id), device.created_at_ms)?;
        if entries > self.config.limits.entries_per_code {
            return Ok(None);
        }
        let client = self.clients.get(&device.client_id);
        Ok(Some(PendingDevice {
            client_name: client.map_or_else(|| device.client_id.clone(), |c| c.name.clone()),
            client_is_public: client.is_none_or(|c| c.is_public()),
            client_id: device.client_id,
            scopes: device
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            user_code: display_user_code(&code),
            device_id: device.id,
            created_at_ms: device.created_at_ms,
            expires_at_ms: device.expires_at_ms,
            source: device.source,
        }))
    }

    /// The user approved (as `subject`) or denied on the confirmation page. Re-checks state and
    /// expiry now; the first decision wins and locks the code.
    pub fn handle_decision(
        &self,
        device_id: &str,
        subject: &str,
        approve: bool,
        now_ms: i64,
    ) -> Result<DeviceStatus, EntryError> {
        let Some(device) = self.store.device_by_id(device_id)? else {
            return Err(EntryError::Invalid);
        };
        if now_ms >= device.expires_at_ms {
            return Err(EntryError::Invalid);
        }
        let (to, subject) = if approve {
            (DeviceStatus::Approved, Some(subject))
        } else {
            (DeviceStatus::Denied, None)
        };
        if self
            .store
            .set_status(device_id, DeviceStatus::Pending, to, subject)?
        {
            Ok(to)
        } else {
            Err(EntryError::Invalid)
        }
    }
}
