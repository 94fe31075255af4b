//! (e) A whole random server: a structure-aware script of replies, transport
//! errors, sleeps and cancels played against one `DeviceFlow`. Invariants:
//! no panic; no request at or after the device code deadline; polls spaced by
//! at least the interval in force (which never shrinks); `Send` never repeats;
//! `Display` at most once and before any poll; secrets never in `Debug`; the flow
//! always finishes.
#![no_main]

use deviceflow_fuzz::targets::server_script::{run, Script};
use libfuzzer_sys::fuzz_target;

// The body is in `src/targets/server_script.rs`, where `tests/replay.rs` replays the corpus
// and regression inputs on stable.
fuzz_target!(|script: Script| run(script));
