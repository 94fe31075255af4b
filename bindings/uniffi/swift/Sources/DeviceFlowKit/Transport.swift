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

/// The default transport: `URLSession` (FoundationNetworking on Linux), no redirects.
public final class URLSessionTransport: NSObject, HttpTransport, URLSessionTaskDelegate, @unchecked Sendable {
    private var session: URLSession!

    public init(configuration: URLSessionConfiguration = .ephemeral, timeout: TimeInterval = 30) {
        super.init()
        configuration.timeoutIntervalForRequest = timeout
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }

    deinit { session.finishTasksAndInvalidate() }

    public func send(_ request: HttpRequest) async throws -> HttpResponse {
        guard let url = URL(string: request.url) else { throw URLError(.badURL) }
        var req = URLRequest(url: url)
        req.httpMethod = request.method == .get ? "GET" : "POST"
        for h in request.headers { req.addValue(h.value, forHTTPHeaderField: h.name) }
        if request.method == .post { req.httpBody = request.body }

        // A data task wrapped by hand: its cancellation works the same on Darwin and Linux.
        let box = TaskBox()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (cont: CheckedContinuation<HttpResponse, Error>) in
                let task = session.dataTask(with: req) { data, response, error in
                    if let error { return cont.resume(throwing: error) }
                    guard let http = response as? HTTPURLResponse else { return cont.resume(throwing: URLError(.badServerResponse)) }
                    let headers = http.allHeaderFields.map { Header(name: "\($0.key)", value: "\($0.value)") }
                    cont.resume(returning: HttpResponse(status: UInt16(clamping: http.statusCode), headers: headers, body: data ?? Data()))
                }
                box.set(task)
                task.resume()
            }
        } onCancel: {
            box.cancel()
        }
    }

    /// A 401 with `WWW-Authenticate` is an answer for the machine (`invalid_client`),
    /// not a prompt for credentials. On Darwin the 401 is handed over as is. On Linux,
    /// FoundationNetworking's default handling never completes the task (observed with
    /// swift-corelibs-foundation 6.0.3), so the challenge is rejected: the request then
    /// fails as a transport error and the flow ends with `network_error`, not a hang.
    public func urlSession(_ session: URLSession, task: URLSessionTask, didReceive challenge: URLAuthenticationChallenge,
                           completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?) -> Void) {
        #if canImport(FoundationNetworking)
        completionHandler(.rejectProtectionSpace, nil)
        #else
        // Server trust (TLS) keeps the system's evaluation.
        let tls = challenge.protectionSpace.authenticationMethod == NSURLAuthenticationMethodServerTrust
        completionHandler(tls ? .performDefaultHandling : .rejectProtectionSpace, nil)
        #endif
    }

    /// RFC 8628 endpoints never redirect; following one could leak a client secret.
    public func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                           newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }
}

/// Holds the task so cancellation arriving before or after it starts both work.
private final class TaskBox: @unchecked Sendable {
    private let lock = NSLock()
    private var task: URLSessionTask?
    private var cancelled = false

    func set(_ t: URLSessionTask) {
        lock.lock(); defer { lock.unlock() }
        task = t
        if cancelled { t.cancel() }
    }

    func cancel() {
        lock.lock(); defer { lock.unlock() }
        cancelled = true
        task?.cancel()
    }
}

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
