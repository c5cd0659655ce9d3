// Where a deploy kit's zip comes from: a zip file named on the command line, or an artifact in the
// store (copied out with its digest re-checked). Either way the copy into the kit is hashed as it is
// written, so the digest recorded next to it is the digest of the bytes in the kit.

public import AirlockCore

/// The zip a kit deploys.
public enum ZipSource: Sendable {
    /// A zip file on disk.
    case file(path: String)
    /// A blob in the store, with the index entry that names it.
    case storeArtifact(store: Store, entry: BlobEntry)

    /// Resolves `--artifact`: an existing file whose name ends in `.zip` is used as it is; anything
    /// else is looked up in the store at `storeRoot` (artifact name, file name or digest).
    public static func resolve(_ artifact: String, storeRoot: String) throws -> ZipSource {
        guard !artifact.isEmpty else { throw UsageError(DeployErrorCode.noSuchArtifact, "--artifact: empty") }
        switch FileSystem.kind(of: artifact) {
        case .regular?, .symlink?:
            guard artifact.hasSuffix(".zip") else {
                throw UsageError(
                    DeployErrorCode.notAZip,
                    "--artifact \(artifact): a file, but its name does not end in .zip; a deploy kit carries a zip"
                )
            }
            return .file(path: artifact)
        case .directory?:
            throw UsageError(
                DeployErrorCode.notAZip,
                "--artifact \(artifact): a directory; name the built zip (or a store artifact)"
            )
        case .other?, nil:
            break
        }
        guard FileSystem.kind(of: storeRoot + "/index.sqlite") == .regular else {
            throw UsageError(
                DeployErrorCode.noSuchArtifact,
                "--artifact \(artifact): no such zip file, and no Airlock store at \(storeRoot) to look it up in (pass --store or set AIRLOCK_STORE)"
            )
        }
        let store = try Store.openExisting(at: storeRoot)
        return .storeArtifact(store: store, entry: try store.resolve(artifact))
    }

    /// The file name the zip keeps in the kit: the given file's name, or the artifact's file name.
    public var fileName: String {
        get throws {
            switch self {
            case .file(let path):
                return FileSystem.baseName(path)
            case .storeArtifact(_, let entry):
                guard let name = entry.filename ?? (entry.name.hasSuffix(".zip") ? entry.name : nil) else {
                    throw UsageError(
                        DeployErrorCode.notAZip,
                        "--artifact: \(entry.name.isEmpty ? entry.digest.description : entry.name) has no file name ending in .zip in the store; a deploy kit carries a zip"
                    )
                }
                return name
            }
        }
    }

    /// Where the bytes are read from.
    var path: String {
        switch self {
        case .file(let path): return path
        case .storeArtifact(let store, let entry): return store.blobPath(entry.digest)
        }
    }

    /// Refuses anything that does not start like a zip (a local file header, or the end record of
    /// an empty zip): a kit that deploys a wheel or a tarball would only fail later, inside Azure.
    func checkIsZip() throws {
        let fd = try FileDescriptor.open(path)
        var magic = [UInt8](repeating: 0, count: 4)
        let n = try magic.withUnsafeMutableBytes { try fd.readFully(into: $0) }
        let signature = (magic[2], magic[3])
        let isZip = n == 4 && magic[0] == 0x50 && magic[1] == 0x4B && (signature == (3, 4) || signature == (5, 6))
        guard isZip else {
            throw UsageError(
                DeployErrorCode.notAZip,
                "--artifact \(displayName): not a zip file (it does not start with the zip signature PK)"
            )
        }
    }

    private var displayName: String {
        switch self {
        case .file(let path): return path
        case .storeArtifact(_, let entry): return entry.name.isEmpty ? entry.digest.description : entry.name
        }
    }

    /// The function names the build's smoke test listed, from the provenance recorded for this zip:
    /// the store's (a build here, or the signed manifest of an imported bundle) or, for a file, a
    /// `provenance.json` beside it whose output digest is this file's. Nil when nothing says.
    public func builtFunctions() throws -> (names: [String], from: String)? {
        guard let (provenance, source) = try provenance() else { return nil }
        let names = (provenance.functions ?? []).map(\.name)
        return names.isEmpty ? nil : (names, source)
    }

    /// The worker the zip's build was for, from its provenance (nil without one).
    public func workerRuntime() throws -> CloudShellKit.WorkerRuntime? {
        try provenance().flatMap { CloudShellKit.WorkerRuntime(artifactKind: $0.0.kind) }
    }

    /// The zip's provenance: recorded in the store, or the provenance.json beside the file.
    private func provenance() throws -> (Provenance, String)? {
        let provenance: Provenance
        let source: String
        switch self {
        case .storeArtifact(let store, let entry):
            guard let text = try store.index.provenance(of: entry.digest),
                let recorded = try? Provenance.read(Array(text.utf8))
            else { return nil }
            provenance = recorded
            source = "the provenance of \(entry.digest) in the store"
        case .file(let path):
            let beside = (FileSystem.parentPath(path).isEmpty ? "." : FileSystem.parentPath(path)) + "/provenance.json"
            guard FileSystem.kind(of: beside) == .regular,
                let written = try? Provenance.read(try FileSystem.readFile(beside, limit: 16 << 20), what: beside),
                written.output.sha256 == (try Store.hashFile(path).0)
            else { return nil }
            provenance = written
            source = beside
        }
        return (provenance, source)
    }

    /// Copies the zip to `destination` through a temp file in the same directory (fsynced, then
    /// renamed) and returns the SHA-256 of what was written. A store blob that no longer matches its
    /// digest is refused (`CheckFailure`, exit 1).
    func copy(to destination: String) throws -> SHA256Digest {
        switch self {
        case .storeArtifact(let store, let entry):
            try store.copyBlob(entry.digest, to: destination)
            return entry.digest
        case .file(let path):
            return try Self.copyFile(path, to: destination)
        }
    }

    private static func copyFile(_ source: String, to destination: String) throws -> SHA256Digest {
        let input = try FileDescriptor.open(source)
        let directory = FileSystem.parentPath(destination).isEmpty ? "." : FileSystem.parentPath(destination)
        let temporary =
            directory
            + "/.\(FileSystem.baseName(destination)).tmp-\(Environment.processID)-\(UInt32.random(in: 0...UInt32.max))"
        let output = try FileDescriptor.open(temporary, writing: true, create: true, exclusive: true, mode: 0o644)
        do {
            let hasher = SHA256Hasher()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
            defer { buffer.deallocate() }
            while true {
                let n = try input.read(into: buffer)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
                hasher.update(chunk)
                try output.write(chunk)
            }
            try output.sync()
            try FileSystem.rename(temporary, to: destination)
            return hasher.finalize()
        } catch {
            try? FileSystem.remove(temporary)
            throw error
        }
    }
}
