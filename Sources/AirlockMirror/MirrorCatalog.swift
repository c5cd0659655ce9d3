// What the mirror serves, read from the store index in one pass: every entry an imported bundle
// vouched for whose blob is in the store, grouped the way the URL tree groups it (Python projects,
// Go module versions, image tags, artifacts by name), and the import history. `serve` keeps one
// snapshot and reads a new one only when SQLite's `data_version` says another connection
// committed (an import), so a page costs a dictionary lookup, not a query; `export-static` writes
// the same snapshot as files. The pages themselves are rendered by MirrorPages from it.

import AirlockCore
import AirlockGo
import AirlockPython
import Foundation
import NIOCore
import Synchronization

/// One file of a project, as the index lists it.
struct IndexedFile: Sendable, Equatable {
    var project: String
    var version: String
    var filename: String
    var digest: SHA256Digest
    var size: Int
    var isWheel: Bool
    /// PEP 592: the lock took it although the index had yanked it, for this reason ("" for none).
    var yanked: String? = nil
}

/// The parts of one Go module version that were imported.
struct GoModuleVersion: Sendable, Equatable {
    var mod: SHA256Digest
    var info: SHA256Digest?
    /// Only a zip whose recorded `h1:` provenance names this very module.
    var zip: SHA256Digest?
}

/// One tag (or digest-only manifest) of an imported image.
struct ImageTag: Sendable, Equatable {
    var tag: String
    var manifest: SHA256Digest
}

struct MirrorCatalog: Sendable {
    /// Normalized project name -> its files, by file name.
    var projects: [String: [IndexedFile]] = [:]
    /// Module path -> version -> its parts.
    var modules: [String: [String: GoModuleVersion]] = [:]
    /// Image name -> its tags, by tag.
    var images: [String: [ImageTag]] = [:]
    /// Image name -> the configs and layers of its images.
    var imageBlobs: [String: Set<SHA256Digest>] = [:]
    /// Artifact name -> the newest imported one.
    var artifacts: [String: BlobEntry] = [:]
    /// Every imported digest in the store -> what it is known as first.
    var blobs: [SHA256Digest: BlobEntry] = [:]
    var imports: [BundleRecord] = []
    /// Trusted key id -> the name it was trusted under.
    var signerNames: [String: String] = [:]
    /// The index's `data_version` this was read at.
    var version: Int = 0

    static func read(from store: Store) throws -> MirrorCatalog {
        var catalog = MirrorCatalog()
        catalog.version = try store.index.dataVersion()
        catalog.imports = try store.index.imports()
        for key in try store.index.trustedKeys() { catalog.signerNames[key.keyID] = key.name }
        var present: [SHA256Digest: Bool] = [:]
        func inStore(_ digest: SHA256Digest) -> Bool {
            if let known = present[digest] { return known }
            let found = store.contains(digest)
            present[digest] = found
            return found
        }
        var goMods: [String: [String: SHA256Digest]] = [:]
        var goInfos: [String: [String: SHA256Digest]] = [:]
        var goZips: [(BlobEntry)] = []
        var seenFiles: Set<SHA256Digest> = []
        let yanked = try store.index.yankedFiles()
        for entry in try store.index.importedEntries() where inStore(entry.digest) {
            if catalog.blobs[entry.digest] == nil { catalog.blobs[entry.digest] = entry }
            switch entry.kind {
            case "artifact":
                // Newest first within a name: the first one seen is the one `/artifacts/NAME` serves.
                if catalog.artifacts[entry.name] == nil { catalog.artifacts[entry.name] = entry }
                if let filename = entry.filename, let (project, version, isWheel) = Self.distribution(filename),
                    seenFiles.insert(entry.digest).inserted
                {
                    catalog.projects[project, default: []].append(
                        IndexedFile(
                            project: project, version: version, filename: filename, digest: entry.digest, size: entry.size,
                            isWheel: isWheel, yanked: yanked[entry.digest]
                        )
                    )
                }
            case GoModuleStore.goModKind:
                if let version = entry.version { goMods[entry.name, default: [:]][version] = entry.digest }
            case GoModuleStore.infoKind:
                if let version = entry.version, goInfos[entry.name]?[version] == nil {
                    goInfos[entry.name, default: [:]][version] = entry.digest
                }
            case GoModuleStore.zipKind:
                goZips.append(entry)
            case ImageCatalog.manifestKind:
                let tag = entry.version ?? entry.digest.description
                if catalog.images[entry.name]?.contains(where: { $0.tag == tag }) != true {
                    catalog.images[entry.name, default: []].append(ImageTag(tag: tag, manifest: entry.digest))
                }
            case ImageCatalog.configKind, ImageCatalog.layerKind:
                catalog.imageBlobs[entry.name, default: []].insert(entry.digest)
            default:
                break
            }
        }
        for (path, versions) in goMods {
            for (version, mod) in versions {
                catalog.modules[path, default: [:]][version] = GoModuleVersion(mod: mod, info: goInfos[path]?[version])
            }
        }
        for entry in goZips {
            guard let version = entry.version, catalog.modules[entry.name]?[version] != nil,
                catalog.modules[entry.name]?[version]?.zip == nil,
                let document = try store.index.provenance(of: entry.digest),
                let record = try? JSONValue(parsing: Array(document.utf8)),
                record["module"]?.stringValue == "\(entry.name)@\(version)"
            else { continue }
            catalog.modules[entry.name]?[version]?.zip = entry.digest
        }
        catalog.projects = catalog.projects.mapValues { $0.sorted { $0.filename < $1.filename } }
        catalog.images = catalog.images.mapValues { $0.sorted { $0.tag < $1.tag } }
        return catalog
    }

    /// The normalized project, version and kind of a wheel or sdist file name; nil for others.
    static func distribution(_ filename: String) -> (String, String, Bool)? {
        if filename.hasSuffix(".whl") {
            guard let name = try? WheelName(filename) else { return nil }
            return (WheelName.normalize(name.distribution), name.version, true)
        }
        for suffix in [".tar.gz", ".zip"] where filename.hasSuffix(suffix) {
            let stem = filename.dropLast(suffix.count)
            guard let dash = stem.lastIndex(of: "-"), dash > stem.startIndex else { return nil }
            let version = stem[stem.index(after: dash)...]
            guard version.first?.isNumber == true else { return nil }
            return (WheelName.normalize(String(stem[..<dash])), String(version), false)
        }
        return nil
    }

    /// The versions of a module, in semantic-version order.
    func goVersions(_ path: String) -> [String] {
        (modules[path]?.keys).map { $0.sorted { GoVersionOrder.precedes($0, $1) } } ?? []
    }
}

/// The one snapshot a `serve` process answers from, and the pages rendered from it. Whether the
/// snapshot is still current is known without a query: an inotify watch on the store's root (where
/// another process's commit writes the index's -wal or database file) says whether anything was
/// written there since the snapshot was checked, one non-blocking read per request. Without
/// inotify the index's `data_version` is asked at most every 5 ms; with it, `serve` still asks it
/// once a second in the background (MirrorServer), so a store on a network file system that
/// another machine writes is seen within about a second.
final class CatalogCache: Sendable {
    private struct State {
        var catalog: MirrorCatalog
        /// ByteBuffers share their storage, so answering with a kept page copies nothing.
        var pages: [String: ByteBuffer] = [:]
        var checked: ContinuousClock.Instant
        /// `changes` when the snapshot was last known current.
        var currentAt: Int
    }
    private let state = Mutex<State?>(nil)
    /// Bumped whenever the watch saw a write.
    private let changes = Mutex<Int>(0)
    private let store: Store
    private let watch: DirectoryWatch?
    /// Without inotify, the index is asked at most this often.
    static let unwatchedRecheck = Duration.milliseconds(5)

    init(store: Store, watch: Bool = true) {
        self.store = store
        self.watch = watch ? DirectoryWatch(store.root) : nil
    }

    /// The changes seen so far (the watch drained first).
    private func seen() -> Int {
        guard let watch else { return 0 }
        return changes.withLock { count in
            if watch.changed() { count += 1 }
            return count
        }
    }

    /// The kept snapshot when it is known current (no write in the store's root since it was
    /// checked; without a watch, checked less than 5 ms ago); nil otherwise. Never touches SQLite
    /// and never blocks, so it may run on an event loop.
    func recent() -> MirrorCatalog? {
        let now = ContinuousClock.now
        let count = seen()
        let watched = watch != nil
        return state.withLock {
            $0.flatMap { $0.currentAt == count && (watched || now - $0.checked < Self.unwatchedRecheck) ? $0.catalog : nil }
        }
    }

    /// The current snapshot: the kept one when the index has not changed since it was read.
    /// Blocking (one pragma, and a full read after an import): call it off the event loops and
    /// the cooperative pool.
    func current() throws -> MirrorCatalog {
        let now = ContinuousClock.now
        // Drained before the index is asked: a commit after this point bumps `changes` again.
        let count = seen()
        let version = try store.index.dataVersion()
        let kept = state.withLock { current -> MirrorCatalog? in
            guard current?.catalog.version == version else { return nil }
            current?.checked = now
            current?.currentAt = count
            return current?.catalog
        }
        if let kept { return kept }
        let fresh = try MirrorCatalog.read(from: store)
        state.withLock { current in
            if current == nil || current!.catalog.version != fresh.version {
                current = State(catalog: fresh, checked: now, currentAt: count)
            }
        }
        return fresh
    }

    /// The page when it was already rendered for this snapshot.
    func kept(_ key: String, of catalog: MirrorCatalog) -> ByteBuffer? {
        state.withLock { $0?.catalog.version == catalog.version ? $0?.pages[key] : nil }
    }

    /// A page of the snapshot `catalog`, rendered once per snapshot.
    func page(_ key: String, of catalog: MirrorCatalog, render: () throws -> [UInt8]) rethrows -> ByteBuffer {
        if let kept = kept(key, of: catalog) { return kept }
        let buffer = ByteBuffer(bytes: try render())
        state.withLock { current in
            if current?.catalog.version == catalog.version { current?.pages[key] = buffer }
        }
        return buffer
    }
}

/// What a wheel's METADATA says, read once per digest.
struct WheelMetadata: Sendable {
    var bytes: [UInt8]
    var sha256: SHA256Digest
    var requiresPython: String?
}

/// METADATA by wheel digest, kept for the life of the process (a stored blob never changes): as
/// the index recorded it at fetch or import, else (a store imported before that was recorded)
/// read from the wheel.
final class MetadataCache: Sendable {
    private let cache = Mutex<[SHA256Digest: WheelMetadata?]>([:])

    /// What is kept for this digest: nil when it was never read, `.some(nil)` for a wheel without METADATA.
    func known(_ digest: SHA256Digest) -> WheelMetadata?? {
        cache.withLock { $0[digest] }
    }

    func metadata(of file: IndexedFile, in store: Store) -> WheelMetadata? {
        if let known = cache.withLock({ $0[file.digest] }) { return known }
        let record =
            (try? store.index.wheelMetadata(of: file.digest))
            ?? WheelMetadataIndexer.read(wheel: store.blobPath(file.digest), filename: file.filename)
        let read = record.map {
            WheelMetadata(bytes: $0.metadata, sha256: SHA256Hasher.hash($0.metadata), requiresPython: $0.requiresPython)
        }
        cache.withLock { $0[file.digest] = read }
        return read
    }
}

/// Semantic-version order of Go module versions, and the version `@latest` names.
enum GoVersionOrder {
    /// The highest release among `versions`, else the highest pre-release, as the go command's
    /// @latest prefers.
    static func latest(_ versions: some Collection<String>) -> String? {
        let sorted = versions.sorted { precedes($0, $1) }
        return sorted.last { !$0.contains("-") } ?? sorted.last
    }

    /// `v1.2.3` < `v1.10.0`; a pre-release before its release.
    static func precedes(_ a: String, _ b: String) -> Bool {
        func parts(_ v: String) -> ([Int], String?) {
            let core = v.dropFirst().split(separator: "+", maxSplits: 1).first ?? ""
            let split = core.split(separator: "-", maxSplits: 1)
            let numbers = (split.first ?? "").split(separator: ".").map { Int($0) ?? 0 }
            return (numbers, split.count > 1 ? String(split[1]) : nil)
        }
        let (x, xp) = parts(a)
        let (y, yp) = parts(b)
        if x != y { return x.lexicographicallyPrecedes(y) }
        switch (xp, yp) {
        case (nil, nil): return a < b
        case (nil, _?): return false
        case (_?, nil): return true
        case (let p?, let q?): return p < q
        }
    }
}
