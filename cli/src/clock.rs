//! The clock the core is driven with: Unix epoch milliseconds, so stored token
//! expiries stay meaningful across processes, but advanced by a monotonic
//! `Instant` so it never goes backwards within one run (the core's rule).

use deviceflow::Timestamp;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct Clock {
    epoch_ms_at_start: u64,
    start: Instant,
}

impl Clock {
    pub fn new() -> Self {
        Clock {
            epoch_ms_at_start: unix_ms(),
            start: Instant::now(),
        }
    }

    pub fn now(&self) -> Timestamp {
        Timestamp(self.epoch_ms_at_start + self.start.elapsed().as_millis() as u64)
    }
}

/// Milliseconds since the Unix epoch (0 if the system clock is before 1970).
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
