#!/usr/bin/env bash
# The release artifacts: `cargo xtask dist --profile dist-ci` builds every one into target/dist/
# (manifest.json, SHA256SUMS), then tests/dist/check.py checks what the manifest lists:
#   - Linux x86_64 runs natively: the wheel in a fresh venv logs in, refreshes and revokes
#     against `deviceflow serve`; the CLI's --version and a real login, and the static musl
#     CLI again in a bare chroot (a folder holding only the binary);
#   - Linux aarch64 runs under qemu-user (no binfmt_misc needed): an arm64 Debian root made
#     by debootstrap --foreign and dpkg-deb (cached in target/dist-check/), its python3.11
#     imports the aarch64 wheel, replays the shared vectors and logs in against the host's
#     server; the aarch64 CLI's --version and login; the jar's linux-aarch64 library loaded
#     with ctypes (contract version and API checksums equal the x86_64 one's);
#   - macOS and Windows (and the musllinux wheels) cannot run here: Mach-O / PE headers,
#     architectures, imported libraries (system ones only), wheel tags, abi3 symbols;
#   - the ecosystems' checkers: twine check, abi3audit, auditwheel show; publint, attw and
#     npm publish --dry-run; cargo publish --dry-run; the npm package's size ceilings;
# plus tests/dist/mobile_sources.py (Kotlin and Swift sources stay buildable for Android and
# Apple's mobile/TV platforms) with its self-test on seeded bad lines.
# DIST_REUSE=1 skips the build and checks the target/dist/ already there (for working on the
# checks; DIST_DIR=... checks another folder with a manifest.json). Exits non-zero on failure;
# a check that cannot run prints SKIPPED (a failure under CI=true).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE=$ROOT/target/dist-check
VENV=$CACHE/venv
REQS=tests/dist/requirements.txt
DIST=${DIST_DIR:-target/dist}
t_start=$(date +%s)
export PYTHONDONTWRITEBYTECODE=1
log() { printf '\n== dist: %s\n' "$*" >&2; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# qemu-user-static for the aarch64 runs (debootstrap comes with tests/setup.sh).
if ! command -v qemu-aarch64-static >/dev/null; then
  log "apt-get install qemu-user-static"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q qemu-user-static >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  mkdir -p "$CACHE"
  if ! python3 -m venv "$VENV"; then
    # Debian's python3 has no ensurepip without python3-venv.
    $SUDO apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q python3-venv >/dev/null
    rm -rf "$VENV" && python3 -m venv "$VENV"
  fi
fi
if ! cmp -s "$REQS" "$VENV/.requirements"; then
  log "pip install -r $REQS"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/.requirements"
fi

t_build=$(date +%s)
if [ "${DIST_REUSE:-}" = 1 ] && [ -f "$DIST/manifest.json" ]; then
  log "DIST_REUSE=1: checking the $DIST/ already built"
else
  log "cargo xtask dist --profile dist-ci"
  cargo xtask dist --profile dist-ci
fi
t_checks=$(date +%s)

rc=0
log "self-test of the binary checks (binaries with known defects must be caught)"
"$VENV/bin/python" tests/dist/binaries.py --self-test || rc=1
log "Kotlin and Swift sources for Android and Apple platforms (self-test, then the sources)"
"$VENV/bin/python" tests/dist/mobile_sources.py --self-test || rc=1
"$VENV/bin/python" tests/dist/mobile_sources.py || rc=1

log "the artifacts of target/dist/manifest.json"
"$VENV/bin/python" tests/dist/check.py --dist "$DIST" --cache "$CACHE" || rc=1

t_end=$(date +%s)
echo "dist: build $((t_checks - t_build)) s, checks $((t_end - t_checks)) s, total $((t_end - t_start)) s"
[ "$rc" -eq 0 ] && echo "dist: all checks passed" || echo "dist: FAILED"
exit "$rc"
