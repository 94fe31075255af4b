#!/usr/bin/env bash
# Builds deviceflow_wasm.wasm and prints its path on the last line of stdout.
#
# Smallest build: nightly Rust rebuilding std for the module (`-Zbuild-std`) with the
# `immediate-abort` panic strategy and no panic locations, which removes std's panic
# formatting (about 10 KB gzipped of a 55 KB module). It needs a nightly toolchain with
# rust-src; when that is missing or the flags have changed, the stable build is used
# instead (same code and behaviour, larger file). DEVICEFLOW_WASM_STABLE=1 forces stable.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
# Keep the `target_features` section that `strip = true` would drop: wasm-bindgen and
# wasm-opt read it to know the enabled features. wasm-opt strips it after.
export CARGO_PROFILE_WASM_RELEASE_STRIP=debuginfo
TARGET=wasm32-unknown-unknown

nightly_ready() {
  rustup run nightly rustc --version >/dev/null 2>&1 || return 1
  rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src' \
    || rustup component add rust-src --toolchain nightly >&2 || return 1
  rustup target list --toolchain nightly --installed 2>/dev/null | grep -qx "$TARGET" \
    || rustup target add "$TARGET" --toolchain nightly >&2 || return 1
}

if [ -z "${DEVICEFLOW_WASM_STABLE:-}" ] && nightly_ready; then
  echo "wasm: nightly build-std (immediate-abort panics)" >&2
  if RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none" \
    cargo +nightly build -p deviceflow-wasm --target "$TARGET" --profile wasm-release --locked \
      -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
      --target-dir target/wasm-nightly >&2; then
    echo "target/wasm-nightly/$TARGET/wasm-release/deviceflow_wasm.wasm"
    exit 0
  fi
  echo "wasm: the nightly build failed; building with stable (larger module)" >&2
else
  echo "wasm: stable build (no nightly toolchain with rust-src here: larger module)" >&2
fi
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET" >&2
cargo build -p deviceflow-wasm --target "$TARGET" --profile wasm-release --locked >&2
echo "target/$TARGET/wasm-release/deviceflow_wasm.wasm"
