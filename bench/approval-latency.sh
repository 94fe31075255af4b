#!/usr/bin/env bash
# Approval-to-token latency of the core's timing rules against node-oidc-provider
# (default interval 5 s). Usage: [MARGIN_MS=500] bench/approval-latency.sh [ROUNDS]
# MARGIN_MS=500 reproduces the poll spacing before part three of the client core.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
coproc PROVIDER { MAX_LIFETIME=600 exec node tests/e2e/provider.mjs 2>/dev/null; }
read -r line <&"${PROVIDER[0]}"
issuer=$(node -e 'console.log(JSON.parse(process.argv[1]).issuer)' "$line")
trap 'kill $PROVIDER_PID 2>/dev/null || true' EXIT
cargo run -q --release -p deviceflow --example approval_latency -- "$issuer" public-cli "$rounds" \
  node tests/e2e/approve.mjs --issuer "$issuer" --user-code
