// Reads an inventory from a bundle or a store. A bundle is read in one strict, verifying pass (the
// scanner import uses): its signatures must hold against the trust policy before anything in it is
// believed, and any problem ends the audit with exit 1. The few blobs whose contents an audit
// reads (wheels, sdists, go.mod, image configs and layers) are staged one at a time into a temp
// directory, read, and removed, so the disk an audit needs is its largest such blob. A store is read
// from its index and the manifests of the bundles it imported, and is never changed.

public import AirlockBundle
public import AirlockCore

public enum AuditReader {
    /// The inventory of the bundle at `paths` (one file or its volumes), verified against `policy`.
    /// A delta's blobs that it leaves out are read from `store` when it holds them (checked against
    /// their digest first); the others are listed, with a note, without what their contents say.
    public static func bundle(
        _ paths: [String], shownAs path: String, policy: TrustPolicy, allowExpired: Bool = false, store: Store? = nil,
        progress: ProgressReporter? = nil
    ) throws -> AuditInventory {
        let scratch = try FileSystem.makeTemporaryDirectory(prefix: "airlock-audit")
        defer { FileSystem.removeTree(scratch) }
        let sink = FactSink(directory: scratch)
        let scanner = BundleScanner(
            paths: paths, options: ScanOptions(policy: policy, allowExpired: allowExpired, strict: true), sink: sink, progress: progress
        )
        let report = try scanner.scan()
        guard report.isValid, let manifest = sink.manifest else {
            throw CheckFailure(code: report.problemCodes.first ?? CoreErrorCode.check.code, report.problems.map { "\(path): \($0)" })
        }
        let names = Dictionary(policy.keys.map { ($0.publicKey.keyID, $0.name) }, uniquingKeysWith: { a, _ in a })
        var subject = AuditInventory.Subject(
            kind: "bundle", path: path, signers: sink.signers.sorted().map { .init(keyID: $0, name: names[$0]) }
        )
        subject.bundle = manifest.bundle
        subject.channel = manifest.channel
        subject.sequence = manifest.sequence
        subject.created = manifest.created
        subject.expires = manifest.expires
        var facts = sink.facts
        var notes = report.notes + sink.notes
        if manifest.delta != nil {
            let carried = Set(manifest.carriedBlobs.map(\.sha256))
            var unread: [String] = []
            for artifact in manifest.artifacts where !carried.contains(artifact.sha256) && facts[artifact.sha256] == nil {
                let kind = BlobFactReader.kind(of: artifact)
                guard BlobFactReader.reads(kind) else { continue }
                guard let store, store.contains(artifact.sha256),
                    (try? Store.hashFile(store.blobPath(artifact.sha256)).0) == artifact.sha256
                else {
                    unread.append(artifact.name)
                    continue
                }
                let (found, note) = BlobFactReader.facts(kind: kind, name: FileSystem.baseName(artifact.path), path: store.blobPath(artifact.sha256))
                facts[artifact.sha256] = found
                if let note { notes.append(note) }
            }
            if !unread.isEmpty {
                notes.append(
                    "a delta: \(unread.count) artifact(s) it leaves out for the store were not read (\(unread.prefix(5).joined(separator: ", "))\(unread.count > 5 ? ", ..." : "")): audit with --store pointing at a store that holds them for their metadata"
                )
            }
        }
        return InventoryBuilder(subject: subject, items: manifest.artifacts, facts: facts, notes: notes).build()
    }

    /// The inventory of what a seal is about to carry (for `seal --sbom`), read from its inputs.
    public static func seal(_ plan: SealPlan) -> AuditInventory {
        var subject = AuditInventory.Subject(kind: "bundle", path: "")
        subject.channel = plan.channel
        subject.sequence = plan.sequence
        subject.created = plan.created
        var facts: [SHA256Digest: BlobFacts] = [:]
        var notes: [String] = []
        for item in plan.artifacts where BlobFactReader.reads(BlobFactReader.kind(of: item)) && facts[item.sha256] == nil {
            guard let path = plan.sourcePaths[item.sha256] else { continue }
            let (found, note) = BlobFactReader.facts(kind: BlobFactReader.kind(of: item), name: FileSystem.baseName(item.path), path: path)
            facts[item.sha256] = found
            if let note { notes.append(note) }
        }
        return InventoryBuilder(subject: subject, items: plan.artifacts, facts: facts, notes: notes).build()
    }

    /// The SBOM `seal --sbom` carries: `sbom.cdx.json` or `sbom.spdx.json`, kind `sbom`.
    public static func sealedSBOM(_ plan: SealPlan, format: SBOMFormat, tool: String) throws -> DerivedArtifact {
        let bytes = try SBOM.document(seal(plan), format: format, tool: tool)
        let (file, mediaType) = format == .cyclonedx ? ("sbom.cdx.json", "application/vnd.cyclonedx+json") : ("sbom.spdx.json", "application/spdx+json")
        return DerivedArtifact(name: file, path: file, kind: "sbom", mediaType: mediaType, bytes: bytes)
    }

    /// The inventory of a store: what its imported bundles carried (with their signed provenance)
    /// and what was fetched, built or imported into it here.
    public static func store(_ store: Store) throws -> AuditInventory {
        var items: [SHA256Digest: ManifestArtifact] = [:]
        var order: [SHA256Digest] = []
        func add(_ item: ManifestArtifact) {
            if items[item.sha256] == nil { order.append(item.sha256) }
            // A later bundle's record of the same blob replaces an earlier one (a name may change).
            items[item.sha256] = item
        }
        var subject = AuditInventory.Subject(kind: "store", path: store.root)
        let imports = try store.index.imports()
        subject.imports = imports.map {
            AuditInventory.Imported(bundle: $0.bundle, channel: $0.channel, sequence: $0.sequence, signers: $0.signers, time: $0.time)
        }
        var signers = Set<String>()
        for record in imports {
            signers.formUnion(record.signers)
            guard let digest = SHA256Digest(record.manifestSHA256), store.contains(digest),
                let manifest = try? Manifest(canonicalBytes: try FileSystem.readFile(store.blobPath(digest), limit: Manifest.maximumSize))
            else { continue }
            for artifact in manifest.artifacts { add(artifact) }
            for blob in manifest.blobs where !manifest.artifacts.contains(where: { $0.sha256 == blob.sha256 }) {
                add(ManifestArtifact(name: blob.sha256.description, path: blob.memberPath, kind: blob.kind, sha256: blob.sha256, size: blob.size, mediaType: "application/octet-stream"))
            }
        }
        let names = Dictionary(try store.index.trustedKeys().map { ($0.keyID, $0.name) }, uniquingKeysWith: { a, _ in a })
        subject.signers = signers.sorted().map { .init(keyID: $0, name: names[$0]) }

        // What the index knows that no imported manifest listed: fetched wheels and sdists, Go
        // modules and toolchains, images imported or built here, built artifacts.
        var origins: [SHA256Digest: String] = [:]
        for entry in try store.index.entries() where store.contains(entry.digest) {
            if let origin = entry.origin, origins[entry.digest] == nil, !origin.hasPrefix("bundle:") { origins[entry.digest] = origin }
            guard items[entry.digest] == nil else { continue }
            let file = entry.filename ?? entry.name
            switch entry.kind {
            case "wheel", "sdist", "go-module", "go-mod", "go-toolchain":
                let name = entry.kind.hasPrefix("go-mod") || entry.kind == "go-module"
                    ? entry.name + "@" + (entry.version ?? "") + (entry.kind == "go-mod" ? ".mod" : ".zip") : file
                var provenance: JSONValue? = nil
                if entry.kind == "go-toolchain", let version = entry.version { provenance = .object(["version": .string(version)]) }
                add(ManifestArtifact(name: name, path: file, kind: entry.kind, sha256: entry.digest, size: entry.size, mediaType: entry.mediaType ?? "application/octet-stream", provenance: provenance))
            case ImageCatalog.manifestKind:
                guard let version = entry.version else { continue }
                let record = try? ImageCatalog.resolve(entry.name + ":" + version, in: store)
                guard let record, record.manifest == entry.digest else { continue }
                let provenance = ImageProvenance(
                    name: record.name, tag: record.tag, config: record.config, layers: record.layers.map(\.digest),
                    app: try ImageProvenance.app(of: record.manifest, in: store)
                )
                add(ManifestArtifact(name: record.reference, path: "images/\(record.name)/\(record.tag)/manifest.json", kind: ImageArtifacts.imageKind, sha256: entry.digest, size: entry.size, mediaType: OCIMediaType.manifest, provenance: try? JSONValue(encoding: provenance)))
                for (digest, kind) in [(record.config, ImageArtifacts.configKind)] + record.layers.map({ ($0.digest, ImageArtifacts.layerKind) })
                where items[digest] == nil {
                    add(ManifestArtifact(name: digest.description, path: "images/blobs/sha256/" + digest.hex, kind: kind, sha256: digest, size: (try? FileSystem.size(of: store.blobPath(digest))) ?? 0, mediaType: "application/octet-stream"))
                }
            case "artifact":
                guard let text = try store.index.provenance(of: entry.digest) else { continue }
                add(ManifestArtifact(name: entry.name, path: file, kind: "function-app", sha256: entry.digest, size: entry.size, mediaType: entry.mediaType ?? "application/zip", provenance: try? JSONValue(parsing: Array(text.utf8))))
            default:
                continue
            }
        }
        var facts: [SHA256Digest: BlobFacts] = [:]
        var notes: [String] = []
        let list = order.compactMap { items[$0] }
        for item in list where BlobFactReader.reads(BlobFactReader.kind(of: item)) && store.contains(item.sha256) {
            let kind = BlobFactReader.kind(of: item)
            if ["wheel", "build-wheel"].contains(kind), let record = try store.index.wheelMetadata(of: item.sha256) {
                facts[item.sha256] = .metadata(BlobFactReader.parseMetadata(record.metadata))
                continue
            }
            let (found, note) = BlobFactReader.facts(kind: kind, name: FileSystem.baseName(item.path), path: store.blobPath(item.sha256))
            facts[item.sha256] = found
            if let note { notes.append(note) }
        }
        return InventoryBuilder(subject: subject, items: list, facts: facts, notes: notes, origins: origins).build()
    }
}

/// Stages the blobs an audit reads, reads each as it is verified, and removes it.
private final class FactSink: BundleSink {
    let directory: String
    var manifest: Manifest? = nil
    var signers: [String] = []
    var facts: [SHA256Digest: BlobFacts] = [:]
    var notes: [String] = []
    private var wanted: [SHA256Digest: ManifestArtifact] = [:]

    init(directory: String) { self.directory = directory }

    func accept(manifest: Manifest, manifestBytes: [UInt8], signatures: [String: [UInt8]], signers: [String]) throws {
        self.manifest = manifest
        self.signers = signers
        for artifact in manifest.artifacts where BlobFactReader.reads(BlobFactReader.kind(of: artifact)) {
            wanted[artifact.sha256] = artifact
        }
    }

    func writer(for blob: ManifestBlob) throws -> BlobWriter? {
        guard wanted[blob.sha256] != nil else { return nil }
        return try BlobWriter(tmpDirectory: directory, syncOnFinish: false)
    }

    func finished(_ blob: ManifestBlob, writer: BlobWriter) throws {
        defer { try? FileSystem.remove(writer.temporaryPath) }
        guard let artifact = wanted[blob.sha256] else { return }
        let (found, note) = BlobFactReader.facts(
            kind: BlobFactReader.kind(of: artifact), name: FileSystem.baseName(artifact.path), path: writer.temporaryPath
        )
        facts[blob.sha256] = found
        if let note { notes.append(note) }
    }

    func accept(sha256sums: [UInt8]) throws {}
}
