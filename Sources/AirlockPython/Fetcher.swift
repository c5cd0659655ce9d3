// `airlock fetch`: downloads every file a Python lock names into the store, `jobs` at a time, each
// streamed to disk and hashed as it arrives, and verified against the lock's sha256 (and size, when
// the lock records one) before it becomes a blob. A file that fails names itself and stores nothing;
// the other files carry on. http and https go through one AirlockCore HTTPSession per run (see there
// for connections, proxies from HTTPS_PROXY/HTTP_PROXY/NO_PROXY, redirects and timeouts), which
// verifies TLS against the system trust store plus the CA bundle FetchTrust's plan picked from pip's
// configuration and the environment; `file:` URLs are copied through the store's writer.
//
// Why downloads do not go through BlobWriter: a resumable download must survive the process, and
// `Store.open` empties tmp/ whenever no other writer is alive. So a download lives in
// `<store>/partial/<sha256>.partial`: bytes are appended as they arrive and hashed on the way in; a
// later run re-reads and re-hashes what the partial holds (nothing kept is trusted), asks for the rest
// with `Range: bytes=N-`, and when the whole verifies, fsyncs the partial and renames it into blobs/
// (same file system: one write, no second copy). A blob is still never visible half-written, and it
// holds exactly the bytes that were hashed. BlobWriter's O_DIRECT pipeline pays off for local copies
// at GB/s, not for network-bound downloads.
//
// A partial is flocked while a process works on it, so two fetches of one file wait for each other
// instead of interleaving bytes; the second finds the blob present. A resumed download that does not
// verify is fetched once more from zero (the kept bytes may be what was wrong); a download from zero
// that does not verify fails, and its bytes are removed.

public import AirlockCore
import Foundation

/// What happened to one locked file.
public struct FetchedFile: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Downloaded (or copied from a `file:` URL) and verified in this run.
        case fetched
        /// The store had it already; no request was made.
        case present
        /// Not stored; `reason` says why.
        case failed
    }

    public var filename: String
    public var sha256: String
    public var status: Status
    public var reason: String?
    /// Which `fetch.<reason>` a failure is (`FetchErrorCode`); nil unless it failed.
    public var code: ErrorCode?
    /// Bytes kept from an earlier, interrupted run, when the server honoured `Range`.
    public var resumedFrom: Int?

    public init(
        filename: String,
        sha256: String,
        status: Status,
        reason: String? = nil,
        code: FetchErrorCode? = nil,
        resumedFrom: Int? = nil
    ) {
        self.filename = filename
        self.sha256 = sha256
        self.status = status
        self.reason = reason
        self.code = code?.code
        self.resumedFrom = resumedFrom
    }
}

/// Every locked file's outcome, in lock order (`files`, then `build`).
public struct FetchReport: Sendable {
    public var files: [FetchedFile]

    public var failures: [FetchedFile] { files.filter { $0.status == .failed } }

    /// One line per failed file: `FILENAME: reason`.
    public var failureLines: [String] { failures.map { "\($0.filename): \($0.reason ?? "failed")" } }

    /// The failed check to report when a file failed (exit 1, the first failure's code); nil when
    /// every file is stored.
    public var error: FetchError? {
        guard let first = failures.first else { return nil }
        return FetchError(reasons: failureLines, code: first.code ?? FetchErrorCode.notAttempted.code)
    }

    public func count(_ status: FetchedFile.Status) -> Int { files.count { $0.status == status } }
}

/// Some locked files were not stored (exit 1): one line per file, `FILENAME: reason`, and the first
/// failure's code (each file's is on its `FetchedFile`).
public struct FetchError: AirlockError {
    public let reasons: [String]
    public let code: ErrorCode
    public var status: ExitStatus { .checkFailed }
    public var description: String { reasons.joined(separator: "\n") }
}

public enum Fetcher {
    public static let defaultJobs = 8

    /// Where interrupted downloads wait to be resumed (not tmp/, which `Store.open` empties).
    public static func partialDirectory(of store: Store) -> String { store.root + "/partial" }

    public static func partialPath(of store: Store, for digest: SHA256Digest) -> String {
        partialDirectory(of: store) + "/" + digest.hex + ".partial"
    }

    /// Downloads what the store lacks of `lock` (its files, then its build files), `jobs` at a time,
    /// and records each file in the index (kind wheel or sdist, normalised name, version, file name,
    /// URL) with a GC root `lock:<projectName>`, so `store gc` keeps what a lock needs. Files the
    /// store has are recorded the same way, without a request. Per-file failures are in the report;
    /// an error is thrown only when the store itself cannot be written.
    public static func fetch(
        lock: PythonLock,
        projectName: String,
        store: Store,
        jobs: Int = defaultJobs,
        userAgent: String = "airlock",
        progress: ProgressReporter? = nil,
        environment: [String: String]? = nil,
        plan: FetchPlan? = nil
    ) async throws -> FetchReport {
        try FileSystem.makeDirectory(partialDirectory(of: store))
        removeFinishedPartials(store)
        let root = "lock:" + projectName

        let locked = lock.everyFile
        var (results, present, pending) = sort(locked, store: store)
        try store.index.record(present, roots: present.map { ($0.digest, root) })
        let environment = environment ?? ProcessInfo.processInfo.environment
        let chosen: FetchPlan
        if let plan {
            chosen = plan
        } else {
            let needsHTTPS = pending.contains { $0.url.scheme?.lowercased() == "https" }
            chosen = await Self.plan(needsHTTPS: needsHTTPS, environment: environment)
        }

        let sizes = pending.compactMap(\.file.size)
        let countsBytes = sizes.count == pending.count
        progress?.start(total: countsBytes ? sizes.reduce(0, +) : 0, unit: countsBytes ? "bytes" : "files")
        let configuration = HTTPSession.Configuration(
            connectionsPerHost: max(1, jobs),
            caFile: chosen.caFile,
            proxies: ProxySettings(environment: environment),
            userAgent: userAgent
        )
        try await HTTPSession.with(configuration) { session in
            let job = Job(
                store: store,
                session: session,
                byteProgress: countsBytes ? progress : nil,
                root: root
            )
            // A file's failure is a result, so the other files carry on; a thrown error (the store
            // cannot be written) cancels the rest, as the bounded group in STYLE does.
            try await withThrowingTaskGroup(of: (Int, FetchedFile).self) { group in
                var queue = pending[...]
                func next() {
                    guard let item = queue.popFirst() else { return }
                    group.addTask { (item.index, try await fetchOne(item, job: job)) }
                }
                for _ in 0..<max(1, jobs) { next() }
                while let (index, result) = try await group.next() {
                    results[index] = result
                    if !countsBytes, result.status == .fetched { progress?.note("fetched \(result.filename)") }
                    next()
                }
            }
        }

        let report = FetchReport(
            files: results.enumerated().map { index, result in
                result
                    ?? .init(
                        filename: locked[index].filename,
                        sha256: locked[index].sha256,
                        status: .failed,
                        reason: "not attempted",
                        code: .notAttempted
                    )
            }
        )
        progress?.finish(
            "\(report.count(.fetched)) fetched, \(report.count(.present)) already present, \(report.count(.failed)) failed"
        )
        return report
    }

    /// The locked files the store has (recorded, no request), those to download, and a failed
    /// result for each that cannot be (no sha256, no URL, an unknown scheme), by lock order.
    private static func sort(_ locked: [LockedFile], store: Store) -> (
        results: [FetchedFile?], present: [BlobEntry], pending: [Item]
    ) {
        var results = [FetchedFile?](repeating: nil, count: locked.count)
        var present: [BlobEntry] = []
        var pending: [Item] = []
        for (index, file) in locked.enumerated() {
            guard let digest = SHA256Digest(file.sha256) else {
                results[index] = .init(
                    filename: file.filename,
                    sha256: file.sha256,
                    status: .failed,
                    reason: "not a sha256 digest",
                    code: .badDigest
                )
                continue
            }
            if store.contains(digest) {
                let size = (try? FileSystem.size(of: store.blobPath(digest))) ?? file.size ?? 0
                present.append(entry(for: file, digest: digest, size: size))
                results[index] = .init(filename: file.filename, sha256: digest.hex, status: .present)
                continue
            }
            guard let text = file.url, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
                ["http", "https", "file"].contains(scheme)
            else {
                let (code, reason): (FetchErrorCode, String) =
                    file.url == nil
                    ? (.noURL, "the lock has no URL for it; run `airlock lock` to record one")
                    : (.unsupportedURL, "\(file.url ?? ""): not an http, https or file URL")
                results[index] = .init(
                    filename: file.filename,
                    sha256: digest.hex,
                    status: .failed,
                    reason: reason,
                    code: code
                )
                continue
            }
            pending.append(Item(index: index, file: file, digest: digest, url: url))
        }
        return (results, present, pending)
    }

    /// Which CA bundle HTTPS downloads of the files the store lacks will trust besides the system's
    /// (see FetchTrust), with notes saying so. Print `notes` before fetching and pass the plan to
    /// `fetch`, which otherwise makes its own.
    public static func plan(lock: PythonLock, store: Store, environment: [String: String]? = nil) async -> FetchPlan {
        let needsHTTPS = lock.everyFile.contains { file in
            guard let digest = SHA256Digest(file.sha256), !store.contains(digest) else { return false }
            return file.url.flatMap { URL(string: $0)?.scheme?.lowercased() } == "https"
        }
        return await plan(needsHTTPS: needsHTTPS, environment: environment ?? ProcessInfo.processInfo.environment)
    }

    /// The notes of `plan(lock:store:environment:)`: which CA bundle downloads trust and why. (Kept
    /// under its old name for callers that print them before `fetch`, which then plans again.)
    public static func trustWarnings(
        lock: PythonLock,
        store: Store,
        environment: [String: String]? = nil
    ) async -> [String] {
        await plan(lock: lock, store: store, environment: environment).notes
    }

    private static func plan(needsHTTPS: Bool, environment: [String: String]) async -> FetchPlan {
        await FetchTrust.plan(
            needsHTTPS: needsHTTPS,
            environment: environment,
            systemBundle: FetchTrust.systemBundle
        ) { python in
            try await FetchTrust.pipCert(python: python, environment: environment)
        }
    }

    // MARK: One file

    private struct Item: Sendable {
        var index: Int
        var file: LockedFile
        var digest: SHA256Digest
        var url: URL
    }

    private struct Job: Sendable {
        var store: Store
        var session: HTTPSession
        /// Set when progress counts bytes (every pending file has a size).
        var byteProgress: ProgressReporter?
        var root: String
    }

    private static func entry(for file: LockedFile, digest: SHA256Digest, size: Int) -> BlobEntry {
        BlobEntry(
            digest: digest,
            size: size,
            kind: file.filename.hasSuffix(".whl") ? "wheel" : "sdist",
            name: WheelName.normalize(file.name),
            version: file.version,
            filename: file.filename,
            origin: file.url
        )
    }

    private static func fetchOne(_ item: Item, job: Job) async throws -> FetchedFile {
        if item.url.isFileURL { return try copyLocal(item, job: job) }
        return try await download(item, job: job)
    }

    private static func failed(_ item: Item, _ code: FetchErrorCode, _ reason: String) -> FetchedFile {
        FetchedFile(filename: item.file.filename, sha256: item.digest.hex, status: .failed, reason: reason, code: code)
    }

    /// Renames a verified file into the store and records it.
    private static func commit(_ item: Item, path: String, size: Int, job: Job) throws {
        try job.store.commit([(item.digest, path)])
        let stored = entry(for: item.file, digest: item.digest, size: size)
        try job.store.index.record([stored], roots: [(item.digest, job.root)])
        WheelMetadataIndexer().index([stored], in: job.store)
    }

    /// A `file:` URL (pip's `--find-links` directories): copied through the store's writer, hashing.
    private static func copyLocal(_ item: Item, job: Job) throws -> FetchedFile {
        let put: (digest: SHA256Digest, size: Int, temporaryPath: String)
        do {
            put = try job.store.put(path: item.url.path)
        } catch let error as FileError {
            return failed(item, .unreadableFile, error.description)
        } catch let error as UsageError {
            return failed(item, .unreadableFile, error.description)
        }
        if case let (code, problem)? = mismatch(item, digest: put.digest, size: put.size) {
            try? FileSystem.remove(put.temporaryPath)
            return failed(item, code, problem)
        }
        try commit(item, path: put.temporaryPath, size: put.size, job: job)
        job.byteProgress?.advance(by: put.size)
        return FetchedFile(filename: item.file.filename, sha256: item.digest.hex, status: .fetched)
    }

    private static func mismatch(_ item: Item, digest: SHA256Digest, size: Int) -> (FetchErrorCode, String)? {
        if let expected = item.file.size, size != expected {
            return (.sizeMismatch, "size mismatch: got \(size) bytes, the lock says \(expected)")
        }
        if digest != item.digest {
            return (.hashMismatch, "sha256 mismatch: the bytes hash to \(digest.hex), the lock says \(item.digest.hex)")
        }
        return nil
    }

    private static func download(_ item: Item, job: Job) async throws -> FetchedFile {
        let path = partialPath(of: job.store, for: item.digest)
        let file = try await lockPartial(path)
        // Another process may have stored it while we waited for its lock.
        if job.store.contains(item.digest) {
            try? FileSystem.remove(path)
            try job.store.index.record(
                [
                    entry(
                        for: item.file,
                        digest: item.digest,
                        size: (try? FileSystem.size(of: job.store.blobPath(item.digest))) ?? 0
                    )
                ],
                roots: [(item.digest, job.root)]
            )
            return FetchedFile(filename: item.file.filename, sha256: item.digest.hex, status: .present)
        }
        let sink = PartialDownload(file: file, expectedSize: item.file.size, progress: job.byteProgress)
        let result = try await download(item, into: sink, at: path, job: job)
        // A failure before any byte arrived (an HTTP error, a refused redirect) leaves nothing to resume.
        if result.status == .failed, sink.bytesWritten == 0 { try? FileSystem.remove(path) }
        return result
    }

    private static func download(_ item: Item, into sink: PartialDownload, at path: String, job: Job) async throws
        -> FetchedFile
    {
        let file = sink.file
        let kept = try sink.loadExisting()
        if let size = item.file.size, kept > size {
            try sink.reset()
        } else if let size = item.file.size, kept == size, kept > 0 {
            // An earlier run received every byte and stopped before the rename.
            let (digest, total) = sink.finalize()
            if mismatch(item, digest: digest, size: total) == nil {
                return try completed(item, file: file, path: path, size: total, job: job, resumedFrom: kept)
            }
            try sink.reset()
        }

        // At most two requests: one resuming, then (if that does not verify) one from zero.
        while true {
            try Task.checkCancellation()
            let start = sink.bytesWritten
            sink.prepareRequest()
            let end = await job.session.get(
                item.url,
                headers: [("Accept-Encoding", "identity")],
                resumingAt: start,
                sizeLimit: item.file.size,
                into: sink
            )
            try Task.checkCancellation()
            if let error = sink.writeError { throw error }
            if let error = end.error {
                if error.is(.redirectRefused) { return failed(item, .redirectRefused, error.description) }
                if error.is(.badRange) {
                    // The server will not continue where the partial ends: start again from zero.
                    guard start > 0 else { return failed(item, .badRange, error.description) }
                    try sink.reset()
                    continue
                }
                if error.is(.tooLarge), let expected = item.file.size {
                    try? FileSystem.remove(path)
                    return failed(item, .sizeMismatch, Self.tooLarge(end.response, expected: expected))
                }
            }
            let resumedFrom: Int?
            switch sink.verdict {
            case .failed(let code, let why, let discard):
                if discard { try? FileSystem.remove(path) }
                return failed(item, code, why)
            case .pending:
                return failed(
                    item,
                    .noResponse,
                    "no response from \(item.url.absoluteString): \(end.error?.description ?? "no status")"
                )
            case .accepted(let from):
                resumedFrom = from
            }
            if let error = end.error {
                let of = item.file.size.map { " of \($0)" } ?? ""
                return failed(
                    item,
                    .interrupted,
                    "download from \(item.url.absoluteString) interrupted after \(sink.bytesWritten)\(of) bytes: \(error); run fetch again to resume"
                )
            }
            let (digest, total) = sink.finalize()
            if case let (code, problem)? = mismatch(item, digest: digest, size: total) {
                if let from = resumedFrom, from > 0 {
                    // The bytes kept from before may be the wrong ones: start over once.
                    try sink.reset()
                    continue
                }
                try? FileSystem.remove(path)
                return failed(item, code, problem + " (from \(item.url.absoluteString))")
            }
            return try completed(item, file: file, path: path, size: total, job: job, resumedFrom: resumedFrom)
        }
    }

    /// The reason for a body larger than the lock's size: what the server said it has, if it said.
    private static func tooLarge(_ response: HTTPResponse?, expected: Int) -> String {
        let declared = response?.status == 206 ? response?.contentRange?.total : response?.contentLength
        if let declared, declared > expected {
            return "size mismatch: the server has \(declared) bytes, the lock says \(expected)"
        }
        return "size mismatch: the server sent more than the lock's \(expected) bytes"
    }

    /// A verified partial: made durable, renamed into the store, recorded.
    private static func completed(
        _ item: Item,
        file: FileDescriptor,
        path: String,
        size: Int,
        job: Job,
        resumedFrom: Int?
    ) throws -> FetchedFile {
        try file.sync()
        try commit(item, path: path, size: size, job: job)
        return FetchedFile(
            filename: item.file.filename,
            sha256: item.digest.hex,
            status: .fetched,
            resumedFrom: resumedFrom
        )
    }

    /// Opens and flocks the partial at `path`, waiting while another process holds it. The holder may
    /// rename or remove the file before letting go, so the lock counts only if `path` still names it.
    private static func lockPartial(_ path: String) async throws -> FileDescriptor {
        while true {
            let file = try FileDescriptor.open(path, writing: true, create: true)
            while try !file.lock(exclusive: true, wait: false) {
                try await Task.sleep(for: .milliseconds(100))
            }
            if let current = try? FileIdentity(FileDescriptor.open(path)), let mine = try? FileIdentity(file),
                current.device == mine.device, current.inode == mine.inode
            {
                return file
            }
        }
    }

    /// Partials whose blob the store has by now (another process finished them) are only clutter.
    private static func removeFinishedPartials(_ store: Store) {
        let directory = partialDirectory(of: store)
        guard let names = try? FileSystem.list(directory) else { return }
        for name in names where name.hasSuffix(".partial") {
            guard let digest = SHA256Digest(name.dropLast(".partial".count)), store.contains(digest) else { continue }
            let path = directory + "/" + name
            if let file = try? FileDescriptor.open(path, writing: true),
                (try? file.lock(exclusive: true, wait: false)) == true
            {
                try? FileSystem.remove(path)
            }
        }
    }
}

/// The body of one download, appended to its partial file and hashed as it arrives. It belongs to
/// the one fetching task: the session calls `accept`/`receive` during a transfer, in that task, and
/// the task calls the rest between transfers, so nothing here is shared and nothing is locked.
final class PartialDownload: HTTPBodySink {
    enum Verdict: Sendable, Equatable {
        /// No response yet.
        case pending
        /// The body is being appended; `resumedFrom` is set when the server honoured `Range`.
        case accepted(resumedFrom: Int?)
        /// Not storable; `discard` when the bytes kept are known to be wrong.
        case failed(FetchErrorCode, String, discard: Bool)
    }

    let file: FileDescriptor
    let expectedSize: Int?
    let progress: ProgressReporter?
    private var hasher = SHA256Hasher()
    private(set) var bytesWritten = 0
    /// Bytes reported to `progress` so far (taken back when the partial is emptied).
    private var counted = 0
    private(set) var verdict = Verdict.pending
    private(set) var writeError: (any Error)? = nil

    init(file: FileDescriptor, expectedSize: Int?, progress: ProgressReporter?) {
        self.file = file
        self.expectedSize = expectedSize
        self.progress = progress
    }

    /// Re-hashes what an earlier run left in the partial; returns its length.
    func loadExisting() throws -> Int {
        try file.seek(to: 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobWriter.bufferSize, alignment: 16)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let n = try file.read(into: buffer)
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            total += n
        }
        bytesWritten = total
        count(total)
        return total
    }

    /// Empties the partial, so the next request starts from zero.
    func reset() throws {
        try file.truncate(to: 0)
        try file.seek(to: 0)
        hasher = SHA256Hasher()
        bytesWritten = 0
        count(-counted)
    }

    func prepareRequest() { verdict = .pending }

    /// The digest and length of all the partial holds. Hashing ends here: `reset` before another request.
    func finalize() -> (SHA256Digest, Int) { (hasher.finalize(), bytesWritten) }

    /// The session has checked a 206's Content-Range against the partial's length already.
    func accept(_ response: HTTPResponse) -> Bool {
        switch response.status {
        case 206:
            if let total = response.contentRange?.total, let expected = expectedSize, total != expected {
                verdict = .failed(
                    .sizeMismatch,
                    "size mismatch: the server has \(total) bytes, the lock says \(expected)",
                    discard: true
                )
                return false
            }
            verdict = .accepted(resumedFrom: bytesWritten > 0 ? bytesWritten : nil)
        case 200:
            // A server that ignores Range sends the whole file: start the partial over.
            if bytesWritten > 0 {
                do { try reset() } catch {
                    writeError = error
                    return false
                }
            }
            verdict = .accepted(resumedFrom: nil)
        default:
            verdict = .failed(.httpStatus, response.statusLine, discard: false)
            return false
        }
        return true
    }

    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard case .accepted = verdict else { return false }
        if let expected = expectedSize, bytesWritten + bytes.count > expected {
            verdict = .failed(
                .sizeMismatch,
                "size mismatch: the server sent more than the lock's \(expected) bytes",
                discard: true
            )
            return false
        }
        do {
            try file.write(bytes)
        } catch {
            writeError = error
            return false
        }
        hasher.update(bytes)
        bytesWritten += bytes.count
        count(bytes.count)
        return true
    }

    private func count(_ amount: Int) {
        guard let progress, amount != 0 else { return }
        counted += amount
        progress.advance(by: amount)
    }
}
