import DeviceFlowKit
import Foundation

// A plain test runner (no XCTest needed): one line per check, `N passed, N failed` last.
// Usage: DeviceFlowChecks <repo root>   (env DEVICEFLOW_E2E_ISSUER + DEVICEFLOW_E2E_DIR turn on the e2e checks,
// DEVICEFLOW_HOSTILE_FILE (the JSON line of tests/hostile/server.mjs) the hostile-server checks)

setvbuf(stdout, nil, _IOLBF, 0) // progress stays visible through pipes

struct Failure: Error, CustomStringConvertible { let description: String }
func expect(_ cond: Bool, _ what: @autoclosure () -> String) throws { if !cond { throw Failure(description: what()) } }

final class Checks {
    var passed = 0, failed = 0
    func check(_ name: String, _ body: () async throws -> Void) async {
        let t0 = Date()
        do {
            try await body()
            passed += 1
            print("ok    \(name) (\(Int(Date().timeIntervalSince(t0) * 1000)) ms)")
        } catch {
            failed += 1
            print("FAIL  \(name): \(error)")
        }
    }
}

let root = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : ".")
let checks = Checks()

let files = try Vectors.files(root.appendingPathComponent("tests/vectors"))
    + Vectors.files(root.appendingPathComponent("tests/vectors/dpop"))
await checks.check("at least one vector found (\(files.count))") { try expect(!files.isEmpty, "no vectors") }
for file in files {
    await checks.check("vector \(file.lastPathComponent)") {
        let v = try JSON.parse(try Data(contentsOf: file))
        do { try Vectors.run(v) } catch { throw Failure(description: "\(v["name"]?.string ?? "?"): \(error)") }
    }
}

await UnitChecks.all(checks)
await DpopChecks.all(checks)
if let issuer = ProcessInfo.processInfo.environment["DEVICEFLOW_E2E_ISSUER"],
   let dir = ProcessInfo.processInfo.environment["DEVICEFLOW_E2E_DIR"] {
    await E2e.all(checks, issuer: issuer, handoff: URL(fileURLWithPath: dir))
} else {
    print("(e2e checks off: DEVICEFLOW_E2E_ISSUER not set)")
}
if let file = ProcessInfo.processInfo.environment["DEVICEFLOW_HOSTILE_FILE"] {
    await Hostile.all(checks, file: URL(fileURLWithPath: file))
} else {
    print("(hostile checks off: DEVICEFLOW_HOSTILE_FILE not set)")
}

print("\(checks.passed) passed, \(checks.failed) failed")
exit(checks.failed == 0 && checks.passed > 0 ? 0 : 1)
