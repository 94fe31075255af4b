import DeviceFlowKit
import Foundation

/// Replays every JSON file in tests/vectors/ through the generated Swift API,
/// mirroring core/tests/vectors.rs (format: tests/vectors/README.md).
enum Vectors {
    struct Problem: Error, CustomStringConvertible { let description: String }

    static func files(_ dir: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// The four machines behind one shape; actions come back as serde-shaped JSON.
    struct Op {
        let poll: (UInt64) throws -> JSON
        let respond: (UInt64, HttpResponse, UInt64) throws -> Void
        let sign: (UInt64, Data, UInt64) throws -> Void
        let transportError: (UInt64, TransportError, UInt64) throws -> Void
        let cancel: (UInt64) throws -> Void
    }

    static func run(_ v: JSON) throws {
        let start = v["start"]?.uint ?? 0
        let configError = v["config_error"] == .bool(true)
        let op: Op
        do {
            op = try make(v["operation"]?.string ?? "device_flow", v["config"] ?? .object([:]), start)
        } catch let e as FlowError {
            // The core's refusal with its code, as the Python and JS runners check; a harness
            // failure (a config the records cannot hold) is never the expected error.
            if configError && e.code() == "invalid_config" { return }
            throw Problem(description: "constructor threw \(e) (code \(e.code()))")
        } catch {
            throw Problem(description: "constructor threw \(error)")
        }
        if configError { throw Problem(description: "expected a configuration error") }
        var lastId: UInt64?
        var lastSign: UInt64?
        guard case .array(let steps) = v["steps"] else { throw Problem(description: "no steps") }
        for (i, step) in steps.enumerated() {
            func fail(_ s: String) -> Problem { Problem(description: "step \(i): \(s)") }
            if let now = step["poll"] {
                let action = try op.poll(try u64(now))
                if action["type"] == .string("send") { lastId = action["id"]?.uint }
                if action["type"] == .string("sign") { lastSign = action["id"]?.uint }
                if let p = subset(step["expect"] ?? .null, action, "action") { throw fail("\(p)\n  actual: \(action.text)") }
            } else if let r = step["respond"] {
                guard let id = try r["id"].map(u64) ?? lastId else { throw fail("no request to answer") }
                try misuse(step, i) { try op.respond(id, try response(r), try u64(r["now"])) }
            } else if let t = step["transport_error"] {
                guard let id = try t["id"].map(u64) ?? lastId else { throw fail("no request") }
                let kinds: [String: TransportError] = ["timeout": .timeout, "connect": .connect, "tls": .tls, "io": .io, "other": .other]
                guard let kind = t["kind"]?.string.flatMap({ kinds[$0] }) else { throw fail("bad kind") }
                try misuse(step, i) { try op.transportError(id, kind, try u64(t["now"])) }
            } else if let now = step["cancel"] {
                try misuse(step, i) { try op.cancel(try u64(now)) }
            } else if let g = step["sign"] {
                guard let id = try g["id"].map(u64) ?? lastSign else { throw fail("nothing to sign") }
                guard let h = (g["raw_hex"] ?? g["der_hex"])?.string else { throw fail("no signature") }
                let bytes = Data(stride(from: 0, to: h.count, by: 2).map { i -> UInt8 in
                    let a = h.index(h.startIndex, offsetBy: i)
                    return UInt8(h[a..<h.index(a, offsetBy: 2)], radix: 16) ?? 0
                })
                try misuse(step, i) { try op.sign(id, bytes, try u64(g["now"])) }
            } else {
                throw fail("unknown step \(step.text)")
            }
        }
    }

    static func misuse(_ step: JSON, _ i: Int, _ call: () throws -> Void) throws {
        let want = step["misuse"]?.string
        var got: String?
        do { try call() } catch let e as FlowError { got = e.code() }
        if want != got { throw Problem(description: "step \(i): misuse: expected \(want ?? "nil"), got \(got ?? "nil")") }
    }

    static func u64(_ v: JSON?) throws -> UInt64 {
        guard let u = v?.uint else { throw Problem(description: "not an unsigned integer: \(v?.text ?? "nil")") }
        return u
    }

    static func make(_ kind: String, _ c: JSON, _ now: UInt64) throws -> Op {
        switch kind {
        case "device_flow":
            let m = try DeviceFlow(config: try flowConfig(c), now: now)
            return Op(poll: { actionJSON(try m.pollAction(now: $0)) }, respond: m.handleResponse, sign: m.handleSignature,
                      transportError: m.handleTransportError, cancel: m.cancel)
        case "discovery":
            guard let issuer = c["issuer"]?.string else { throw Problem(description: "discovery needs issuer") }
            let m = try Discovery(issuer: issuer, now: now, timing: try timing(c["timing"]))
            return Op(poll: { actionJSON(try m.pollAction(now: $0)) }, respond: m.handleResponse,
                      sign: { _, _, _ in throw Problem(description: "discovery never signs") },
                      transportError: m.handleTransportError, cancel: m.cancel)
        case "refresh":
            let m = try Refresh(config: RefreshConfig(
                clientId: try str(c, "client_id"), tokenEndpoint: try str(c, "token_endpoint"),
                refreshToken: try str(c, "refresh_token"), clientSecret: try optStr(c, "client_secret"),
                clientAuth: try clientAuth(c["client_auth"]), scope: try optStr(c, "scope"), timing: try timing(c["timing"]),
                extraTokenTypes: try strings(c["extra_token_types"]), dpop: try dpop(c["dpop"])), now: now)
            return Op(poll: { actionJSON(try m.pollAction(now: $0)) }, respond: m.handleResponse, sign: m.handleSignature,
                      transportError: m.handleTransportError, cancel: m.cancel)
        case "revocation":
            let hints: [String: TokenTypeHint] = ["access_token": .accessToken, "refresh_token": .refreshToken]
            var hint: TokenTypeHint?
            if let h = c["token_type_hint"], !h.isNull {
                guard let x = h.string.flatMap({ hints[$0] }) else { throw Problem(description: "bad hint") }
                hint = x
            }
            let m = try Revocation(config: RevocationConfig(
                clientId: try str(c, "client_id"), revocationEndpoint: try str(c, "revocation_endpoint"),
                token: try str(c, "token"), tokenTypeHint: hint, clientSecret: try optStr(c, "client_secret"),
                clientAuth: try clientAuth(c["client_auth"]), timing: try timing(c["timing"]), dpop: try dpop(c["dpop"])), now: now)
            return Op(poll: { actionJSON(try m.pollAction(now: $0)) }, respond: m.handleResponse, sign: m.handleSignature,
                      transportError: m.handleTransportError, cancel: m.cancel)
        default:
            throw Problem(description: "unknown operation \(kind)")
        }
    }

    // ---- JSON config -> records

    static func str(_ c: JSON, _ k: String) throws -> String {
        guard let s = c[k]?.string else { throw Problem(description: "\(k) must be a string") }
        return s
    }
    static func optStr(_ c: JSON, _ k: String) throws -> String? {
        guard let v = c[k], !v.isNull else { return nil }
        return try str(c, k)
    }
    static func clientAuth(_ v: JSON?) throws -> ClientAuth? {
        guard let v, !v.isNull else { return nil }
        switch v.string {
        case "none": return .public
        case "client_secret_basic": return .clientSecretBasic
        case "client_secret_post": return .clientSecretPost
        default: throw Problem(description: "unknown client_auth \(v.text)")
        }
    }
    static func timing(_ v: JSON?) throws -> Timing? {
        guard let v, !v.isNull else { return nil }
        func n(_ k: String) throws -> UInt64? { try v[k].flatMap { $0.isNull ? nil : try u64($0) } }
        func n32(_ k: String) throws -> UInt32? { try n(k).map { guard let x = UInt32(exactly: $0) else { throw Problem(description: "\(k) too big") }; return x } }
        return Timing(defaultIntervalMs: try n("default_interval_ms"), marginMs: try n("margin_ms"),
                      maxBackoffMs: try n("max_backoff_ms"), maxTransientFailures: try n32("max_transient_failures"),
                      retryBaseMs: try n("retry_base_ms"), requestRetries: try n32("request_retries"),
                      requestBudgetMs: try n("request_budget_ms"),
                      maxIntervalS: try n("max_interval_s"), maxExpiresInS: try n("max_expires_in_s"),
                      maxRetryAfterS: try n("max_retry_after_s"), maxBodyBytes: try n("max_body_bytes"))
    }
    static func strings(_ v: JSON?) throws -> [String] {
        switch v {
        case nil, .null?: return []
        case .array(let a)?:
            return try a.map { guard let s = $0.string else { throw Problem(description: "not a string: \($0.text)") }; return s }
        default: throw Problem(description: "not an array of strings")
        }
    }
    static func params(_ v: JSON?) throws -> [Param] {
        switch v {
        case nil, .null?: return []
        case .object(let o)?: return o.sorted { $0.key < $1.key }.map { Param(name: $0.key, value: $0.value.string ?? $0.value.text) }
        case .array(let a)?:
            return try a.map { p in
                if let name = p["name"]?.string, let value = p["value"]?.string { return Param(name: name, value: value) }
                if case .array(let pair) = p, pair.count == 2, let n = pair[0].string, let v = pair[1].string { return Param(name: n, value: v) }
                throw Problem(description: "bad param \(p.text)")
            }
        default: throw Problem(description: "bad params")
        }
    }
    static func flowConfig(_ c: JSON) throws -> FlowConfig {
        FlowConfig(clientId: try str(c, "client_id"), clientSecret: try optStr(c, "client_secret"),
                   clientAuth: try clientAuth(c["client_auth"]), issuer: try optStr(c, "issuer"),
                   deviceAuthorizationEndpoint: try optStr(c, "device_authorization_endpoint"),
                   tokenEndpoint: try optStr(c, "token_endpoint"), scope: try optStr(c, "scope"),
                   params: try params(c["params"]), timing: try timing(c["timing"]),
                   extraTokenTypes: try strings(c["extra_token_types"]), dpop: try dpop(c["dpop"]))
    }
    static func dpop(_ v: JSON?) throws -> DpopConfig? {
        guard let v, !v.isNull else { return nil }
        guard let j = v["jwk"] else { throw Problem(description: "dpop.jwk missing") }
        var nonces: [String: String] = [:]
        if case .object(let o)? = v["nonces"] { for (k, x) in o { nonces[k] = x.string ?? "" } }
        return DpopConfig(jwk: PublicJwk(x: try str(j, "x"), y: try str(j, "y"), kty: j["kty"]?.string ?? "EC", crv: j["crv"]?.string ?? "P-256"),
                          entropy: try str(v, "entropy"), deviceRequest: v["device_request"] != .bool(false), nonces: nonces)
    }

    static func response(_ r: JSON) throws -> HttpResponse {
        var headers: [Header] = []
        if case .object(let h)? = r["headers"] { headers = h.sorted { $0.key < $1.key }.map { Header(name: $0.key, value: $0.value.string ?? "") } }
        var body = Data()
        if let j = r["json"] {
            if r["headers"] == nil { headers.append(Header(name: "content-type", value: "application/json")) }
            body = Data(j.text.utf8)
        } else if let t = r["text"]?.string {
            body = Data(t.utf8)
        } else if let b = r["base64"]?.string {
            guard let d = Data(base64Encoded: b) else { throw Problem(description: "bad base64") }
            body = d
        } else if let rep = r["repeat"], let t = rep["text"]?.string {
            body = Data(String(repeating: t, count: Int(try u64(rep["times"]))).utf8)
        }
        guard let status = UInt16(exactly: try u64(r["status"])) else { throw Problem(description: "bad status") }
        return HttpResponse(status: status, headers: headers, body: body)
    }

    // ---- generated types -> the serde JSON shape the vectors match against

    static func sendJSON(_ r: HttpRequest) -> JSON {
        .object(["type": .string("send"), "id": .uint(r.id), "method": .string(r.method == .get ? "GET" : "POST"),
                 "url": .string(r.url), "body": .string(String(decoding: r.body, as: UTF8.self)),
                 "timeout_ms": r.timeoutMs.map { .uint($0) } ?? .null,
                 "headers": .array(r.headers.map { .object(["name": .string($0.name), "value": .string($0.value)]) })])
    }
    static func waitJSON(_ until: UInt64, _ delay: UInt64, _ reason: WaitReason) -> JSON {
        let names: [WaitReason: String] = [.interval: "interval", .slowDown: "slow_down", .backoff: "backoff",
                                           .retryAfter: "retry_after", .expiry: "expiry"]
        return .object(["type": .string("wait"), "until": .uint(until), "delay_ms": .uint(delay), "reason": .string(names[reason]!)])
    }
    static func failedJSON(_ e: FlowError) -> JSON {
        .object(["type": .string("failed"), "code": .string(e.code()), "message": .string(e.message()),
                 "error": e.oauthError().json, "error_description": e.oauthErrorDescription().json,
                 "error_uri": e.oauthErrorUri().json, "status": e.status().json])
    }
    static func tokensJSON(_ t: TokenSet) -> [String: JSON] {
        ["access_token": .string(t.accessToken()), "token_type": .string(t.tokenType()), "expires_at": t.expiresAt().json,
         "expires_in": t.expiresIn().json, "refresh_token": t.refreshToken().json, "scope": t.scope().json,
         "id_token": t.idToken().json, "extra": (try? JSON.parse(Data(t.extraJson().utf8))) ?? .null]
    }
    static func awaiting(_ id: UInt64) -> JSON { .object(["type": .string("awaiting_response"), "id": .uint(id)]) }

    static func signJSON(_ id: UInt64, _ input: String) -> JSON {
        .object(["type": .string("sign"), "id": .uint(id), "input": .string(input)])
    }
    static func actionJSON(_ a: Action) -> JSON {
        switch a {
        case .sign(let id, let input): return signJSON(id, input)
        case .send(let r): return sendJSON(r)
        case .display(let p):
            return .object(["type": .string("display"), "user_code": .string(p.userCode), "verification_uri": .string(p.verificationUri),
                            "verification_uri_complete": p.verificationUriComplete.json, "verification_host": .string(p.verificationHost),
                            "expires_at": .uint(p.expiresAt), "expires_in": .uint(p.expiresIn), "interval": .uint(p.interval),
                            "message": p.message.json])
        case .wait(let until, let delay, let reason): return waitJSON(until, delay, reason)
        case .awaitingResponse(let id): return awaiting(id)
        case .done(let t): return .object(tokensJSON(t).merging(["type": .string("done")]) { a, _ in a })
        case .failed(let e): return failedJSON(e)
        }
    }
    static func actionJSON(_ a: DiscoveryAction) -> JSON {
        switch a {
        case .send(let r): return sendJSON(r)
        case .wait(let until, let delay, let reason): return waitJSON(until, delay, reason)
        case .awaitingResponse(let id): return awaiting(id)
        case .done(let m):
            return .object(["type": .string("done"), "issuer": .string(m.issuer),
                            "device_authorization_endpoint": m.deviceAuthorizationEndpoint.json,
                            "token_endpoint": m.tokenEndpoint.json, "revocation_endpoint": m.revocationEndpoint.json,
                            "token_endpoint_auth_methods_supported": .array(m.tokenEndpointAuthMethodsSupported.map { .string($0) }),
                            "grant_types_supported": .array(m.grantTypesSupported.map { .string($0) }),
                            "scopes_supported": .array(m.scopesSupported.map { .string($0) }), "source": .string(m.source)])
        case .failed(let e): return failedJSON(e)
        }
    }
    static func actionJSON(_ a: RevocationAction) -> JSON {
        switch a {
        case .sign(let id, let input): return signJSON(id, input)
        case .send(let r): return sendJSON(r)
        case .wait(let until, let delay, let reason): return waitJSON(until, delay, reason)
        case .awaitingResponse(let id): return awaiting(id)
        case .done(let r): return .object(["type": .string("done"), "status": .uint(UInt64(r.status))])
        case .failed(let e): return failedJSON(e)
        }
    }

    /// `expected` ⊆ `actual`, exactly as `subset` in core/tests/vectors.rs.
    static func subset(_ e: JSON, _ a: JSON, _ path: String) -> String? {
        if case .object(let eo) = e, case .object(let ao) = a {
            for (k, ev) in eo.sorted(by: { $0.key < $1.key }) {
                let av = ao[k] ?? .null
                if k == "headers", case .object(let want) = ev, case .array(let list) = av {
                    for (name, w) in want {
                        let got = list.first { $0["name"]?.string?.lowercased() == name.lowercased() }?["value"] ?? .null
                        if !equal(w, got) { return "\(path).headers.\(name): expected \(w.text), got \(got.text)" }
                    }
                } else if let p = subset(ev, av, "\(path).\(k)") {
                    return p
                }
            }
            return nil
        }
        return equal(e, a) ? nil : "\(path): expected \(e.text), got \(a.text)"
    }

    static func equal(_ e: JSON, _ a: JSON) -> Bool {
        switch (e, a) {
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(equal)
        case (.object(let x), .object(let y)): return Set(x.keys) == Set(y.keys) && x.allSatisfy { equal($0.value, y[$0.key]!) }
        default:
            if let x = e.number, let y = a.number { return x == y }
            return e == a
        }
    }
}
