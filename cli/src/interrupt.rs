//! Ctrl-C: the first press asks the running flow to cancel (so it can report
//! `cancelled` and exit 130 cleanly); waiting loops sleep in short slices to notice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the SIGINT/SIGTERM handler (Unix). Elsewhere Ctrl-C keeps its default.
pub fn install() {
    #[cfg(unix)]
    {
        extern "C" fn on_signal(_: libc::c_int) {
            REQUESTED.store(true, Ordering::SeqCst);
        }
        let handler = on_signal as extern "C" fn(libc::c_int);
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
            libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        }
    }
}

pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Sleeps up to `d`, returning early (within 100 ms) once Ctrl-C was pressed.
pub fn sleep(d: Duration) {
    let end = Instant::now() + d;
    while !requested() {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}
