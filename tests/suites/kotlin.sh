#!/usr/bin/env bash
# Kotlin binding (uniffi + JNA): generates the bindings from the debug cdylib,
# assembles deviceflow.jar (classes + linux-x86-64/libdeviceflow_uniffi.so), compiles
# the checks with kotlinc (npm kotlin-compiler) and runs them on the JVM: every
# tests/vectors/*.json, errors, redaction, the panic guard, coroutine cancellation,
# and login/refresh/revoke/deny end to end against node-oidc-provider; then compiles the
# Android source set (src/main + src/android) and logs in and refreshes through it.
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

# The Android source set: generated bindings + src/main + src/android (not src/jvm), compiled
# against the JDK into a separate output. That proves it compiles with no JVM-only source (the
# Android API checks are tests/dist/mobile_sources.py's). Then a real login and refresh through
# its default transport, UrlConnectionTransport, against node-oidc-provider. Not the hostile
# cases: on the JDK they would test the JDK's HttpURLConnection, which differs from Android's
# (OkHttp) in exactly what they probe (see E2e.android).
K=$ROOT/bindings/uniffi/kotlin
GEN=$B/generated/uniffi
stamp=$( (cd "$K/src" && ls -- main/kotlin/deviceflow/*.kt android/kotlin/deviceflow/*.kt
  cat "$GEN/kotlin/deviceflow/"*.kt main/kotlin/deviceflow/*.kt android/kotlin/deviceflow/*.kt) |
  sha256sum | cut -d' ' -f1)
if [ "$(cat "$B/android-classes.sha256" 2>/dev/null)" != "$stamp" ] || [ ! -d "$B/android-classes" ]; then
  rm -rf "$B/android-classes"
  "$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 -cp "$CP" -d "$B/android-classes" \
    "$GEN/kotlin" "$K/src/main/kotlin" "$K/src/android/kotlin"
  echo "$stamp" >"$B/android-classes.sha256"
fi
if [ -e "$B/android-classes/deviceflow/JavaHttpTransport.class" ]; then
  echo "kotlin suite: the Android classes contain JavaHttpTransport (src/jvm leaked in)" >&2; exit 1
fi
java -cp "$B/test.jar:$B/android-classes:$GEN/resources:$CP" deviceflow.MainKt "$ROOT" --android-e2e </dev/null
