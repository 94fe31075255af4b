//! (g) The crate's own JSON reader and writer (`deviceflow::json`) against
//! serde_json: same documents accepted, same values read, and what the writer
//! writes reads back as the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The body is in `src/targets/json_reader.rs`, where `tests/replay.rs` replays the corpus and
// regression inputs on stable.
fuzz_target!(|data: &[u8]| deviceflow_fuzz::targets::json_reader::run(data));
