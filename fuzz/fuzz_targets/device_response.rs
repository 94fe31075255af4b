//! (a) The device authorization response (RFC 8628 §3.2): any status, content
//! type and body as the answer to the first request, then the flow is driven on.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The body is in `src/targets/device_response.rs`, where `tests/replay.rs` replays the corpus and
// regression inputs on stable.
fuzz_target!(|data: &[u8]| deviceflow_fuzz::targets::device_response::run(data));
