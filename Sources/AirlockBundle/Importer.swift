// Import: a strict scan whose sink stages every new blob in the store's tmp/ (hashed while written)
// and commits only when the whole bundle has passed: one syncfs for the staged data, renames into
// blobs/, then one index transaction that re-checks rollback and records the history. Until that
// point nothing in blobs/ or the index has changed, so any rejection leaves the store as it was.
// A delta is checked against the store before any byte of it is read: every blob it relies on must
// be there and still hash to its digest (all missing or damaged ones are named at once); after the
// scan, each recipe is followed from the store and the staged blobs into a staged blob of its own,
// which must hash to the digest the signed manifest names, before anything is committed.

public import AirlockCore
import Foundation

public struct ImportOptions: Sendable {
    public var allowRollback: Bool
    public var allowExpired: Bool
    public var now: Int64
    /// Run over the imported entries once the import has committed.
    public var indexers: [any BlobIndexer]
    /// The keys to check the bundle against instead of the store's trust policy (a scratch store
    /// a rebuild check imports into has none of its own).
    public var policy: TrustPolicy?

    public init(
        allowRollback: Bool = false, allowExpired: Bool = false, now: Int64 = Timestamp.nowEpochSeconds(),
        indexers: [any BlobIndexer] = [], policy: TrustPolicy? = nil
    ) {
        self.policy = policy
        self.allowRollback = allowRollback
        self.allowExpired = allowExpired
        self.now = now
        self.indexers = indexers
    }
}

public struct ImportResult: Sendable, Codable {
    public var report: BundleReport
    public var record: BundleRecord
    public var newBlobs: Int
    public var newBytes: Int
}

public enum Importer {
    public static func importBundle(_ path: String, into store: Store, options: ImportOptions, progress: ProgressReporter? = nil) throws -> ImportResult {
        let paths = try Volumes.resolve(path)
        let policy = try options.policy ?? TrustPolicy.load(from: store.index)
        let sink = StagingSink(store: store, allowRollback: options.allowRollback)
        let scanner = BundleScanner(
            paths: paths,
            options: ScanOptions(policy: policy, now: options.now, allowExpired: options.allowExpired, strict: true),
            sink: sink,
            progress: progress
        )
        let report: BundleReport
        do {
            report = try scanner.scan()
        } catch {
            sink.discard()
            throw error
        }
        guard report.isValid, let manifest = sink.manifest else {
            sink.discard()
            let code = report.problemCodes.first ?? CoreErrorCode.check.code
            throw CheckFailure(code: code, report.problems.map { "\(path): \($0)" })
        }
        do {
            try sink.reassemble(manifest: manifest, bundle: path)
            let record = try sink.commit(manifest: manifest, signers: report.signers)
            for indexer in options.indexers { indexer.index(sink.committedEntries, in: store) }
            return ImportResult(report: report, record: record, newBlobs: sink.newBlobs, newBytes: sink.newBytes)
        } catch {
            sink.discard()
            throw error
        }
    }
}

private final class StagingSink: BundleSink {
    let store: Store
    let allowRollback: Bool
    var manifest: Manifest? = nil
    // The manifest and SHA256SUMS are staged as soon as they are accepted, and only their digest
    // and size kept: for a bundle of 100,000 files they are 43 MB that need not stay in memory.
    var manifestStaged: (digest: SHA256Digest, size: Int)? = nil
    var signatures: [String: [UInt8]] = [:]
    var sumsStaged: (digest: SHA256Digest, size: Int)? = nil
    var staged: [(digest: SHA256Digest, temporaryPath: String)] = []
    var newBlobs = 0
    var newBytes = 0
    var committedEntries: [BlobEntry] = []

    init(store: Store, allowRollback: Bool) {
        self.store = store
        self.allowRollback = allowRollback
    }

    func accept(manifest: Manifest, manifestBytes: [UInt8], signatures: [String: [UInt8]], signers: [String]) throws {
        self.manifest = manifest
        self.signatures = signatures
        if !allowRollback, let last = try store.index.lastImportedSequence(channel: manifest.channel), manifest.sequence <= last {
            throw CheckFailure(
                BundleErrorCode.rollback,
                "rollback refused: sequence \(manifest.sequence) on channel '\(manifest.channel)' is not above \(last), the last imported (pass --allow-rollback to accept it)"
            )
        }
        try checkBase(manifest)
        let needed = manifest.blobs.filter { $0.delivery != .store && !store.contains($0.sha256) }.reduce(0) { $0 + $1.size }
        try store.requireFreeSpace(needed + manifestBytes.count, for: "importing bundle \(manifest.bundle)")
        manifestStaged = (try stage(manifestBytes), manifestBytes.count)
    }

    /// A delta relies on blobs it does not carry: each must be in the store and still hash to its
    /// digest and size. Every one that is not is named, and nothing is imported.
    private func checkBase(_ manifest: Manifest) throws {
        let relied = manifest.blobs.filter { $0.delivery == .store }
        guard !relied.isEmpty else { return }
        let names = Dictionary(grouping: manifest.artifacts, by: \.sha256).mapValues { $0.map(\.name).sorted() }
        var missing: [String] = []
        for blob in relied {
            let what = "\(blob.sha256.hex) (\(ByteCount.format(blob.size)), \(blob.kind)\(names[blob.sha256].map { ", " + $0.joined(separator: ", ") } ?? ""))"
            guard store.contains(blob.sha256) else {
                missing.append("missing from the store: \(what)")
                continue
            }
            let (digest, size) = try Store.hashFile(store.blobPath(blob.sha256))
            if digest != blob.sha256 || size != blob.size {
                missing.append("damaged in the store (it hashes to \(digest.hex), \(size) bytes): \(what)")
            }
        }
        guard missing.isEmpty else {
            throw CheckFailure(
                BundleErrorCode.missingBase,
                ["delta bundle \(manifest.bundle) relies on \(relied.count) blob(s) the store must hold; \(missing.count) are not there as signed (import the bundle they came in, or ask for a full bundle):"]
                    + missing.map { "  " + $0 }
            )
        }
    }

    /// Follows each recipe of a delta into a staged blob, kept only if it hashes to its digest.
    func reassemble(manifest: Manifest, bundle: String) throws {
        let blobs = Dictionary(uniqueKeysWithValues: manifest.blobs.map { ($0.sha256, $0) })
        let stagedPaths = Dictionary(staged.map { ($0.digest, $0.temporaryPath) }, uniquingKeysWith: { first, _ in first })
        func path(of digest: SHA256Digest) -> String? {
            if let staged = stagedPaths[digest] { return staged }
            return store.contains(digest) ? store.blobPath(digest) : nil
        }
        for blob in manifest.blobs {
            guard case .recipe(let recipeDigest) = blob.delivery, !store.contains(blob.sha256) else { continue }
            func refuse(_ reason: String) -> CheckFailure {
                CheckFailure(BundleErrorCode.badRecipe, "\(bundle): blob \(blob.sha256.hex) (\(blob.kind)): \(reason)")
            }
            guard let recipePath = path(of: recipeDigest) else { throw refuse("its recipe \(recipeDigest.hex) was not staged") }
            let (recipe, literalOffset): (BlobRecipe, Int)
            do { (recipe, literalOffset) = try BlobRecipe.read(recipePath) } catch let error as RecipeError { throw refuse(error.description) }
            guard recipe.output == BlobRecipe.Blob(sha256: blob.sha256, size: blob.size) else {
                throw refuse("its recipe makes \(recipe.output.sha256.hex) (\(recipe.output.size) bytes), not this blob")
            }
            var paths: [SHA256Digest: String] = [:]
            for source in recipe.sources {
                guard let listed = blobs[source.sha256], listed.size == source.size, listed.delivery == .carried || listed.delivery == .store,
                    let sourcePath = path(of: source.sha256)
                else { throw refuse("recipe source \(source.sha256.hex) is not a carried or stored blob of the signed manifest") }
                paths[source.sha256] = sourcePath
            }
            let writer = try store.makeWriter(syncOnFinish: false)
            do {
                do {
                    try recipe.assemble(recipePath: recipePath, literalOffset: literalOffset, paths: paths, into: writer)
                } catch let error as RecipeError { throw refuse(error.description) }
                let digest = try writer.finish()
                guard digest == blob.sha256 else {
                    try? FileSystem.remove(writer.temporaryPath)
                    throw refuse("its recipe rebuilds bytes that hash to \(digest.hex), not the digest the signed manifest names")
                }
            } catch {
                writer.discard()
                throw error
            }
            staged.append((blob.sha256, writer.temporaryPath))
            newBlobs += 1
            newBytes += blob.size
        }
    }

    func writer(for blob: ManifestBlob) throws -> BlobWriter? {
        if store.contains(blob.sha256) { return nil }
        return try store.makeWriter(syncOnFinish: false)
    }

    func finished(_ blob: ManifestBlob, writer: BlobWriter) throws {
        staged.append((blob.sha256, writer.temporaryPath))
        newBlobs += 1
        newBytes += blob.size
    }

    func accept(sha256sums: [UInt8]) throws { sumsStaged = (try stage(sha256sums), sha256sums.count) }

    /// Writes small metadata (manifest, signatures, SHA256SUMS) as blobs too, so the store keeps the
    /// evidence and can hand the bundle on.
    private func stage(_ bytes: [UInt8]) throws -> SHA256Digest {
        let writer = try store.makeWriter(syncOnFinish: false)
        do {
            try writer.append(bytes)
            let digest = try writer.finish()
            staged.append((digest, writer.temporaryPath))
            return digest
        } catch {
            writer.discard()
            throw error
        }
    }

    func commit(manifest: Manifest, signers: [String]) throws -> BundleRecord {
        guard let (manifestDigest, manifestSize) = manifestStaged, let (sumsDigest, sumsSize) = sumsStaged else {
            preconditionFailure("commit before the manifest and SHA256SUMS were accepted")
        }
        let origin = "bundle:\(manifest.bundle)"
        var entries: [BlobEntry] = [
            BlobEntry(digest: manifestDigest, size: manifestSize, kind: "bundle-manifest", name: manifest.bundle, version: "\(manifest.channel)/\(manifest.sequence)", filename: "manifest.json", mediaType: "application/json", origin: origin)
        ]
        var references: [SHA256Digest] = [manifestDigest]
        for (keyID, signature) in signatures.sorted(by: { $0.key < $1.key }) {
            let d = try stage(signature)
            entries.append(BlobEntry(digest: d, size: signature.count, kind: "signature", name: manifest.bundle, version: keyID, filename: "\(keyID).sig", mediaType: "application/octet-stream", origin: origin))
            references.append(d)
        }
        entries.append(BlobEntry(digest: sumsDigest, size: sumsSize, kind: "sha256sums", name: manifest.bundle, filename: "SHA256SUMS", mediaType: "text/plain", origin: origin))
        references.append(sumsDigest)
        // Each blob's artifacts, in manifest order, as chains of indices (not an array per blob).
        var firstArtifact: [SHA256Digest: Int] = [:]
        var nextArtifact = [Int](repeating: -1, count: manifest.artifacts.count)
        var lastArtifact: [SHA256Digest: Int] = [:]
        for (i, a) in manifest.artifacts.enumerated() {
            if let last = lastArtifact.updateValue(i, forKey: a.sha256) { nextArtifact[last] = i } else { firstArtifact[a.sha256] = i }
        }
        lastArtifact = [:]
        entries.reserveCapacity(entries.count + manifest.blobs.count)
        references.reserveCapacity(references.count + manifest.blobs.count)
        for blob in manifest.blobs {
            references.append(blob.sha256)
            if var i = firstArtifact[blob.sha256] {
                while i >= 0 {
                    let a = manifest.artifacts[i]
                    entries.append(BlobEntry(digest: a.sha256, size: a.size, kind: "artifact", name: a.name, filename: FileSystem.baseName(a.path), mediaType: a.mediaType, origin: origin))
                    if let entry = Importer.goEntry(a, origin: origin) { entries.append(entry) }
                    i = nextArtifact[i]
                }
            } else {
                entries.append(BlobEntry(digest: blob.sha256, size: blob.size, kind: blob.kind, name: "", origin: origin))
            }
        }
        let (images, imageEntries) = try ImageArtifacts.names(in: manifest, origin: origin)
        entries += imageEntries
        try store.syncData()
        try store.commit(staged)
        staged = []
        let record = BundleRecord(bundle: manifest.bundle, channel: manifest.channel, sequence: manifest.sequence, manifestSHA256: manifestDigest.hex, signers: signers)
        // The signed provenance of each artifact, so the enclave knows what its build proved (the
        // smoke test's functions, the image) without the bundle at hand.
        let provenance = manifest.artifacts.compactMap { a in
            a.provenance.map { (a.sha256, String(decoding: $0.canonicalBytes, as: UTF8.self)) }
        }
        do {
            try store.index.commitImport(
                record, entries: entries, references: references, provenance: provenance, images: images,
                allowRollback: allowRollback
            )
        } catch let error as RollbackRefused {
            // Another import on the channel committed between the first check and this one.
            throw CheckFailure(BundleErrorCode.rollback, error.description)
        }
        committedEntries = entries
        return record
    }

    func discard() {
        for blob in staged { try? FileSystem.remove(blob.temporaryPath) }
        staged = []
    }
}

extension Importer {
    /// Go toolchains and module parts are also indexed under their own kind, name and version
    /// (what `airlock go toolchain ls`, a Go build and the module mirror look them up by): a
    /// module part is named `path@version.mod` (`.info`, `.zip`), a toolchain's version is in its
    /// provenance.
    static func goEntry(_ a: ManifestArtifact, origin: String) -> BlobEntry? {
        switch a.kind {
        case "go-module", "go-mod", "go-info":
            let suffix = ["go-module": ".zip", "go-mod": ".mod", "go-info": ".info"][a.kind] ?? ""
            guard a.name.hasSuffix(suffix), let at = a.name.lastIndex(of: "@") else { return nil }
            let version = a.name[a.name.index(after: at)...].dropLast(suffix.count)
            return BlobEntry(
                digest: a.sha256, size: a.size, kind: a.kind, name: String(a.name[..<at]),
                version: String(version), filename: FileSystem.baseName(a.path),
                mediaType: a.mediaType, origin: origin
            )
        case "go-toolchain":
            guard let version = a.provenance?["version"]?.stringValue else { return nil }
            return BlobEntry(
                digest: a.sha256, size: a.size, kind: a.kind, name: a.name, version: version,
                filename: FileSystem.baseName(a.path), mediaType: a.mediaType, origin: origin
            )
        default:
            return nil
        }
    }
}
