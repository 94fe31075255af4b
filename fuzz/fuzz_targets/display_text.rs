//! (f) The display-safety helpers on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The body is in `src/targets/display_text.rs`, where `tests/replay.rs` replays the corpus and
// regression inputs on stable.
fuzz_target!(|data: &[u8]| deviceflow_fuzz::targets::display_text::run(data));
