//! The user's side: code entry with brute-force limits (RFC 8628 §5.1) and the explicit
//! approve/deny decision (§3.3, §5.4).

use super::audit::{Event, Kind};
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

/// Who is entering a code, by the keys the limits count under, strongest first: the browser
/// session (never shared with a victim), then the address (shared behind NAT), then everyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entrant<'a> {
    /// The browser session's id.
    pub session: &'a str,
    /// The address key: an IPv4 address or an IPv6 /64.
    pub source: &'a str,
    /// The host has already held this entry for the [`EntryError::Pace`] delay it was given.
    pub paced: bool,
}

impl<'a> Entrant<'a> {
    pub fn new(session: &'a str, source: &'a str) -> Self {
        Entrant {
            session,
            source,
            paced: false,
        }
    }

    /// The same entrant after the host held the entry for its delay.
    pub fn paced(self) -> Self {
        Entrant {
            paced: true,
            ..self
        }
    }
}

/// Why an entry or a decision was refused. Deliberately coarse: one generic message for wrong,
/// expired and used codes, so entries don't reveal which codes exist (§5.5).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("that code is invalid, expired or already used")]
    Invalid,
    /// This browser session made too many wrong entries (only its own, never anyone else's).
    #[error("too many attempts; try again later")]
    TooManyAttempts,
    /// Not checked yet: hold the entry for `delay_ms` in the source's lane (one entry at a time
    /// per source), then call again with [`Entrant::paced`]. Never a refusal.
    #[error("entries from here are being slowed down")]
    Pace { delay_ms: u64 },
    #[error("storage: {0}")]
    Store(String),
}

impl From<StoreError> for EntryError {
    fn from(e: StoreError) -> Self {
        EntryError::Store(e.0)
    }
}

/// Counter keys, one per limit.
fn session_key(session: &str) -> String {
    format!("entry-fail-session:{session}")
}
fn source_key(source: &str) -> String {
    format!("entry-fail:{source}")
}
const GLOBAL_KEY: &str = "entry-fail:*";

impl<S: Store> Engine<S> {
    /// A user typed `input` on the verification page (RFC 8628 §5.1).
    ///
    /// The rule: a right code is refused only by its own per-code entry cap or by the entrant's
    /// own session cap; what other sessions did, from other addresses or the same one, can only
    /// slow an entry down ([`EntryError::Pace`]), never refuse it. Failures count per session,
    /// per source and globally. Over the source's budget each entry from it is paced
    /// (`paced_entry_ms`, one at a time per source); over the global budget every entry is
    /// (`breaker_entry_ms`). The guessing bound this gives is in the server README.
    pub fn handle_user_code(
        &self,
        input: &str,
        who: &Entrant<'_>,
        now_ms: i64,
    ) -> Result<PendingDevice, EntryError> {
        let limits = &self.config.limits;
        let window = now_ms - now_ms.rem_euclid(limits.window_ms.max(1));
        let session = session_key(who.session);
        if self.store.counter(&session, window)? >= limits.failures_per_session {
            return Err(EntryError::TooManyAttempts);
        }
        if !who.paced {
            let source = self.store.counter(&source_key(who.source), window)?;
            let global = self.store.counter(GLOBAL_KEY, window)?;
            let delay_ms = if global >= limits.failures_global {
                limits.breaker_entry_ms
            } else if source >= limits.failures_per_source {
                limits.paced_entry_ms
            } else {
                0
            };
            if delay_ms > 0 {
                return Err(EntryError::Pace { delay_ms });
            }
        }
        match self.lookup_pending(input, now_ms)? {
            Some(found) => Ok(found),
            None => {
                self.store.bump_counter(&session, window)?;
                self.store.bump_counter(&source_key(who.source), window)?;
                self.store.bump_counter(GLOBAL_KEY, window)?;
                Event {
                    kind: Kind::EntryFailure,
                    at_ms: now_ms,
                    client_id: "",
                    grant: "",
                    subject: who.session,
                    source: who.source,
                    detail: "",
                }
                .emit();
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
        let (client_name, client_is_public) = self.clients.shown_name(&device.client_id);
        Ok(Some(PendingDevice {
            client_name,
            client_is_public,
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

    /// The user `subject`, at `source`, approved or denied on the confirmation page. Re-checks
    /// state and expiry now; the first decision wins and locks the code.
    pub fn handle_decision(
        &self,
        device_id: &str,
        subject: &str,
        source: &str,
        approve: bool,
        now_ms: i64,
    ) -> Result<DeviceStatus, EntryError> {
        let Some(device) = self.store.device_by_id(device_id)? else {
            return Err(EntryError::Invalid);
        };
        if now_ms >= device.expires_at_ms {
            return Err(EntryError::Invalid);
        }
        let (to, kind) = if approve {
            (DeviceStatus::Approved, Kind::Approval)
        } else {
            (DeviceStatus::Denied, Kind::Denial)
        };
        let stored_subject = approve.then_some(subject);
        if self
            .store
            .set_status(device_id, DeviceStatus::Pending, to, stored_subject)?
        {
            Event {
                kind,
                at_ms: now_ms,
                client_id: &device.client_id,
                grant: &device.id,
                subject,
                source,
                detail: &device.source,
            }
            .emit();
            Ok(to)
        } else {
            Err(EntryError::Invalid)
        }
    }
}
