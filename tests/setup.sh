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
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${need_apt[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
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
