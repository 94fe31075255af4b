//! Pacing lanes: while a source's code entries are being slowed down (the engine answers
//! [`EntryError::Pace`](crate::engine::EntryError::Pace)), its entries are checked one at a
//! time, each after the delay, in arrival order (tokio's mutex is fair). So pacing bounds a
//! source's guesses however many connections it opens, and nothing is ever refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

#[derive(Default)]
pub struct Lanes {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// The source's turn; the lane is free again when this is dropped.
pub struct Turn<'a> {
    lanes: &'a Lanes,
    source: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Lanes {
    /// Waits for `source`'s lane, then `delay`, and returns the turn.
    pub async fn wait(&self, source: &str, delay: Duration) -> Turn<'_> {
        let lane = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(source.to_owned())
            .or_default()
            .clone();
        let guard = lane.lock_owned().await;
        tokio::time::sleep(delay).await;
        Turn {
            lanes: self,
            source: source.to_owned(),
            guard: Some(guard),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut map = self.lanes.map.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map and this turn hold the lane: nobody is waiting, drop it.
        if map
            .get(&self.source)
            .is_some_and(|lane| Arc::strong_count(lane) == 2)
        {
            map.remove(&self.source);
        }
        self.guard.take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_turn_at_a_time_per_source_and_lanes_are_dropped() {
        let lanes = Arc::new(Lanes::default());
        let started = Instant::now();
        let mut tasks = Vec::new();
        for source in ["a", "a", "a", "b"] {
            let lanes = lanes.clone();
            tasks.push(tokio::spawn(async move {
                let _turn = lanes.wait(source, Duration::from_millis(100)).await;
                started.elapsed()
            }));
        }
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.unwrap());
        }
        let mut a: Vec<_> = done[..3].to_vec();
        a.sort();
        // Source a: one after another (~100, ~200, ~300 ms); b alongside (~100 ms).
        assert!(a[2] >= Duration::from_millis(290), "{a:?}");
        assert!(done[3] < Duration::from_millis(250), "{done:?}");
        assert_eq!(lanes.len(), 0);
    }
}
