// Airlock's HTTP client, on AsyncHTTPClient (NIO and BoringSSL, so no libcurl and no
// Foundation's URL loading): streaming GETs into a sink, HEADs, range resumes, for every artifact kind.
//
// - One session per run (`HTTPSession.with`), shut down and awaited when the body returns or throws.
//   AsyncHTTPClient fixes a client's proxy when it is made, so the session holds one client per route
//   a request has taken (direct, or each proxy), made on first use, all on NIO's shared event loops:
//   usually one. Connections are kept and reused within a client, at most `connectionsPerHost` to a
//   host; a request beyond that waits for a free one (up to the connect timeout).
// - Trust: TLS 1.2 or later, always fully verified against the system trust store as BoringSSL finds
//   it (/etc/ssl/certs/ca-certificates.crt, else /etc/pki/tls/certs/ca-bundle.crt, plus the
//   /etc/ssl/certs directory), plus the certificates of `caFile` when one is given (loaded once, as
//   PEM). Nothing turns verification off.
// - Proxies: `ProxySettings` (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY); see there.
// - Redirects are followed here, not by AsyncHTTPClient, so each hop is judged before it is
//   requested and routed through its own proxy choice: the same scheme only, at most `maxRedirects`.
// - Bodies are never decoded (no Accept-Encoding handling, decompression off): what a sink hashes
//   is the bytes the server sent.
// - Timeouts: `connectTimeout` for the connection (TCP, proxy tunnel, TLS); `idleTimeout` is the
//   longest wait for the next bytes, re-armed whenever some arrive, so a slow large download is fine.
// - The body is read in the calling task, which hands each piece to the sink while NIO's loops
//   fetch the next (AsyncHTTPClient applies back-pressure); nothing blocks a thread waiting.

import AsyncHTTPClient
public import Foundation
public import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// One run's HTTP client: connection pools, trust and proxy choice; made and shut down by `with`.
public final class HTTPSession: Sendable {
    public static let defaultMaxRedirects = 5

    public struct Configuration: Sendable {
        /// Connections kept open to one host at most.
        public var connectionsPerHost: Int
        /// The longest wait for the next bytes of a response.
        public var idleTimeout: Duration
        /// The longest wait for a connection (TCP, proxy tunnel and TLS handshake).
        public var connectTimeout: Duration
        public var maxRedirects: Int
        /// A PEM file of CA certificates trusted besides the system's.
        public var caFile: String?
        public var proxies: ProxySettings
        /// Sent unless a request names its own.
        public var userAgent: String

        public init(
            connectionsPerHost: Int = 8,
            idleTimeout: Duration = .seconds(60),
            connectTimeout: Duration = .seconds(30),
            maxRedirects: Int = HTTPSession.defaultMaxRedirects,
            caFile: String? = nil,
            proxies: ProxySettings = .direct,
            userAgent: String = "airlock"
        ) {
            self.connectionsPerHost = connectionsPerHost
            self.idleTimeout = idleTimeout
            self.connectTimeout = connectTimeout
            self.maxRedirects = maxRedirects
            self.caFile = caFile
            self.proxies = proxies
            self.userAgent = userAgent
        }
    }

    public let configuration: Configuration
    private let tls: Result<TLSConfiguration, HTTPError>
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var clients: [ProxyServer?: HTTPClient] = [:]
        var isShutDown = false
    }

    private init(configuration: Configuration, logger: Logger?) {
        self.configuration = configuration
        self.logger = logger ?? Logger(label: "airlock.http", factory: { _ in SwiftLogNoOpLogHandler() })
        tls = Self.makeTLS(caFile: configuration.caFile)
    }

    /// Runs `body` with a new session, then shuts the session down (awaiting its connections'
    /// close) whether `body` returns or throws.
    public static func with<Result>(
        _ configuration: Configuration,
        logger: Logger? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (HTTPSession) async throws -> Result
    ) async throws -> Result {
        let session = HTTPSession(configuration: configuration, logger: logger)
        do {
            let result = try await body(session)
            await session.shutdown()
            return result
        } catch {
            await session.shutdown()
            throw error
        }
    }

    /// The CA file's problem, when it cannot be loaded: every HTTPS request fails with it.
    public var trustError: HTTPError? {
        if case .failure(let error) = tls { return error }
        return nil
    }

    // MARK: Requests

    /// GETs `url`, handing the final response and then its body to `sink` as they arrive; returns
    /// when the body has ended, the sink stopped it, or it failed. With `offset` > 0 it asks for
    /// `Range: bytes=offset-` and passes on a 206 only when its Content-Range starts there (else
    /// `bad-range`, as for a 416); a 200 is the whole file again. `sizeLimit` caps the whole file
    /// (`too-large`, before the body when the headers tell). Cancelling the task stops the transfer.
    public func get(
        _ url: URL,
        headers: [(name: String, value: String)] = [],
        resumingAt offset: Int = 0,
        sizeLimit: Int? = nil,
        into sink: some HTTPBodySink
    ) async -> HTTPTransferEnd {
        var headers = headers
        if offset > 0 { headers.append(("Range", "bytes=\(offset)-")) }
        let opened: (body: HTTPClientResponse.Body, head: HTTPResponse, proxy: ProxyServer?)
        do {
            opened = try await open(.GET, url, headers: headers)
        } catch {
            return HTTPTransferEnd(error: error)
        }
        let head = opened.head
        if let problem = Self.check(head, offset: offset, sizeLimit: sizeLimit) {
            return HTTPTransferEnd(response: head, error: problem)
        }
        guard sink.accept(head) else {
            await Self.discard(opened.body)
            return HTTPTransferEnd(response: head, isStoppedBySink: true)
        }
        let limit = sizeLimit.map { head.status == 206 ? $0 - offset : $0 }
        var handed = 0
        do {
            for try await buffer in opened.body {
                if let limit, handed + buffer.readableBytes > limit {
                    let error = HTTPError(
                        .tooLarge,
                        "\(head.url.absoluteString) sent more than the \(limit)-byte limit"
                    )
                    return HTTPTransferEnd(response: head, error: error, bytesReceived: handed)
                }
                let wanted = buffer.withUnsafeReadableBytes { sink.receive($0) }
                guard wanted else {
                    return HTTPTransferEnd(response: head, isStoppedBySink: true, bytesReceived: handed)
                }
                handed += buffer.readableBytes
            }
        } catch {
            let problem = HTTPError.transport(error, url: head.url, proxy: opened.proxy, timeouts: timeouts)
            return HTTPTransferEnd(response: head, error: problem, bytesReceived: handed)
        }
        if Task.isCancelled {
            return HTTPTransferEnd(response: head, error: HTTPError(.cancelled, "cancelled"), bytesReceived: handed)
        }
        return HTTPTransferEnd(response: head, bytesReceived: handed)
    }

    /// HEADs `url` (following redirects as `get` does); throws an `HTTPError`. Any status is returned.
    public func head(_ url: URL, headers: [(name: String, value: String)] = []) async throws -> HTTPResponse {
        let opened = try await open(.HEAD, url, headers: headers)
        await Self.discard(opened.body)
        return opened.head
    }

    /// Sends one request with a body and reads its answer's body (up to `responseLimit` bytes; more
    /// is `too-large`). No redirect is followed: an upload's answer is the server's own word, and
    /// a PUT must not be replayed elsewhere. A `.file` body is read in 1 MiB pieces as the
    /// connection takes them. Any status is returned; transport failures throw an `HTTPError`.
    public func send(
        _ method: String,
        _ url: URL,
        headers: [(name: String, value: String)] = [],
        body: HTTPRequestBody = .none,
        responseLimit: Int = 1 << 20
    ) async throws(HTTPError) -> (response: HTTPResponse, body: [UInt8]) {
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty
        else { throw HTTPError(.badURL, "\(url.absoluteString): not an http or https URL") }
        if scheme == "https", case .failure(let error) = tls { throw error }
        let proxy: ProxyServer?
        switch configuration.proxies.route(for: url) {
        case .direct: proxy = nil
        case .proxy(let server): proxy = server
        case .invalid(let error): throw error
        }
        let client = try client(for: proxy)
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        switch body {
        case .none:
            break
        case .bytes(let bytes):
            request.body = .bytes(ByteBuffer(bytes: bytes))
        case .file(let path, let offset, let length):
            request.body = .stream(FileChunks(path: path, offset: offset, length: length), length: .known(Int64(length)))
        }
        do {
            let wait = TimeAmount(configuration.connectTimeout + configuration.idleTimeout)
            let response = try await client.execute(request, deadline: .now() + wait, logger: logger)
            let head = HTTPResponse(url: url, status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) })
            var collected: [UInt8] = []
            for try await buffer in response.body {
                guard collected.count + buffer.readableBytes <= responseLimit else {
                    throw HTTPError(.tooLarge, "\(url.absoluteString) answered with more than \(responseLimit) bytes")
                }
                collected += buffer.readableBytesView
            }
            return (head, collected)
        } catch let error as HTTPError {
            throw error
        } catch {
            throw HTTPError.transport(error, url: url, proxy: proxy, timeouts: timeouts)
        }
    }

    /// Sends the request, following redirects; returns the final response with its body unread.
    private func open(
        _ method: HTTPMethod,
        _ url: URL,
        headers: [(name: String, value: String)]
    ) async throws(HTTPError) -> (body: HTTPClientResponse.Body, head: HTTPResponse, proxy: ProxyServer?) {
        var headers = headers
        var current = url
        var hops = 0
        while true {
            guard let scheme = current.scheme?.lowercased(), scheme == "http" || scheme == "https",
                let host = current.host, !host.isEmpty
            else { throw HTTPError(.badURL, "\(current.absoluteString): not an http or https URL") }
            if scheme == "https", case .failure(let error) = tls { throw error }
            let proxy: ProxyServer?
            switch configuration.proxies.route(for: current) {
            case .direct: proxy = nil
            case .proxy(let server): proxy = server
            case .invalid(let error): throw error
            }
            let client = try client(for: proxy)

            var request = HTTPClientRequest(url: current.absoluteString)
            request.method = method
            request.headers.add(name: "User-Agent", value: configuration.userAgent)
            for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
            let response: HTTPClientResponse
            do {
                let wait = TimeAmount(configuration.connectTimeout + configuration.idleTimeout)
                response = try await client.execute(request, deadline: .now() + wait, logger: logger)
            } catch {
                throw HTTPError.transport(error, url: current, proxy: proxy, timeouts: timeouts)
            }
            let head = HTTPResponse(
                url: current,
                status: Int(response.status.code),
                headers: response.headers.map { ($0.name, $0.value) }
            )
            guard [301, 302, 303, 307, 308].contains(head.status), let location = head.value(of: "Location") else {
                return (response.body, head, proxy)
            }
            await Self.discard(response.body)
            hops += 1
            let next = try redirect(from: current, to: location, hops: hops)
            // Credentials are for the host they were given for: a redirect elsewhere drops them, as
            // curl and the go command do.
            if next.host?.lowercased() != current.host?.lowercased() || next.port != current.port {
                headers = headers.filter { $0.name.lowercased() != "authorization" }
            }
            current = next
        }
    }

    /// The next URL of a redirect, or why it is refused. The scheme is judged by the Location header
    /// as sent (`file:///etc/passwd` is a scheme change), a relative one keeps the current scheme.
    private func redirect(from current: URL, to location: String, hops: Int) throws(HTTPError) -> URL {
        let target = URL(string: location, relativeTo: current)?.absoluteURL
        let shown = URL(string: location)?.scheme == nil ? (target?.absoluteString ?? location) : location
        let fromScheme = current.scheme?.lowercased()
        let toScheme = target?.scheme?.lowercased()
        guard let target, let toScheme, toScheme == fromScheme, ["http", "https"].contains(toScheme) else {
            throw HTTPError(
                .redirectRefused,
                "redirect from \(current.absoluteString) to \(shown) refused: it changes the scheme"
            )
        }
        guard hops <= configuration.maxRedirects else {
            throw HTTPError(
                .redirectRefused,
                "more than \(configuration.maxRedirects) redirects (the last to \(shown))"
            )
        }
        return target
    }

    /// The session's own checks of a final response: the range asked for, the size limit.
    private static func check(_ head: HTTPResponse, offset: Int, sizeLimit: Int?) -> HTTPError? {
        let url = head.url.absoluteString
        switch head.status {
        case 206:
            let header = head.value(of: "Content-Range")
            guard let range = ContentRange(header), range.start == offset else {
                return HTTPError(
                    .badRange,
                    "the server answered `Range: bytes=\(offset)-` with Content-Range \(header ?? "(none)")"
                )
            }
            let size = range.total ?? range.end + 1
            if let limit = sizeLimit, size > limit {
                return HTTPError(.tooLarge, "\(url) has \(size) bytes, more than the \(limit)-byte limit")
            }
        case 416 where offset > 0:
            return HTTPError(.badRange, "HTTP 416: the server will not send bytes \(offset)- of it")
        case 200:
            if let limit = sizeLimit, let length = head.contentLength, length > limit {
                return HTTPError(.tooLarge, "\(url) has \(length) bytes, more than the \(limit)-byte limit")
            }
        default:
            break
        }
        return nil
    }

    /// Reads and drops a small body (a redirect's, an error page), so its connection can be reused;
    /// a large one is dropped unread, which closes its connection instead.
    private static func discard(_ body: HTTPClientResponse.Body) async {
        var room = 64 << 10
        do {
            for try await buffer in body {
                room -= buffer.readableBytes
                if room < 0 { return }
            }
        } catch {
            return
        }
    }

    // MARK: Clients

    private var timeouts: (connect: Duration, idle: Duration) {
        (configuration.connectTimeout, configuration.idleTimeout)
    }

    private func client(for proxy: ProxyServer?) throws(HTTPError) -> HTTPClient {
        // One client per proxy, whichever variable named it (HTTPS_PROXY and HTTP_PROXY often agree).
        var key = proxy
        key?.variable = ""
        let client = state.withLock { s -> HTTPClient? in
            guard !s.isShutDown else { return nil }
            if let existing = s.clients[key] { return existing }
            let made = makeClient(proxy: proxy)
            s.clients[key] = made
            return made
        }
        guard let client else { throw HTTPError(.closed, "the HTTP session is shut down") }
        return client
    }

    private func makeClient(proxy: ProxyServer?) -> HTTPClient {
        var c = HTTPClient.Configuration()
        // A CA file that did not load fails every HTTPS request before it gets here.
        c.tlsConfiguration = (try? tls.get()) ?? Self.baseTLS()
        c.redirectConfiguration = .disallow
        c.decompression = .disabled
        c.timeout = .init(
            connect: TimeAmount(configuration.connectTimeout),
            read: TimeAmount(configuration.idleTimeout)
        )
        c.connectionPool = .init(
            idleTimeout: .seconds(60),
            concurrentHTTP1ConnectionsPerHostSoftLimit: max(1, configuration.connectionsPerHost)
        )
        // A refused connection or handshake fails its request at once instead of being retried
        // until the connect timeout; fetch is rerun to retry (and resumes).
        c.connectionPool.retryConnectionEstablishment = false
        if let proxy {
            switch proxy.kind {
            case .http:
                let authorization = proxy.username.map {
                    HTTPClient.Authorization.basic(username: $0, password: proxy.password ?? "")
                }
                c.proxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
            case .socks5:
                c.proxy = .socksServer(host: proxy.host, port: proxy.port)
            }
        }
        return HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: c,
            backgroundActivityLogger: logger
        )
    }

    /// Closes every client's connections and waits until they are closed; requests after it fail.
    private func shutdown() async {
        let clients = state.withLock { s -> [HTTPClient] in
            s.isShutDown = true
            defer { s.clients = [:] }
            return Array(s.clients.values)
        }
        for client in clients {
            // It only fails when already shut down.
            try? await client.shutdown()
        }
    }

    // MARK: Trust

    private static func baseTLS() -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        tls.trustRoots = .default
        return tls
    }

    private static func makeTLS(caFile: String?) -> Result<TLSConfiguration, HTTPError> {
        var tls = baseTLS()
        guard let caFile else { return .success(tls) }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(caFile)
        } catch {
            return .failure(HTTPError(.caFile, "\(caFile): cannot be read as PEM CA certificates (\(error))"))
        }
        guard !certificates.isEmpty else {
            return .failure(HTTPError(.caFile, "\(caFile): holds no PEM certificate"))
        }
        tls.additionalTrustRoots = [.certificates(certificates)]
        return .success(tls)
    }
}

/// What a request sends (`HTTPSession.send`).
public enum HTTPRequestBody: Sendable {
    case none
    case bytes([UInt8])
    /// `length` bytes of the file at `path`, from `offset`.
    case file(path: String, offset: Int, length: Int)
}

/// A file's bytes as the request body's pieces. Each piece is one `pread` of at most 1 MiB of a
/// blob in the store (page-cache speed), the same short file I/O the store's writers do on tasks.
private struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let offset: Int
    let length: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        var offset: Int
        var remaining: Int
        var file: FileDescriptor?

        mutating func next() async throws -> ByteBuffer? {
            guard remaining > 0 else {
                file = nil
                return nil
            }
            if file == nil { file = try FileDescriptor.open(path) }
            let size = Swift.min(remaining, 1 << 20)
            var buffer = ByteBuffer()
            let at = offset
            let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
                try file!.read(at: at, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<size]))
            }
            guard read > 0 else { throw FileError("read", path: path, errno: EIO) }
            offset += read
            remaining -= read
            return buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(path: path, offset: offset, remaining: length, file: nil) }
}
