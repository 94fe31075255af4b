import DeviceFlowKit
import Foundation

/// Every case of the shared hostile-server suite (tests/hostile/) through `login(...)` with the
/// default URLSession transport, all at once: the outcome the case names, within its budget,
/// nothing unsafe reaching the prompt, the prompt shown once when tokens come back.
/// The checks run in a chroot without Node: tests/suites/swift.sh runs tests/hostile/server.mjs
/// on the host (same network) and hands over the JSON line it printed as a file
/// (DEVICEFLOW_HOSTILE_FILE).
enum Hostile {
    /// The set of `isSafeText` in tests/hostile/harness.mjs: C0/C1 controls, DEL, BiDi and invisible format characters.
    static func isSafeText(_ s: String) -> Bool {
        !s.unicodeScalars.contains { u in
            switch u.value {
            case 0x00...0x1F, 0x7F...0x9F, 0xAD, 0x61C, 0x180E, 0x200B...0x200F, 0x2028...0x202E,
                 0x2060...0x206F, 0xFEFF, 0xFFF9...0xFFFB: return true
            default: return false
            }
        }
    }

    static let access = "hostile-access-token-0123456789"

    struct Run: Sendable {
        let base: String, clientId: String, timing: Timing, timeout: TimeInterval, budgetMs: Int
        /// `defaults`: the case runs with the default timing and transport deadline (cases.mjs).
        func config(_ word: String, _ name: String, defaults: Bool = false) -> FlowConfig {
            FlowConfig(clientId: clientId, deviceAuthorizationEndpoint: "\(base)/\(word)/\(name)/device",
                       tokenEndpoint: "\(base)/\(word)/\(name)/token", timing: defaults ? nil : timing)
        }
    }

    struct Case: Sendable { let name: String, about: String, expect: [String], defaults: Bool, budgetMs: Int }
    struct Outcome: Sendable { let name: String, outcome: String, detail: String, ms: Int, problem: String? }

    /// Collects prompts from the callback (which may run on any thread).
    final class Prompts: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [Prompt] = []
        func add(_ p: Prompt) { lock.lock(); list.append(p); lock.unlock() }
        var all: [Prompt] { lock.lock(); defer { lock.unlock() }; return list }
    }

    final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false
        func claim() -> Bool { lock.lock(); defer { lock.unlock() }; if done { return false }; done = true; return true }
    }

    /// Resolves with the task's value, or nil after `seconds` even when the task ignores
    /// cancellation: a hang fails its case instead of hanging the checks.
    static func value<T: Sendable>(of task: Task<T, Never>, within seconds: Double) async -> T? {
        let once = Once()
        return await withCheckedContinuation { (cont: CheckedContinuation<T?, Never>) in
            Task { let v = await task.value; if once.claim() { cont.resume(returning: v) } }
            Task {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                if once.claim() { cont.resume(returning: nil) }
            }
        }
    }

    static func runCase(_ run: Run, _ c: Case) async -> Outcome {
        let prompts = Prompts()
        let t0 = Date()
        let task = Task { () -> (String, String) in
            do {
                let transport = c.defaults ? URLSessionTransport() : URLSessionTransport(timeout: run.timeout)
                let t = try await login(config: run.config("swift", c.name, defaults: c.defaults), transport: transport) {
                    prompts.add($0)
                }
                return (t.accessToken() == access ? "done" : "done with the wrong access token", "")
            } catch let e as FlowError {
                return (e.code(), e.message())
            } catch {
                return ("crash (\(error))", "")
            }
        }
        let result = await value(of: task, within: Double(c.budgetMs) / 1000 + 2)
        if result == nil { task.cancel() }
        let (outcome, detail) = result ?? ("hang", "")
        let ms = Int(Date().timeIntervalSince(t0) * 1000)
        var problems: [String] = []
        if !c.expect.contains(outcome) { problems.append("\(c.about): expected \(c.expect.joined(separator: " or ")), got \(outcome)") }
        if ms >= c.budgetMs { problems.append("took \(ms) ms (budget \(c.budgetMs) ms)") }
        let shown = prompts.all
        for p in shown {
            for text in [p.userCode, p.verificationUri, p.verificationUriComplete, p.verificationHost, p.message] {
                if let text, !isSafeText(text) { problems.append("unsafe text shown: \(JSON.string(text).text)") }
            }
        }
        if outcome == "done" && shown.count != 1 { problems.append("the prompt was shown \(shown.count) times, not once") }
        if c.name == "unsafe_message", let first = shown.first,
           (first.message ?? "").range(of: "Go to .*example and enter the code", options: .regularExpression) == nil {
            problems.append("message not shown cleaned: \(JSON.string(first.message ?? "").text)")
        }
        return Outcome(name: c.name, outcome: outcome, detail: detail, ms: ms, problem: problems.isEmpty ? nil : problems.joined(separator: "; "))
    }

    static func all(_ checks: Checks, file: URL) async {
        var parsed: (Run, [Case])?
        await checks.check("hostile: read the server's JSON line (\(file.path))") {
            let info = try JSON.parse(try Data(contentsOf: file))
            guard let base = info["base"]?.string, let options = info["options"], let clientId = options["client_id"]?.string,
                  let timeoutMs = options["timeout_ms"]?.uint, let budgetMs = options["budget_ms"]?.uint,
                  let timing = try Vectors.timing(options["timing"]), case .array(let list)? = info["cases"]
            else { throw Failure(description: "unexpected JSON: \(info.text)") }
            let known: Set = ["default_interval_ms", "margin_ms", "max_backoff_ms", "max_transient_failures", "retry_base_ms",
                              "request_retries", "request_budget_ms", "max_interval_s", "max_expires_in_s", "max_retry_after_s", "max_body_bytes"]
            if case .object(let t)? = options["timing"] {
                let unknown = Set(t.keys).subtracting(known)
                try expect(unknown.isEmpty, "options.timing has fields the Timing record lacks: \(unknown.sorted())")
            }
            let cases = try list.map { c -> Case in
                guard let name = c["name"]?.string, let about = c["about"]?.string, case .array(let e)? = c["expect"] else {
                    throw Failure(description: "bad case \(c.text)")
                }
                let budget = c["budget_ms"]?.uint.map { Int($0) } ?? Int(budgetMs)
                return Case(name: name, about: about, expect: e.compactMap(\.string),
                            defaults: c["defaults"] == .bool(true), budgetMs: budget)
            }
            parsed = (Run(base: base, clientId: clientId, timing: timing, timeout: Double(timeoutMs) / 1000, budgetMs: Int(budgetMs)), cases)
        }
        guard let (run, cases) = parsed else { return }
        await checks.check("hostile: the suite has its cases (\(cases.count))") {
            try expect(cases.count >= 35, "only \(cases.count) cases")
        }

        var results: [Outcome] = []
        await checks.check("hostile: all \(cases.count) cases at once (login(), URLSessionTransport, \(Int(run.timeout * 1000)) ms per request)") {
            results = await withTaskGroup(of: Outcome.self) { group in
                for c in cases { group.addTask { await runCase(run, c) } }
                var all: [Outcome] = []
                for await r in group { all.append(r) }
                return all
            }
            let order = Dictionary(uniqueKeysWithValues: cases.enumerated().map { ($1.name, $0) })
            results.sort { order[$0.name]! < order[$1.name]! }
        }
        for r in results {
            let why = r.detail.isEmpty ? "" : " (\(r.detail.prefix(100)))"
            await checks.check("hostile \(r.name) -> \(r.outcome) in \(r.ms) ms\(why)") {
                if let problem = r.problem { throw Failure(description: problem) }
            }
        }

        for name in ["slow_body", "silent"] {
            await checks.check("hostile: task cancellation while the request hangs (\(name)) returns at once") {
                let task = Task { () -> String in
                    do {
                        _ = try await login(config: run.config("swift-cancel", name), transport: URLSessionTransport(timeout: 30)) { _ in }
                        return "finished"
                    } catch is CancellationError {
                        return "cancelled"
                    } catch {
                        return "\(error)"
                    }
                }
                try await Task.sleep(nanoseconds: 500_000_000)
                let t0 = Date()
                task.cancel()
                let ended = await value(of: task, within: 5)
                let ms = Int(Date().timeIntervalSince(t0) * 1000)
                try expect(ended == "cancelled", "ended with \(ended ?? "nothing: still running 5 s after the cancel")")
                try expect(ms < 200, "cancel took \(ms) ms")
            }
        }
    }
}
