//! The fuzz targets' bodies. Each `fuzz_targets/<name>.rs` is one line that hands libFuzzer's
//! input to `<name>::run`; `tests/replay.rs` feeds the same function every file of
//! `corpus/<name>/` and `regressions/<name>/` on stable, in the normal test run.

pub mod device_response;
pub mod token_response;
pub mod discovery;
pub mod refresh_revocation;
pub mod server_script;
pub mod display_text;
pub mod json_reader;

/// Every target by name, with the function that takes libFuzzer's raw bytes.
pub const ALL: &[(&str, fn(&[u8]))] = &[
    ("device_response", device_response::run),
    ("token_response", token_response::run),
    ("discovery", discovery::run),
    ("refresh_revocation", refresh_revocation::run),
    ("server_script", server_script::run_bytes),
    ("display_text", display_text::run),
    ("json_reader", json_reader::run),
];
