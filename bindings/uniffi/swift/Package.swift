// swift-tools-version:5.9
// DeviceFlowKit: the deviceflow device-authorization client for Swift (iOS, tvOS, macOS, Linux).
// `bindings/uniffi/build.sh swift` writes the generated sources this package needs:
//   Sources/DeviceFlowKit/DeviceFlowKit.swift            (uniffi-bindgen)
//   Sources/DeviceFlowFFI/{DeviceFlowFFI.h,module.modulemap}
// and the native library comes from `cargo build -p deviceflow-uniffi --release`
// (Linux/macOS: libdeviceflow_uniffi.{so,dylib} on the linker path, e.g.
// `swift build -Xlinker -L../../../target/release`; Apple platforms: wrap the static
// libraries in an XCFramework and swap DeviceFlowFFI for a .binaryTarget, see README.md).
import PackageDescription

let package = Package(
    name: "DeviceFlowKit",
    platforms: [.macOS(.v12), .iOS(.v15), .tvOS(.v15), .watchOS(.v8)],
    products: [
        .library(name: "DeviceFlowKit", targets: ["DeviceFlowKit"]),
    ],
    targets: [
        // The C declarations of the Rust library; its module map links `deviceflow_uniffi`.
        .systemLibrary(name: "DeviceFlowFFI", path: "Sources/DeviceFlowFFI"),
        // Generated bindings + the idiomatic async driver (Login.swift, Transport.swift).
        .target(name: "DeviceFlowKit", dependencies: ["DeviceFlowFFI"], path: "Sources/DeviceFlowKit"),
        // The checks tests/suites/swift.sh runs (plain executable: no XCTest needed).
        .executableTarget(name: "DeviceFlowChecks", dependencies: ["DeviceFlowKit"], path: "Tests/DeviceFlowChecks"),
    ]
)
