#!/usr/bin/env bash
# Proves the shared end-to-end infrastructure (tests/e2e/provider.mjs + approve.mjs) against a real
# node-oidc-provider, with plain fetch and no project code. Needs `npm ci --prefix tests` first
# (tests/run.sh does it).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -d tests/node_modules/oidc-provider ]; then
  echo "tests/node_modules is missing: run 'npm ci --prefix tests' first" >&2
  exit 1
fi
# stdin </dev/null: nothing here reads it; the providers get their own pipes.
node --test --test-reporter=spec tests/e2e/provider.test.mjs </dev/null
