#!/usr/bin/env bash
# The deviceflow CLI as an agent drives it from a shell: start a real authorization
# server (node-oidc-provider), run `deviceflow --json login` in the background, read
# the first NDJSON line as soon as it is written, approve through the server's pages,
# then check the last line and the exit status. Then `deviceflow demo --auto-approve`
# (the whole flow on one machine with the project's own server), when it is built.
# The Rust end-to-end tests (cli/tests/) already ran under `cargo test --workspace`.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v node >/dev/null || [ ! -d tests/node_modules/oidc-provider ]; then
  echo "SKIPPED: the CLI suite needs node and 'npm ci --prefix tests'" >&2
  echo "0 passed, 0 failed"
  exit 0
fi
cargo build -q --locked -p deviceflow-cli
BIN=$PWD/target/debug/deviceflow
WORK=$(mktemp -d)
PROVIDER_PID=""
cleanup() {
  [ -n "$PROVIDER_PID" ] && kill "$PROVIDER_PID" 2>/dev/null || true
  exec 3>&- 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export DEVICEFLOW_CONFIG_DIR=$WORK/config
passed=0 failed=0
check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
json_get() { node -e 'const v=JSON.parse(process.argv[1]); console.log(v[process.argv[2]] ?? "")' "$1" "$2"; }

# A provider whose stdin we hold open on fd 3 (it exits when that closes).
mkfifo "$WORK/provider.in"
DEVICE_INTERVAL=1 node tests/e2e/provider.mjs <"$WORK/provider.in" >"$WORK/provider.out" 2>"$WORK/provider.err" &
PROVIDER_PID=$!
exec 3>"$WORK/provider.in"
for _ in $(seq 100); do [ -s "$WORK/provider.out" ] && break; sleep 0.1; done
ISSUER=$(json_get "$(head -n1 "$WORK/provider.out")" issuer)
echo "provider at $ISSUER"

# --- agent-style login: first line read while the CLI is still waiting
mkfifo "$WORK/login.out"
"$BIN" --json login --issuer "$ISSUER" --client-id public-cli \
  --scope "openid offline_access profile email" --no-open --store file >"$WORK/login.out" 2>"$WORK/login.err" &
LOGIN_PID=$!
exec 4<"$WORK/login.out"
IFS= read -r first <&4
echo "$first" >"$WORK/login.ndjson"
check "first line is waiting_for_authorization" [ "$(json_get "$first" status)" = waiting_for_authorization ]
CODE=$(json_get "$first" user_code)
node tests/e2e/approve.mjs --issuer "$ISSUER" --user-code "$CODE" >/dev/null
last=$first
while IFS= read -r line <&4; do
  node -e 'JSON.parse(process.argv[1])' "$line" || { echo "not JSON: $line"; failed=$((failed + 1)); }
  last=$line
  echo "$line" >>"$WORK/login.ndjson"
done
exec 4<&-
rc=0; wait "$LOGIN_PID" || rc=$?
check "login exits 0" [ "$rc" -eq 0 ]
check "last line is authenticated" [ "$(json_get "$last" status)" = authenticated ]
TOKEN=$("$BIN" token)
check "token prints a token" [ -n "$TOKEN" ]
check "the token never appeared in login output" bash -c '! grep -qF -- "$1" "$2" "$3" 2>/dev/null' _ "$TOKEN" "$WORK/login.err" "$WORK/login.ndjson"
check "status exits 0" "$BIN" status

# --- the token for other tools, as scripts use it (cli/README.md, "Tokens for other tools")
check "token --format header" [ "$("$BIN" token --format header)" = "Authorization: Bearer $TOKEN" ]
check "token --format env, evaluated by the shell" \
  bash -c 'eval "$("$1" token --format env --env T)" && [ "$T" = "$2" ]' _ "$BIN" "$TOKEN"
check "exec puts the token in the command's environment" \
  [ "$("$BIN" exec --env T -- sh -c 'printf %s "$T"')" = "$TOKEN" ]
check "git-credential get answers with the token" \
  bash -c 'printf "protocol=https\nhost=example.com\n\n" | "$1" git-credential get | grep -qxF "password=$2"' _ "$BIN" "$TOKEN"
check "token --format exec-credential is an ExecCredential" \
  bash -c '"$1" token --format exec-credential | node -e "const v=JSON.parse(require(\"fs\").readFileSync(0)); process.exit(v.kind===\"ExecCredential\" && v.status.token===process.argv[1] ? 0 : 1)" "$2"' _ "$BIN" "$TOKEN"
check "logout exits 0" "$BIN" logout
rc=0; "$BIN" token >/dev/null 2>&1 || rc=$?
check "token after logout exits 6" [ "$rc" -eq 6 ]

# --- demo: the project's own server, approved through its real page
rc=0; timeout 120 "$BIN" --json demo --auto-approve >"$WORK/demo.out" 2>"$WORK/demo.err" || rc=$?
if grep -q '"error":"unsupported"' "$WORK/demo.out"; then
  echo "SKIPPED: demo is not in this build ($(cat "$WORK/demo.out"))"
else
  check "demo --auto-approve exits 0" [ "$rc" -eq 0 ]
  check "demo authenticated" grep -q '"status":"authenticated"' "$WORK/demo.out"
  check "demo ends with the tokens revoked" [ "$(json_get "$(tail -n1 "$WORK/demo.out")" status)" = logged_out ]
  [ "$rc" -eq 0 ] || cat "$WORK/demo.err" >&2
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
