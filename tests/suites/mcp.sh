#!/usr/bin/env bash
# `deviceflow mcp` (cli/src/mcp/) driven by the official MCP TypeScript SDK (@modelcontextprotocol/sdk,
# from tests/package.json) over stdio: a full sign-in against `deviceflow serve`, approved and denied
# by headless Chromium on the real verification page; tokens checked at the server's /userinfo.
# Prints the JSON-RPC transcript (tokens redacted). The rules of the tools themselves (configuration,
# refusals) also have unit tests in the rust suite (cli/src/mcp/config.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=""
command -v node >/dev/null || missing="node"
[ -d tests/node_modules/@modelcontextprotocol/sdk ] || missing="$missing tests/node_modules/@modelcontextprotocol/sdk (npm ci --prefix tests)"
[ -d tests/node_modules/playwright-core ] || missing="$missing tests/node_modules/playwright-core"
[ -x /usr/bin/chromium ] || missing="$missing /usr/bin/chromium"
if [ -n "$missing" ]; then
  echo "######## SKIPPED: the MCP suite needs:$missing ########" >&2
  echo "0 passed, 0 failed (SKIPPED)"
  [ "${CI:-}" = true ] && { echo "CI=true: a skipped suite fails" >&2; exit 1; }
  exit 0
fi

cargo build -q --locked -p deviceflow-cli
TRANSCRIPT=$(mktemp)
trap 'rm -f "$TRANSCRIPT"' EXIT
rc=0
MCP_TRANSCRIPT=$TRANSCRIPT node --test --test-reporter=spec tests/e2e/mcp.test.mjs </dev/null || rc=$?
echo
echo "---- MCP transcript (A: client with URL elicitation, B: without; -> client to server) ----"
cat "$TRANSCRIPT"
exit "$rc"
