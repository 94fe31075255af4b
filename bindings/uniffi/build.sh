#!/usr/bin/env bash
# Generates the Kotlin and Swift bindings from the debug cdylib and assembles the
# package layouts (what Gradle / SwiftPM would do on a developer machine):
#   bindings/uniffi/kotlin/build/libs/deviceflow.jar   classes + linux-x86-64/libdeviceflow_uniffi.so (JNA loads it from the classpath)
#   bindings/uniffi/swift/Sources/...                  generated DeviceFlowKit.swift + DeviceFlowFFI header/modulemap
# Needs `cargo build --workspace --all-targets` first (for target/debug/uniffi-bindgen and the .so)
# and, for Kotlin, `npm ci --prefix tests` (kotlinc). Usage: build.sh [kotlin] [swift]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIB=$ROOT/target/debug/libdeviceflow_uniffi.so
BINDGEN=$ROOT/target/debug/uniffi-bindgen
for f in "$LIB" "$BINDGEN"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "missing $f: run 'cargo build --workspace --all-targets' first" >&2; exit 1; }
done

OUT=$HERE/build/bindgen
rm -rf "$OUT"
"$BINDGEN" generate "$LIB" --language kotlin --language swift --no-format --out-dir "$OUT" >/dev/null

targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(kotlin swift)

if printf '%s\n' "${targets[@]}" | grep -qx swift; then
  S=$HERE/swift/Sources
  mkdir -p "$S/DeviceFlowKit" "$S/DeviceFlowFFI"
  cp "$OUT/DeviceFlowKit.swift" "$S/DeviceFlowKit/DeviceFlowKit.swift"
  cp "$OUT/DeviceFlowFFI.h" "$S/DeviceFlowFFI/DeviceFlowFFI.h"
  # SwiftPM system-library module: the generated map plus the link line (its `use "Darwin"` is dropped for Linux).
  printf 'module DeviceFlowFFI {\n    header "DeviceFlowFFI.h"\n    link "deviceflow_uniffi"\n    export *\n}\n' \
    > "$S/DeviceFlowFFI/module.modulemap"
fi

if printf '%s\n' "${targets[@]}" | grep -qx kotlin; then
  KOTLIN_HOME=${KOTLIN_HOME:-$ROOT/tests/node_modules/kotlin-compiler}
  [ -x "$KOTLIN_HOME/bin/kotlinc" ] || { echo "kotlinc not found: run 'npm ci --prefix tests'" >&2; exit 1; }
  B=$HERE/kotlin/build
  GEN=$B/generated/uniffi   # the Gradle build (build.gradle.kts) reads the same two folders
  rm -rf "$GEN" && mkdir -p "$GEN/kotlin" "$GEN/resources/linux-x86-64" "$B/libs"
  cp -r "$OUT/deviceflow" "$GEN/kotlin/"
  # debug sections are most of a debug build; the jar needs only the code
  objcopy --strip-debug "$LIB" "$GEN/resources/linux-x86-64/libdeviceflow_uniffi.so"
  # kotlinc takes ~40 s on the 200 KB generated file: skip it when no input changed.
  # The JVM jar: generated bindings + src/main (platform-neutral) + src/jvm (JavaHttpTransport,
  # platformTransport()). src/android is the other platform set: tests/suites/kotlin.sh compiles it.
  SRC=("$HERE/kotlin/src/main/kotlin" "$HERE/kotlin/src/jvm/kotlin")
  # The file names count too: a file moved between src/main and src/jvm changes the jar.
  stamp=$( (cd "$HERE/kotlin/src" && ls -- main/kotlin/deviceflow/*.kt jvm/kotlin/deviceflow/*.kt
    cat "$GEN/kotlin/deviceflow/"*.kt main/kotlin/deviceflow/*.kt jvm/kotlin/deviceflow/*.kt \
      "$GEN/resources/linux-x86-64/libdeviceflow_uniffi.so") | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$B/libs/deviceflow.jar.sha256" 2>/dev/null)" != "$stamp" ] || [ ! -f "$B/libs/deviceflow.jar" ]; then
    rm -rf "$B/classes" && mkdir -p "$B/classes"
    "$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 \
      -cp "$(bash "$HERE/kotlin/classpath.sh" "$ROOT")" -d "$B/classes" \
      "$GEN/kotlin" "${SRC[@]}"
    (cd "$GEN/resources" && cp -r linux-x86-64 "$B/classes/")
    rm -f "$B/libs/deviceflow.jar"
    (cd "$B/classes" && jar cf "$B/libs/deviceflow.jar" .)
    echo "$stamp" >"$B/libs/deviceflow.jar.sha256"
  fi
fi
