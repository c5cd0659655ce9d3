// One streaming pass over a bundle, shared by `verify` and `import`. Order of trust:
//   1. manifest.json must be the first member (at most 16 MiB) and in canonical form;
//   2. the signatures that follow are checked against the trust policy before anything else is
//      believed, and the expiry after them;
//   3. only then are SHA256SUMS, VERIFY.md and the blobs read, each hashed as it streams and held
//      to the size and digest the signed manifest names.
// A delta's blobs that are expected in the store or carried as recipes are not members; the report
// lists them (`delta`), and the import checks them against its store (Importer.swift).
// Every member must be a regular file at a path the manifest implies, at most once; links, devices,
// sparse files, unknown or duplicate paths and missing members are all problems. `verify` collects
// every problem; `import` (strict mode) stops at the first, before writing anything it has not
// checked, and its sink discards what it staged.

public import AirlockCore

/// Receives verified content during an import. `verify` passes none.
public protocol BundleSink: AnyObject {
    /// Called once the signatures and expiry have passed, before any blob is read.
    func accept(manifest: Manifest, manifestBytes: [UInt8], signatures: [String: [UInt8]], signers: [String]) throws
    /// A writer for a blob's bytes, or nil to hash them only (the store has it already).
    func writer(for blob: ManifestBlob) throws -> BlobWriter?
    /// The blob's bytes matched its size and digest.
    func finished(_ blob: ManifestBlob, writer: BlobWriter) throws
    func accept(sha256sums: [UInt8]) throws
}

public struct BundleReport: Sendable, Codable {
    public var bundle: String?
    public var channel: String?
    public var sequence: Int?
    public var created: String?
    public var expires: String?
    public var signers: [String]
    public var artifacts: Int
    public var blobs: Int
    public var bytes: Int
    public var problems: [String]
    /// The code of each problem, in the same order (`bundle.hash-mismatch`, `core.bad-manifest`, ...).
    public var problemCodes: [ErrorCode]
    public var notes: [String]
    /// A delta bundle: what it leaves out, which the importing store must hold.
    public var delta: DeltaReport? = nil
    public var isValid: Bool { problems.isEmpty }
}

/// What a delta bundle relies on: the blobs it leaves out for the store, and those it carries as recipes.
public struct DeltaReport: Sendable, Codable {
    public struct Blob: Sendable, Codable, Equatable {
        public var sha256: String
        public var size: Int
        public var kind: String
        /// The artifacts that are this blob.
        public var artifacts: [String]
        /// For a blob carried as a recipe: the recipe's digest.
        public var recipe: String?
    }

    /// The sha256 of the inventory the delta was cut against.
    public var inventory: String
    public var summary: DeltaSummary
    /// Expected in the importing store (re-hashed there before the import commits).
    public var store: [Blob]
    /// Reassembled at import from their recipes, and kept only if they hash to their digest.
    public var recipes: [Blob]

    public init(manifest: Manifest, inventory: SHA256Digest) {
        self.inventory = inventory.hex
        summary = DeltaSummary(manifest: manifest)
        let names = Dictionary(grouping: manifest.artifacts, by: \.sha256).mapValues { $0.map(\.name).sorted() }
        func blob(_ b: ManifestBlob, recipe: SHA256Digest? = nil) -> Blob {
            Blob(sha256: b.sha256.hex, size: b.size, kind: b.kind, artifacts: names[b.sha256] ?? [], recipe: recipe?.hex)
        }
        store = manifest.blobs.filter { $0.delivery == .store }.map { blob($0) }
        recipes = manifest.blobs.compactMap { b in
            if case .recipe(let r) = b.delivery { return blob(b, recipe: r) }
            return nil
        }
    }
}

public struct ScanOptions: Sendable {
    public var policy: TrustPolicy
    public var now: Int64
    public var allowExpired: Bool
    /// Stop at the first problem (import) instead of collecting them all (verify).
    public var strict: Bool

    public init(policy: TrustPolicy, now: Int64 = Timestamp.nowEpochSeconds(), allowExpired: Bool = false, strict: Bool = false) {
        self.policy = policy
        self.now = now
        self.allowExpired = allowExpired
        self.strict = strict
    }
}

public final class BundleScanner {
    public static let maximumSignatures = 64
    private static let maximumSums = 64 << 20
    private static let maximumGuide = 1 << 20

    private let paths: [String]
    private let options: ScanOptions
    private weak var sink: (any BundleSink)?
    private let progress: ProgressReporter?
    private var report = BundleReport(
        signers: [], artifacts: 0, blobs: 0, bytes: 0, problems: [], problemCodes: [], notes: []
    )

    public init(paths: [String], options: ScanOptions, sink: (any BundleSink)? = nil, progress: ProgressReporter? = nil) {
        self.paths = paths
        self.options = options
        self.sink = sink
        self.progress = progress
    }

    private struct Stop: Error {}

    /// Records a problem; in strict mode (import) the scan ends at it.
    private func problem(_ code: BundleErrorCode, _ text: String) throws {
        try problem(code: code.code, text)
    }

    private func problem(code: ErrorCode, _ text: String) throws {
        record(code, text)
        if options.strict { throw Stop() }
    }

    private func record(_ code: ErrorCode, _ text: String) {
        report.problems.append(text)
        report.problemCodes.append(code)
    }

    /// Reads the whole bundle. Throws for bad input (not a bundle: exit 2); check failures are in the
    /// report (and, in strict mode, end the scan early).
    public func scan() throws -> BundleReport {
        do {
            try run()
        } catch is Stop {
            // strict mode: the first problem is in the report
        } catch let error as ArchiveError where error.status == .checkFailed {
            record(
                error.code == CoreErrorCode.badArchive.code ? BundleErrorCode.truncated.code : error.code,
                error.reason
            )
        } catch let error as ArchiveError where error.code == CoreErrorCode.notAnArchive.code {
            throw UsageError(BundleErrorCode.notABundle, error.description)
        }
        return report
    }

    private func run() throws {
        // Kept whole: one pass over one tar cursor in the order of trust; split, the order would not read top-down.
        let name = paths[0]
        let reader = try ArchiveReader(paths: paths)

        // 1. The manifest.
        guard let first = try reader.next() else {
            throw UsageError(BundleErrorCode.notABundle, "\(name): empty archive, not an Airlock bundle")
        }
        guard first.path == "manifest.json" else {
            throw UsageError(
                BundleErrorCode.notABundle,
                "\(name): not an Airlock bundle (its first member is '\(first.path ?? "?")', not manifest.json)"
            )
        }
        guard first.kind == .regular, !first.isSparse else {
            return try problem(.notARegularFile, "manifest.json: not a regular file")
        }
        guard first.size <= Manifest.maximumSize else {
            return try problem(
                .oversizedMember,
                "manifest.json: \(first.size) bytes, over the \(Manifest.maximumSize)-byte limit"
            )
        }
        let manifestBytes = try reader.readAll(limit: Manifest.maximumSize)

        // 2. Signatures, then the trust decision, then expiry.
        var signatures: [String: [UInt8]] = [:]
        var entry = try reader.next()
        while let e = entry, let path = e.path, path.hasPrefix("signatures/") {
            let file = String(path.dropFirst("signatures/".count))
            if file.hasSuffix(".sig"), let id = SHA256Digest(file.dropLast(4)), file.utf8.count == 68 {
                if e.kind != .regular || e.isSparse {
                    try problem(.notARegularFile, "\(path): not a regular file")
                    try reader.skipData()
                } else if e.size != 64 {
                    try problem(.badSignature, "\(path): \(e.size) bytes; an Ed25519 signature has 64")
                    try reader.skipData()
                } else if signatures[id.hex] != nil {
                    try problem(.duplicateMember, "\(path): appears twice")
                    try reader.skipData()
                } else if signatures.count >= Self.maximumSignatures {
                    try problem(.tooManySignatures, "more than \(Self.maximumSignatures) signatures")
                    try reader.skipData()
                } else {
                    signatures[id.hex] = try reader.readAll(limit: 64)
                }
            } else {
                try problem(.unexpectedMember, "\(path): not a signature file (signatures/<64 hex key id>.sig)")
                try reader.skipData()
            }
            entry = try reader.next()
        }
        if signatures.isEmpty { return try problem(.noSignature, "the bundle carries no signatures") }
        // Nothing in the manifest is read before a trusted key's signature over its exact bytes holds.
        let byID = Dictionary(options.policy.keys.map { ($0.publicKey.keyID, $0.publicKey) }, uniquingKeysWith: { a, _ in a })
        let anyValid = signatures.contains { id, sig in byID[id]?.isValidSignature(sig, for: manifestBytes) == true }
        guard anyValid else {
            let bad = signatures.keys.filter { byID[$0] != nil }.sorted()
            if bad.isEmpty {
                record(
                    BundleErrorCode.unknownSigner.code,
                    "no signature by a trusted key (signed by \(signatures.keys.sorted().joined(separator: ", ")))"
                )
            } else {
                for id in bad {
                    record(
                        BundleErrorCode.badSignature.code,
                        "signatures/\(id).sig: does not verify with the trusted key: "
                            + "the manifest was changed or signed by another key"
                    )
                }
            }
            return
        }
        let manifest: Manifest
        do {
            manifest = try Manifest(canonicalBytes: manifestBytes)
        } catch {
            return try problem(code: error.code, error.description)
        }
        report.bundle = manifest.bundle
        report.channel = manifest.channel
        report.sequence = manifest.sequence
        report.created = manifest.created
        report.expires = manifest.expires
        report.artifacts = manifest.artifacts.count
        report.blobs = manifest.blobs.count
        report.bytes = manifest.carriedBlobs.reduce(0) { $0 + $1.size }
        if let delta = manifest.delta { report.delta = DeltaReport(manifest: manifest, inventory: delta.inventory) }
        let evaluation = options.policy.evaluate(manifest: manifestBytes, channel: manifest.channel, signatures: signatures)
        report.signers = evaluation.signers
        report.notes += evaluation.notes
        for (code, text) in zip(evaluation.problemCodes, evaluation.problems) { try problem(code: code, text) }
        if let expires = Timestamp.parse(manifest.expires), expires < options.now {
            if options.allowExpired {
                report.notes.append("expired at \(manifest.expires); accepted because --allow-expired was given")
            } else {
                try problem(.expired, "expired at \(manifest.expires) (pass --allow-expired to accept it anyway)")
            }
        }
        try sink?.accept(manifest: manifest, manifestBytes: manifestBytes, signatures: signatures, signers: evaluation.signers)

        // 3. SHA256SUMS, VERIFY.md, blobs.
        // Blob members are looked up by the digest in their name, not by a String per path: a bundle
        // can carry 100,000 and these tables are most of what a scan holds.
        let blobsByDigest = Dictionary(manifest.carriedBlobs.map { ($0.sha256, $0) }, uniquingKeysWith: { a, _ in a })
        var seenBlobs = Set<SHA256Digest>()
        var seen = Set<String>()
        func blobDigest(_ path: String) -> SHA256Digest? {
            guard path.utf8.count == 77, path.hasPrefix("blobs/sha256/") else { return nil }
            return SHA256Digest(hexBytes: path.utf8.dropFirst(13))
        }
        var sumsEntries: [String: SHA256Digest]? = nil
        progress?.start(total: report.bytes, unit: "bytes")
        while let e = entry {
            guard let path = e.path else {
                try problem(.unexpectedMember, "a member has an unreadable name")
                try reader.skipData()
                entry = try reader.next()
                continue
            }
            let digest = blobDigest(path)
            let repeated = digest.map { !seenBlobs.insert($0).inserted } ?? !seen.insert(path).inserted
            if repeated {
                try problem(.duplicateMember, "\(path): appears twice")
                try reader.skipData()
            } else if e.kind != .regular || e.isSparse {
                let what: String
                switch e.kind {
                case .symlink: what = "a symbolic link"
                case .hardlink: what = "a hard link"
                case .directory: what = "a directory"
                case .other(let kind): what = "a \(kind)"
                case .regular: what = "a sparse file"
                }
                try problem(.notARegularFile, "\(path): is \(what); bundles carry regular files only")
                try reader.skipData()
            } else if path == "SHA256SUMS" {
                sumsEntries = try readSums(e, reader: reader, manifest: manifest)
            } else if path == "VERIFY.md" {
                guard let expected = sumsEntries?["VERIFY.md"] else {
                    try problem(.unexpectedMember, "VERIFY.md: comes before SHA256SUMS or is not listed in it")
                    try reader.skipData()
                    entry = try reader.next()
                    continue
                }
                guard e.size <= Self.maximumGuide else {
                    try problem(
                        .oversizedMember,
                        "VERIFY.md: \(e.size) bytes, over the \(Self.maximumGuide)-byte limit"
                    )
                    try reader.skipData()
                    entry = try reader.next()
                    continue
                }
                let bytes = try reader.readAll(limit: Self.maximumGuide)
                if SHA256Hasher.hash(bytes) != expected {
                    try problem(.hashMismatch, "VERIFY.md: does not match its SHA256SUMS line")
                }
            } else if let digest, let blob = blobsByDigest[digest] {
                try readBlob(blob, entry: e, reader: reader)
            } else {
                try problem(.unexpectedMember, "\(path): not named by the manifest")
                try reader.skipData()
            }
            entry = try reader.next()
        }
        progress?.finish()
        if sumsEntries == nil, !seen.contains("SHA256SUMS") { try problem(.missingMember, "SHA256SUMS: missing") }
        if !seen.contains("VERIFY.md") { try problem(.missingMember, "VERIFY.md: missing") }
        for blob in manifest.carriedBlobs where !seenBlobs.contains(blob.sha256) {
            try problem(.missingMember, "\(blob.memberPath): missing (\(blob.size) bytes, \(blob.kind))")
        }
    }

    private func readSums(_ e: TarEntry, reader: ArchiveReader, manifest: Manifest) throws -> [String: SHA256Digest]? {
        guard e.size <= Self.maximumSums else {
            try problem(.oversizedMember, "SHA256SUMS: \(e.size) bytes, over the limit")
            try reader.skipData()
            return nil
        }
        let bytes = try reader.readAll(limit: Self.maximumSums)
        guard SHA256Hasher.hash(bytes) == manifest.sha256sums else {
            try problem(.hashMismatch, "SHA256SUMS: does not match the sha256sums the signed manifest names")
            return nil
        }
        try sink?.accept(sha256sums: bytes)
        // `<64 hex>  <path>` lines. A blob's line names its digest twice (`blobs/sha256/<hex>`), so
        // it is checked in the bytes, with no String made for it: a bundle can list 100,000.
        var listed = Dictionary(manifest.carriedBlobs.map { ($0.sha256, false) }, uniquingKeysWith: { a, _ in a })
        var others: [String: SHA256Digest] = [:]
        var matched = 0
        var exact = bytes.last == UInt8(ascii: "\n")
        let blobPrefix = Array("blobs/sha256/".utf8)
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            let line = bytes[start..<end]
            start = end + 1
            let hex = line.prefix(64)
            let path = line.dropFirst(66)
            guard line.count > 66, line[line.startIndex + 64] == 32, line[line.startIndex + 65] == 32,
                let digest = SHA256Digest(hexBytes: hex)
            else {
                try problem(.badSHA256SUMS, "SHA256SUMS: malformed line '\(String(decoding: line.prefix(100), as: UTF8.self))'")
                return nil
            }
            if path.count == blobPrefix.count + 64, path.starts(with: blobPrefix), path.suffix(64).elementsEqual(hex) {
                if listed[digest] == false {
                    listed[digest] = true
                    matched += 1
                } else {
                    exact = false
                }
            } else {
                let name = String(decoding: path, as: UTF8.self)
                if others.updateValue(digest, forKey: name) != nil { exact = false }
            }
        }
        if !exact || matched != listed.count || !Set(others.keys).isSubset(of: ["VERIFY.md"]) {
            try problem(.badSHA256SUMS, "SHA256SUMS: does not list exactly the manifest's carried blobs and VERIFY.md")
        }
        return others
    }

    private func readBlob(_ blob: ManifestBlob, entry e: TarEntry, reader: ArchiveReader) throws {
        guard e.size == blob.size else {
            try problem(.sizeMismatch, "\(blob.memberPath): \(e.size) bytes, the manifest says \(blob.size)")
            try reader.skipData()
            return
        }
        let writer = try sink?.writer(for: blob)
        let hasher = writer == nil ? SHA256Hasher() : nil
        do {
            var total = 0
            try reader.readData { chunk in
                total += chunk.count
                if let writer { try writer.append(chunk) } else { hasher?.update(chunk) }
                progress?.advance(by: chunk.count)
            }
            let digest = try writer?.finish() ?? hasher?.finalize()
            guard total == blob.size else {
                writer.map { try? FileSystem.remove($0.temporaryPath) }
                return try problem(.truncated, "\(blob.memberPath): truncated at \(total) of \(blob.size) bytes")
            }
            guard digest == blob.sha256 else {
                writer.map { try? FileSystem.remove($0.temporaryPath) }
                return try problem(
                    .hashMismatch,
                    "\(blob.memberPath): content hashes to \(digest?.hex ?? "?"), not the name the manifest gives"
                )
            }
            if let writer { try sink?.finished(blob, writer: writer) }
        } catch {
            writer?.discard()
            throw error
        }
    }
}
