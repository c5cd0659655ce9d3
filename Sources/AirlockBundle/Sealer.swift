// Sealing: hash every input (in parallel), write the canonical manifest, sign it with each key, and
// stream one deterministic tar: manifest.json, signatures/, SHA256SUMS, VERIFY.md, then the blobs in
// digest order. Inputs are read twice (hash, then copy) because the manifest must come first; the
// second read is served from the page cache. An input that changes between the two reads is caught
// by its size and modification time, as tar does, and fails the seal. A delta (`SealOptions.delta`)
// marks what the receiving store's inventory lists as expected there, and carries app zips as
// recipes (ZipRecipePlanner.swift) when that is under half their size; only carried blobs are
// members and lines of SHA256SUMS, while the manifest names every blob.

public import AirlockCore
import Foundation

/// A file to seal and the artifact it becomes (the shared type domains map their outputs to).
public typealias SealInput = BundleInput

extension BundleInput {
    /// Expands command-line paths: a file becomes one artifact named by its file name; a directory
    /// becomes one artifact per regular file below it, named by its path from the directory's parent.
    public static func expand(_ paths: [String]) throws -> [SealInput] {
        var inputs: [SealInput] = []
        for path in paths {
            let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
            switch FileSystem.kind(of: trimmed) {
            case .regular:
                let name = FileSystem.baseName(trimmed)
                inputs.append(SealInput(sourcePath: trimmed, artifactPath: name, name: name))
            case .directory:
                let top = FileSystem.baseName(trimmed) == "." || trimmed == "/" ? "" : FileSystem.baseName(trimmed)
                try walk(trimmed, relative: top, into: &inputs)
            case .symlink:
                throw UsageError(CoreErrorCode.notAFile, "\(path): is a symbolic link; seal the file it points to")
            case .other:
                throw UsageError(CoreErrorCode.notAFile, "\(path): not a regular file or directory")
            case nil:
                throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such file or directory")
            }
        }
        var seen: [String: String] = [:]
        for input in inputs {
            if let other = seen[input.name] {
                throw UsageError(
                    BundleErrorCode.duplicateName,
                    "\(input.sourcePath): artifact name '\(input.name)' is also used by \(other)"
                )
            }
            seen[input.name] = input.sourcePath
        }
        return inputs
    }

    private static func walk(_ dir: String, relative: String, into inputs: inout [SealInput]) throws {
        for name in try FileSystem.list(dir).sorted() {
            let path = dir + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            switch FileSystem.kind(of: path) {
            case .regular: inputs.append(SealInput(sourcePath: path, artifactPath: rel, name: rel))
            case .directory: try walk(path, relative: rel, into: &inputs)
            case .symlink:
                throw UsageError(
                    CoreErrorCode.notAFile,
                    "\(path): is a symbolic link; bundles carry regular files only"
                )
            default: throw UsageError(CoreErrorCode.notAFile, "\(path): not a regular file")
            }
        }
    }
}

public struct SealOptions: Sendable {
    public var output: String
    public var keyPaths: [String]
    /// Where the passphrase of an encrypted --key comes from (asked only for one that is).
    public var passphrase: KeyPassphrase = .terminal
    public var channel: String
    public var sequence: Int?
    public var expiresIn: Int64
    public var compression: ArchiveCompression
    public var maximumVolumeSize: Int?
    public var target: JSONValue?
    /// SOURCE_DATE_EPOCH: fixes every time in the bundle and derives the bundle id from its content.
    public var sourceDateEpoch: Int64?
    /// Seal a bundle that has expired already (its time plus `expiresIn` is before the clock): only
    /// for testing the receiving side, which refuses it. Refused otherwise, since an old
    /// SOURCE_DATE_EPOCH (a commit's time) would otherwise give a bundle nobody can import.
    public var allowExpired: Bool
    public var jobs: Int
    /// Documents made from what the bundle will carry (an SBOM), carried and signed with it.
    public var derived: (@Sendable (SealPlan) throws -> [DerivedArtifact])? = nil
    /// Seal a delta: leave out what the receiving store holds, carry zips as recipes.
    public var delta: SealDelta? = nil

    public init(output: String, keyPaths: [String], channel: String = "default", sequence: Int? = nil, expiresIn: Int64 = 30 * 86400, compression: ArchiveCompression = .none, maximumVolumeSize: Int? = nil, target: JSONValue? = nil, sourceDateEpoch: Int64? = nil, allowExpired: Bool = false, jobs: Int = 2) {
        self.output = output
        self.keyPaths = keyPaths
        self.channel = channel
        self.sequence = sequence
        self.expiresIn = expiresIn
        self.compression = compression
        self.maximumVolumeSize = maximumVolumeSize
        self.target = target
        self.sourceDateEpoch = sourceDateEpoch
        self.allowExpired = allowExpired
        self.jobs = jobs
    }
}

/// What `seal --delta INV.json` cuts against: the receiving store's inventory, and earlier builds
/// this host holds that the inventory lists (a recipe copies their bytecode).
public struct SealDelta: Sendable {
    public var inventory: StoreInventory
    public var inventorySHA256: SHA256Digest
    /// Digest to a path on this host.
    public var earlierBuilds: [SHA256Digest: String]

    public init(inventory: StoreInventory, inventorySHA256: SHA256Digest, earlierBuilds: [SHA256Digest: String] = [:]) {
        self.inventory = inventory
        self.inventorySHA256 = inventorySHA256
        self.earlierBuilds = earlierBuilds
    }
}

public struct SealResult: Sendable, Codable {
    public var bundle: String
    public var channel: String
    public var sequence: Int
    public var manifestSHA256: String
    public var signers: [String]
    public var artifacts: Int
    public var blobs: Int
    public var bytes: Int
    public var files: [String]
    /// A delta's cut: nil for a full bundle.
    public var delta: DeltaSummary? = nil
}

/// What a delta leaves out and how.
public struct DeltaSummary: Sendable, Codable, Equatable {
    /// Blobs expected in the receiving store, and their bytes.
    public var relied: Int
    public var reliedBytes: Int
    /// Blobs carried as recipes: their bytes, and the bytes of the recipes that carry them.
    public var recipes: Int
    public var recipeOutputBytes: Int
    public var recipeBytes: Int

    public init(manifest: Manifest) {
        let relied = manifest.blobs.filter { $0.delivery == .store }
        let rebuilt = manifest.blobs.compactMap { blob -> (ManifestBlob, SHA256Digest)? in
            if case .recipe(let recipe) = blob.delivery { return (blob, recipe) }
            return nil
        }
        let sizes = Dictionary(manifest.blobs.map { ($0.sha256, $0.size) }, uniquingKeysWith: { a, _ in a })
        self.relied = relied.count
        reliedBytes = relied.reduce(0) { $0 + $1.size }
        recipes = rebuilt.count
        recipeOutputBytes = rebuilt.reduce(0) { $0 + $1.0.size }
        recipeBytes = Set(rebuilt.map(\.1)).reduce(0) { $0 + (sizes[$1] ?? 0) }
    }
}

/// What a seal is about to carry, for `SealOptions.derived`: every artifact (hashed), the file each
/// blob is read from, and the bundle's channel, sequence and time. The bundle id is not known yet:
/// it is derived from SHA256SUMS, which lists what `derived` returns.
public struct SealPlan: Sendable {
    public var artifacts: [ManifestArtifact]
    public var sourcePaths: [SHA256Digest: String]
    public var channel: String
    public var sequence: Int
    public var created: String
}

/// A document the seal carries beside its inputs.
public struct DerivedArtifact: Sendable {
    public var name: String
    public var path: String
    public var kind: String
    public var mediaType: String
    public var bytes: [UInt8]

    public init(name: String, path: String, kind: String, mediaType: String, bytes: [UInt8]) {
        self.name = name
        self.path = path
        self.kind = kind
        self.mediaType = mediaType
        self.bytes = bytes
    }
}

public enum Sealer {
    /// The kind and folder of the signed SLSA provenance the seal writes for each built artifact.
    public static let attestationKind = "attestation"
    public static let attestationDirectory = "attestations/"

    public static func seal(_ inputs: [SealInput], options: SealOptions, store: Store?, progress: ProgressReporter? = nil) async throws -> SealResult {
        try checkInputs(inputs, channel: options.channel, keyPaths: options.keyPaths)
        let now = options.sourceDateEpoch ?? Timestamp.nowEpochSeconds()
        let expires = try expiry(options, now: now)
        // Off the cooperative pool: an encrypted key may wait on a person typing its passphrase.
        let keyPaths = options.keyPaths
        let passphrase = options.passphrase
        let signers = try await Blocking.run { try loadKeys(keyPaths, passphrase: passphrase) }
        let keyIDs = signers.map(\.id)
        let sequence = try sequence(options, store: store)

        // 1. Hash every input, `jobs` at a time.
        let total = inputs.count
        progress?.start(total: total, unit: "files")
        let hashed = try await hashAll(inputs, jobs: options.jobs, progress: progress)
        progress?.finish("hashed \(total) files")

        // 2. Attestations, manifest, SHA256SUMS, VERIFY.md, signatures.
        var contents = Contents(inputs: inputs, hashed: hashed)
        let attestations = try contents.attest(signers: signers)
        if let derive = options.derived {
            let plan = SealPlan(
                artifacts: contents.artifacts, sourcePaths: contents.sources.compactMapValues { $0.bytes == nil ? $0.path : nil },
                channel: options.channel, sequence: sequence, created: Timestamp.format(epochSeconds: now)
            )
            for d in try derive(plan) { try contents.add(name: d.name, path: d.path, kind: d.kind, mediaType: d.mediaType, bytes: d.bytes) }
        }
        if let delta = options.delta { try contents.cut(delta, progress: progress) }
        let verifyGuide = Array(
            VerifyGuide.text(
                bundleName: FileSystem.baseName(options.output), keyIDs: keyIDs.sorted(),
                compressed: options.compression == .zstd, channel: options.channel, sequence: sequence,
                release: contents.artifacts.first { $0.kind == AirlockRelease.binaryKind }.map { ($0.path, $0.sha256) },
                attestation: attestations.first,
                delta: options.delta.map { _ in
                    (contents.blobs.count { $0.delivery == .store }, contents.blobs.count { $0.delivery != .store && !$0.isCarried })
                }
            ).utf8
        )
        let sums = sha256sums(blobs: contents.blobs.filter(\.isCarried), verifyGuide: verifyGuide)
        let bundleID = bundleID(options, sequence: sequence, now: now, sums: sums)
        let manifest = Manifest(
            bundle: bundleID, channel: options.channel, sequence: sequence, created: Timestamp.format(epochSeconds: now),
            expires: Timestamp.format(epochSeconds: expires), target: options.target, artifacts: contents.artifacts,
            blobs: contents.blobs, sha256sums: SHA256Hasher.hash(sums),
            delta: options.delta.map { ManifestDelta(inventory: $0.inventorySHA256) }
        )
        let manifestBytes = manifest.canonicalBytes
        var signatures: [(String, [UInt8])] = []
        for (key, id) in signers { signatures.append((id, try key.signature(for: manifestBytes))) }
        signatures.sort { $0.0 < $1.0 }
        let members = Members(manifest: manifestBytes, signatures: signatures, sums: sums, verifyGuide: verifyGuide)

        // 3. Room for it, then the tar.
        try requireRoom(for: members, contents: contents, output: options.output)
        let output: any ArchiveOutput
        var volumeOutput: VolumeOutput? = nil
        if let max = options.maximumVolumeSize {
            let v = try VolumeOutput(basePath: options.output, maximumSize: max)
            volumeOutput = v
            output = v
        } else {
            output = try FileArchiveOutput(path: options.output)
        }
        let writer = try TarWriter(output: output, name: options.output, compression: options.compression)
        try write(members, contents, to: writer, mtime: now, progress: progress)

        let manifestDigest = SHA256Hasher.hash(manifestBytes).hex
        try store?.index.recordSeal(
            BundleRecord(bundle: bundleID, channel: options.channel, sequence: sequence, manifestSHA256: manifestDigest, signers: keyIDs.sorted())
        )
        let files = volumeOutput?.volumePaths ?? [options.output]
        let size = files.reduce(0) { $0 + ((try? FileSystem.size(of: $1)) ?? 0) }
        return SealResult(
            bundle: bundleID, channel: options.channel, sequence: sequence, manifestSHA256: manifestDigest,
            signers: keyIDs.sorted(), artifacts: contents.artifacts.count, blobs: contents.blobs.count, bytes: size,
            files: files, delta: options.delta.map { _ in DeltaSummary(manifest: manifest) }
        )
    }

    // MARK: The steps of a seal

    /// Refuses a seal that cannot be made before any key is read or any input hashed.
    /// When the bundle expires: its time (SOURCE_DATE_EPOCH, else the clock) plus `expiresIn`, which
    /// must still be ahead of the clock.
    private static func expiry(_ options: SealOptions, now: Int64) throws -> Int64 {
        let (expires, overflow) = now.addingReportingOverflow(options.expiresIn)
        guard !overflow else { throw UsageError(BundleErrorCode.badExpiry, "--expires is too far in the future") }
        if !options.allowExpired, let epoch = options.sourceDateEpoch, expires <= Timestamp.nowEpochSeconds() {
            throw UsageError(
                BundleErrorCode.badExpiry,
                "the bundle would have expired already, at \(Timestamp.format(epochSeconds: expires)): SOURCE_DATE_EPOCH=\(epoch) dates it; give an --expires that reaches past today, or unset SOURCE_DATE_EPOCH"
            )
        }
        return expires
    }

    private static func checkInputs(_ inputs: [SealInput], channel: String, keyPaths: [String]) throws {
        guard !inputs.isEmpty else {
            throw UsageError(BundleErrorCode.nothingToSeal, "nothing to seal: name at least one file or directory")
        }
        guard !keyPaths.isEmpty else {
            throw UsageError(BundleErrorCode.noKey, "seal needs at least one --key")
        }
        var names: [String: String] = [:]
        for input in inputs {
            if let other = names.updateValue(input.sourcePath, forKey: input.name) {
                throw UsageError(
                    BundleErrorCode.duplicateName,
                    "\(input.sourcePath): artifact name '\(input.name)' is also used by \(other)"
                )
            }
        }
        guard Manifest.isValidChannel(channel) else {
            throw UsageError(
                BundleErrorCode.badChannel,
                "channel '\(channel)': use 1-64 letters, digits, '.', '_' or '-'"
            )
        }
    }

    /// Each --key with its key id, in the order given; the same key twice is refused.
    private static func loadKeys(
        _ paths: [String],
        passphrase: KeyPassphrase
    ) throws -> [(key: Ed25519PrivateKey, id: String)] {
        var signers: [(key: Ed25519PrivateKey, id: String)] = []
        for key in try paths.map({ try KeyFiles.loadPrivateKey($0, passphrase: passphrase) }) {
            signers.append((key, try key.publicKey.keyID))
        }
        guard Set(signers.map(\.id)).count == signers.count else {
            throw UsageError(BundleErrorCode.duplicateKey, "the same --key was given twice")
        }
        return signers
    }

    /// --sequence, else one more than the last sealed on the channel in `store`, else 1.
    private static func sequence(_ options: SealOptions, store: Store?) throws -> Int {
        if let explicit = options.sequence {
            guard explicit >= 1 else { throw UsageError(BundleErrorCode.badSequence, "--sequence must be at least 1") }
            return explicit
        } else if let store {
            return try store.index.nextSealSequence(channel: options.channel)
        } else {
            return 1
        }
    }

    /// With SOURCE_DATE_EPOCH, a function of the channel, sequence, time and SHA256SUMS (so the same
    /// inputs give the same bundle); otherwise random.
    private static func bundleID(_ options: SealOptions, sequence: Int, now: Int64, sums: [UInt8]) -> String {
        guard options.sourceDateEpoch != nil else { return UUID().uuidString.lowercased() }
        var seed = Array("airlock-bundle-id\0\(options.channel)\0\(sequence)\0\(now)\0".utf8)
        seed += sums
        return uuid(fromHash: SHA256Hasher.hash(seed).bytes)
    }

    /// What the manifest lists: an artifact per input, sorted by name, and a blob per distinct
    /// digest, read at write time from the input it was hashed from.
    private struct Contents {
        struct Source {
            var size: Int
            var path: String
            var identity: FileIdentity?
            var kind: String
            /// A member made by the seal itself (an attestation), written from memory.
            var bytes: [UInt8]? = nil
        }

        var artifacts: [ManifestArtifact] = []
        var blobs: [ManifestBlob] = []
        var sources: [SHA256Digest: Source] = [:]
        /// How each blob that is not carried reaches the receiving store (a delta only).
        var deliveries: [SHA256Digest: ManifestBlob.Delivery] = [:]

        init(inputs: [SealInput], hashed: [Hashed]) {
            for (input, h) in zip(inputs, hashed) {
                // Two inputs with one digest are one blob; it keeps the first input's kind.
                sources[h.digest] = Source(
                    size: h.size, path: input.sourcePath, identity: h.identity, kind: sources[h.digest]?.kind ?? input.kind
                )
                artifacts.append(
                    ManifestArtifact(
                        name: input.name, path: input.artifactPath, kind: input.kind, sha256: h.digest, size: h.size,
                        mediaType: input.mediaType, provenance: input.provenance
                    )
                )
            }
            artifacts.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            relist()
        }

        mutating func relist() {
            blobs = sources.keys.sorted().map {
                ManifestBlob(
                    sha256: $0, size: sources[$0]?.size ?? 0, kind: sources[$0]?.kind ?? "file", delivery: deliveries[$0] ?? .carried
                )
            }
        }

        /// The bytes of the blobs the tar carries.
        var blobBytes: Int { blobs.reduce(0) { $0 + ($1.isCarried ? $1.size : 0) } }

        /// A delta: every blob the inventory lists (by digest and size) is left out as expected in
        /// the store; then each carried zip artifact (not a wheel) whose entries are found in the
        /// wheels and earlier builds is carried as a recipe, when the recipe is under half its size.
        mutating func cut(_ delta: SealDelta, progress: ProgressReporter?) throws {
            for (digest, source) in sources where source.bytes == nil && delta.inventory.blobs[digest] == source.size {
                deliveries[digest] = .store
            }
            let isZip: (String) -> Bool = { $0.lowercased().hasSuffix(".zip") }
            let targets = Set(
                artifacts.filter { isZip($0.path) && sources[$0.sha256]?.bytes == nil && deliveries[$0.sha256] == nil && $0.size >= 1 << 16 }
                    .map(\.sha256)
            )
            var candidates: [SHA256Digest: String] = delta.earlierBuilds.filter { delta.inventory.blobs[$0.key] != nil }
            for artifact in artifacts where !targets.contains(artifact.sha256) {
                let path = artifact.path.lowercased()
                guard path.hasSuffix(".whl") || path.hasSuffix(".zip"), let source = sources[artifact.sha256], source.bytes == nil else { continue }
                candidates[artifact.sha256] = source.path
            }
            for target in targets.sorted() {
                guard let source = sources[target] else { continue }
                progress?.note("seal: planning a recipe for \(FileSystem.baseName(source.path)) from \(candidates.count) zip(s)")
                guard
                    let planned = try ZipRecipePlanner.plan(
                        zip: source.path, output: BlobRecipe.Blob(sha256: target, size: source.size), sources: candidates
                    ), planned.bytes.count < source.size / 2
                else { continue }
                let recipe = SHA256Hasher.hash(planned.bytes)
                if sources[recipe] == nil {
                    sources[recipe] = Source(size: planned.bytes.count, path: "", identity: nil, kind: "recipe", bytes: planned.bytes)
                }
                deliveries[target] = .recipe(recipe)
                for used in planned.recipe.sources where sources[used.sha256] == nil {
                    // An earlier build the store holds: named in the manifest, so the signature covers it.
                    sources[used.sha256] = Source(size: used.size, path: candidates[used.sha256] ?? "", identity: nil, kind: "recipe-source")
                    deliveries[used.sha256] = .store
                }
            }
            relist()
        }

        /// Adds an artifact the seal made itself, carried from memory.
        mutating func add(name: String, path: String, kind: String, mediaType: String, bytes: [UInt8]) throws {
            guard !artifacts.contains(where: { $0.name == name }) else {
                throw UsageError(BundleErrorCode.duplicateName, "artifact name '\(name)' is used by an input and by the seal's own \(kind)")
            }
            let digest = SHA256Hasher.hash(bytes)
            if sources[digest] == nil { sources[digest] = Source(size: bytes.count, path: "", identity: nil, kind: kind, bytes: bytes) }
            artifacts.append(ManifestArtifact(name: name, path: path, kind: kind, sha256: digest, size: bytes.count, mediaType: mediaType))
            artifacts.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            relist()
        }

        /// For every artifact whose provenance records its build inputs, its SLSA provenance as an
        /// in-toto statement in a DSSE envelope signed by every key, at
        /// `attestations/PATH.intoto.json`. Returns the paths and digests written.
        mutating func attest(signers: [(key: Ed25519PrivateKey, id: String)]) throws -> [(path: String, sha256: SHA256Digest)] {
            var written: [(path: String, sha256: SHA256Digest)] = []
            for artifact in artifacts {
                guard let value = artifact.provenance, value["schema"] != nil, let provenance = try? Provenance.read(value),
                    let statement = provenance.inTotoStatement(subjectName: artifact.path, subject: artifact.sha256)
                else { continue }
                let envelope = try DSSE.envelope(payload: statement.canonicalBytes, signers: signers)
                let path = Sealer.attestationDirectory + artifact.path + ".intoto.json"
                try add(name: artifact.name + ".intoto", path: path, kind: Sealer.attestationKind, mediaType: DSSE.envelopeMediaType, bytes: envelope)
                written.append((path, SHA256Hasher.hash(envelope)))
            }
            return written
        }
    }

    /// The members that come before the blobs, in bundle order.
    private struct Members {
        var manifest: [UInt8]
        var signatures: [(String, [UInt8])]
        var sums: [UInt8]
        var verifyGuide: [UInt8]
    }

    /// Checks that --out's directory exists and has room for the whole bundle, tar headers included.
    private static func requireRoom(for members: Members, contents: Contents, output: String) throws {
        let estimate =
            contents.blobBytes + (contents.blobs.count { $0.isCarried } + members.signatures.count + 8) * 1536 + members.manifest.count
            + members.sums.count + members.verifyGuide.count
        let outputDir = FileSystem.parentPath(output).isEmpty ? "." : FileSystem.parentPath(output)
        guard FileSystem.kind(of: outputDir) == .directory else {
            throw UsageError(CoreErrorCode.noSuchFile, "\(outputDir): no such directory for --out")
        }
        try Store.requireFreeSpace(estimate, at: outputDir, for: "the bundle \(output)")
    }

    /// Streams the tar: manifest.json, signatures/, SHA256SUMS, VERIFY.md, then each blob copied from
    /// its input, which must still be the file that was hashed.
    private static func write(
        _ members: Members, _ contents: Contents, to writer: TarWriter, mtime: Int64, progress: ProgressReporter?
    ) throws {
        try writer.addFile(path: "manifest.json", bytes: members.manifest, mtime: mtime)
        for (id, sig) in members.signatures { try writer.addFile(path: "signatures/\(id).sig", bytes: sig, mtime: mtime) }
        try writer.addFile(path: "SHA256SUMS", bytes: members.sums, mtime: mtime)
        try writer.addFile(path: "VERIFY.md", bytes: members.verifyGuide, mtime: mtime)
        let blobBytes = contents.blobBytes
        progress?.start(total: blobBytes, unit: "bytes")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobWriter.bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        for blob in contents.blobs where blob.isCarried {
            guard let source = contents.sources[blob.sha256] else { continue }
            if let bytes = source.bytes {
                try writer.addFile(path: blob.memberPath, bytes: bytes, mtime: mtime)
                progress?.advance(by: bytes.count)
                continue
            }
            try writer.addFile(path: blob.memberPath, size: blob.size, mtime: mtime) { writer in
                let fd = try FileDescriptor.open(source.path)
                var copied = 0
                while copied < blob.size {
                    let n = try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<min(buffer.count, blob.size - copied)]))
                    if n == 0 { break }
                    try writer.writeData(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
                    copied += n
                    progress?.advance(by: n)
                }
                guard copied == blob.size, try FileIdentity(fd) == source.identity else {
                    throw UsageError(
                        CoreErrorCode.inputChanged,
                        "\(source.path): changed while it was being sealed; seal again"
                    )
                }
            }
        }
        try writer.close()
        progress?.finish("wrote \(ByteCount.format(blobBytes))")
    }

    /// `<hex>  <path>` lines, sorted, for every blob and VERIFY.md, as `sha256sum -c` reads them.
    static func sha256sums(blobs: [ManifestBlob], verifyGuide: [UInt8]) -> [UInt8] {
        var lines = blobs.map { "\($0.sha256.hex)  \($0.memberPath)" }
        lines.append("\(SHA256Hasher.hash(verifyGuide).hex)  VERIFY.md")
        lines.sort()
        return Array(lines.map { $0 + "\n" }.joined().utf8)
    }

    /// A version-8 (custom) UUID made from a hash, for a bundle id that is a function of its content.
    static func uuid(fromHash hash: [UInt8]) -> String {
        var b = Array(hash.prefix(16))
        b[6] = (b[6] & 0x0f) | 0x80
        b[8] = (b[8] & 0x3f) | 0x80
        let hex = SHA256Digest(bytes: b + [UInt8](repeating: 0, count: 16)).hex
        let h = Array(hex.prefix(32))
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-"
            + String(h[20..<32])
    }

    private struct Hashed: Sendable {
        var digest: SHA256Digest
        var size: Int
        var identity: FileIdentity
    }

    private static func hashAll(_ inputs: [SealInput], jobs: Int, progress: ProgressReporter?) async throws -> [Hashed] {
        var results = [Hashed?](repeating: nil, count: inputs.count)
        try await withThrowingTaskGroup(of: (Int, Hashed).self) { group in
            var pending = Array(inputs.enumerated())[...]
            func next() {
                guard let (i, input) = pending.popFirst() else { return }
                group.addTask {
                    let fd = try FileDescriptor.open(input.sourcePath)
                    let identity = try FileIdentity(fd)
                    let (digest, size) = try Store.hash(fd)
                    return (i, Hashed(digest: digest, size: size, identity: identity))
                }
            }
            for _ in 0..<max(1, jobs) { next() }
            while let (i, hashed) = try await group.next() {
                results[i] = hashed
                progress?.advance(by: 1)
                next()
            }
        }
        return results.compactMap { $0 }
    }
}
