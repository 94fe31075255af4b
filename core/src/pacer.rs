//! Timing rules for polling (RFC 8628 §3.5), in one place.
//!
//! * The protocol interval starts at the server's `interval` (5 s by default) and
//!   never shrinks. `slow_down` raises it by 5 s, or to the server's new
//!   `interval` when that is larger (GitHub sends one).
//! * Each wait is measured from the end of the previous response (for the first
//!   poll, the device authorization response) to the next send, plus a margin of
//!   `min(margin_ms, interval / 10)`: 20 ms by default.
//!
//!   Why from the end of the response: servers count "too fast" from the arrival of
//!   the previous poll, and that arrival precedes the end of its response by the
//!   server's processing time plus the trip back. So the gap a server sees is the
//!   wait plus that time plus the next poll's trip out: never below the wait,
//!   whatever the link does. Spacing polls from the previous *send* instead would
//!   pick up approvals one round trip sooner, but then the gap the server sees is
//!   the spacing minus however much the trip out shrank since the previous poll:
//!   link jitter, or a poll that reuses a connection after one that had to open one
//!   (TCP and TLS handshakes are one to three round trips), makes it arrive early.
//!   `core/tests/poll_spacing.rs` shows it: through a proxy adding 0-120 ms per
//!   direction, a poller spaced exactly one interval from its previous send is told
//!   `slow_down` by a server that tolerates no early poll, while this machine never
//!   is. And one `slow_down` costs far more than a round trip: 5 s more on every
//!   later poll (RFC 8628 §3.5; GitHub also raises the interval it enforces).
//!
//!   Why 20 ms: the round trip already keeps the server's gap above the wait; the
//!   margin only covers clocks that count in steps, the host's (milliseconds, or
//!   15.6 ms on older Windows timers) and the server's (milliseconds or seconds: a
//!   server truncating both arrivals to whole seconds sees a gap of at least the
//!   interval when the true gap is). The median time from approval to token is then
//!   that of a poller at exactly the interval plus half of (round trip + 20 ms):
//!   `bench/README.md` measures it against node-oidc-provider.
//!
//!   Until part three of the client core this margin was 500 ms, meant for hosts
//!   whose monotonic clock runs fast (a VM's clock running 10 % fast turns a 5 s
//!   sleep into 4.5 s: cli/cli#9370, cli/oauth#111). That cost every user half a
//!   second per poll. Now it is paid only where it is needed: after a `slow_down`,
//!   the evidence that the server sees us early, the margin becomes at least a
//!   fifth of the (raised) interval, as cli/oauth does.
//! * Transient failures (no response, or 5xx/429 without an OAuth error) are kept
//!   apart from the protocol interval: the wait doubles per failure in a row, is
//!   never below the interval, is capped, and resets after any well-formed reply.
//!   After `max_transient_failures` in a row the flow fails with `network_error`.
//! * `Retry-After` lengthens any wait, up to `max_retry_after_s`.
//! * One-shot requests (discovery, device authorization, refresh, revocation) back
//!   off from `retry_base_ms`, at most `request_retries` times, and within one
//!   overall budget (`request_budget_ms`, see `exchange.rs`).

use crate::action::WaitReason;
use crate::config::Timing;

/// Fixed increase for `slow_down` (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP_MS: u64 = 5_000;

#[derive(Clone, Debug)]
pub(crate) struct Pacer {
    interval_ms: u64,
    slowed: bool,
    failures: u32,
    base_ms: u64,
    timing: Timing,
}

impl Pacer {
    /// A pacer for polling at `interval_ms`.
    pub fn polling(interval_ms: u64, timing: &Timing) -> Self {
        Pacer {
            interval_ms,
            slowed: false,
            failures: 0,
            base_ms: interval_ms,
            timing: timing.clone(),
        }
    }

    /// A pacer for a one-shot request: retries start at `retry_base_ms`.
    pub fn one_shot(timing: &Timing) -> Self {
        Pacer {
            interval_ms: 0,
            slowed: false,
            failures: 0,
            base_ms: timing.retry_base_ms,
            timing: timing.clone(),
        }
    }

    pub fn interval_ms(&self) -> u64 {
        self.interval_ms
    }

    /// The margin on every poll's wait; at least a fifth of the interval once the
    /// server has said `slow_down` (a fast clock on our side is the likely cause).
    fn margin_ms(&self) -> u64 {
        let margin = self.timing.margin_ms.min(self.interval_ms / 10);
        if self.slowed {
            margin.max(self.interval_ms / 5)
        } else {
            margin
        }
    }

    /// The wait before the next poll after a well-formed reply.
    pub fn next_poll(&mut self, retry_after_ms: Option<u64>) -> (u64, WaitReason) {
        self.failures = 0;
        let reason = if self.slowed {
            WaitReason::SlowDown
        } else {
            WaitReason::Interval
        };
        self.with_retry_after(self.interval_ms + self.margin_ms(), reason, retry_after_ms)
    }

    /// `slow_down`: this and every later wait is longer (RFC 8628 §3.5).
    pub fn slow_down(&mut self, server_interval_ms: Option<u64>) {
        let cap = self.timing.max_interval_s * 1000;
        let raised = (self.interval_ms + SLOW_DOWN_STEP_MS).max(server_interval_ms.unwrap_or(0));
        self.interval_ms = raised.min(cap).max(self.interval_ms);
        self.slowed = true;
    }

    /// A transient failure. `None` when too many happened in a row.
    pub fn transient(
        &mut self,
        retry_after_ms: Option<u64>,
        one_shot: bool,
    ) -> Option<(u64, WaitReason)> {
        self.failures += 1;
        let limit = if one_shot {
            self.timing.request_retries + 1
        } else {
            self.timing.max_transient_failures
        };
        if self.failures >= limit {
            return None;
        }
        let base = if one_shot {
            self.base_ms
        } else {
            self.interval_ms
        };
        let doubled = base.max(1).saturating_mul(1u64 << self.failures.min(20));
        let capped = doubled
            .min(self.timing.max_backoff_ms)
            .max(self.interval_ms);
        Some(self.with_retry_after(
            capped + self.margin_ms(),
            WaitReason::Backoff,
            retry_after_ms,
        ))
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    fn with_retry_after(
        &self,
        wait: u64,
        reason: WaitReason,
        retry_after_ms: Option<u64>,
    ) -> (u64, WaitReason) {
        let cap = self.timing.max_retry_after_s * 1000;
        match retry_after_ms.map(|r| r.min(cap)) {
            Some(r) if r > wait => (r, WaitReason::RetryAfter),
            _ => (wait, reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_margin_and_slow_down() {
        let t = Timing::default();
        let mut p = Pacer::polling(5_000, &t);
        assert_eq!(p.next_poll(None), (5_020, WaitReason::Interval));
        p.slow_down(None);
        // After a slow_down the margin is a fifth of the raised interval.
        assert_eq!(p.next_poll(None), (12_000, WaitReason::SlowDown));
        p.slow_down(Some(30_000));
        assert_eq!(p.next_poll(None), (36_000, WaitReason::SlowDown));
        p.slow_down(Some(1_000)); // a smaller server value never lowers it
        assert_eq!(p.interval_ms(), 35_000);
        let mut small = Pacer::polling(1_000, &t);
        assert_eq!(small.next_poll(None), (1_020, WaitReason::Interval));
        let big_margin = Timing {
            margin_ms: 500,
            ..Timing::default()
        };
        let mut capped = Pacer::polling(1_000, &big_margin);
        assert_eq!(capped.next_poll(None), (1_100, WaitReason::Interval));
    }

    #[test]
    fn backoff_doubles_is_capped_never_below_interval_and_resets() {
        let t = Timing::default();
        let mut p = Pacer::polling(5_000, &t);
        let waits: Vec<u64> =
            std::iter::from_fn(|| p.transient(None, false).map(|w| w.0)).collect();
        assert_eq!(waits, vec![10_020, 20_020, 40_020, 60_020, 60_020]);
        assert_eq!(p.failures(), 6);
        let mut p = Pacer::polling(5_000, &t);
        p.slow_down(Some(120_000));
        assert_eq!(
            p.transient(None, false),
            Some((144_000, WaitReason::Backoff))
        );
        assert_eq!(p.next_poll(None), (144_000, WaitReason::SlowDown));
        assert_eq!(p.failures(), 0);
    }

    #[test]
    fn retry_after_lengthens_but_is_capped() {
        let t = Timing::default();
        let mut p = Pacer::polling(5_000, &t);
        assert_eq!(p.next_poll(Some(30_000)), (30_000, WaitReason::RetryAfter));
        assert_eq!(p.next_poll(Some(1_000)), (5_020, WaitReason::Interval));
        assert_eq!(
            p.transient(Some(10_000_000), false),
            Some((600_000, WaitReason::RetryAfter))
        );
    }

    #[test]
    fn one_shot_retries() {
        let t = Timing::default();
        let mut p = Pacer::one_shot(&t);
        assert_eq!(p.transient(None, true), Some((1_000, WaitReason::Backoff)));
        assert_eq!(p.transient(None, true), Some((2_000, WaitReason::Backoff)));
        assert_eq!(p.transient(None, true), None);
    }
}
