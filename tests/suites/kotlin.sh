#!/usr/bin/env bash
# Kotlin binding (uniffi + JNA): generates the bindings from the debug cdylib,
# assembles deviceflow.jar (classes + linux-x86-64/libdeviceflow_uniffi.so), compiles
# the checks with kotlinc (npm kotlin-compiler) and runs them on the JVM: every
# tests/vectors/*.json, errors, redaction, the panic guard, coroutine cancellation,
# and login/refresh/revoke/deny end to end against node-oidc-provider.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
KOTLIN_HOME=$ROOT/tests/node_modules/kotlin-compiler

for tool in java node; do
  command -v "$tool" >/dev/null || { echo "kotlin suite: '$tool' is missing (tests/setup.sh installs it)" >&2; exit 1; }
done
[ -x "$KOTLIN_HOME/bin/kotlinc" ] || { echo "kotlin suite: kotlinc missing: run 'npm ci --prefix tests'" >&2; exit 1; }

# A no-op when the rust suite already built everything (same feature resolution).
cargo build --workspace --all-targets --locked -q
bash bindings/uniffi/build.sh kotlin

B=$ROOT/bindings/uniffi/kotlin/build
CP=$(bash bindings/uniffi/kotlin/classpath.sh "$ROOT")
TESTS=$ROOT/bindings/uniffi/kotlin/src/test/kotlin
stamp=$(cat "$B/libs/deviceflow.jar.sha256" "$TESTS"/deviceflow/*.kt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$B/test.jar.sha256" 2>/dev/null)" != "$stamp" ] || [ ! -f "$B/test.jar" ]; then
  "$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 -cp "$B/libs/deviceflow.jar:$CP" -d "$B/test.jar" "$TESTS"
  echo "$stamp" >"$B/test.jar.sha256"
fi
# No -Djna.library.path: JNA must find the native library inside deviceflow.jar, as users get it.
# stdin </dev/null: the checks spawn node-oidc-provider with their own pipe.
java -cp "$B/test.jar:$B/libs/deviceflow.jar:$CP" deviceflow.MainKt "$ROOT" </dev/null
