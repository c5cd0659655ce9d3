// `airlock serve`: the imported store as a read-only package source, on Hummingbird 2 (SwiftNIO,
// swift-nio-ssl for TLS). It answers only for content a signed, imported bundle carried (the
// index's manifest references of imported manifests), sees a bundle imported while it runs (the
// catalog snapshot is re-read when the index's data_version moves, asked at most every 5 ms), and
// never writes: the store is opened read-only, so several `serve` processes share one store.
// SIGINT and SIGTERM shut it down gracefully (in-flight requests finish, then exit 0).
//
// The routes: `/` (MirrorPages.home); `/healthz`; `/blobs/sha256/HEX` and `/artifacts/NAME` with
// ETag, If-None-Match, HEAD and one Range; the GOPROXY protocol under `/go/` (MirrorGo.swift); the
// Python simple index under `/simple/` and its files under `/files/` (MirrorPython.swift); the OCI
// pull API under `/v2/` (MirrorOCI.swift). They are one synchronous table (Mirror.route, answers
// in MirrorAnswer.swift) that two paths ask: the event loop itself (MirrorFastPath) and, for what
// needs blocking work, Hummingbird's responder here. Every request target is parsed by MirrorPath
// before any lookup, and every request gets one access-log line on standard error.

import AirlockCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL

public struct MirrorOptions: Sendable {
    public enum LogFormat: String, Sendable, CaseIterable { case text, json }

    public var host: String
    public var port: Int
    public var storeRoot: String
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var logFormat: LogFormat
    /// A connection idle this long is closed (slow clients included).
    public var idleTimeout: Duration
    /// The longest request target accepted (414 beyond).
    public var maximumURLLength: Int
    /// Header limits: one field, all of them, how many.
    public var maximumHeaderBytes: Int
    public var maximumHeaderCount: Int
    /// The `Server` header (`airlock/0.1.0`).
    public var serverName: String
    /// Event-loop threads (nil: one per core).
    public var eventLoops: Int?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, storeRoot: String, tlsCertificate: String? = nil, tlsKey: String? = nil,
        logFormat: LogFormat = .text, idleTimeout: Duration = .seconds(30), maximumURLLength: Int = 8192,
        maximumHeaderBytes: Int = 32 << 10, maximumHeaderCount: Int = 100, serverName: String = "airlock",
        eventLoops: Int? = nil
    ) {
        self.eventLoops = eventLoops
        self.serverName = serverName
        self.host = host
        self.port = port
        self.storeRoot = storeRoot
        self.tlsCertificate = tlsCertificate
        self.tlsKey = tlsKey
        self.logFormat = logFormat
        self.idleTimeout = idleTimeout
        self.maximumURLLength = maximumURLLength
        self.maximumHeaderBytes = maximumHeaderBytes
        self.maximumHeaderCount = maximumHeaderCount
    }
}

public enum MirrorServer {
    /// Serves until SIGINT or SIGTERM; `ready` gets the base URL once the socket listens (with the
    /// port the system chose for port 0).
    public static func run(_ options: MirrorOptions, ready: @escaping @Sendable (String) -> Void) async throws {
        let store = try Store.openExisting(at: options.storeRoot)
        let mirror = Mirror(store: store, options: options)
        // The catalog read before the socket listens: the first request is answered like the rest.
        _ = try await mirror.snapshot()
        // The idle timeout is MirrorFastPath's, which sees every request (Hummingbird's own
        // connection-state handler sees only those passed on to it).
        var http1 = HTTP1Channel.Configuration(idleTimeout: nil)
        http1.httpDecoder = .init(
            maxHeaderFieldSize: options.maximumHeaderBytes, maxHeaderListSize: options.maximumHeaderBytes,
            maxHeaderFieldCount: options.maximumHeaderCount
        )
        let configuration = http1
        let log = AccessLog(format: options.logFormat)
        let sendFiles = options.tlsCertificate == nil
        let idle = TimeAmount(options.idleTimeout)
        var server = HTTPServerBuilder { responder in
            MirrorChannel(
                base: HTTP1Channel(responder: responder, configuration: configuration), mirror: mirror, log: log,
                sendFiles: sendFiles, idleTimeout: idle
            )
        }
        var scheme = "http"
        if let certificate = options.tlsCertificate, let key = options.tlsKey {
            let chain: [NIOSSLCertificate]
            let privateKey: NIOSSLPrivateKey
            do {
                chain = try NIOSSLCertificate.fromPEMFile(certificate)
                privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            } catch {
                throw UsageError(CoreErrorCode.usage, "--tls-cert \(certificate) / --tls-key \(key): not a PEM certificate chain and key (\(error))")
            }
            let tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey)
            )
            server = try .tls(server, tlsConfiguration: tls)
            scheme = "https"
        }
        var logger = Logger(label: "airlock.serve")
        logger.logLevel = .error
        let host = options.host
        let base = scheme
        let app = Application(
            responder: MirrorResponder(mirror: mirror, log: log),
            server: server,
            configuration: .init(address: .hostname(host, port: options.port), serverName: options.serverName),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? options.port
                let shown = host.contains(":") ? "[\(host)]" : host
                ready("\(base)://\(shown):\(port)")
            },
            eventLoopGroupProvider: options.eventLoops.map { .shared(MultiThreadedEventLoopGroup(numberOfThreads: $0)) } ?? .singleton,
            logger: logger
        )
        // The default signals: SIGTERM and SIGINT end it gracefully. Beside it, the index asked
        // once a second (what the store-root watch cannot see: another machine's writes on a
        // network file system), until the server has ended.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            group.addTask {
                while (try? await Task.sleep(for: .seconds(1))) != nil {
                    _ = try? await mirror.offPool { try mirror.catalogCache.current() }
                }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}

/// Each request's context: what Hummingbird needs, and the peer for the access log.
struct MirrorContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remote: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remote = source.channel.remoteAddress?.ipAddress ?? "-"
    }
}

/// Answers what the event loop left to it (MirrorFastPath) through the route table, and writes
/// the access-log line.
struct MirrorResponder: HTTPResponder {
    typealias Context = MirrorContext
    let mirror: Mirror
    let log: AccessLog

    func respond(to request: Request, context: MirrorContext) async throws -> Response {
        let started = ContinuousClock.now
        let response = await mirror.answer(request, context: context)
        log.write(
            remote: context.remote, method: request.method.rawValue, target: request.head.path ?? "-",
            status: response.status.code, bytes: response.headers[.contentLength], since: started
        )
        return response
    }
}

/// One access-log line per request on standard error, in text or JSON.
struct AccessLog: Sendable {
    let format: MirrorOptions.LogFormat

    func write(remote: String, method: String, target: String, status: Int, bytes: String?, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        let tenths = elapsed.components.seconds * 10_000 + elapsed.components.attoseconds / 100_000_000_000_000
        let ms = "\(tenths / 10).\(tenths % 10)"
        let bytes = bytes ?? "-"
        var line: String
        switch format {
        case .text:
            line = "\(Timestamp.now()) \(remote) \"\(method) \(target.debugDescription.dropFirst().dropLast())\" \(status) \(bytes) \(ms)ms\n"
        case .json:
            let value: JSONValue = .object([
                "time": .string(Timestamp.now()), "remote": .string(remote), "method": .string(method),
                "path": .string(target), "status": .int(Int64(status)), "bytes": .string(bytes), "ms": .string(ms),
            ])
            line = String(decoding: value.canonicalBytes, as: UTF8.self) + "\n"
        }
        // One write(2) of the whole line, so lines from concurrent requests never interleave; a
        // closed or full standard error loses the line, never the response.
        try? line.withUTF8 { try FileDescriptor.standardError.write(UnsafeRawBufferPointer($0)) }
    }
}

/// The routes, over the store.
struct Mirror: Sendable {
    let store: Store
    let options: MirrorOptions
    let files = FileIO()
    let metadataCache = MetadataCache()
    let catalogCache: CatalogCache

    init(store: Store, options: MirrorOptions) {
        self.store = store
        self.options = options
        catalogCache = CatalogCache(store: store)
    }

    /// The catalog as the index says now (one pragma when nothing was imported since).
    func snapshot() async throws -> MirrorCatalog {
        let cache = catalogCache
        if let recent = cache.recent() { return recent }
        return try await offPool { try cache.current() }
    }

    /// Index lookups and small file reads are blocking calls: they run on NIO's thread pool, never
    /// on the cooperative pool the handlers run in.
    func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    /// The Hummingbird path: the route's answer, its blocking work and file reads done off the pool.
    func answer(_ request: Request, context: MirrorContext) async -> Response {
        let asked = MirrorRequest(
            method: request.method.rawValue, target: request.head.path ?? "", authority: request.head.authority,
            accept: request.headers[.accept], ifNoneMatch: request.headers[.ifNoneMatch], range: request.headers[.range]
        )
        do {
            var answer = route(asked, catalog: try await snapshot())
            if case .later(let work) = answer.body { answer = try await offPool(work) }
            var response = Response(status: answer.status, headers: answer.headers)
            switch answer.body {
            case .empty, .later:
                break
            case .buffer(let buffer):
                if !asked.isHead { response.body = .init(byteBuffer: buffer) }
            case .file(let path, let span):
                if asked.isHead { break }
                if span.count <= Self.wholeReadLimit {
                    // A wheel-sized answer in one pread on the thread pool and one write (the
                    // event loop sends files itself with sendfile; this is the TLS path).
                    let buffer = try await offPool { try Self.read(path, span) }
                    response.body = .init(byteBuffer: buffer)
                } else {
                    response.body = try await files.loadFile(path: path, range: span, context: context, chunkLength: 1 << 20)
                }
            }
            return response
        } catch {
            let text = "the mirror could not answer: \(error)\n"
            let failed = MirrorAnswer.text(.internalServerError, text)
            return Response(status: failed.status, headers: failed.headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }

    /// The route table: what answers `request` over `catalog`. Never blocks: what needs the index
    /// or a render comes back as `.later`.
    func route(_ request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        guard request.method == "GET" || request.method == "HEAD" else {
            var headers = HTTPFields()
            headers[.allow] = "GET, HEAD"
            return .text(.methodNotAllowed, "\(request.method): this mirror is read-only; it answers GET and HEAD\n", headers: headers)
        }
        let path: MirrorPath
        do {
            path = try MirrorPath.parse(request.target, maximumLength: options.maximumURLLength)
        } catch {
            switch error {
            case .tooLong(let length):
                return .text(
                    .init(code: 414, reasonPhrase: "URI Too Long"),
                    "the request target is \(length) bytes, over \(options.maximumURLLength)\n"
                )
            case .bad(let why):
                return .text(.badRequest, "bad request target: \(why)\n")
            }
        }
        switch path.segments.first {
        case nil:
            return home(request, catalog: catalog)
        case "healthz" where path.segments.count == 1:
            return .text(.ok, "ok\n")
        case "blobs":
            return blob(path, request: request, catalog: catalog)
        case "artifacts":
            return artifact(path, request: request, catalog: catalog)
        case "go":
            return go(Array(path.segments.dropFirst()), request: request, catalog: catalog)
        case "simple":
            return simple(path, request: request, catalog: catalog)
        case "files":
            return pythonFile(path, request: request, catalog: catalog)
        case "v2":
            return registry(Array(path.segments.dropFirst()), request: request, catalog: catalog)
        default:
            return .text(.notFound, "not found\n")
        }
    }

    // MARK: Files

    func blob(_ path: MirrorPath, request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        guard path.segments.count == 3, path.segments[1] == "sha256", let digest = SHA256Digest(path.segments[2]) else {
            return .text(.notFound, "not found: blobs are /blobs/sha256/<64 hex digits>\n")
        }
        guard let entry = catalog.blobs[digest] else {
            return .text(.notFound, "not found: no imported bundle carries sha256:\(digest.hex)\n")
        }
        return file(
            digest, size: entry.size, contentType: entry.mediaType ?? "application/octet-stream", filename: nil,
            immutable: true, request: request
        )
    }

    func artifact(_ path: MirrorPath, request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        let name = path.segments.dropFirst().joined(separator: "/")
        guard !name.isEmpty, let entry = catalog.artifacts[name] else {
            return .text(.notFound, "not found: no imported artifact named '\(name)'\n")
        }
        return file(
            entry.digest, size: entry.size, contentType: entry.mediaType ?? "application/octet-stream",
            filename: entry.filename, immutable: false, request: request
        )
    }

    /// `/`: the page people read, with client lines for the URL this request reached.
    func home(_ request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        let store = self.store
        let scheme = options.tlsCertificate == nil ? "http" : "https"
        let host = request.authority ?? "\(options.host):\(options.port)"
        return .later {
            let provenance = try Self.provenance(of: catalog, in: store)
            let page = MirrorPages.home(catalog, base: "\(scheme)://\(host)", provenance: provenance)
            return .bytes(page, contentType: "text/html; charset=utf-8")
        }
    }

    /// The recorded provenance of each artifact the catalog lists.
    static func provenance(of catalog: MirrorCatalog, in store: Store) throws -> [SHA256Digest: Provenance] {
        var out: [SHA256Digest: Provenance] = [:]
        for entry in catalog.artifacts.values {
            if let text = try store.index.provenance(of: entry.digest), let p = try? Provenance.read(Array(text.utf8)) {
                out[entry.digest] = p
            }
        }
        return out
    }

    /// A stored blob of `size` bytes (as the index recorded it) as the answer: ETag (its digest),
    /// If-None-Match, one Range.
    func file(
        _ digest: SHA256Digest, size: Int, contentType: String, filename: String?, immutable: Bool, request: MirrorRequest
    ) -> MirrorAnswer {
        var headers = HTTPFields()
        let etag = "\"sha256:\(digest.hex)\""
        headers[.eTag] = etag
        headers[.acceptRanges] = "bytes"
        headers[.cacheControl] = immutable ? "public, max-age=31536000, immutable" : "no-cache"
        if let match = request.ifNoneMatch,
            match.split(separator: ",").contains(where: { let t = $0.trimmingCharacters(in: .whitespaces); return t == etag || t == "*" || t == "W/" + etag })
        {
            return MirrorAnswer(status: .notModified, headers: headers)
        }
        headers[.contentType] = contentType
        if let filename, !filename.contains("\"") { headers[.contentDisposition] = "attachment; filename=\"\(filename)\"" }
        var status = HTTPStatus.ok
        var range: ClosedRange<Int>? = nil
        switch ByteRange.parse(request.range, size: size) {
        case .unsatisfiable?:
            headers[.contentRange] = "bytes */\(size)"
            return .text(.rangeNotSatisfiable, "the range is not within the \(size) bytes\n", headers: headers)
        case .range(let r)?:
            range = r
            status = .partialContent
            headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound)/\(size)"
        case nil:
            break
        }
        let length = range.map { $0.count } ?? size
        headers[.contentLength] = String(length)
        if length == 0 { return MirrorAnswer(status: status, headers: headers) }
        return MirrorAnswer(status: status, headers: headers, body: .file(path: store.blobPath(digest), span: range ?? 0...(size - 1)))
    }

    /// Answers up to this size are read whole; bigger ones stream in 1 MiB chunks.
    static let wholeReadLimit = 4 << 20

    static func read(_ path: String, _ span: ClosedRange<Int>) throws -> ByteBuffer {
        let file = try FileDescriptor.open(path)
        var buffer = ByteBufferAllocator().buffer(capacity: span.count)
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: span.count) { raw in
            var done = 0
            while done < span.count {
                let n = try file.read(at: span.lowerBound + done, into: UnsafeMutableRawBufferPointer(rebasing: raw[done..<span.count]))
                if n == 0 { throw CheckFailure(CoreErrorCode.corruptBlob, "\(path): shorter than its recorded size") }
                done += n
            }
            return done
        }
        return buffer
    }
}
