//! (d) Refresh (RFC 6749 §6) and revocation (RFC 7009 §2.2) responses.
//! Byte 0 picks the operation; the rest is the response (see `response_from_bytes`).
#![no_main]

use libfuzzer_sys::fuzz_target;

// The body is in `src/targets/refresh_revocation.rs`, where `tests/replay.rs` replays the corpus and
// regression inputs on stable.
fuzz_target!(|data: &[u8]| deviceflow_fuzz::targets::refresh_revocation::run(data));
