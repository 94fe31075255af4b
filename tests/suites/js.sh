#!/usr/bin/env bash
# The npm package `deviceflow` (bindings/wasm → pkg/): builds the wasm, generates the Node and
# browser glue with the pinned wasm-bindgen CLI, shrinks it with binaryen's wasm-opt (npm), then
# runs bindings/wasm/tests/*.test.mjs with node --test: every vector, the driver against
# misbehaving local servers, redaction, the real provider end to end, headless Chromium, and
# npm pack + install + tsc. tests/setup.sh installs the shared tools first (tests/run.sh does it).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never

[ -d tests/node_modules/binaryen ] || npm ci --prefix tests --no-audit --no-fund --loglevel=error
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# Keep the `target_features` section that `strip = true` would drop: wasm-bindgen and wasm-opt
# read it to know the enabled features (bulk memory, reference types). wasm-opt strips it after.
CARGO_PROFILE_WASM_RELEASE_STRIP=debuginfo \
  cargo build -p deviceflow-wasm --target wasm32-unknown-unknown --profile wasm-release --locked
node pkg/build.mjs target/wasm32-unknown-unknown/wasm-release/deviceflow_wasm.wasm

node --test --test-reporter=spec bindings/wasm/tests/ </dev/null
