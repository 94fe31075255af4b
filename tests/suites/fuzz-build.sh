#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ (libFuzzer, nightly) so they never rot.
# It does not fuzz: set FUZZ_SECONDS=N to also run each target N seconds (a logged
# campaign with figures is bench/fuzz/run.sh). The committed inputs are replayed on stable
# by the rust suite (fuzz/tests/replay.rs).
# Installs the nightly toolchain and cargo-fuzz when missing; if nightly cannot be
# installed here, prints "SKIPPED: <reason>" and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."

CARGO_FUZZ_VERSION=0.13.2

if ! command -v rustup >/dev/null; then
  echo "SKIPPED: rustup is not installed, so no nightly toolchain"
  exit 0
fi
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "installing the nightly toolchain (cargo-fuzz needs -Zsanitizer)"
  if ! rustup toolchain install nightly --profile minimal; then
    echo "SKIPPED: the nightly toolchain could not be installed"
    exit 0
  fi
fi
if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

cd fuzz
start=$SECONDS
# --dev: debug profile with debug assertions; compiles much faster than the
# release build `cargo fuzz run` uses, and proves the same thing (it builds).
cargo +nightly fuzz build --dev
targets=$(cargo +nightly fuzz list)
echo "built $(echo "$targets" | wc -l) fuzz targets in $((SECONDS - start)) s: $(echo $targets)"

if [ -n "${FUZZ_SECONDS:-}" ]; then
  # New inputs go to a scratch corpus; fuzz/corpus/<t>/ (committed seeds) is only read.
  for t in $targets; do
    mkdir -p "target/scratch-corpus/$t"
    cargo +nightly fuzz run --dev "$t" "target/scratch-corpus/$t" "corpus/$t" -- \
      -max_total_time="$FUZZ_SECONDS" -dict=oauth.dict
  done
fi
