//! Token polling with the device code (RFC 8628 §3.4-3.5).
//!
//! Precedence: client, code lookup, client match, **expiry**, denied, consumed (replay: revoke),
//! approved (one atomic redemption), and only then timing: `slow_down` applies only while
//! pending, so it never delays an answer the user already gave.

use serde_json::Value;

use super::codes::sha256;
use super::issue::GrantInfo;
use super::{ClientRequest, DeviceRecord, DeviceStatus, Engine, OAuthError, Random, Store};

/// The slack allowed below the interval: `min(1 s, interval/5)`. Clients and servers see time in
/// whole seconds; polls that are really `interval` apart can measure up to ~1 s short.
pub fn tolerance_ms(interval_ms: i64) -> i64 {
    (interval_ms / 5).min(1_000)
}

/// Whether a poll at `now_ms` after one at `last_poll_ms` comes too early. The first poll never
/// does, and the measure is the advertised interval, so a client that missed one `slow_down`
/// recovers on its next on-time poll.
pub fn is_early(last_poll_ms: Option<i64>, now_ms: i64, interval_ms: i64) -> bool {
    last_poll_ms.is_some_and(|last| now_ms - last < interval_ms - tolerance_ms(interval_ms))
}

impl<S: Store> Engine<S> {
    pub(crate) fn device_code_grant(
        &self,
        req: &ClientRequest,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> Result<Value, OAuthError> {
        let client = self
            .clients
            .authenticate(&req.params, req.authorization.as_deref())?;
        if !client.device_grant {
            return Err(OAuthError::unauthorized_client(
                "the device grant is not enabled for this client",
            ));
        }
        let code = req.params.require("device_code")?;
        // §5.2: a source presenting many unknown device codes is guessing; stop looking up its codes.
        let window_ms = self.config.limits.window_ms.max(1);
        let window = now_ms - now_ms.rem_euclid(window_ms);
        let guess_key = format!("unknown-device-code:{}", req.source);
        let limit = self.config.limits.unknown_device_codes_per_source;
        if self.store.counter(&guess_key, window)? >= limit {
            return Err(OAuthError::invalid_grant("too many unknown device codes"));
        }
        let Some(device) = self.store.device_by_code(&sha256(code))? else {
            self.store.bump_counter(&guess_key, window)?;
            return Err(OAuthError::invalid_grant("unknown device_code"));
        };
        if device.client_id != client.client_id {
            // Another client holding this code means it leaked: stop it from being used at all.
            self.store.set_status(
                &device.id,
                DeviceStatus::Pending,
                DeviceStatus::Denied,
                None,
            )?;
            return Err(OAuthError::invalid_grant(
                "device_code was issued to another client",
            ));
        }
        if now_ms >= device.expires_at_ms {
            return Err(OAuthError::expired_token());
        }
        match device.status {
            DeviceStatus::Denied => Err(OAuthError::access_denied()),
            DeviceStatus::Consumed => self.replayed(&device),
            DeviceStatus::Approved => {
                let subject = device.subject.as_deref().unwrap_or_default();
                let grant = GrantInfo {
                    grant_id: &device.id,
                    scope: &device.scope,
                    subject,
                    grant_expires_at_ms: now_ms + self.config.refresh_absolute_ttl_ms,
                };
                let minted = self.mint(client, &grant, now_ms, rng);
                if self.store.redeem(&device.id, &minted.records)? {
                    Ok(minted.body)
                } else {
                    // A concurrent poll redeemed it between our read and now: that is a replay.
                    self.replayed(&device)
                }
            }
            DeviceStatus::Pending => self.pending_poll(&device, now_ms),
        }
    }

    /// A second redemption: `invalid_grant`, and the first redemption's tokens are revoked.
    fn replayed(&self, device: &DeviceRecord) -> Result<Value, OAuthError> {
        self.store.revoke_grant(&device.id)?;
        Err(OAuthError::invalid_grant("device_code already used"))
    }

    fn pending_poll(&self, device: &DeviceRecord, now_ms: i64) -> Result<Value, OAuthError> {
        let early = is_early(device.last_poll_ms, now_ms, device.interval_ms);
        let recorded = self
            .store
            .record_poll(&device.id, device.last_poll_ms, now_ms, early)?;
        // Losing the compare-and-set means two polls raced: the loser was early by definition.
        if early || !recorded {
            let slow_downs = u64::from(device.slow_downs) + 1;
            let interval_s = (device.interval_ms as u64).div_ceil(1000) + 5 * slow_downs;
            return Err(OAuthError::slow_down(interval_s));
        }
        Err(OAuthError::authorization_pending())
    }
}
