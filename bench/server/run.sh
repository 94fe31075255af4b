#!/usr/bin/env bash
# Device authorizations/s and token polls/s: deviceflow-server (SQLite file store, release build)
# against node-oidc-provider (device flow, in-memory), same load generator (wrk), one run.
#   bash bench/server/run.sh            env: DURATION (s, 10), CONNECTIONS (32), CODES_N (200)
# Needs: wrk (apt-get install wrk), node + `npm ci --prefix tests`, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=bench/server
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
CODES_N=${CODES_N:-200}
WORK=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build -q --release -p deviceflow-server --example serve
TARGET=${CARGO_TARGET_DIR:-target}

# Each server gets a stdin pipe (a FIFO held open by a sleeper): closing it stops the server.
start() { # name cmd...  → prints the server's first stdout line to $WORK/name.line
  local name=$1; shift
  mkfifo "$WORK/$name.in"
  sleep $((DURATION * 4 + 120)) > "$WORK/$name.in" & pids+=($!)
  "$@" < "$WORK/$name.in" > "$WORK/$name.out" 2> "$WORK/$name.err" & pids+=($!)
  for _ in $(seq 100); do
    [ -s "$WORK/$name.out" ] && break
    sleep 0.2
  done
  head -n1 "$WORK/$name.out"
}

# wrk issues every device authorization from 127.0.0.1: lift the per-source issuance limit.
DF_ISSUER=$(DEVICEFLOW_DB="$WORK/bench.sqlite" DEVICEFLOW_UNLIMITED_ISSUANCE=1 start deviceflow "$TARGET/release/examples/serve" 0 5)
OP_ISSUER=$(MAX_LIFETIME=$((DURATION * 4 + 120)) start oidc node tests/e2e/provider.mjs \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["issuer"])')

codes() { # device_authorization_url client_id file
  for _ in $(seq "$CODES_N"); do
    curl -s -d "client_id=$2" -d scope=openid "$1" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["device_code"])'
  done > "$3"
}

rps() { # wrk output → requests/s
  awk '/^Requests\/sec/ {print $2}'
}

load() { # label url script client_id codes
  local out
  out=$(CLIENT_ID=$4 CODES=${5:-} wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$HERE/$3" "$2")
  echo "$out" >> "$WORK/wrk.log"
  local errors
  errors=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  printf '%s|%s|%s|%s\n' "$1" "$(echo "$out" | rps)" \
    "$(echo "$out" | awk '/ 99%/ {print $2}')" "${errors:-0}"
}

results=()
results+=("$(load "deviceflow-server device_authorization" "$DF_ISSUER/device_authorization" device_auth.lua deviceflow-cli)")
results+=("$(load "node-oidc-provider device_authorization" "$OP_ISSUER/device/auth" device_auth.lua public-cli)")
codes "$DF_ISSUER/device_authorization" deviceflow-cli "$WORK/df.codes"
codes "$OP_ISSUER/device/auth" public-cli "$WORK/op.codes"
results+=("$(load "deviceflow-server token poll" "$DF_ISSUER/token" poll.lua deviceflow-cli "$WORK/df.codes")")
results+=("$(load "node-oidc-provider token poll" "$OP_ISSUER/token" poll.lua public-cli "$WORK/op.codes")")

echo
echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s on $(nproc) cores ($(date -u +%FT%TZ)); $CODES_N pending codes for polls"
echo "| run | requests/s | p99 latency | non-2xx (polls: all 400 by design) |"
echo "|---|---|---|---|"
for r in "${results[@]}"; do
  IFS='|' read -r label r99 p99 err <<< "$r"
  echo "| $label | $r99 | $p99 | $err |"
done
python3 - "${results[@]}" <<'PY'
import sys
rows = {r.split('|')[0]: float(r.split('|')[1]) for r in sys.argv[1:]}
for kind in ("device_authorization", "token poll"):
    a, b = rows[f"deviceflow-server {kind}"], rows[f"node-oidc-provider {kind}"]
    print(f"ratio {kind}: deviceflow-server / node-oidc-provider = {a / b:.2f}x")
PY
