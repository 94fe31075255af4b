//! Rate limits on issuing device codes (RFC 8628 §5.2 leaves it to the server): each issued
//! code is a stored record, so a flood of requests would grow the store without bound.

use super::{Client, Engine, OAuthError, Quota, Store};

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
    /// The quotas a device authorization of `client` from `source` counts against, in the order
    /// they are counted (per source first: a request refused for its source is not counted
    /// against the client, so one noisy source cannot use up a client's allowance). `keys` holds
    /// their counter names.
    pub(crate) fn issuance_quotas<'k>(&self, keys: &'k [String; 2], now_ms: i64) -> [Quota<'k>; 2] {
        let limits = &self.config.issuance;
        let window_start_ms = now_ms - now_ms.rem_euclid(limits.window_ms.max(1));
        [
            Quota {
                key: &keys[0],
                window_start_ms,
                limit: limits.per_source,
            },
            Quota {
                key: &keys[1],
                window_start_ms,
                limit: limits.per_client,
            },
        ]
    }

    /// HTTP 429 with `Retry-After` (the seconds left in the window) for a request over
    /// `quotas[over]` (0: its source's, 1: its client's).
    pub(crate) fn over_issuance_quota(&self, over: usize, now_ms: i64) -> OAuthError {
        let window_ms = self.config.issuance.window_ms.max(1);
        let window = now_ms - now_ms.rem_euclid(window_ms);
        let retry_after_s = ((window + window_ms - now_ms) as u64).div_ceil(1000).max(1);
        OAuthError::rate_limited(
            retry_after_s,
            if over == 0 {
                "too many device authorization requests from this address; retry later"
            } else {
                "too many device authorization requests for this client; retry later"
            },
        )
    }
}

/// The counter names of [`Engine::issuance_quotas`].
pub(crate) fn issuance_keys(client: &Client, source: &str) -> [String; 2] {
    [
        format!("issue-src:{source}"),
        format!("issue-client:{}", client.client_id),
    ]
}
