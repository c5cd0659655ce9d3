// Import: a strict scan whose sink stages every new blob in the store's tmp/ (hashed while written)
// and commits only when the whole bundle has passed: one syncfs for the staged data, renames into
// blobs/, then one index transaction that re-checks rollback and records the history. Until that
// point nothing in blobs/ or the index has changed, so any rejection leaves the store as it was.

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
    var manifestBytes: [UInt8] = []
    var signatures: [String: [UInt8]] = [:]
    var sums: [UInt8] = []
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
        self.manifestBytes = manifestBytes
        self.signatures = signatures
        if !allowRollback, let last = try store.index.lastImportedSequence(channel: manifest.channel), manifest.sequence <= last {
            throw CheckFailure(
                BundleErrorCode.rollback,
                "rollback refused: sequence \(manifest.sequence) on channel '\(manifest.channel)' is not above \(last), the last imported (pass --allow-rollback to accept it)"
            )
        }
        let needed = manifest.blobs.filter { !store.contains($0.sha256) }.reduce(0) { $0 + $1.size }
        try store.requireFreeSpace(needed + manifestBytes.count, for: "importing bundle \(manifest.bundle)")
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

    func accept(sha256sums: [UInt8]) throws { sums = sha256sums }

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
        let manifestDigest = try stage(manifestBytes)
        let origin = "bundle:\(manifest.bundle)"
        var entries: [BlobEntry] = [
            BlobEntry(digest: manifestDigest, size: manifestBytes.count, kind: "bundle-manifest", name: manifest.bundle, version: "\(manifest.channel)/\(manifest.sequence)", filename: "manifest.json", mediaType: "application/json", origin: origin)
        ]
        var references: [SHA256Digest] = [manifestDigest]
        for (keyID, signature) in signatures.sorted(by: { $0.key < $1.key }) {
            let d = try stage(signature)
            entries.append(BlobEntry(digest: d, size: signature.count, kind: "signature", name: manifest.bundle, version: keyID, filename: "\(keyID).sig", mediaType: "application/octet-stream", origin: origin))
            references.append(d)
        }
        let sumsDigest = try stage(sums)
        entries.append(BlobEntry(digest: sumsDigest, size: sums.count, kind: "sha256sums", name: manifest.bundle, filename: "SHA256SUMS", mediaType: "text/plain", origin: origin))
        references.append(sumsDigest)
        let artifactsByDigest = Dictionary(grouping: manifest.artifacts, by: \.sha256)
        for blob in manifest.blobs {
            references.append(blob.sha256)
            if let artifacts = artifactsByDigest[blob.sha256] {
                for a in artifacts {
                    entries.append(BlobEntry(digest: a.sha256, size: a.size, kind: "artifact", name: a.name, filename: FileSystem.baseName(a.path), mediaType: a.mediaType, origin: origin))
                    if let entry = Importer.goEntry(a, origin: origin) { entries.append(entry) }
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
