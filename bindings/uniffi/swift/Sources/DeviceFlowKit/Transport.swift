import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Performs one HTTP request for the sans-IO machine. Return the response whatever
/// its status; throw when there is no HTTP response at all. Must honour task
/// cancellation (throw `CancellationError`) so a login stops at once.
public protocol HttpTransport: Sendable {
    func send(_ request: HttpRequest) async throws -> HttpResponse
}

/// The default transport. Whatever the server does, a request ends within `timeout` seconds
/// (a deadline over connect, response head **and** body, not an idle timeout), at most
/// `maxBodyBytes + 1` bytes of a body are kept (then the connection is dropped and the
/// machine refuses the body as too big: keep `maxBodyBytes` at or above
/// `Timing.maxBodyBytes`, 64 KiB by default), redirects are never followed (RFC 8628
/// endpoints never redirect; a redirected POST could carry a client secret elsewhere), and
/// task cancellation ends the request at once.
///
/// - Darwin: `URLSession` with `configuration` (delegate-based data task: the body is capped
///   as it arrives, after URLSession's automatic gzip decoding; redirects are refused in
///   `willPerformHTTPRedirection`).
/// - Linux: FoundationNetworking's `URLSession` cannot be used safely against a hostile or
///   broken server, so this transport drives libcurl (the library FoundationNetworking runs
///   on, already loaded with it) directly, and `configuration` is not used. Observed with
///   swift-corelibs-foundation 6.0.3 + libcurl 8.14 (Debian 13), tests/hostile:
///   * a server that closes the connection inside the response head, after the status line
///     (`reset_mid_headers`), **crashes the process**: libcurl reports success, and
///     `_NativeProtocol.transferCompleted` hits `fatalError("Transfer completed, but there's
///     no response.")`; no delegate or configuration can intercept it. Here it is a
///     transport error (`URLError(.badServerResponse)`).
///   * `timeoutIntervalForRequest` is an idle timeout (a body trickled a byte at a time never
///     ends) and the completion-handler API buffers whole bodies, inflating gzip (a 60 KB
///     gzip bomb becomes 64 MB); libcurl's `CURLOPT_TIMEOUT_MS` is a whole-transfer deadline,
///     the write callback caps the body, and no `Accept-Encoding` is sent or decoded.
///   * a `401` carrying `WWW-Authenticate` never completed under default challenge handling;
///     with libcurl it is an ordinary response (`invalid_client` reaches the caller).
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    private let timeout: TimeInterval
    private let maxBodyBytes: Int
    #if !canImport(FoundationNetworking)
    private let session: URLSession
    private let delegate: SessionDelegate
    #endif

    public init(configuration: URLSessionConfiguration = .ephemeral, timeout: TimeInterval = 30, maxBodyBytes: Int = 1 << 20) {
        precondition(timeout > 0 && maxBodyBytes >= 0 && maxBodyBytes < Int.max, "timeout and maxBodyBytes must be positive")
        self.timeout = timeout
        self.maxBodyBytes = maxBodyBytes
        #if !canImport(FoundationNetworking)
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        // The delegate is a separate object: a session keeps its delegate until invalidated,
        // so the transport itself can be released (and then invalidates the session).
        let d = SessionDelegate()
        delegate = d
        session = URLSession(configuration: configuration, delegate: d, delegateQueue: nil)
        #endif
    }

    #if !canImport(FoundationNetworking)
    deinit { session.finishTasksAndInvalidate() }
    #endif

    public func send(_ request: HttpRequest) async throws -> HttpResponse {
        guard let url = URL(string: request.url), ["https", "http"].contains(url.scheme?.lowercased()) else { throw URLError(.badURL) }
        let pending = Pending()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<HttpResponse, Error>) in
                guard pending.attach(cont) else { return } // cancelled before it started
                // The whole-request deadline, whatever the engine's own timers do: the smaller of
                // this transport's and what is left of the operation's budget (`timeoutMs`).
                let limit = request.timeoutMs.map { min(timeout, Double($0) / 1000) } ?? timeout
                DispatchQueue.global().asyncAfter(deadline: .now() + limit) { pending.fail(URLError(.timedOut)) }
                start(request, url: url, pending)
            }
        } onCancel: {
            pending.fail(CancellationError())
        }
    }

    #if canImport(FoundationNetworking)
    private func start(_ request: HttpRequest, url: URL, _ pending: Pending) {
        let exchange = CurlExchange(request, limit: maxBodyBytes + 1, timeoutMs: Int((timeout * 1000).rounded(.up)))
        pending.onAbort { exchange.abort() }
        let thread = Thread { pending.finish(exchange.perform()) }
        thread.name = "DeviceFlowKit.curl"
        thread.start()
    }
    #else
    private func start(_ request: HttpRequest, url: URL, _ pending: Pending) {
        var req = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalAndRemoteCacheData, timeoutInterval: timeout)
        req.httpMethod = request.method == .get ? "GET" : "POST"
        for h in request.headers { req.addValue(h.value, forHTTPHeaderField: h.name) }
        if request.method == .post { req.httpBody = request.body }
        let task = session.dataTask(with: req)
        delegate.register(task, DataExchange(limit: maxBodyBytes + 1, pending: pending))
        pending.onAbort { task.cancel() }
        task.resume()
    }
    #endif
}

/// One request's continuation, resumed exactly once: by the engine, the deadline or
/// cancellation, whichever comes first; the others then only abort the engine's work.
private final class Pending: @unchecked Sendable {
    private let lock = NSLock()
    private var cont: CheckedContinuation<HttpResponse, Error>?
    private var outcome: Result<HttpResponse, Error>?
    private var abort: (() -> Void)?

    /// False when the request already ended (cancelled first): `cont` is then resumed here.
    func attach(_ c: CheckedContinuation<HttpResponse, Error>) -> Bool {
        lock.lock()
        guard let outcome else { cont = c; lock.unlock(); return true }
        lock.unlock()
        c.resume(with: outcome)
        return false
    }

    /// How to stop the engine; run at once when the request already ended.
    func onAbort(_ f: @escaping () -> Void) {
        lock.lock()
        if outcome == nil { abort = f; lock.unlock() } else { lock.unlock(); f() }
    }

    func finish(_ r: Result<HttpResponse, Error>) {
        lock.lock()
        guard outcome == nil else { lock.unlock(); return }
        outcome = r
        let c = cont
        cont = nil
        abort = nil
        lock.unlock()
        c?.resume(with: r)
    }

    /// Ends the request with `error` (deadline, cancellation) and stops the engine.
    func fail(_ error: Error) {
        lock.lock()
        guard outcome == nil else { lock.unlock(); return }
        let f = abort
        lock.unlock()
        finish(.failure(error))
        f?()
    }
}

#if canImport(FoundationNetworking)
/// libcurl, reached with dlopen/dlsym (no headers or module map needed: the symbols are in
/// the libcurl.so.4 FoundationNetworking links). `curl_easy_setopt` is variadic; it is called
/// through a fixed three-argument pointer type, which the Linux calling conventions
/// (x86-64 SysV, AArch64 AAPCS) pass exactly as the variadic call would for an integer or
/// pointer argument.
private enum Curl {
    typealias SetOpt = @convention(c) (OpaquePointer, Int32, Int) -> Int32
    typealias WriteFn = @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int
    typealias XferFn = @convention(c) (UnsafeMutableRawPointer?, Int64, Int64, Int64, Int64) -> Int32

    struct API {
        let easyInit: @convention(c) () -> OpaquePointer?
        let setopt: SetOpt
        let perform: @convention(c) (OpaquePointer) -> Int32
        let cleanup: @convention(c) (OpaquePointer) -> Void
        let strerror: @convention(c) (Int32) -> UnsafePointer<CChar>?
        let slistAppend: @convention(c) (OpaquePointer?, UnsafePointer<CChar>) -> OpaquePointer?
        let slistFree: @convention(c) (OpaquePointer?) -> Void
    }

    static let api: API? = {
        guard let lib = dlopen("libcurl.so.4", RTLD_NOW) else { return nil }
        func sym<T>(_ name: String, _: T.Type) -> T? { dlsym(lib, name).map { unsafeBitCast($0, to: T.self) } }
        typealias GlobalInit = @convention(c) (Int) -> Int32
        guard let globalInit = sym("curl_global_init", GlobalInit.self),
              let easyInit = sym("curl_easy_init", (@convention(c) () -> OpaquePointer?).self),
              let setopt = sym("curl_easy_setopt", SetOpt.self),
              let perform = sym("curl_easy_perform", (@convention(c) (OpaquePointer) -> Int32).self),
              let cleanup = sym("curl_easy_cleanup", (@convention(c) (OpaquePointer) -> Void).self),
              let strerror = sym("curl_easy_strerror", (@convention(c) (Int32) -> UnsafePointer<CChar>?).self),
              let slistAppend = sym("curl_slist_append", (@convention(c) (OpaquePointer?, UnsafePointer<CChar>) -> OpaquePointer?).self),
              let slistFree = sym("curl_slist_free_all", (@convention(c) (OpaquePointer?) -> Void).self)
        else { return nil }
        _ = globalInit(3) // CURL_GLOBAL_ALL, once (this initialiser runs once)
        return API(easyInit: easyInit, setopt: setopt, perform: perform, cleanup: cleanup, strerror: strerror,
                   slistAppend: slistAppend, slistFree: slistFree)
    }()

    // Option numbers are part of libcurl's stable ABI (curl/curl.h).
    static let NOPROGRESS: Int32 = 43, POST: Int32 = 47, FOLLOWLOCATION: Int32 = 52, POSTFIELDSIZE: Int32 = 60,
               HTTPGET: Int32 = 80, NOSIGNAL: Int32 = 99, TIMEOUT_MS: Int32 = 155, CONNECTTIMEOUT_MS: Int32 = 156,
               PROTOCOLS: Int32 = 181, WRITEDATA: Int32 = 10001, URL: Int32 = 10002, HTTPHEADER: Int32 = 10023,
               HEADERDATA: Int32 = 10029, XFERINFODATA: Int32 = 10057, COPYPOSTFIELDS: Int32 = 10165,
               PROTOCOLS_STR: Int32 = 10318, WRITEFUNCTION: Int32 = 20011, HEADERFUNCTION: Int32 = 20079,
               XFERINFOFUNCTION: Int32 = 20219
}

/// One request through libcurl's easy interface, performed on its own thread.
private final class CurlExchange: @unchecked Sendable {
    private let request: HttpRequest
    private let limit: Int, timeoutMs: Int
    private var status: Int?
    private var headers: [Header] = []
    private var headComplete = false
    private var body = Data()
    private var capped = false
    private let lock = NSLock()
    private var aborted = false

    init(_ request: HttpRequest, limit: Int, timeoutMs: Int) {
        self.request = request
        self.limit = limit
        self.timeoutMs = timeoutMs
    }

    /// Asks libcurl to stop: its progress callback (called at least about once a second,
    /// and on every read) then fails the transfer and the connection is closed.
    func abort() { lock.lock(); aborted = true; lock.unlock() }
    private var isAborted: Bool { lock.lock(); defer { lock.unlock() }; return aborted }

    private static let onWrite: Curl.WriteFn = { ptr, size, count, me in
        let ex = Unmanaged<CurlExchange>.fromOpaque(me!).takeUnretainedValue()
        let n = size * count
        let keep = min(n, ex.limit - ex.body.count)
        if keep > 0, let ptr { ex.body.append(UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: keep) }
        if ex.body.count >= ex.limit { ex.capped = true; return 0 } // a short count stops the transfer
        return n
    }

    /// One header line at a time (curl delivers whole lines: status lines, fields, the blank line).
    private static let onHeader: Curl.WriteFn = { ptr, size, count, me in
        let ex = Unmanaged<CurlExchange>.fromOpaque(me!).takeUnretainedValue()
        let n = size * count
        guard let ptr else { return n }
        var bytes = UnsafeRawBufferPointer(start: ptr, count: n)[...]
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes = bytes.dropLast() } // CR LF (one Character in Swift)
        let line = String(decoding: bytes, as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            // A new response head (after a 1xx, or the first): status from "HTTP/1.1 200 OK".
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            ex.status = parts.count > 1 ? Int(parts[1]) : nil
            ex.headers = []
            ex.headComplete = false
        } else if line.isEmpty {
            ex.headComplete = (ex.status ?? 0) >= 200
        } else if let first = line.first, first == " " || first == "\t", let last = ex.headers.popLast() {
            ex.headers.append(Header(name: last.name, value: last.value + " " + line.trimmingCharacters(in: .whitespaces)))
        } else if let colon = line.firstIndex(of: ":") {
            ex.headers.append(Header(name: String(line[..<colon]),
                                     value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        return n
    }

    private static let onProgress: Curl.XferFn = { me, _, _, _, _ in
        Unmanaged<CurlExchange>.fromOpaque(me!).takeUnretainedValue().isAborted ? 1 : 0
    }

    func perform() -> Result<HttpResponse, Error> {
        guard let api = Curl.api else {
            return .failure(URLError(.unknown, userInfo: [NSLocalizedDescriptionKey: "libcurl.so.4 could not be loaded"]))
        }
        guard let h = api.easyInit() else { return .failure(URLError(.unknown)) }
        var list: OpaquePointer?
        defer {
            api.cleanup(h)
            api.slistFree(list)
        }
        let me = Unmanaged.passUnretained(self).toOpaque() // alive: perform() holds self
        func set(_ opt: Int32, _ value: Int) -> Int32 { api.setopt(h, opt, value) }
        func set(_ opt: Int32, _ ptr: UnsafeRawPointer?) -> Int32 { api.setopt(h, opt, Int(bitPattern: ptr)) }
        func set(_ opt: Int32, _ s: String) -> Int32 { s.withCString { api.setopt(h, opt, Int(bitPattern: $0)) } } // curl copies strings

        _ = set(Curl.NOSIGNAL, 1)
        _ = set(Curl.URL, request.url)
        if set(Curl.PROTOCOLS_STR, "http,https") != 0 { _ = set(Curl.PROTOCOLS, 1 | 2) } // libcurl < 7.85
        _ = set(Curl.FOLLOWLOCATION, 0)
        _ = set(Curl.TIMEOUT_MS, timeoutMs)        // connect + head + body
        _ = set(Curl.CONNECTTIMEOUT_MS, timeoutMs)
        // No CURLOPT_ACCEPT_ENCODING: nothing is asked for or inflated, the cap holds on the wire.
        var lines = request.headers.map { "\($0.name): \($0.value)" }
        if !request.headers.contains(where: { $0.name.lowercased() == "user-agent" }) { lines.append("User-Agent: DeviceFlowKit") }
        lines.append("Expect:") // no 100-continue round trip
        for l in lines { list = l.withCString { api.slistAppend(list, $0) } }
        _ = set(Curl.HTTPHEADER, UnsafeRawPointer(list))
        switch request.method {
        case .get:
            _ = set(Curl.HTTPGET, 1)
        case .post:
            _ = set(Curl.POST, 1)
            _ = set(Curl.POSTFIELDSIZE, request.body.count)
            if request.body.isEmpty {
                _ = set(Curl.COPYPOSTFIELDS, "")
            } else {
                _ = request.body.withUnsafeBytes { set(Curl.COPYPOSTFIELDS, $0.baseAddress) } // copied: POSTFIELDSIZE bytes
            }
        }
        _ = set(Curl.WRITEFUNCTION, unsafeBitCast(Self.onWrite, to: UnsafeRawPointer.self))
        _ = set(Curl.WRITEDATA, UnsafeRawPointer(me))
        _ = set(Curl.HEADERFUNCTION, unsafeBitCast(Self.onHeader, to: UnsafeRawPointer.self))
        _ = set(Curl.HEADERDATA, UnsafeRawPointer(me))
        _ = set(Curl.XFERINFOFUNCTION, unsafeBitCast(Self.onProgress, to: UnsafeRawPointer.self))
        _ = set(Curl.XFERINFODATA, UnsafeRawPointer(me))
        _ = set(Curl.NOPROGRESS, 0)

        let rc = api.perform(h)
        if (rc == 0 || (rc == 23 && capped)), headComplete, let status {
            // 23 (CURLE_WRITE_ERROR) after the cap: the body so far is the answer.
            return .success(HttpResponse(status: UInt16(clamping: status), headers: headers, body: body))
        }
        let what = api.strerror(rc).map { String(cString: $0) } ?? "error"
        let code: URLError.Code
        switch rc {
        case 0: code = .badServerResponse // ended inside the response head (see URLSessionTransport)
        case 28: code = .timedOut
        case 5, 6: code = .cannotFindHost
        case 7: code = .cannotConnectToHost
        case 35, 53, 54, 58, 59, 64, 66, 77, 80, 82, 83, 90, 91, 98: code = .secureConnectionFailed
        case 60: code = .serverCertificateUntrusted
        case 42: code = .cancelled
        case 1, 3: code = .unsupportedURL
        default: code = .networkConnectionLost
        }
        return .failure(URLError(code, userInfo: [NSLocalizedDescriptionKey: "libcurl \(rc): \(what)"]))
    }
}
#else
/// Routes each data task's callbacks to its exchange. It holds no reference to the transport.
private final class SessionDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let lock = NSLock()
    private var exchanges: [Int: DataExchange] = [:]

    func register(_ task: URLSessionTask, _ exchange: DataExchange) {
        lock.lock(); exchanges[task.taskIdentifier] = exchange; lock.unlock()
    }
    private func exchange(_ task: URLSessionTask, remove: Bool = false) -> DataExchange? {
        lock.lock(); defer { lock.unlock() }
        return remove ? exchanges.removeValue(forKey: task.taskIdentifier) : exchanges[task.taskIdentifier]
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        exchange(dataTask)?.response = response as? HTTPURLResponse
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let ex = exchange(dataTask) else { return }
        if ex.append(data) { // over the cap: answer with what arrived, drop the connection
            ex.complete(nil)
            dataTask.cancel()
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        exchange(task, remove: true)?.complete(error)
    }

    /// RFC 8628 endpoints never redirect; following one could leak a client secret.
    /// The 3xx itself is the response (the machine refuses it).
    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    /// A 401 with `WWW-Authenticate` is an answer for the machine (`invalid_client`), not a
    /// prompt for credentials; server trust (TLS) keeps the system's evaluation.
    func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                    completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
        let tls = challenge.protectionSpace.authenticationMethod == NSURLAuthenticationMethodServerTrust
        completionHandler(tls ? .performDefaultHandling : .rejectProtectionSpace, nil)
    }
}

/// The response head and the capped body of one data task (delegate callbacks are serial).
private final class DataExchange: @unchecked Sendable {
    private let limit: Int
    private let pending: Pending
    var response: HTTPURLResponse?
    private var body = Data()

    init(limit: Int, pending: Pending) { self.limit = limit; self.pending = pending }

    /// Keeps at most `limit` bytes; true once the cap is reached.
    func append(_ data: Data) -> Bool {
        body.append(data.prefix(limit - body.count))
        return body.count >= limit
    }

    func complete(_ error: Error?) {
        if let error { return pending.finish(.failure(error)) }
        guard let http = response else { return pending.finish(.failure(URLError(.badServerResponse))) }
        let headers = http.allHeaderFields.map { Header(name: "\($0.key)", value: "\($0.value)") }
        pending.finish(.success(HttpResponse(status: UInt16(clamping: http.statusCode), headers: headers, body: body)))
    }
}
#endif

/// How a transport error maps onto the machine's transport error kinds.
func transportErrorKind(_ error: Error) -> TransportError {
    guard let e = error as? URLError else { return .other }
    switch e.code {
    case .timedOut: return .timeout
    case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet: return .connect
    case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
         .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected: return .tls
    default: return .io
    }
}
