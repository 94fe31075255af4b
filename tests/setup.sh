#!/usr/bin/env bash
# Installs everything the test suites share, on a fresh Debian 12 machine.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== setup: %s\n' "$*" >&2; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -f /usr/share/java/jna.jar ] || need_apt+=(libjna-java)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v node >/dev/null || need_apt+=(nodejs npm)
command -v java >/dev/null || need_apt+=(default-jdk-headless)
# A throwaway PostgreSQL server for the PostgreSQL store's tests (tests/with-postgres.sh).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
# Windows builds of `cargo xtask dist` (x86_64-pc-windows-gnu links with mingw-w64).
command -v x86_64-w64-mingw32-gcc >/dev/null || need_apt+=(gcc-mingw-w64-x86-64)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# The npm package's wasm is built with nightly `-Zbuild-std` (bindings/wasm/build.sh).
if ! rustup component list --toolchain nightly --installed 2>/dev/null | grep -q '^rust-src' \
  || ! rustup target list --toolchain nightly --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "rustup toolchain install nightly (rust-src, wasm32-unknown-unknown)"
  rustup toolchain install nightly --profile minimal -c rust-src -t wasm32-unknown-unknown
fi

# `cargo xtask dist`: the std of every release target, and the Python-packaged build tools
# (maturin, zig, cargo-zigbuild: xtask/requirements.txt) in .venv-dist/.
dist_targets="aarch64-unknown-linux-gnu x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-gnu"
installed_targets=$(rustup target list --installed)
missing_targets=$(for t in $dist_targets; do grep -qx "$t" <<<"$installed_targets" || echo "$t"; done)
if [ -n "$missing_targets" ]; then
  log "rustup target add" $missing_targets
  rustup target add $missing_targets
fi
if ! cmp -s xtask/requirements.txt .venv-dist/.deviceflow-dist-reqs 2>/dev/null; then
  log "python -m venv .venv-dist; pip install -r xtask/requirements.txt"
  if [ ! -x .venv-dist/bin/python ] && ! python3 -m venv .venv-dist; then
    # Debian's python3 has no ensurepip without python3-venv.
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-venv >/dev/null
    rm -rf .venv-dist && python3 -m venv .venv-dist
  fi
  .venv-dist/bin/python -m pip install -q --disable-pip-version-check -r xtask/requirements.txt
  cp xtask/requirements.txt .venv-dist/.deviceflow-dist-reqs
fi

WB_VER=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p' | head -n1)
if [ -n "$WB_VER" ] && ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $WB_VER"; then
  log "cargo install wasm-bindgen-cli $WB_VER (debug build: same output, half the compile time)"
  cargo install wasm-bindgen-cli --version "$WB_VER" --debug
fi

if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
  log "npm ci --prefix tests"
  npm ci --prefix tests --no-audit --no-fund --loglevel=error
fi
log "done"

# The CLI's token hand-off, shared-refresh and keyring tests (cli/tests/handoff.rs,
# keyring_secret_service.rs): Debian's git, a session bus (dbus-run-session, dbus-send),
# gnome-keyring's Secret Service and libsecret's secret-tool, a JSON-schema checker for Debian's
# python3, openssl, and kubectl (Debian's kubernetes-client) when none is installed.
need_cli=()
[ -x /usr/bin/git ] || need_cli+=(git)
{ command -v dbus-run-session && command -v dbus-send; } >/dev/null || need_cli+=(dbus)
command -v gnome-keyring-daemon >/dev/null || need_cli+=(gnome-keyring)
command -v secret-tool >/dev/null || need_cli+=(libsecret-tools)
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || need_cli+=(python3-jsonschema)
command -v openssl >/dev/null || need_cli+=(openssl)
command -v kubectl >/dev/null || need_cli+=(kubernetes-client)
if [ ${#need_cli[@]} -gt 0 ]; then
  log "apt-get install ${need_cli[*]} (CLI tests)"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_cli[@]}" >/dev/null
fi
