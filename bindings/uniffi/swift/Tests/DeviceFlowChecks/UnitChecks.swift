import DeviceFlowKit
import Foundation

/// Checks without a network: errors, redaction, the panic guard, the driver and cancellation.
enum UnitChecks {
    static let access = "at-SECRET-0123456789", refreshToken = "rt-SECRET-abcdef"
    static let idToken = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.sig-SECRET"
    static let deviceCode = "dc-SECRET-GmRhmhcxhwAzkoEq", clientSecret = "cs-SECRET-hunter2"

    static func noSecrets(_ label: String, _ text: String) throws {
        for s in [access, refreshToken, idToken, deviceCode, clientSecret, "SECRET"] {
            try expect(!text.contains(s), "\(label) leaks \(s): \(text)")
        }
    }

    static func json(_ status: UInt16, _ body: String) -> HttpResponse {
        HttpResponse(status: status, headers: [Header(name: "content-type", value: "application/json")], body: Data(body.utf8))
    }
    static func deviceResponse(interval: Int) -> HttpResponse {
        json(200, #"{"device_code":"\#(deviceCode)","user_code":"WDJB-MJHT","verification_uri":"https://as.example.com/device","expires_in":600,"interval":\#(interval)}"#)
    }
    static let tokenBody = #"{"access_token":"\#(access)","token_type":"Bearer","expires_in":3600,"refresh_token":"\#(refreshToken)","id_token":"\#(idToken)"}"#

    /// A scripted server: device endpoint, `polls` pending answers, then tokens (or `final`).
    final class FakeServer: HttpTransport, @unchecked Sendable {
        let polls: Int, interval: Int, final: HttpResponse
        var seen = 0, failFirst: Int
        init(polls: Int, interval: Int = 0, failFirst: Int = 0, final: HttpResponse = json(200, tokenBody)) {
            self.polls = polls; self.interval = interval; self.failFirst = failFirst; self.final = final
        }
        func send(_ r: HttpRequest) async throws -> HttpResponse {
            if failFirst > 0 { failFirst -= 1; throw URLError(.networkConnectionLost) }
            if r.url.hasSuffix("/device") { return deviceResponse(interval: interval) }
            seen += 1
            return seen <= polls ? json(400, #"{"error":"authorization_pending"}"#) : final
        }
    }

    /// Answers the device request, then never answers (until cancelled).
    struct Hanging: HttpTransport {
        func send(_ r: HttpRequest) async throws -> HttpResponse {
            if r.url.hasSuffix("/device") { return deviceResponse(interval: 0) }
            try await Task.sleep(nanoseconds: 60_000_000_000)
            throw Failure(description: "the hanging request was not cancelled")
        }
    }

    static let config = FlowConfig(clientId: "tv-app", clientSecret: clientSecret, clientAuth: .clientSecretPost,
                                   deviceAuthorizationEndpoint: "https://as.example.com/device",
                                   tokenEndpoint: "https://as.example.com/token", scope: "openid offline_access")
    static var fast: FlowConfig {
        var c = config
        c = FlowConfig(clientId: c.clientId, clientSecret: c.clientSecret, clientAuth: c.clientAuth,
                       deviceAuthorizationEndpoint: c.deviceAuthorizationEndpoint, tokenEndpoint: c.tokenEndpoint,
                       scope: c.scope, timing: Timing(defaultIntervalMs: 10, retryBaseMs: 1))
        return c
    }

    static func code(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as FlowError { return e.code() } catch { return "not a FlowError: \(error)" }
    }

    static func all(_ c: Checks) async {
        await c.check("a Rust panic arrives as FlowError(internal) and the process survives") {
            try expect(code { try guardSelftestPanic() } == "internal", "first")
            try expect(code { try guardSelftestPanic() } == "internal", "second")
        }
        await c.check("bad config throws FlowError(invalid_config)") {
            try expect(code { _ = try DeviceFlow(config: FlowConfig(clientId: "x"), now: 0) } == "invalid_config", "no endpoints")
            try expect(code { _ = try DeviceFlow(config: FlowConfig(clientId: "x", issuer: "http://as.example.com"), now: 0) } == "invalid_config", "http issuer")
        }
        await c.check("misuse: unknown request id, then input after the end") {
            let flow = try DeviceFlow(config: config, now: 0)
            guard case .send(let req) = try flow.pollAction(now: 0) else { throw Failure(description: "no send") }
            try expect(code { try flow.handleResponse(id: req.id + 7, response: json(200, "{}"), now: 1) } == "unknown_request", "unknown")
            try flow.cancel(now: 2)
            guard case .failed(let e) = try flow.pollAction(now: 3) else { throw Failure(description: "not failed") }
            try expect(e.code() == "cancelled", e.code())
            try expect(code { try flow.cancel(now: 4) } == "finished", "finished")
        }
        await c.check("redaction: description, debugDescription and interpolation never print secrets") {
            try noSecrets("FlowConfig", "\(config) \(String(reflecting: config))")
            try expect("\(config)".contains("tv-app"), "FlowConfig should still show the client id")
            try noSecrets("RefreshConfig", "\(RefreshConfig(clientId: "a", tokenEndpoint: "https://as/t", refreshToken: refreshToken, clientSecret: clientSecret))")
            try noSecrets("RevocationConfig", "\(RevocationConfig(clientId: "a", revocationEndpoint: "https://as/r", token: access))")
            let flow = try DeviceFlow(config: config, now: 0)
            let first = try flow.pollAction(now: 0)
            guard case .send(let req) = first else { throw Failure(description: "no send") }
            try expect(String(decoding: req.body, as: UTF8.self).contains(clientSecret), "premise: body has the secret")
            try noSecrets("HttpRequest", "\(req) \(String(reflecting: req))")
            try noSecrets("Action.send", "\(first) \(String(reflecting: first))")
            let basic = try DeviceFlow(config: FlowConfig(clientId: "tv", clientSecret: clientSecret, clientAuth: .clientSecretBasic,
                                                          deviceAuthorizationEndpoint: "https://as.example.com/device",
                                                          tokenEndpoint: "https://as.example.com/token"), now: 0)
            guard case .send(let breq) = try basic.pollAction(now: 0) else { throw Failure(description: "no send") }
            try expect(breq.headers.contains { $0.name.lowercased() == "authorization" }, "premise: basic auth header")
            try expect(!"\(breq) \(breq.headers)".contains("Basic "), "Authorization printed: \(breq)")
            try noSecrets("HttpResponse", "\(json(200, tokenBody))")
            let tokens = try TokenSet.fromJson(json: tokenBody)
            try noSecrets("TokenSet", "\(tokens) \(String(reflecting: tokens))")
            try noSecrets("Action.done", "\(Action.done(tokens: tokens)) \(String(reflecting: Action.done(tokens: tokens)))")
            var dumped = ""
            dump(tokens, to: &dumped)
            try noSecrets("dump(TokenSet)", dumped)
            try expect(tokens.accessToken() == access && tokens.refreshToken() == refreshToken, "accessors")
            try expect(try TokenSet.fromJson(json: tokens.toJson()).idToken() == idToken, "round trip")
        }
        await c.check("providerConfig fills in GitHub's endpoints; unknown provider is invalid_config") {
            try expect(try providerConfig(name: "github", clientId: "Iv1.abc").deviceAuthorizationEndpoint == "https://github.com/login/device/code", "github")
            try expect(code { _ = try providerConfig(name: "nope", clientId: "x") } == "invalid_config", "unknown")
        }
        await c.check("login(): scripted server, 2 pending polls, tokens; prompt shown once") {
            var prompts: [String] = []
            let t = try await login(config: fast, transport: FakeServer(polls: 2)) { prompts.append($0.userCode) }
            try expect(t.accessToken() == access, "token")
            try expect(prompts == ["WDJB-MJHT"], "prompts \(prompts)")
        }
        await c.check("login(): a transport error backs off and recovers; FlowError(access_denied) is thrown") {
            let t = try await login(config: fast, transport: FakeServer(polls: 0, failFirst: 1)) { _ in }
            try expect(t.accessToken() == access, "token")
            do {
                _ = try await login(config: fast, transport: FakeServer(polls: 0, final: json(400, #"{"error":"access_denied"}"#))) { _ in }
                throw Failure(description: "no error")
            } catch let e as FlowError {
                try expect(e.code() == "access_denied" && e.requiresLogin(), "\(e)")
            }
        }
        await c.check("task cancellation during a hanging request returns at once") {
            try await cancelsQuickly(after: 0.3) { try await login(config: fast, transport: Hanging()) { _ in } }
        }
        await c.check("task cancellation during a poll wait returns at once") {
            try await cancelsQuickly(after: 0.3) { try await login(config: config, transport: FakeServer(polls: 100, interval: 5)) { _ in } }
        }
    }

    /// Starts `body`, cancels it after `after` s, and checks it ends with CancellationError within 200 ms.
    static func cancelsQuickly(after: Double, _ body: @escaping @Sendable () async throws -> TokenSet) async throws {
        let task = Task { try await body() }
        try await Task.sleep(nanoseconds: UInt64(after * 1e9))
        let t0 = Date()
        task.cancel()
        do {
            _ = try await task.value
            throw Failure(description: "finished instead of being cancelled")
        } catch is CancellationError {
            let ms = Date().timeIntervalSince(t0) * 1000
            try expect(ms < 200, "cancel took \(Int(ms)) ms")
        }
    }
}
