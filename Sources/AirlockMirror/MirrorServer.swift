// `airlock serve`: the imported store as a read-only package source, on Hummingbird 2 (SwiftNIO,
// swift-nio-ssl for TLS). It answers only for content a signed, imported bundle carried (the
// index's manifest references of imported manifests), reads the index per request so a bundle
// imported while it runs is served at once, and never writes: the store is opened read-only, so
// several `serve` processes share one store. SIGINT and SIGTERM shut it down gracefully
// (in-flight requests finish, then exit 0).
//
// The routes of this slice: `/healthz`; `/blobs/sha256/HEX` and `/artifacts/NAME` with ETag,
// If-None-Match, HEAD and one Range; the GOPROXY protocol under `/go/` (MirrorGo.swift); the
// Python simple index under `/simple/` and its files under `/files/` (MirrorPython.swift); the OCI
// pull API under `/v2/` (MirrorOCI.swift). Every
// request target is parsed by MirrorPath before any lookup, and every request gets one access-log
// line on standard error.

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
        var http1 = HTTP1Channel.Configuration(idleTimeout: TimeAmount(options.idleTimeout))
        http1.httpDecoder = .init(
            maxHeaderFieldSize: options.maximumHeaderBytes, maxHeaderListSize: options.maximumHeaderBytes,
            maxHeaderFieldCount: options.maximumHeaderCount
        )
        var server = HTTPServerBuilder.http1(configuration: http1)
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
            responder: MirrorResponder(mirror: mirror, format: options.logFormat),
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
        // The default signals: SIGTERM and SIGINT end it gracefully.
        try await app.runService()
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

/// Answers through the mirror and writes the access-log line.
struct MirrorResponder: HTTPResponder {
    typealias Context = MirrorContext
    let mirror: Mirror
    let format: MirrorOptions.LogFormat

    func respond(to request: Request, context: MirrorContext) async throws -> Response {
        let clock = ContinuousClock()
        let started = clock.now
        let response = await mirror.answer(request, context: context)
        let elapsed = clock.now - started
        let tenths = elapsed.components.seconds * 10_000 + elapsed.components.attoseconds / 100_000_000_000_000
        let ms = "\(tenths / 10).\(tenths % 10)"
        let bytes = response.headers[.contentLength] ?? "-"
        let path = request.head.path ?? "-"
        var line: String
        switch format {
        case .text:
            line = "\(Timestamp.now()) \(context.remote) \"\(request.method) \(path.debugDescription.dropFirst().dropLast())\" \(response.status.code) \(bytes) \(ms)ms\n"
        case .json:
            let value: JSONValue = .object([
                "time": .string(Timestamp.now()), "remote": .string(context.remote), "method": .string(request.method.rawValue),
                "path": .string(path), "status": .int(Int64(response.status.code)), "bytes": .string(bytes), "ms": .string(ms),
            ])
            line = String(decoding: value.canonicalBytes, as: UTF8.self) + "\n"
        }
        // One write(2) of the whole line, so lines from concurrent requests never interleave; a
        // closed or full standard error loses the line, never the response.
        try? line.withUTF8 { try FileDescriptor.standardError.write(UnsafeRawBufferPointer($0)) }
        return response
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

    func answer(_ request: Request, context: MirrorContext) async -> Response {
        guard request.method == .get || request.method == .head else {
            var headers = HTTPFields()
            headers[.allow] = "GET, HEAD"
            return Self.text(.methodNotAllowed, "\(request.method): this mirror is read-only; it answers GET and HEAD\n", headers: headers)
        }
        let path: MirrorPath
        do {
            path = try MirrorPath.parse(request.head.path ?? "", maximumLength: options.maximumURLLength)
        } catch {
            switch error {
            case .tooLong(let length):
                return Self.text(
                    .init(code: 414, reasonPhrase: "URI Too Long"),
                    "the request target is \(length) bytes, over \(options.maximumURLLength)\n"
                )
            case .bad(let why):
                return Self.text(.badRequest, "bad request target: \(why)\n")
            }
        }
        do {
            switch path.segments.first {
            case nil:
                return try await home(request)
            case "healthz" where path.segments.count == 1:
                return Self.text(.ok, "ok\n")
            case "blobs":
                return try await blob(path, request: request, context: context)
            case "artifacts":
                return try await artifact(path, request: request, context: context)
            case "go":
                return try await go(Array(path.segments.dropFirst()), request: request, context: context)
            case "simple":
                return try await simple(path, request: request)
            case "files":
                return try await pythonFile(path, request: request, context: context)
            case "v2":
                return try await registry(Array(path.segments.dropFirst()), request: request, context: context)
            default:
                return Self.text(.notFound, "not found\n")
            }
        } catch {
            return Self.text(.internalServerError, "the mirror could not answer: \(error)\n")
        }
    }

    // MARK: Files

    func blob(_ path: MirrorPath, request: Request, context: MirrorContext) async throws -> Response {
        guard path.segments.count == 3, path.segments[1] == "sha256", let digest = SHA256Digest(path.segments[2]) else {
            return Self.text(.notFound, "not found: blobs are /blobs/sha256/<64 hex digits>\n")
        }
        guard let entry = try await snapshot().blobs[digest] else {
            return Self.text(.notFound, "not found: no imported bundle carries sha256:\(digest.hex)\n")
        }
        return try await file(
            digest, contentType: entry.mediaType ?? "application/octet-stream", filename: nil, immutable: true,
            request: request, context: context
        )
    }

    func artifact(_ path: MirrorPath, request: Request, context: MirrorContext) async throws -> Response {
        let name = path.segments.dropFirst().joined(separator: "/")
        guard !name.isEmpty, let entry = try await snapshot().artifacts[name] else {
            return Self.text(.notFound, "not found: no imported artifact named '\(name)'\n")
        }
        return try await file(
            entry.digest, contentType: entry.mediaType ?? "application/octet-stream", filename: entry.filename,
            immutable: false, request: request, context: context
        )
    }

    /// `/`: the page people read, with client lines for the URL this request reached.
    func home(_ request: Request) async throws -> Response {
        let catalog = try await snapshot()
        let store = self.store
        let provenance = try await offPool { try Self.provenance(of: catalog, in: store) }
        let scheme = options.tlsCertificate == nil ? "http" : "https"
        let host = request.head.authority ?? "\(options.host):\(options.port)"
        let page = MirrorPages.home(catalog, base: "\(scheme)://\(host)", provenance: provenance)
        return Self.bytes(page, contentType: "text/html; charset=utf-8", request: request)
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

    /// A stored blob as the response: ETag (its digest), If-None-Match, HEAD, one Range.
    func file(
        _ digest: SHA256Digest, contentType: String, filename: String?, immutable: Bool, request: Request,
        context: MirrorContext
    ) async throws -> Response {
        let blobPath = store.blobPath(digest)
        let size = try await offPool { try FileSystem.size(of: blobPath) }
        var headers = HTTPFields()
        let etag = "\"sha256:\(digest.hex)\""
        headers[.eTag] = etag
        headers[.acceptRanges] = "bytes"
        headers[.cacheControl] = immutable ? "public, max-age=31536000, immutable" : "no-cache"
        if let match = request.headers[.ifNoneMatch],
            match.split(separator: ",").contains(where: { let t = $0.trimmingCharacters(in: .whitespaces); return t == etag || t == "*" || t == "W/" + etag })
        {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = contentType
        if let filename, !filename.contains("\"") { headers[.contentDisposition] = "attachment; filename=\"\(filename)\"" }
        var status = HTTPResponse.Status.ok
        var range: ClosedRange<Int>? = nil
        switch ByteRange.parse(request.headers[.range], size: size) {
        case .unsatisfiable?:
            headers[.contentRange] = "bytes */\(size)"
            return Self.text(.rangeNotSatisfiable, "the range is not within the \(size) bytes\n", headers: headers)
        case .range(let r)?:
            range = r
            status = .partialContent
            headers[.contentRange] = "bytes \(r.lowerBound)-\(r.upperBound)/\(size)"
        case nil:
            break
        }
        let length = range.map { $0.count } ?? size
        headers[.contentLength] = String(length)
        if request.method == .head || length == 0 { return Response(status: status, headers: headers) }
        let span = range ?? 0...(size - 1)
        if span.count <= Self.wholeReadLimit {
            // A wheel-sized answer in one pread on the thread pool and one write: Hummingbird sends
            // ByteBuffers only (no sendfile), so this is the fewest copies and hops it allows.
            let buffer = try await offPool { try Self.read(blobPath, span) }
            return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
        }
        let body = try await files.loadFile(path: blobPath, range: span, context: context, chunkLength: 1 << 20)
        return Response(status: status, headers: headers, body: body)
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

    static func text(_ status: HTTPResponse.Status, _ text: String, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "text/plain; charset=utf-8"
        headers[.contentLength] = String(text.utf8.count)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func bytes(_ bytes: [UInt8], contentType: String, request: Request) -> Response {
        buffer(ByteBuffer(bytes: bytes), contentType: contentType, request: request)
    }

    static func buffer(_ buffer: ByteBuffer, contentType: String, request: Request) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.contentLength] = String(buffer.readableBytes)
        if request.method == .head { return Response(status: .ok, headers: headers) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
    }
}
