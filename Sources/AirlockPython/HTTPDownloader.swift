// HTTP GETs for the fetcher through FoundationNetworking's URLSession (libcurl on Linux), the body
// streamed to a sink as it arrives instead of gathered in memory.
//
// What the platform does, read in swift-corelibs-foundation (URLSession/libcurl/EasyHandle.swift,
// URLSession/HTTP/HTTPURLProtocol.swift) and checked by experiment with Swift 6.3.1 on Debian bookworm
// (libcurl 7.88.1, OpenSSL flavour):
// - Proxies: URLSession sets no CURLOPT_PROXY on Linux (a TODO in EasyHandle.swift), so libcurl reads
//   the environment itself: `https_proxy`/`HTTPS_PROXY`, `http_proxy` (lower case only, as curl does),
//   `ALL_PROXY`, and `no_proxy`/`NO_PROXY`. Seen: a CONNECT through HTTPS_PROXY, a GET through
//   http_proxy, a direct connection for a host in NO_PROXY.
// - Trust: libcurl verifies against the CA bundle it was built with (Debian:
//   /etc/ssl/certs/ca-certificates.crt); URLSession sets CURLOPT_CAINFO only when libcurl has none.
//   Nothing reads SSL_CERT_FILE, SSL_CERT_DIR or CURL_CA_BUNDLE (those are the curl tool's), and
//   `URLSessionCertificateAuthorityInfoFile` is read only under `#if os(Android)`: a self-signed server
//   failed verification with each of them set. So URLSession honours a bundle the user names only when
//   the system store holds its certificates. When it does not, `FetchTrust` sends the HTTPS downloads
//   through pip's network session instead (FetchViaPip.swift, which feeds the same sinks), and says so;
//   AIRLOCK_FETCH_VIA=pip sends every download there. Verification stays on either way.
// - Redirects: URLSession follows them itself (curl's FOLLOWLOCATION is off) and asks the delegate
//   first; the policy here allows the same scheme only, at most `maxRedirects` hops.
// - Content coding: URLSession turns on curl's automatic decompression, so requests ask for
//   `identity`: the bytes hashed must be the file's bytes, not a decoded variant of them.
// - The completion handler of `didReceive response` is ignored on Linux (the body keeps coming), so a
//   refused response has its task cancelled.
// - Delegate callbacks run in order on the session's serial delegate queue, so a sink's writes and
//   hashing run there, one call at a time, off the Swift executor. One queue serialises every transfer's
//   hashing (about 1 GB/s here): far above what a network delivers, and it keeps one connection pool.

import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Receives one transfer's response and body, on the session's delegate queue, one call at a time.
protocol HTTPBodySink: Sendable {
    /// The final response (after redirects); false stops the transfer.
    func accept(_ response: HTTPURLResponse) -> Bool
    /// The next piece of the body; false stops the transfer.
    func receive(_ data: Data) -> Bool
}

/// How a transfer ended, besides what its sink saw.
struct HTTPTransferEnd: Sendable {
    /// A redirect the policy refused, naming both URLs.
    var refusedRedirect: String?
    /// The transport's error, when the transfer failed without its sink stopping it.
    var transportError: String?
    /// The final status, when a response arrived.
    var status: Int?
}

/// One URLSession for a run: connections are reused across files, at most `connectionsPerHost` to a host.
final class HTTPDownloader: Sendable {
    static let maxRedirects = 5

    private let session: URLSession
    private let router: Router

    /// `timeout` is an idle timeout: URLSession re-arms it whenever bytes arrive.
    init(connectionsPerHost: Int, timeout: TimeInterval = 60) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        configuration.httpMaximumConnectionsPerHost = max(1, connectionsPerHost)
        configuration.timeoutIntervalForRequest = timeout
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        queue.name = "airlock-http"
        router = Router()
        session = URLSession(configuration: configuration, delegate: router, delegateQueue: queue)
    }

    /// Lets the transfers under way finish, then releases the session (which holds its delegate until then).
    func close() { session.finishTasksAndInvalidate() }

    /// GETs `url`, streaming the response to `sink`; returns when the transfer has ended and the sink
    /// has seen its last call. Cancelling the calling task cancels the transfer.
    func get(_ url: URL, headers: [String: String], into sink: some HTTPBodySink) async -> HTTPTransferEnd {
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let task = session.dataTask(with: request)
        let transfer = Transfer(sink: sink)
        router.register(transfer, for: task)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                transfer.wait(continuation)
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }
}

/// One request's state, shared by the awaiting task and the delegate queue.
private final class Transfer: Sendable {
    let sink: any HTTPBodySink

    private struct State {
        var continuation: CheckedContinuation<HTTPTransferEnd, Never>?
        var end: HTTPTransferEnd?
        var isStopped = false
        var refusedRedirect: String?
        var redirects = 0
    }

    private let state = Mutex(State())

    init(sink: any HTTPBodySink) { self.sink = sink }

    var isStopped: Bool { state.withLock { $0.isStopped } }

    func stop() { state.withLock { $0.isStopped = true } }

    /// Nil when the redirect may be followed, else why not.
    func refusal(redirectingFrom from: URL?, to: URL?) -> String? {
        state.withLock { s in
            s.redirects += 1
            let fromText = from?.absoluteString ?? "?"
            let toText = to?.absoluteString ?? "?"
            let fromScheme = from?.scheme?.lowercased()
            let toScheme = to?.scheme?.lowercased()
            var reason: String? = nil
            if toScheme == nil || fromScheme != toScheme || !["http", "https"].contains(toScheme ?? "") {
                reason = "redirect from \(fromText) to \(toText) refused: it changes the scheme"
            } else if s.redirects > HTTPDownloader.maxRedirects {
                reason = "more than \(HTTPDownloader.maxRedirects) redirects (the last to \(toText))"
            }
            if let reason {
                s.refusedRedirect = reason
                s.isStopped = true
            }
            return reason
        }
    }

    func wait(_ continuation: CheckedContinuation<HTTPTransferEnd, Never>) {
        let end: HTTPTransferEnd? = state.withLock { s in
            if let end = s.end { return end }
            s.continuation = continuation
            return nil
        }
        if let end { continuation.resume(returning: end) }
    }

    func finish(error: (any Error)?, status: Int?) {
        let (continuation, end) = state.withLock {
            s -> (CheckedContinuation<HTTPTransferEnd, Never>?, HTTPTransferEnd) in
            var end = HTTPTransferEnd(refusedRedirect: s.refusedRedirect, transportError: nil, status: status)
            if !s.isStopped, let error { end.transportError = Self.describe(error) }
            s.end = end
            let c = s.continuation
            s.continuation = nil
            return (c, end)
        }
        continuation?.resume(returning: end)
    }

    private static func describe(_ error: any Error) -> String {
        let ns = error as NSError
        if ns.domain == NSURLErrorDomain, ns.code == NSURLErrorCancelled { return "cancelled" }
        return ns.localizedDescription
    }
}

/// The session's one delegate: hands each task's callbacks to its `Transfer`.
private final class Router: NSObject, URLSessionDataDelegate, Sendable {
    private let transfers = Mutex<[Int: Transfer]>([:])

    func register(_ transfer: Transfer, for task: URLSessionTask) {
        transfers.withLock { $0[task.taskIdentifier] = transfer }
    }

    private func transfer(for task: URLSessionTask) -> Transfer? {
        transfers.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(
        _ session: URLSession,
        dataTask: URLSessionDataTask,
        didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        guard let transfer = transfer(for: dataTask), !transfer.isStopped else {
            // A refused redirect's own 3xx arrives here; the task is completing already.
            completionHandler(.cancel)
            return
        }
        guard let http = response as? HTTPURLResponse, transfer.sink.accept(http) else {
            transfer.stop()
            dataTask.cancel()
            completionHandler(.cancel)
            return
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let transfer = transfer(for: dataTask), !transfer.isStopped else { return }
        if !transfer.sink.receive(data) {
            transfer.stop()
            dataTask.cancel()
        }
    }

    func urlSession(
        _ session: URLSession,
        task: URLSessionTask,
        willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest,
        completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        guard let transfer = transfer(for: task) else { return completionHandler(nil) }
        let from = response.url ?? task.currentRequest?.url
        // corelibs resolves a Location without a host (`file:///etc/passwd`) against the current URL,
        // turning it into an http path on the same server; judge the scheme by the header as sent.
        let location = response.value(forHTTPHeaderField: "Location")
        let to = location.flatMap { URL(string: $0) }.flatMap { $0.scheme == nil ? nil : $0 } ?? request.url
        if transfer.refusal(redirectingFrom: from, to: to) != nil {
            completionHandler(nil)
        } else {
            completionHandler(request)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        let transfer = transfers.withLock { $0.removeValue(forKey: task.taskIdentifier) }
        transfer?.finish(error: error, status: (task.response as? HTTPURLResponse)?.statusCode)
    }
}
