#!/usr/bin/env bash
# Device authorizations/s and token polls/s, side by side in one run with the same load generator
# (wrk): deviceflow-server (release build) on SQLite, on PostgreSQL with one instance, and with two
# instances on one PostgreSQL database; node-oidc-provider (device flow, in-memory). Then bytes
# per pending code in each store.
#   bash bench/server/run.sh            env: DURATION (s, 10), CONNECTIONS (32), CODES_N (200)
# Needs: wrk (apt-get install wrk), node + `npm ci --prefix tests`, curl, python3, and PostgreSQL:
# a throwaway server from tests/with-postgres.sh unless DEVICEFLOW_TEST_POSTGRES names one (the
# benchmark makes two databases there and drops them at the end).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${DEVICEFLOW_TEST_POSTGRES:-}" ]; then
  exec tests/with-postgres.sh bash "$0" "$@"
fi
HERE=bench/server
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
CODES_N=${CODES_N:-200}
WORK=$(mktemp -d)
PG_ADMIN=$DEVICEFLOW_TEST_POSTGRES
PG_DBS=("deviceflow_bench_one_$$" "deviceflow_bench_two_$$")
pids=()
cleanup() {
  # start() runs inside $(...), a subshell: its children are listed in $WORK/pids, not in pids.
  [ -f "$WORK/pids" ] && mapfile -t -O "${#pids[@]}" pids < "$WORK/pids"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for db in "${PG_DBS[@]}"; do
    psql -q "$PG_ADMIN" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build -q --release -p deviceflow-server --example serve
TARGET=${CARGO_TARGET_DIR:-target}

# A database per PostgreSQL setup; its URL is the admin URL with the database name swapped in.
pg_url() { # database → URL
  psql -q "$PG_ADMIN" -c "CREATE DATABASE $1" >/dev/null
  echo "${PG_ADMIN%/*}/$1"
}
PG_ONE=$(pg_url "${PG_DBS[0]}")
PG_TWO=$(pg_url "${PG_DBS[1]}")

# Each server gets a stdin pipe (a FIFO held open by a sleeper): closing it stops the server.
# Every server runs on CPU 0 and the load generator on CPU 1 (when there are two): "the server on
# one core", and the CPU time each server spends per request is measured, not guessed.
SERVER_CPU=0 LOAD_CPU=$(( $(nproc) > 1 ? 1 : 0 ))
start() { # name cmd...  → prints the server's first stdout line
  local name=$1; shift
  mkfifo "$WORK/$name.in"
  sleep $((DURATION * 10 + 300)) > "$WORK/$name.in" & echo $! >> "$WORK/pids"
  taskset -c "$SERVER_CPU" "$@" < "$WORK/$name.in" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  echo $! >> "$WORK/pids"
  echo $! > "$WORK/$name.pid"
  for _ in $(seq 150); do
    [ -s "$WORK/$name.out" ] && break
    sleep 0.2
  done
  if [ ! -s "$WORK/$name.out" ]; then
    echo "$name did not start:" >&2
    cat "$WORK/$name.err" >&2
    exit 1
  fi
  head -n1 "$WORK/$name.out"
}

# wrk issues every device authorization from 127.0.0.1: lift the per-source issuance limit.
serve() { # name database → issuer
  DEVICEFLOW_DB=$2 DEVICEFLOW_UNLIMITED_ISSUANCE=1 start "$1" "$TARGET/release/examples/serve" 0 5
}
SQLITE=$(serve sqlite "$WORK/bench.sqlite")
PG1=$(serve pg-one "$PG_ONE")
PG2A=$(serve pg-two-a "$PG_TWO")
PG2B=$(serve pg-two-b "$PG_TWO")
OP=$(MAX_LIFETIME=$((DURATION * 10 + 300)) start oidc node tests/e2e/provider.mjs \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["issuer"])')

codes() { # device_authorization_url client_id file
  for _ in $(seq "$CODES_N"); do
    curl -s -d "client_id=$2" -d scope=openid "$1" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["device_code"])'
  done > "$3"
}

# CPU time (user + system, clock ticks) of the servers named, summed.
cpu_ticks() { # name...
  local total=0 name
  for name in "$@"; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$(cat "$WORK/$name.pid")/stat")))
  done
  echo "$total"
}

# One wrk run per server, all at once, the connections shared out between them; one result line:
# label|requests/s (sum)|p99 (the worst)|non-2xx (sum)|requests per CPU-second of the servers.
load() { # label script client_id codes name=url...
  local label=$1 script=$2 client=$3 codes=$4; shift 4
  local n=$# i=0 running=() names=() target
  for target in "$@"; do names+=("${target%%=*}"); done
  local before; before=$(cpu_ticks "${names[@]}")
  for target in "$@"; do
    CLIENT_ID=$client CODES=$codes taskset -c "$LOAD_CPU" wrk -t1 -c$((CONNECTIONS / n)) \
      -d"${DURATION}s" --latency -s "$HERE/$script" "${target#*=}" > "$WORK/wrk.$i" &
    running+=($!)
    i=$((i + 1))
  done
  for p in "${running[@]}"; do wait "$p"; done
  local ticks=$(( $(cpu_ticks "${names[@]}") - before ))
  python3 - "$label" "$ticks" "$(getconf CLK_TCK)" "$WORK"/wrk.* <<'PY'
import re, sys
label, ticks, hz, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
rps = p99 = errors = requests = 0.0
for f in files:
    text = open(f).read()
    rps += float(re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    ms = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    p99 = max(p99, ms)
    e = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors += int(e.group(1)) if e else 0
    requests += int(re.search(r"^\s+(\d+) requests in", text, re.M).group(1))
per_cpu = requests / (ticks / hz) if ticks else 0
print(f"{label}|{rps:.0f}|{p99:.2f}ms|{int(errors)}|{per_cpu:.0f}")
PY
  cat "$WORK"/wrk.* >> "$WORK/wrk.log"
  rm -f "$WORK"/wrk.*
}
results=()
results+=("$(load "deviceflow SQLite: device_authorization" device_auth.lua deviceflow-cli "" "sqlite=$SQLITE/device_authorization")")
results+=("$(load "deviceflow PostgreSQL, 1 instance: device_authorization" device_auth.lua deviceflow-cli "" "pg-one=$PG1/device_authorization")")
results+=("$(load "deviceflow PostgreSQL, 2 instances: device_authorization" device_auth.lua deviceflow-cli "" "pg-two-a=$PG2A/device_authorization" "pg-two-b=$PG2B/device_authorization")")
results+=("$(load "node-oidc-provider: device_authorization" device_auth.lua public-cli "" "oidc=$OP/device/auth")")
codes "$SQLITE/device_authorization" deviceflow-cli "$WORK/sqlite.codes"
codes "$PG1/device_authorization" deviceflow-cli "$WORK/pg1.codes"
codes "$PG2A/device_authorization" deviceflow-cli "$WORK/pg2.codes"
codes "$OP/device/auth" public-cli "$WORK/op.codes"
results+=("$(load "deviceflow SQLite: token poll" poll.lua deviceflow-cli "$WORK/sqlite.codes" "sqlite=$SQLITE/token")")
results+=("$(load "deviceflow PostgreSQL, 1 instance: token poll" poll.lua deviceflow-cli "$WORK/pg1.codes" "pg-one=$PG1/token")")
results+=("$(load "deviceflow PostgreSQL, 2 instances: token poll" poll.lua deviceflow-cli "$WORK/pg2.codes" "pg-two-a=$PG2A/token" "pg-two-b=$PG2B/token")")
results+=("$(load "node-oidc-provider: token poll" poll.lua public-cli "$WORK/op.codes" "oidc=$OP/token")")

# Bytes per pending code: 10,000 pending device authorizations in each store (the tests that
# measure it print one line each).
sizes=$(
  cargo test -q -p deviceflow-server --test engine bytes_per_pending_code_on_disk -- --nocapture 2>/dev/null
  cargo test -q -p deviceflow-server --test postgres bytes_per_pending_code_in_postgres -- --nocapture 2>/dev/null
)

echo
echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s on CPU $LOAD_CPU, every server on CPU $SERVER_CPU, $(nproc) cores ($(date -u +%FT%TZ)); two instances: two wrk -t1 -c$((CONNECTIONS / 2)) at once, one per instance (requests/s summed, the worse p99); $CODES_N pending codes for polls"
echo "| run | requests/s | requests per server CPU-second | p99 latency | non-2xx (polls: all 400 by design) |"
echo "|---|---|---|---|---|"
for r in "${results[@]}"; do
  IFS='|' read -r label rps p99 err percpu <<< "$r"
  echo "| $label | $rps | $percpu | $p99 | $err |"
done
echo
echo "$sizes" | grep "bytes per pending code" || echo "(no size figures: the size tests did not run)"
python3 - "${results[@]}" <<'PY'
import sys
rows = {r.split('|')[0]: r.split('|') for r in sys.argv[1:]}
for kind in ("device_authorization", "token poll"):
    op = rows[f"node-oidc-provider: {kind}"]
    for setup in ("SQLite", "PostgreSQL, 1 instance", "PostgreSQL, 2 instances"):
        row = rows[f"deviceflow {setup}: {kind}"]
        print(f"ratio {kind}: deviceflow {setup} / node-oidc-provider = "
              f"{float(row[1]) / float(op[1]):.2f}x requests/s, "
              f"{float(row[4]) / float(op[4]):.2f}x requests per CPU-second")
PY
