#!/usr/bin/env bash
# Prints the compile/run classpath besides deviceflow.jar: JNA, kotlin-stdlib, kotlinx-coroutines.
# JNA: Debian's libjna-java when installed (its jnidispatch is found only from /usr/lib/.../jni),
# else the JNA 5.9 bundled in kotlin-compiler.jar, extracted once.
set -euo pipefail
ROOT=$1
KOTLIN_HOME=${KOTLIN_HOME:-$ROOT/tests/node_modules/kotlin-compiler}
if [ -f /usr/share/java/jna.jar ]; then
  JNA=/usr/share/java/jna.jar
else
  JNA=$ROOT/bindings/uniffi/kotlin/build/jna/jna.jar
  if [ ! -f "$JNA" ]; then
    X=$(dirname "$JNA")/x && rm -rf "$X" && mkdir -p "$X"
    (cd "$X" && unzip -qo "$KOTLIN_HOME/lib/kotlin-compiler.jar" 'com/sun/jna/*' && jar cf "$JNA" .)
  fi
fi
echo "$JNA:$KOTLIN_HOME/lib/kotlin-stdlib.jar:$KOTLIN_HOME/lib/kotlinx-coroutines-core-jvm.jar"
