#!/usr/bin/env bash
# The minimum supported Rust version is true: `rust-version` in the root Cargo.toml, which
# every member inherits (`rust-version.workspace = true`), builds the whole workspace (every
# target: tests, examples, benches) with the locked dependencies. Installs that toolchain
# with rustup (minimal profile) when missing; its own target dir, target/msrv, so it never
# invalidates the main build. About 4 min cold on 2 cores; seconds when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/../.."

msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$msrv" ] || { echo "msrv: no rust-version in [workspace.package] of Cargo.toml" >&2; exit 1; }
members=$(sed -n '/^members = \[/{s/^members = \[//;s/\]//;s/[",]/ /g;p}' Cargo.toml)
for m in $members; do
  grep -q '^rust-version.workspace = true' "$m/Cargo.toml" ||
    { echo "msrv: $m/Cargo.toml does not inherit rust-version (rust-version.workspace = true)" >&2; exit 1; }
done
if ! command -v rustup >/dev/null; then
  echo "SKIPPED: msrv: rustup is not installed, so no Rust $msrv toolchain"
  # A skip is not a pass: under CI=true it fails here too, not only in tests/run.sh.
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
rustup run "$msrv" rustc --version >/dev/null 2>&1 || rustup toolchain install "$msrv" --profile minimal
echo "msrv: cargo +$msrv check --workspace --locked --all-targets"
CARGO_TARGET_DIR=target/msrv cargo +"$msrv" check --workspace --locked --all-targets
echo "msrv: Rust $msrv builds the workspace"
