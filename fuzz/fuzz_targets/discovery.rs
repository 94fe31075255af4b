//! (c) Discovery documents (RFC 8414 §3, OpenID Connect Discovery §4), through
//! `Discovery` and through a `DeviceFlow` that starts from an issuer.
#![no_main]

use libfuzzer_sys::fuzz_target;

// The body is in `src/targets/discovery.rs`, where `tests/replay.rs` replays the corpus and
// regression inputs on stable.
fuzz_target!(|data: &[u8]| deviceflow_fuzz::targets::discovery::run(data));
