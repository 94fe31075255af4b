#!/usr/bin/env bash
# The server half beyond `cargo test --workspace`: openid-client (npm, a client no one here wrote)
# and the project's own clients (the JS package, the Python wheel in .venv, the CLI) log in against
# deviceflow-server while headless Chromium approves and denies through the real verification
# pages, and `deviceflow serve` fronts node-oidc-provider as the upstream sign-in. Needs
# `npm ci --prefix tests` and /usr/bin/chromium (tests/setup.sh installs both); the
# Python and CLI checks say SKIPPED when their build is missing (tests/run.sh builds both first).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d tests/node_modules/openid-client ] || [ ! -x /usr/bin/chromium ]; then
  echo "missing tests/node_modules or /usr/bin/chromium: run tests/setup.sh first" >&2
  exit 1
fi
node --test --test-reporter=spec tests/e2e/server-interop.test.mjs </dev/null
# `deviceflow serve --upstream-issuer`: sign-in through node-oidc-provider's pages (builds the CLI).
node --test --test-reporter=spec tests/e2e/server-upstream.test.mjs </dev/null
# The TV example app (examples/tv/) as `deviceflow demo --web` serves it, in Chromium: CORS,
# keyboard only, denial and expiry; screenshots in target/test-artefacts/tv/.
node --test --test-reporter=spec tests/e2e/tv.test.mjs </dev/null
