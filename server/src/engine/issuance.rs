//! Rate limits on issuing device codes (RFC 8628 §5.2 leaves it to the server): each issued
//! code is a stored record, so a flood of requests would grow the store without bound.

use super::{Client, Engine, OAuthError, Store};

/// How many device authorizations are issued per fixed window, per source and per client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuanceLimits {
    /// The fixed window the counts are kept over.
    pub window_ms: i64,
    /// Per source (the address key the host passes as `ClientRequest::source`).
    pub per_source: u32,
    /// Per client, from all sources together.
    pub per_client: u32,
}

impl Default for IssuanceLimits {
    /// 60 per source and 6,000 per client per minute.
    fn default() -> Self {
        IssuanceLimits {
            window_ms: 60_000,
            per_source: 60,
            per_client: 6_000,
        }
    }
}

impl<S: Store> Engine<S> {
    /// Counts one issuance for `source` and `client`; HTTP 429 with `Retry-After` (the seconds
    /// left in the window) once either is over its limit. A request refused for its source is
    /// not counted against the client, so one noisy source cannot use up a client's allowance.
    pub(crate) fn count_issuance(
        &self,
        client: &Client,
        source: &str,
        now_ms: i64,
    ) -> Result<(), OAuthError> {
        let limits = &self.config.issuance;
        let window_ms = limits.window_ms.max(1);
        let window = now_ms - now_ms.rem_euclid(window_ms);
        let retry_after_s = ((window + window_ms - now_ms) as u64).div_ceil(1000).max(1);
        let by_source = self
            .store
            .bump_counter(&format!("issue-src:{source}"), window)?;
        if by_source > limits.per_source {
            return Err(OAuthError::rate_limited(
                retry_after_s,
                "too many device authorization requests from this address; retry later",
            ));
        }
        let by_client = self
            .store
            .bump_counter(&format!("issue-client:{}", client.client_id), window)?;
        if by_client > limits.per_client {
            return Err(OAuthError::rate_limited(
                retry_after_s,
                "too many device authorization requests for this client; retry later",
            ));
        }
        Ok(())
    }
}
