#!/usr/bin/env bash
# Builds deviceflow_wasm.wasm and prints its path on the last line of stdout.
#
# The build the npm package ships: nightly Rust rebuilding std for the module (`-Zbuild-std`)
# with the `immediate-abort` panic strategy and no panic locations, which removes std's panic
# formatting. It needs a nightly toolchain with rust-src (tests/setup.sh installs it). When
# that is missing or the flags have changed, the stable build is used instead (same code and
# behaviour, a larger file) with a loud warning; under CI=true that is an error.
# DEVICEFLOW_WASM_STABLE=1 asks for the stable build on purpose (size comparisons).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
# Keep the `target_features` section that `strip = true` would drop: wasm-bindgen and
# wasm-opt read it to know the enabled features. wasm-opt strips it after.
export CARGO_PROFILE_WASM_RELEASE_STRIP=debuginfo
TARGET=wasm32-unknown-unknown
# SHA-256 (DPoP `ath`, JWK thumbprints) with its rounds in a loop, not unrolled: 8 KB less
# wasm for a hash run a few times per operation.
SMALL_CFG='--cfg sha2_backend="soft" --cfg sha2_backend_soft="compact"'

nightly_ready() {
  rustup run nightly rustc --version >/dev/null 2>&1 || return 1
  rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src' \
    || rustup component add rust-src --toolchain nightly >&2 || return 1
  rustup target list --toolchain nightly --installed 2>/dev/null | grep -qx "$TARGET" \
    || rustup target add "$TARGET" --toolchain nightly >&2 || return 1
}

if [ -z "${DEVICEFLOW_WASM_STABLE:-}" ] && nightly_ready; then
  echo "wasm: nightly build-std (immediate-abort panics)" >&2
  if RUSTFLAGS="$SMALL_CFG -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none" \
    cargo +nightly build -p deviceflow-wasm --target "$TARGET" --profile wasm-release --locked \
      -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size \
      --target-dir target/wasm-nightly >&2; then
    echo "target/wasm-nightly/$TARGET/wasm-release/deviceflow_wasm.wasm"
    exit 0
  fi
  why="the nightly build failed"
elif [ -n "${DEVICEFLOW_WASM_STABLE:-}" ]; then
  why=""
else
  why="no nightly toolchain with rust-src and the wasm32 target (run tests/setup.sh)"
fi
if [ -n "$why" ]; then
  {
    echo "################################################################################"
    echo "wasm: WARNING: $why: building with STABLE Rust instead."
    echo "wasm: the module works the same but is larger than the one the npm package ships."
    echo "################################################################################"
  } >&2
  if [ "${CI:-}" = "true" ]; then
    echo "wasm: CI=true: the shipped build must be the nightly one; failing" >&2
    exit 1
  fi
else
  echo "wasm: stable build (DEVICEFLOW_WASM_STABLE is set)" >&2
fi
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET" >&2
RUSTFLAGS="$SMALL_CFG" cargo build -p deviceflow-wasm --target "$TARGET" --profile wasm-release --locked \
  --target-dir target/wasm-stable >&2
echo "target/wasm-stable/$TARGET/wasm-release/deviceflow_wasm.wasm"
