#!/usr/bin/env bash
# Swift binding (uniffi): Debian 12 has no Swift compiler, so Debian 13's `swiftlang`
# runs in a debootstrap chroot at .swift-root/ (built once: ~1 min, ~3 GB; then reused).
# Inside it, bindings/uniffi/swift/check.sh compiles the generated bindings + the async
# driver as the DeviceFlowKit module, and runs the checks: every tests/vectors/*.json,
# errors, redaction, the panic guard, task cancellation, and login/refresh/revoke/deny
# end to end against node-oidc-provider (which runs on the host; the chroot shares the
# network, and approvals are handed over through files, see E2e.swift), and every case of
# the hostile-server suite (tests/hostile/server.mjs, also on the host, see Hostile.swift).
# If the chroot cannot be built here, this prints SKIPPED with the reason and exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SR=$ROOT/.swift-root

skip() {
  echo "SKIPPED: swift suite: $*" >&2
  echo "SKIPPED: swift suite: $*"
  exit 0
}

[ "$(id -u)" -eq 0 ] || skip "the Swift chroot needs root (debootstrap, unshare -m, chroot, mount)"
if [ ! -x "$SR/usr/bin/swiftc" ]; then
  command -v debootstrap >/dev/null || skip "debootstrap is not installed (apt-get install debootstrap)"
  command -v unshare >/dev/null || skip "unshare (util-linux) is missing"
  avail_kb=$(df -Pk "$ROOT" | awk 'NR==2 {print $4}')
  [ "$avail_kb" -gt 4000000 ] || skip "less than 4 GB free for the Swift chroot"
  echo "building the Swift chroot (Debian 13 + swiftlang) at $SR ..."
  rm -rf "$SR.partial"
  log=$ROOT/bindings/uniffi/build/swift-root.log
  mkdir -p "$(dirname "$log")"
  if ! unshare -m --propagation private debootstrap --variant=minbase trixie "$SR.partial" \
      http://deb.debian.org/debian >"$log" 2>&1; then
    rm -rf "$SR.partial"; skip "debootstrap trixie failed (network to deb.debian.org?), see $log"
  fi
  cp /etc/resolv.conf "$SR.partial/etc/resolv.conf"
  if ! unshare -m --propagation private chroot "$SR.partial" sh -c 'apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends swiftlang libc6-dev' >>"$log" 2>&1; then
    rm -rf "$SR.partial"; skip "apt-get install swiftlang in the chroot failed, see $log"
  fi
  mv "$SR.partial" "$SR"
fi

cargo build --workspace --all-targets --locked -q
bash bindings/uniffi/build.sh swift

# --- the real authorization server on the host, and a file-based approver for the chroot
WORK=$ROOT/bindings/uniffi/build/swift-e2e
rm -rf "$WORK" && mkdir -p "$WORK/handoff"
PROVIDER_PID="" APPROVER_PID="" HOSTILE_PID=""
cleanup() {
  [ -n "$APPROVER_PID" ] && kill "$APPROVER_PID" 2>/dev/null || true
  exec 3>&- 2>/dev/null || true
  exec 4>&- 2>/dev/null || true
  [ -n "$PROVIDER_PID" ] && kill "$PROVIDER_PID" 2>/dev/null || true
  [ -n "$HOSTILE_PID" ] && kill "$HOSTILE_PID" 2>/dev/null || true
}
trap cleanup EXIT
E2E_ENV=()
if command -v node >/dev/null && [ -d tests/node_modules/oidc-provider ]; then
  mkfifo "$WORK/provider.in"
  DEVICE_INTERVAL=1 MAX_LIFETIME=300 node tests/e2e/provider.mjs <"$WORK/provider.in" >"$WORK/provider.out" 2>"$WORK/provider.err" &
  PROVIDER_PID=$!
  exec 3>"$WORK/provider.in"
  for _ in $(seq 100); do [ -s "$WORK/provider.out" ] && break; sleep 0.1; done
  ISSUER=$(sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$WORK/provider.out")
  [ -n "$ISSUER" ] || { echo "provider.mjs did not start, see $WORK/provider.err" >&2; exit 1; }
  (
    while true; do
      for req in "$WORK"/handoff/*.req; do
        [ -e "$req" ] || continue
        read -r code verdict <"$req"
        mv "$req" "$req.taken"
        flag=(); [ "$verdict" = deny ] && flag=(--deny)
        node tests/e2e/approve.mjs --issuer "$ISSUER" --user-code "$code" "${flag[@]}" >>"$WORK/approve.log" 2>&1 &
      done
      sleep 0.2
    done
  ) &
  APPROVER_PID=$!
  E2E_ENV=(DEVICEFLOW_E2E_ISSUER="$ISSUER" DEVICEFLOW_E2E_DIR=/src/bindings/uniffi/build/swift-e2e/handoff)
else
  echo "note: node or tests/node_modules missing: the Swift e2e checks are off" >&2
fi

# --- the hostile-server suite (tests/hostile/server.mjs) on the host; the checks read its JSON line from a file
HOSTILE_ENV=()
if command -v node >/dev/null; then
  mkfifo "$WORK/hostile.in"
  MAX_LIFETIME=300 node tests/hostile/server.mjs <"$WORK/hostile.in" >"$WORK/hostile.json" 2>"$WORK/hostile.err" 3>&- &
  HOSTILE_PID=$!
  exec 4>"$WORK/hostile.in" # server.mjs stops on stdin EOF: when fd 4 closes (cleanup, or this script dying)
  for _ in $(seq 100); do [ -s "$WORK/hostile.json" ] && break; sleep 0.1; done
  grep -q '"base":"http' "$WORK/hostile.json" || { echo "tests/hostile/server.mjs did not start, see $WORK/hostile.err" >&2; exit 1; }
  HOSTILE_ENV=(DEVICEFLOW_HOSTILE_FILE=/src/bindings/uniffi/build/swift-e2e/hostile.json)
else
  echo "note: node missing: the Swift hostile-server checks are off" >&2
fi

# A private mount namespace: /proc and the repo (at /src) are mounted for this command only.
unshare -m --propagation private bash -c '
  SR=$1; ROOT=$2; shift 2
  mkdir -p "$SR/src" "$SR/proc" "$SR/tmp"
  mount -t proc proc "$SR/proc"
  mount --bind "$ROOT" "$SR/src"
  exec chroot "$SR" env -i PATH=/usr/bin:/bin HOME=/root "$@" /bin/bash /src/bindings/uniffi/swift/check.sh /src
' bash "$SR" "$ROOT" "${E2E_ENV[@]}" "${HOSTILE_ENV[@]}" </dev/null
