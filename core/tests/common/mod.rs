//! What the core's integration tests share.
#![allow(dead_code)]

pub mod provider;
pub mod vectors;

/// A test that cannot run says so, never passes quietly: `SKIPPED: <why>` goes to the real
/// stderr (written past the test harness's capture, so `cargo test` shows it and tests/run.sh
/// lists the rust suite as skipped), and with `CI=true` the test fails instead (in CI a missing
/// tool is a broken setup, not a pass). Call it, then `return`.
pub fn skip(why: &str) {
    use std::io::Write as _;
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("SKIPPED: {why} (CI=true: a test that cannot run fails; run tests/setup.sh)");
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {why} (run tests/setup.sh; with CI=true this fails)"
    );
}
