#!/usr/bin/env bash
# Compiles DeviceFlowKit (generated bindings + the async driver) as a library module,
# then the checks program against it, and runs it. Works wherever swiftc runs
# (tests/suites/swift.sh calls it inside the Debian 13 chroot). Needs
# bindings/uniffi/build.sh swift and target/debug/libdeviceflow_uniffi.so first.
# Usage: check.sh <repo root>
set -euo pipefail
ROOT=$(cd "$1" && pwd)
cd "$ROOT/bindings/uniffi/swift"
L=$ROOT/target/debug
B=$PWD/build
mkdir -p "$B"
swiftc -parse-as-library -module-name DeviceFlowKit -emit-library -emit-module \
  -emit-module-path "$B/DeviceFlowKit.swiftmodule" -I Sources/DeviceFlowFFI \
  -L "$L" -ldeviceflow_uniffi -Xlinker -rpath -Xlinker "$L" \
  Sources/DeviceFlowKit/*.swift -o "$B/libDeviceFlowKit.so"
swiftc -module-name DeviceFlowChecks -I "$B" -I Sources/DeviceFlowFFI \
  -L "$B" -lDeviceFlowKit -L "$L" -ldeviceflow_uniffi \
  -Xlinker -rpath -Xlinker "$B" -Xlinker -rpath -Xlinker "$L" \
  Tests/DeviceFlowChecks/*.swift -o "$B/DeviceFlowChecks"
"$B/DeviceFlowChecks" "$ROOT"
