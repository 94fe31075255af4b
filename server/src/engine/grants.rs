//! "Your devices": the grants a user approved that still hold live tokens, and their
//! revocation by that user (RFC 10027 §6.1.6: a user who spots a device they don't know ends
//! it at once, refresh and access tokens alike).

use super::audit::{Event, Kind};
use super::{Engine, Store, StoreError};

/// One grant as the user sees it. `grant_id` is the device authorization's random id: it names
/// the grant and redeems nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantSummary {
    pub grant_id: String,
    pub client_id: String,
    pub scope: String,
    /// Where the device asked from (its address key).
    pub device_source: String,
    /// When the device received its first tokens (right after the approval).
    pub approved_at_ms: i64,
    /// The newest token issued to the grant (its latest refresh, or the first redemption).
    pub last_used_ms: i64,
}

/// A grant as the devices page shows it: the stored summary and its client's shown name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceGrant {
    pub summary: GrantSummary,
    pub client_name: String,
    /// The name is only the app's own claim (a public client, RFC 8628 §5.6).
    pub client_is_public: bool,
}

impl<S: Store> Engine<S> {
    /// The grants `subject` approved that hold an unexpired, unrevoked token at `now_ms`, most
    /// recently used first.
    pub fn handle_grants(
        &self,
        subject: &str,
        now_ms: i64,
    ) -> Result<Vec<DeviceGrant>, StoreError> {
        Ok(self
            .store
            .grants_of(subject, now_ms)?
            .into_iter()
            .map(|summary| {
                let (client_name, client_is_public) = self.clients.shown_name(&summary.client_id);
                DeviceGrant {
                    summary,
                    client_name,
                    client_is_public,
                }
            })
            .collect())
    }

    /// `subject` revokes one of their grants from `source`: every token of it ends now.
    /// `Ok(false)` if the grant is not theirs (or not there): nothing happens.
    pub fn handle_grant_revocation(
        &self,
        grant_id: &str,
        subject: &str,
        source: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let Some(device) = self.store.device_by_id(grant_id)? else {
            return Ok(false);
        };
        if device.subject.as_deref() != Some(subject) {
            return Ok(false);
        }
        self.store.revoke_grant(grant_id)?;
        Event {
            kind: Kind::Revocation,
            at_ms: now_ms,
            client_id: &device.client_id,
            grant: grant_id,
            subject,
            source,
            detail: "by the user, from their devices page",
        }
        .emit();
        Ok(true)
    }
}
