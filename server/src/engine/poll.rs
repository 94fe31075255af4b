//! Token polling with the device code (RFC 8628 §3.4-3.5).
//!
//! Precedence: client, code lookup, client match, **expiry**, denied, consumed (the same response
//! again shortly after a redemption whose response was lost, else replay: revoke), approved (one
//! atomic redemption), and only then timing: `slow_down` applies only while pending, so it never
//! delays an answer the user already gave.

use serde_json::Value;

use super::audit::{Event, Kind};
use super::clients::Needs;
use super::codes::{device_code_key, sha256};
use super::mint::GrantInfo;
use super::seal;
use super::{
    Client, ClientRequest, DeviceRecord, DeviceStatus, Engine, OAuthError, Random, Store,
    TokenState,
};

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
        let client = self.clients.authenticate_for(req, Needs::DeviceGrant)?;
        let code = req.params.require("device_code")?;
        // The code is looked up first, so a known code always gets its true answer whatever else
        // its source presented: guessing a 256-bit code is hopeless (§5.2), and refusing a
        // source's real codes would only lock out the users behind a shared address. An unknown
        // code costs one indexed read and writes nothing.
        let Some(device) = self.store.device_by_code(&device_code_key(code))? else {
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
        // A retry after a lost token response is answered even past the code's expiry: the
        // user approved in time, and nothing new is issued (see `consumed`).
        if device.status == DeviceStatus::Consumed {
            if let Some(body) = self.lost_response(&device, code, now_ms)? {
                return Ok(body);
            }
        }
        if now_ms >= device.expires_at_ms {
            return Err(OAuthError::expired_token());
        }
        match device.status {
            DeviceStatus::Denied => Err(OAuthError::access_denied()),
            DeviceStatus::Consumed => self.replayed(&device, &req.source, now_ms),
            DeviceStatus::Approved => self.redeem(client, &device, code, &req.source, now_ms, rng),
            DeviceStatus::Pending => self.pending_poll(&device, now_ms),
        }
    }

    /// Approved → consumed: mints one token set and stores it with the response body sealed
    /// under the device code, in one compare-and-set transition.
    fn redeem(
        &self,
        client: &Client,
        device: &DeviceRecord,
        code: &str,
        source: &str,
        now_ms: i64,
        rng: &mut dyn Random,
    ) -> Result<Value, OAuthError> {
        let grant = GrantInfo {
            grant_id: &device.id,
            scope: &device.scope,
            subject: device.subject.as_deref().unwrap_or_default(),
            grant_expires_at_ms: now_ms + self.config.refresh_absolute_ttl_ms,
        };
        let minted = self.mint(client, &grant, now_ms, rng)?;
        let body = serde_json::to_vec(&minted.body)
            .map_err(|e| OAuthError::server_error(format!("encoding the response: {e}")))?;
        let sealed = seal::seal(code, &body, rng);
        if self
            .store
            .redeem(&device.id, &minted.records, now_ms, &sealed)?
        {
            audit(Kind::Redemption, device, source, now_ms, &device.scope);
            return Ok(minted.body);
        }
        // A concurrent poll redeemed it between our read and now: answer as for a consumed code,
        // which is that poll's token set (within the grace period) or a replay. Never a second set.
        match self.store.device_by_id(&device.id)? {
            Some(d) if d.status == DeviceStatus::Consumed => {
                self.consumed(&d, code, source, now_ms)
            }
            _ => self.replayed(device, source, now_ms),
        }
    }

    /// A consumed device code presented again by the client it was issued to (the caller has
    /// checked the client). Within `redeem_grace_ms` of the redemption, while every token of that
    /// redemption is still active (not refreshed, not revoked, not expired), it is a retry after
    /// a lost response: the answer is the redemption's own response, byte for byte, opened with
    /// the presented code. Otherwise it is a replay: `invalid_grant`, and the grant is revoked.
    ///
    /// Why this keeps the guarantees of RFC 8628 §5 and RFC 9700 §4.14.2:
    /// * Nothing new is issued. The answer is the sealed copy of the one token set minted at
    ///   redemption: no second set, no new token, no longer lifetime. Racing polls still yield
    ///   exactly one token set.
    /// * It gives nobody anything the device code did not already give. Whoever presents the
    ///   code (and authenticates as its client) in the window could equally have polled before
    ///   the real client and redeemed it; the code is the credential, and it was redeemable for
    ///   up to `device_code_ttl_ms` before. The window extends that by `redeem_grace_ms` at most,
    ///   for the same tokens, and a leaked code shared with the real client still trips refresh
    ///   token reuse detection (RFC 9700 §4.14.2) on the first rotation.
    /// * Replay detection is unchanged after the window, and ends the window early: once the
    ///   client has used its refresh token (rotated) or the grant was revoked, a second
    ///   presentation is a replay again and revokes the grant (as RFC 6749 §4.1.2 asks for
    ///   authorization codes).
    /// * The seal key is derived from the device code, which only the client holds. The server
    ///   keeps `device_code_key(device_code)` (a SHA-256 digest), from which the seal key cannot be computed,
    ///   so a leaked database or backup reveals no token.
    fn consumed(
        &self,
        device: &DeviceRecord,
        code: &str,
        source: &str,
        now_ms: i64,
    ) -> Result<Value, OAuthError> {
        match self.lost_response(device, code, now_ms)? {
            Some(body) => Ok(body),
            None => self.replayed(device, source, now_ms),
        }
    }

    /// The redemption's response, if the rules of [`Self::consumed`] allow answering it again.
    fn lost_response(
        &self,
        device: &DeviceRecord,
        code: &str,
        now_ms: i64,
    ) -> Result<Option<Value>, OAuthError> {
        let (Some(redeemed_at), Some(sealed)) =
            (device.redeemed_at_ms, device.sealed_response.as_deref())
        else {
            return Ok(None);
        };
        if now_ms >= redeemed_at.saturating_add(self.config.redeem_grace_ms) {
            return Ok(None);
        }
        let Some(body) =
            seal::open(code, sealed).and_then(|plain| serde_json::from_slice::<Value>(&plain).ok())
        else {
            return Ok(None);
        };
        if body.get("access_token").is_none() {
            return Ok(None);
        }
        for name in ["access_token", "refresh_token"] {
            let Some(token) = body.get(name) else {
                continue;
            };
            let record = match token.as_str() {
                Some(t) => self.store.token(&sha256(t))?,
                None => None,
            };
            let active = record.is_some_and(|r| {
                r.grant_id == device.id && r.state == TokenState::Active && now_ms < r.expires_at_ms
            });
            if !active {
                return Ok(None);
            }
        }
        Ok(Some(body))
    }

    /// A second redemption: `invalid_grant`, and the first redemption's tokens are revoked.
    fn replayed(
        &self,
        device: &DeviceRecord,
        source: &str,
        now_ms: i64,
    ) -> Result<Value, OAuthError> {
        self.store.revoke_grant(&device.id)?;
        audit(
            Kind::ReuseDetected,
            device,
            source,
            now_ms,
            "device code presented again",
        );
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

fn audit(kind: Kind, device: &DeviceRecord, source: &str, now_ms: i64, detail: &str) {
    Event {
        kind,
        at_ms: now_ms,
        client_id: &device.client_id,
        grant: &device.id,
        subject: device.subject.as_deref().unwrap_or_default(),
        source,
        detail,
    }
    .emit();
}
