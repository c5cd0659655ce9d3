// `airlock fetch` for a Go project: every module version in the lock, through the GOPROXY protocol
// (`PATH/@v/VERSION.mod`, `.info`, `.zip`, paths and versions case-escaped), `jobs` modules at a
// time, from the proxies of the connected host's GOPROXY in their list order (see GoProxy.swift).
// Nothing is trusted before go.sum vouches for it: the go.mod's `h1:` and the zip's (computed here,
// with the go command's zip rules checked in the same pass, ModuleZip.swift) must be go.sum's, and a
// module is stored only when every part it needs passed; a module that fails stores nothing, names
// itself, and the others carry on.
//
// Resuming: a module the store has (with the lock's hashes) is skipped without a request. A zip
// download lives in `<store>/partial/go-<sha256 of path@version>.zip.partial`, flocked while a
// process works on it; a later run asks for the rest with `Range`, and the whole is checked once it
// is complete. A resumed zip that does not verify is fetched once more from zero.

public import AirlockCore
public import Foundation

/// What happened to one locked module.
public struct GoFetchedModule: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case fetched, present, failed }

    /// `path@version`.
    public var module: String
    public var status: Status
    public var reason: String?
    public var code: ErrorCode?
    /// The proxy that served it.
    public var proxy: String?
    public var resumedFrom: Int?
}

public struct GoFetchReport: Sendable {
    public var modules: [GoFetchedModule]

    public func count(_ status: GoFetchedModule.Status) -> Int { modules.count { $0.status == status } }

    /// Exit 1 naming every failed module; nil when all are stored.
    public var error: (any AirlockError)? {
        let failed = modules.filter { $0.status == .failed }
        guard let first = failed.first else { return nil }
        return CheckFailure(
            code: first.code ?? GoModuleErrorCode.downloadFailed.code,
            failed.map { "\($0.module): \($0.reason ?? "failed")" }
        )
    }
}

public enum GoModuleFetcher {
    public static let defaultJobs = 8
    static let maximumInfoSize = 1 << 20

    public struct Options: Sendable {
        public var lock: GoLock
        /// GC roots `lock:<name>`.
        public var projectName: String
        public var environment: [String: String]
        public var jobs: Int
        public var userAgent: String
        public var caFile: String?

        public init(
            lock: GoLock, projectName: String, environment: [String: String], jobs: Int = GoModuleFetcher.defaultJobs,
            userAgent: String = "airlock", caFile: String? = nil
        ) {
            self.lock = lock
            self.projectName = projectName
            self.environment = environment
            self.jobs = jobs
            self.userAgent = userAgent
            self.caFile = caFile
        }
    }

    public static func fetch(_ options: Options, store: Store, progress: ProgressReporter? = nil) async throws
        -> GoFetchReport
    {
        let proxies = try GoProxyList(options.environment["GOPROXY"])
        let noProxy = GoPathPatterns.noProxy(environment: options.environment)
        let root = "lock:" + options.projectName
        let present = try GoModuleStore.find(options.lock, in: store)
        var results = [GoFetchedModule?](repeating: nil, count: options.lock.modules.count)
        var pending: [(Int, GoLock.Module)] = []
        for (index, locked) in options.lock.modules.enumerated() {
            let name = locked.module.description
            if let stored = present[name] {
                var digests = [stored.goMod] + [stored.info, stored.zip].compactMap { $0 }
                digests.removeAll { !store.contains($0) }
                try store.index.record([], roots: digests.map { ($0, root) })
                results[index] = GoFetchedModule(module: name, status: .present)
            } else if noProxy.matches(locked.path) {
                results[index] = GoFetchedModule(
                    module: name, status: .failed,
                    reason: "matches GONOPROXY/GOPRIVATE, so the go command would fetch it from its VCS, which Airlock cannot; serve it from your module proxy and set GONOPROXY=none",
                    code: GoModuleErrorCode.proxyRefused.code
                )
            } else {
                pending.append((index, locked))
            }
        }
        try FileSystem.makeDirectory(store.root + "/partial")
        progress?.start(total: pending.count, unit: "modules")
        let configuration = HTTPSession.Configuration(
            connectionsPerHost: max(1, options.jobs), caFile: options.caFile,
            proxies: ProxySettings(environment: options.environment), userAgent: options.userAgent
        )
        let netrc = Netrc.load(environment: options.environment)
        try await HTTPSession.with(configuration) { session in
            let job = Job(store: store, session: session, proxies: proxies, netrc: netrc, root: root)
            try await withThrowingTaskGroup(of: (Int, GoFetchedModule).self) { group in
                var queue = pending[...]
                func next() {
                    guard let (index, locked) = queue.popFirst() else { return }
                    group.addTask { (index, try await fetchOne(locked, job: job)) }
                }
                for _ in 0..<max(1, options.jobs) { next() }
                while let (index, result) = try await group.next() {
                    results[index] = result
                    progress?.advance(by: 1)
                    next()
                }
            }
        }
        let report = GoFetchReport(
            modules: results.enumerated().map { index, result in
                result
                    ?? GoFetchedModule(
                        module: options.lock.modules[index].module.description, status: .failed,
                        reason: "not attempted", code: GoModuleErrorCode.downloadFailed.code
                    )
            }
        )
        progress?.finish(
            "\(report.count(.fetched)) module(s) fetched, \(report.count(.present)) already present, \(report.count(.failed)) failed"
        )
        return report
    }

    // MARK: One module

    struct Job: Sendable {
        var store: Store
        var session: HTTPSession
        var proxies: GoProxyList
        var netrc: Netrc
        var root: String
    }

    /// A module's failure, as a result (so the others carry on).
    struct Failure: Error {
        var code: GoModuleErrorCode
        var reason: String
    }

    private static func fetchOne(_ locked: GoLock.Module, job: Job) async throws -> GoFetchedModule {
        let module = locked.module
        let name = module.description
        let base = module.escapedPath + "/@v/" + module.escapedVersion
        var written: [String] = []
        defer { for path in written { try? FileSystem.remove(path) } }
        do {
            let (goMod, proxy) = try await small(base + ".mod", limit: ModuleZip.maximumGoModSize, job: job)
            let goModHash = Dirhash.goMod(goMod)
            guard goModHash == locked.goMod else {
                throw Failure(
                    code: .hashMismatch,
                    reason: "\(name)/go.mod from \(proxy) hashes to \(goModHash), but go.sum says \(locked.goMod)"
                )
            }
            let (info, _) = try await small(base + ".info", limit: maximumInfoSize, job: job)
            guard let parsed = try? JSONValue(parsing: info), parsed["Version"]?.stringValue == module.version else {
                throw Failure(code: .downloadFailed, reason: "\(base).info from \(proxy) does not name version \(module.version)")
            }
            var zip: (SHA256Digest, Int, String)? = nil
            var resumedFrom: Int? = nil
            var zipPath: String? = nil
            if let h1 = locked.zip {
                let (path, resumed) = try await downloadZip(locked, expected: h1, base: base, job: job)
                zipPath = path
                resumedFrom = resumed
                let (digest, size) = try Store.hashFile(path)
                zip = (digest, size, h1)
            }
            // Every part passed: store them together.
            let modBlob = try put(goMod, job: job)
            written.append(modBlob.path)
            let infoBlob = try put(info, job: job)
            written.append(infoBlob.path)
            var commits = [(modBlob.digest, modBlob.path), (infoBlob.digest, infoBlob.path)]
            if let zip, let zipPath { commits.append((zip.0, zipPath)) }
            try job.store.commit(commits.map { (digest: $0.0, temporaryPath: $0.1) })
            written.removeAll()
            try GoModuleStore.record(
                module, goMod: (modBlob.digest, goMod.count), info: (infoBlob.digest, info.count), zip: zip,
                origin: proxy + "/" + base, root: job.root, store: job.store
            )
            return GoFetchedModule(module: name, status: .fetched, proxy: proxy, resumedFrom: resumedFrom)
        } catch let failure as Failure {
            return GoFetchedModule(module: name, status: .failed, reason: failure.reason, code: failure.code.code)
        } catch let error as CheckFailure {
            return GoFetchedModule(module: name, status: .failed, reason: error.description, code: error.code)
        }
    }

    private static func put(_ bytes: [UInt8], job: Job) throws -> (digest: SHA256Digest, path: String) {
        let writer = try job.store.makeWriter()
        do {
            try writer.append(bytes)
            return (try writer.finish(), writer.temporaryPath)
        } catch {
            writer.discard()
            throw error
        }
    }

    /// A small file (`.mod`, `.info`) from the first proxy that has it, and that proxy.
    private static func small(_ relative: String, limit: Int, job: Job) async throws -> ([UInt8], String) {
        try await fromProxies(relative, job: job) { url -> Attempt<[UInt8]> in
            if url.isFileURL {
                guard FileSystem.kind(of: url.path) == .regular else { return .notFound("no such file") }
                guard let bytes = try? FileSystem.readFile(url.path, limit: limit) else {
                    return .failed("unreadable, or over \(limit) bytes")
                }
                return .ok(bytes)
            }
            let sink = CollectingSink(limit: limit)
            let end = await job.session.get(
                url, headers: job.netrc.authorization(for: url).map { [$0] } ?? [], sizeLimit: limit, into: sink
            )
            switch judge(end) {
            case .ok: return .ok(sink.bytes)
            case .notFound(let why): return .notFound(why)
            case .failed(let why): return .failed(why)
            }
        }
    }

    enum Attempt<T> {
        case ok(T)
        case notFound(String)
        case failed(String)
    }

    /// How a proxy answered: a 404 or 410 is "not here" (the next proxy is asked).
    static func judge(_ end: HTTPTransferEnd) -> Attempt<Void> {
        if let status = end.status, status == 404 || status == 410 { return .notFound("HTTP \(status)") }
        if let error = end.error { return .failed(error.description) }
        if end.status == 200 || end.status == 206 { return .ok(()) }
        return .failed(end.response?.statusLine ?? "no answer")
    }

    /// Tries each proxy in GOPROXY order: the next after a 404/410, or after any failure when a `|`
    /// follows the entry.
    private static func fromProxies<T>(
        _ relative: String, job: Job, _ attempt: (URL) async throws -> Attempt<T>
    ) async throws -> (T, String) {
        var tried: [String] = []
        for entry in job.proxies.entries {
            let proxy = entry.url.absoluteString
            guard let url = URL(string: proxy + "/" + relative) else {
                throw Failure(code: .downloadFailed, reason: "\(proxy)/\(relative): not a URL")
            }
            switch try await attempt(url) {
            case .ok(let value):
                return (value, proxy)
            case .notFound(let why):
                tried.append("\(proxy): \(why)")
            case .failed(let why):
                tried.append("\(proxy): \(why)")
                guard entry.fallsThroughOnError else {
                    throw Failure(code: .downloadFailed, reason: "\(proxy)/\(relative): \(why)")
                }
            }
        }
        let next =
            job.proxies.stopsAt == "direct"
            ? "; GOPROXY's next entry is direct (version control), which Airlock does not do"
            : job.proxies.stopsAt == "off" ? "; GOPROXY's next entry is off" : ""
        throw Failure(code: .notFound, reason: "\(relative) is on no proxy (\(tried.joined(separator: "; ")))\(next)")
    }

    /// The zip into its partial file (resumed when an earlier run left one), checked with the go
    /// command's rules and against go.sum; returns the partial's path, ready to be renamed into the
    /// store, and where it resumed from.
    private static func downloadZip(_ locked: GoLock.Module, expected h1: String, base: String, job: Job) async throws
        -> (String, Int?)
    {
        let module = locked.module
        let key = SHA256Hasher.hash(Array(module.description.utf8)).hex
        let path = job.store.root + "/partial/go-" + key + ".zip.partial"
        let file = try await lockPartial(path)
        var fromZero = false
        while true {
            try Task.checkCancellation()
            let kept = fromZero ? 0 : try FileSystem.size(of: path)
            if fromZero { try file.truncate(to: 0) }
            let (resumedFrom, proxy) = try await fromProxies(base + ".zip", job: job) { url -> Attempt<Int?> in
                if url.isFileURL {
                    guard FileSystem.kind(of: url.path) == .regular else { return .notFound("no such file") }
                    do {
                        try file.truncate(to: 0)
                        try file.seek(to: 0)
                        let bytes = try FileSystem.readFile(url.path, limit: ModuleZip.maximumZipSize)
                        try file.write(bytes)
                    } catch {
                        return .failed("\(error)")
                    }
                    return .ok(nil)
                }
                let sink = AppendingSink(file: file, kept: kept)
                var headers = job.netrc.authorization(for: url).map { [$0] } ?? []
                headers.append(("Accept-Encoding", "identity"))
                let end = await job.session.get(
                    url, headers: headers, resumingAt: kept, sizeLimit: ModuleZip.maximumZipSize, into: sink
                )
                if let error = sink.error { return .failed("\(error)") }
                if end.error?.is(.badRange) == true {
                    try file.truncate(to: 0)
                    return .failed("the server will not resume; run fetch again")
                }
                switch judge(end) {
                case .ok: return .ok(sink.resumed ? kept : nil)
                case .notFound(let why): return .notFound(why)
                case .failed(let why):
                    return .failed(sink.written > 0 ? "\(why) after \(kept + sink.written) bytes; run fetch again to resume" : why)
                }
            }
            try file.sync()
            do {
                let summary = try ModuleZip.check(path, module: module)
                guard summary.hash == h1 else {
                    throw Failure(
                        code: .hashMismatch, reason: "\(module) from \(proxy) hashes to \(summary.hash), but go.sum says \(h1)"
                    )
                }
                return (path, resumedFrom)
            } catch let failure where resumedFrom != nil && !fromZero {
                _ = failure
                fromZero = true
                continue
            } catch {
                try? FileSystem.remove(path)
                throw error
            }
        }
    }

    /// Opens and flocks the partial at `path`, waiting while another process holds it; the lock
    /// counts only if `path` still names the file once it is held (the holder may have renamed it).
    private static func lockPartial(_ path: String) async throws -> FileDescriptor {
        while true {
            let file = try FileDescriptor.open(path, writing: true, create: true)
            while try !file.lock(exclusive: true, wait: false) { try await Task.sleep(for: .milliseconds(100)) }
            if let current = try? FileIdentity(FileDescriptor.open(path)), let mine = try? FileIdentity(file),
                current.device == mine.device, current.inode == mine.inode
            {
                try file.seek(to: FileSystem.size(of: path))
                return file
            }
        }
    }
}

/// A small body, kept in memory up to a limit.
private final class CollectingSink: HTTPBodySink {
    let limit: Int
    var bytes: [UInt8] = []
    init(limit: Int) { self.limit = limit }
    func accept(_ response: HTTPResponse) -> Bool { response.status == 200 }
    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count + chunk.count <= limit else { return false }
        bytes.append(contentsOf: chunk)
        return true
    }
}

/// A zip body appended to its partial file; a 200 to a resumed request starts the file over.
private final class AppendingSink: HTTPBodySink {
    let file: FileDescriptor
    let kept: Int
    var written = 0
    var resumed = false
    var error: (any Error)?
    init(file: FileDescriptor, kept: Int) {
        self.file = file
        self.kept = kept
    }
    func accept(_ response: HTTPResponse) -> Bool {
        do {
            switch response.status {
            case 206:
                resumed = kept > 0
                try file.seek(to: kept)
            case 200:
                try file.truncate(to: 0)
                try file.seek(to: 0)
            default:
                return false
            }
        } catch {
            self.error = error
            return false
        }
        return true
    }
    func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
        do {
            try file.write(chunk)
            written += chunk.count
            return true
        } catch {
            self.error = error
            return false
        }
    }
}
