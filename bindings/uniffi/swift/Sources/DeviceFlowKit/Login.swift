import Foundation

/// Unix epoch milliseconds: stored token expiries stay meaningful across launches.
public func unixMs() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

/// Logs in with the OAuth 2.0 device authorization grant (RFC 8628).
///
/// `onPrompt` is called once with the user code and verification URI to show (§3.3).
/// Throws `FlowError` with a stable `code()` (`access_denied`, `expired_token`, ...),
/// or `CancellationError` when the task is cancelled, which stops at once.
///
///     let tokens = try await login(config: FlowConfig(clientId: "my-app", issuer: "https://id.example.com")) { p in
///         print("Open \(p.verificationUri) and enter \(p.userCode)")
///     }
public func login(
    config: FlowConfig,
    transport: HttpTransport = URLSessionTransport(),
    clock: @escaping @Sendable () -> UInt64 = { unixMs() },
    dpop: DpopSigner? = nil,
    onPrompt: (Prompt) async -> Void
) async throws -> TokenSet {
    let config = config.with(dpop: try withDpop(config.dpop, dpop))
    let flow = try DeviceFlow(config: config, now: clock())
    return try await drive(SansIo(flow), transport: transport, clock: clock, signer: dpop, onPrompt: onPrompt)
}

/// Exchanges a refresh token for new tokens (RFC 6749 §6); `invalid_grant` means log in again.
/// A DPoP-bound refresh token needs the same `dpop` key that logged in.
public func refresh(config: RefreshConfig, transport: HttpTransport = URLSessionTransport(),
                    clock: @escaping @Sendable () -> UInt64 = { unixMs() }, dpop: DpopSigner? = nil) async throws -> TokenSet {
    let config = config.with(dpop: try withDpop(config.dpop, dpop))
    return try await drive(SansIo(try Refresh(config: config, now: clock())), transport: transport, clock: clock, signer: dpop) { _ in }
}

/// Fetches an issuer's metadata (OpenID Connect Discovery 1.0 / RFC 8414).
public func discover(issuer: String, transport: HttpTransport = URLSessionTransport(),
                     clock: @escaping @Sendable () -> UInt64 = { unixMs() }) async throws -> ServerMetadata {
    try await drive(SansIo(try Discovery(issuer: issuer, now: clock())), transport: transport, clock: clock, signer: nil) { _ in }
}

/// Revokes a token (RFC 7009); with `dpop`, every request carries a proof of that key.
public func revoke(config: RevocationConfig, transport: HttpTransport = URLSessionTransport(),
                   clock: @escaping @Sendable () -> UInt64 = { unixMs() }, dpop: DpopSigner? = nil) async throws -> Revoked {
    let config = config.with(dpop: try withDpop(config.dpop, dpop))
    return try await drive(SansIo(try Revocation(config: config, now: clock())), transport: transport, clock: clock, signer: dpop) { _ in }
}

/// A config's own `dpop` (nonces, `deviceRequest: false`) wins; the signer fills in the rest.
struct MissingDpopSigner: Error, CustomStringConvertible {
    var description: String { "config.dpop is set: pass the key that signs as dpop:" }
}
func withDpop(_ config: DpopConfig?, _ signer: DpopSigner?) throws -> DpopConfig? {
    guard let signer else {
        if config != nil { throw MissingDpopSigner() }
        return nil
    }
    return try config ?? dpopConfig(signer)
}

/// What every machine asks for, with the operation's result type.
enum Step<T> {
    case sign(UInt64, String)
    case send(HttpRequest)
    case show(Prompt)
    case sleep(UInt64)
    case finish(T)
    case fail(FlowError)
}

/// One machine's sans-IO surface, whatever its generated action type.
struct SansIo<T> {
    let poll: (UInt64) throws -> Step<T>
    let respond: (UInt64, HttpResponse, UInt64) throws -> Void
    let sign: (UInt64, Data, UInt64) throws -> Void
    let transportError: (UInt64, TransportError, UInt64) throws -> Void
    let cancel: (UInt64) throws -> Void
}

extension SansIo where T == TokenSet {
    init(_ m: DeviceFlow) {
        self.init(poll: { Self.step(try m.pollAction(now: $0)) }, respond: m.handleResponse, sign: m.handleSignature,
                  transportError: m.handleTransportError, cancel: m.cancel)
    }
    init(_ m: Refresh) {
        self.init(poll: { Self.step(try m.pollAction(now: $0)) }, respond: m.handleResponse, sign: m.handleSignature,
                  transportError: m.handleTransportError, cancel: m.cancel)
    }
    static func step(_ a: Action) -> Step<TokenSet> {
        switch a {
        case .sign(let id, let input): return .sign(id, input)
        case .send(let r): return .send(r)
        case .display(let p): return .show(p)
        case .wait(_, let ms, _): return .sleep(ms)
        case .awaitingResponse(let id): preconditionFailure("request \(id) was never answered")
        case .done(let t): return .finish(t)
        case .failed(let e): return .fail(e)
        }
    }
}

extension SansIo where T == ServerMetadata {
    init(_ m: Discovery) {
        self.init(poll: { a in
            switch try m.pollAction(now: a) {
            case .send(let r): return .send(r)
            case .wait(_, let ms, _): return .sleep(ms)
            case .awaitingResponse(let id): preconditionFailure("request \(id) was never answered")
            case .done(let meta): return .finish(meta)
            case .failed(let e): return .fail(e)
            }
        }, respond: m.handleResponse, sign: { _, _, _ in preconditionFailure("discovery never signs") },
           transportError: m.handleTransportError, cancel: m.cancel)
    }
}

extension SansIo where T == Revoked {
    init(_ m: Revocation) {
        self.init(poll: { a in
            switch try m.pollAction(now: a) {
            case .sign(let id, let input): return .sign(id, input)
            case .send(let r): return .send(r)
            case .wait(_, let ms, _): return .sleep(ms)
            case .awaitingResponse(let id): preconditionFailure("request \(id) was never answered")
            case .done(let r): return .finish(r)
            case .failed(let e): return .fail(e)
            }
        }, respond: m.handleResponse, sign: m.handleSignature, transportError: m.handleTransportError, cancel: m.cancel)
    }
}

/// The driving loop of the crate docs: poll, do what it says, feed the answer back.
func drive<T>(_ m: SansIo<T>, transport: HttpTransport, clock: @Sendable () -> UInt64, signer: DpopSigner?,
              onPrompt: (Prompt) async -> Void) async throws -> T {
    do {
        while true {
            try Task.checkCancellation()
            switch try m.poll(clock()) {
            case .send(let request):
                let response: HttpResponse
                do {
                    response = try await transport.send(request)
                } catch {
                    try Task.checkCancellation()
                    try m.transportError(request.id, transportErrorKind(error), clock())
                    continue
                }
                try m.respond(request.id, response, clock())
            case .sign(let id, let input):
                guard let signer else { preconditionFailure("the machine asks for a DPoP signature but no signer was given") }
                let signature = try await signer.sign(Data(input.utf8))
                try m.sign(id, signature, clock())
            case .show(let prompt): await onPrompt(prompt)
            case .sleep(let ms): try await Task.sleep(nanoseconds: ms > UInt64.max / 1_000_000 ? UInt64.max : ms * 1_000_000)
            case .finish(let result): return result
            case .fail(let error): throw error
            }
        }
    } catch is CancellationError {
        try? m.cancel(clock())
        throw CancellationError()
    }
}
