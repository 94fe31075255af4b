//! The token endpoint: dispatch on `grant_type` (RFC 6749 §4.5, §6; RFC 8628 §3.4).

use super::clients::Needs;
use super::{ClientRequest, Engine, OAuthError, Random, Response, Store, DEVICE_CODE_GRANT};

impl<S: Store> Engine<S> {
    /// `POST /token` with the device code grant (polling) or the refresh token grant.
    pub fn handle_token(&self, req: &ClientRequest, now_ms: i64, rng: &mut dyn Random) -> Response {
        match req.params.get("grant_type") {
            None => Err(OAuthError::invalid_request("grant_type is required")),
            Some(DEVICE_CODE_GRANT) => self.device_code_grant(req, now_ms, rng),
            Some("refresh_token") => self.refresh_grant(req, now_ms, rng),
            Some(_) => {
                // Still authenticate first: an unknown client learns nothing about grant types.
                self.clients.authenticate_for(req, Needs::Nothing).and(Err(
                    OAuthError::unsupported_grant_type("supported: device_code, refresh_token"),
                ))
            }
        }
        .into()
    }
}
