//! (b) The token endpoint's answer to a poll (RFC 8628 §3.5, RFC 6749 §5.1/§5.2):
//! a flow at its first poll (fixed valid device response) gets the fuzz body.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The body is in `src/targets/token_response.rs`, where `tests/replay.rs` replays the corpus and
// regression inputs on stable.
fuzz_target!(|data: &[u8]| deviceflow_fuzz::targets::token_response::run(data));
