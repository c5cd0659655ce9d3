// The content-addressed store: `blobs/sha256/<hex>` files (the OCI image-layout scheme, so wheels,
// modules and image layers share one store), written through `tmp/` on the same file system and
// renamed into place, plus the SQLite index that says what each blob is.
//
// Concurrency: every process that writes holds a shared flock on `lock`; `store gc` takes it
// exclusively, and a writer that finds it can take it exclusively (no other writer alive) first
// removes what crashed writers left in `tmp/`. Blobs are immutable and renamed whole, so readers
// need no lock at all. A command that finds the lock taken retries it (10 ms, doubling to 250 ms)
// for at most `Store.lockWait` seconds (AIRLOCK_LOCK_TIMEOUT, default 600), then stops with
// `core.store-locked`; only that wait blocks its thread, and only while another process holds the
// lock against it (gc against writers, writers against gc).

import Foundation

public final class Store: @unchecked Sendable {
    // @unchecked: `lock` is set once at open and only released in deinit.
    public let root: String
    public let index: StoreIndex
    private let lock: FileDescriptor?

    public var blobDirectory: String { root + "/blobs/sha256" }
    public var temporaryDirectory: String { root + "/tmp" }

    /// `--store`, else `$AIRLOCK_STORE`, else `./mirror`.
    public static func resolveRoot(_ explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let env = Environment.get("AIRLOCK_STORE"), !env.isEmpty { return env }
        return "mirror"
    }

    private init(root: String, index: StoreIndex, lock: FileDescriptor?) {
        self.root = root
        self.index = index
        self.lock = lock
    }

    /// Opens the store for writing, creating it if needed, and clears what crashed writers left.
    public static func open(at root: String) throws -> Store {
        if let kind = FileSystem.kind(of: root), kind != .directory {
            throw UsageError(CoreErrorCode.notAStore, "\(root): not a directory, so it cannot be a store")
        }
        for dir in [root, root + "/blobs/sha256", root + "/tmp"] { try FileSystem.makeDirectory(dir) }
        let lock = try FileDescriptor.open(root + "/lock", writing: true, create: true)
        let index: StoreIndex
        if try lock.lock(exclusive: true, wait: false) {
            // No other writer is alive: anything in tmp/ is a leftover of a crash, and the index can
            // be created or migrated without another process racing to do the same.
            for name in try FileSystem.list(root + "/tmp") { try FileSystem.remove(root + "/tmp/" + name) }
            index = try StoreIndex(path: root + "/index.sqlite")
            try take(lock, exclusive: false, root: root, for: "write to it")
        } else {
            // Another writer holds the store open, so it has created and migrated the index.
            try take(lock, exclusive: false, root: root, for: "write to it")
            index = try StoreIndex(path: root + "/index.sqlite")
        }
        return Store(root: root, index: index, lock: lock)
    }

    /// Seconds a command waits for another process's lock on the store: AIRLOCK_LOCK_TIMEOUT, else 600.
    public static var lockWait: Double {
        if let text = Environment.get("AIRLOCK_LOCK_TIMEOUT"), let seconds = Double(text), seconds >= 0 { return seconds }
        return 600
    }

    /// Takes the store's flock, retrying while another process holds it, for at most `lockWait`.
    private static func take(_ lock: FileDescriptor, exclusive: Bool, root: String, for purpose: String) throws {
        if try lock.lock(exclusive: exclusive, wait: false) { return }
        let wait = lockWait
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int(wait * 1000))
        var delay: UInt32 = 10_000
        while true {
            usleep(delay)  // a signal ends the process from its handler (Interrupts), not here
            if try lock.lock(exclusive: exclusive, wait: false) { return }
            guard clock.now < deadline else {
                let holder = exclusive ? "other airlock processes are writing to it" : "another airlock process (store gc, or a Go toolchain or module update) holds it alone"
                throw UsageError(
                    CoreErrorCode.storeLocked,
                    "\(root): store busy: \(holder); waited \(Int(wait.rounded())) s to \(purpose). "
                        + "Run the command again once they finish (AIRLOCK_LOCK_TIMEOUT sets the wait in seconds)"
                )
            }
            delay = min(delay * 2, 250_000)
        }
    }

    /// Opens an existing store for reading only; it must already exist.
    public static func openExisting(at root: String) throws -> Store {
        guard FileSystem.kind(of: root + "/index.sqlite") == .regular else {
            throw UsageError(
                CoreErrorCode.notAStore,
                "\(root): no Airlock store here (no index.sqlite); pass --store or set AIRLOCK_STORE"
            )
        }
        return Store(root: root, index: try StoreIndex(path: root + "/index.sqlite", readOnly: true), lock: nil)
    }

    /// Waits until no other process writes to the store and keeps it that way until `body` returns.
    public func withExclusiveAccess<T>(_ body: () throws -> T) throws -> T {
        guard let lock else { throw UsageError(CoreErrorCode.readOnlyStore, "\(root): store opened read-only") }
        // A failed conversion drops the shared lock (flock(2)); it is taken back however this ends.
        defer { _ = try? Self.take(lock, exclusive: false, root: root, for: "write to it") }
        try Self.take(lock, exclusive: true, root: root, for: "have it alone")
        return try body()
    }

    public func blobPath(_ digest: SHA256Digest) -> String { blobDirectory + "/" + digest.hex }

    public func contains(_ digest: SHA256Digest) -> Bool { FileSystem.kind(of: blobPath(digest)) == .regular }

    /// A writer for a new blob in `tmp/`; finish it, then `commit` it.
    public func makeWriter(syncOnFinish: Bool = true) throws -> BlobWriter {
        try BlobWriter(tmpDirectory: temporaryDirectory, syncOnFinish: syncOnFinish)
    }

    /// Renames finished blobs into place (dropping ones the store already has) and makes the renames
    /// durable. The data must already be on disk (`finish()` with sync, or `syncData()`).
    public func commit(_ blobs: [(digest: SHA256Digest, temporaryPath: String)]) throws {
        for blob in blobs {
            if contains(blob.digest) {
                try FileSystem.remove(blob.temporaryPath)
            } else {
                try FileSystem.rename(blob.temporaryPath, to: blobPath(blob.digest))
            }
            Interrupts.forget(file: blob.temporaryPath)
        }
        if !blobs.isEmpty { try FileSystem.syncDirectory(blobDirectory) }
    }

    /// Makes every blob written without `syncOnFinish` durable, in one call.
    public func syncData() throws { try FileSystem.syncFileSystem(containing: temporaryDirectory) }

    /// Streams a file (or standard input, for "-") into the store.
    public func put(path: String, syncOnFinish: Bool = true) throws -> (digest: SHA256Digest, size: Int, temporaryPath: String) {
        let source = try path == "-" ? FileDescriptor.standardInput : FileDescriptor.open(path)
        if path != "-", FileSystem.kind(of: path) == .directory {
            throw UsageError(CoreErrorCode.notAFile, "\(path): is a directory; name the files to put")
        }
        let writer = try makeWriter(syncOnFinish: syncOnFinish)
        do {
            while try writer.fill({ try source.read(into: $0) }) > 0 {}
            let digest = try writer.finish()
            return (digest, writer.size, writer.temporaryPath)
        } catch {
            writer.discard()
            throw error
        }
    }

    /// Re-hashes every blob, `jobs` at a time; returns one line per problem (empty when sound).
    public func verify(jobs: Int, progress: ProgressReporter? = nil) async throws -> [String] {
        let names = try FileSystem.list(blobDirectory).sorted()
        let indexed = try index.blobSizes()
        progress?.start(total: names.count, unit: "blobs")
        var problems: [String] = []
        try await withThrowingTaskGroup(of: String?.self) { group in
            var pending = names[...]
            func next() {
                guard let name = pending.popFirst() else { return }
                let path = blobDirectory + "/" + name
                group.addTask {
                    guard let expected = SHA256Digest(name) else { return "\(path): not named by a sha256 digest" }
                    let (actual, size) = try Self.hashFile(path)
                    if actual != expected { return "\(path): content hashes to \(actual.hex)" }
                    if let recorded = indexed[expected], recorded != size {
                        return "\(path): \(size) bytes, the index says \(recorded)"
                    }
                    return nil
                }
            }
            for _ in 0..<max(1, jobs) { next() }
            while let result = try await group.next() {
                progress?.advance(by: 1)
                if let result { problems.append(result) }
                next()
            }
        }
        progress?.finish()
        let onDisk = Set(names.compactMap { SHA256Digest($0) })
        for digest in indexed.keys where !onDisk.contains(digest) {
            problems.append("\(blobPath(digest)): missing, but the index lists it")
        }
        return problems.sorted()
    }

    /// Blobs no root, artifact built here or imported manifest refers to; removed unless `dryRun`.
    /// With `keepLast`, only the newest N imports of each channel keep what their manifests list
    /// (the older ones keep their manifest, signatures and SHA256SUMS, so `history` and audits of
    /// the store still read them).
    public func collectGarbage(dryRun: Bool, keepLast: Int? = nil) throws -> [(digest: SHA256Digest, size: Int)] {
        try withExclusiveAccess {
            let live = try index.liveDigests(keptManifests: try keepLast.map { try keptManifests(newest: $0) })
            var garbage: [(SHA256Digest, Int)] = []
            for name in try FileSystem.list(blobDirectory).sorted() {
                guard let digest = SHA256Digest(name), !live.contains(digest) else { continue }
                garbage.append((digest, (try? FileSystem.size(of: blobPath(digest))) ?? 0))
            }
            if !dryRun {
                try index.forget(garbage.map(\.0))
                for (digest, _) in garbage { try FileSystem.remove(blobPath(digest)) }
                if !garbage.isEmpty { try FileSystem.syncDirectory(blobDirectory) }
            }
            return garbage
        }
    }

    /// The manifests of the newest `count` imports on each channel (by import order).
    func keptManifests(newest count: Int) throws -> Set<String> {
        var kept: Set<String> = []
        for (_, records) in Dictionary(grouping: try index.imports(), by: \.channel) {
            var bundles: [String] = []
            for record in records.reversed() where !bundles.contains(record.manifestSHA256) {
                guard bundles.count < count else { break }
                bundles.append(record.manifestSHA256)
            }
            kept.formUnion(bundles)
        }
        return kept
    }

    /// SHA-256 and size of a file, streaming with a 1 MiB read (see BlobWriter for the measurement).
    public static func hashFile(_ path: String) throws -> (SHA256Digest, Int) {
        try hash(FileDescriptor.open(path))
    }

    /// SHA-256 and size of what remains to be read from `fd`.
    public static func hash(_ fd: FileDescriptor) throws -> (SHA256Digest, Int) {
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobWriter.bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        var total = 0
        while true {
            let n = try fd.read(into: buffer)
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            total += n
        }
        return (hasher.finalize(), total)
    }

    /// Checks that the file system holding the store has `needed` bytes free (plus 64 MiB slack).
    public func requireFreeSpace(_ needed: Int, for what: String) throws {
        try Self.requireFreeSpace(needed, at: root, for: what)
    }

    public static func requireFreeSpace(_ needed: Int, at path: String, for what: String) throws {
        let slack = 64 << 20
        let free = try FileSystem.freeSpace(at: path)
        if free < needed + slack {
            throw UsageError(
                CoreErrorCode.noSpace,
                "\(path): not enough free space for \(what): needs \(ByteCount.format(needed + slack)) (\(needed) bytes + 64 MiB slack), \(ByteCount.format(free)) free"
            )
        }
    }
}
