// The one build pipeline every artifact kind runs through (a Python app zip, a wheel built from an
// sdist, a Go handler zip, an OCI image layer):
//
//   inputs (a value) -> action cache? -> the kind's steps (in the sandbox, writing the artifact's
//   bytes into a hashing output) -> rename into place -> store -> typed provenance -> action cache
//
// A kind supplies its `BuildInputs` and its steps; everything else is here, once: the cache key is
// the inputs' digest, an unchanged rebuild is a copy out of the store, the artifact is written to a
// temp name in its own directory and renamed only when the steps (a smoke test among them)
// succeeded, and the provenance beside it, in the index and in the cache say the same thing.

import Foundation

/// One artifact to build: what it is, from what, and where it goes.
public struct ArtifactRequest: Sendable {
    public var inputs: BuildInputs
    public var project: String
    /// The artifact's file name (`app.zip`).
    public var outputName: String
    public var mediaType: String
    /// Where the artifact and its `provenance.json` go; nil keeps it in the store alone (a wheel
    /// built from an sdist).
    public var outDirectory: String?
    /// How the store's index names it.
    public var entryKind: String
    public var entryName: String
    public var entryVersion: String?
    public var origin: String
    /// GC roots the stored artifact gets (`build:app`).
    public var roots: [String]
    public var useCache: Bool

    public init(
        inputs: BuildInputs, project: String, outputName: String, mediaType: String, outDirectory: String?,
        entryKind: String = "artifact", entryName: String? = nil, entryVersion: String? = nil, origin: String,
        roots: [String] = [], useCache: Bool = true
    ) {
        self.inputs = inputs
        self.project = project
        self.outputName = outputName
        self.mediaType = mediaType
        self.outDirectory = outDirectory
        self.entryKind = entryKind
        self.entryName = entryName ?? project
        self.entryVersion = entryVersion
        self.origin = origin
        self.roots = roots
        self.useCache = useCache
    }

    /// Where the artifact lands (nil: only in the store).
    public var outputPath: String? { outDirectory.map { $0 + "/" + outputName } }
    public var provenancePath: String? { outDirectory.map { $0 + "/provenance.json" } }
}

/// What a kind's steps report besides the bytes they wrote: the parts of the provenance only
/// they know.
public struct ArtifactFacts: Sendable {
    public var sandbox: Provenance.Sandbox?
    public var functions: [AppFunction]?
    public var audit: Provenance.Audit?
    public var builtInputs: [Provenance]?
    public var details: JSONValue?
    /// The artifact's file name when the steps decide it (a wheel built from an sdist); nil keeps
    /// the request's.
    public var outputName: String?

    public init(
        sandbox: Provenance.Sandbox? = nil, functions: [AppFunction]? = nil, audit: Provenance.Audit? = nil,
        builtInputs: [Provenance]? = nil, details: JSONValue? = nil, outputName: String? = nil
    ) {
        self.sandbox = sandbox
        self.functions = functions
        self.audit = audit
        self.builtInputs = builtInputs
        self.details = details
        self.outputName = outputName
    }
}

/// A finished build: the artifact where it landed, its provenance, and whether it came from the cache.
public struct ArtifactBuild: Sendable {
    public var path: String
    public var provenance: Provenance
    public var cacheHit: Bool
}

public enum ArtifactPipeline {
    /// Runs `request`: from the action cache when its inputs were built before (and the output is
    /// still in the store; `cacheHit` says so), else `steps` write the artifact into the output they are given, and
    /// it is stored, recorded and cached. `steps` run only on a miss.
    public static func build(
        _ request: ArtifactRequest,
        store: Store,
        steps: (any ArchiveOutput) async throws -> ArtifactFacts
    ) async throws -> ArtifactBuild {
        if let hit = try cached(request, store: store) { return hit }
        let staging = try stagingPath(for: request, store: store)
        defer { try? FileSystem.remove(staging) }
        let hashing = HashingOutput(try FileArchiveOutput(path: staging))
        let facts = try await steps(hashing)
        return try finish(request, staged: staging, digest: hashing.digest, size: hashing.bytes, facts: facts, store: store)
    }

    /// The same for steps that leave a finished file (`fileSteps` returns its path and the facts);
    /// only for artifacts kept in the store alone (`outDirectory` nil), since the file is copied in.
    public static func build(
        _ request: ArtifactRequest,
        store: Store,
        fileSteps: () async throws -> (path: String, facts: ArtifactFacts)
    ) async throws -> ArtifactBuild {
        if let hit = try cached(request, store: store) { return hit }
        guard request.outDirectory == nil else { preconditionFailure("fileSteps builds keep the artifact in the store alone") }
        let (path, facts) = try await fileSteps()
        let (digest, size) = try Store.hashFile(path)
        return try finish(request, staged: path, digest: digest, size: size, facts: facts, store: store)
    }

    /// The cached build of `request`, copied out of the store, or nil.
    static func cached(_ request: ArtifactRequest, store: Store) throws -> ArtifactBuild? {
        guard request.useCache, let hit = try store.index.cachedAction(request.inputs.digest.hex), store.contains(hit.output),
            let provenance = try? Provenance.read(Array(hit.metadata.utf8)), provenance.output.sha256 == hit.output
        else { return nil }
        var path = store.blobPath(hit.output)
        if let directory = request.outDirectory {
            try FileSystem.makeDirectory(directory)
            path = directory + "/" + provenance.output.name
            if (try? Store.hashFile(path).0) != hit.output { try store.copyBlob(hit.output, to: path) }
            if let provenancePath = request.provenancePath {
                try FileSystem.writeAtomically(provenancePath, provenance.canonicalBytes)
            }
        }
        try record(request, provenance: provenance, store: store)
        return ArtifactBuild(path: path, provenance: provenance, cacheHit: true)
    }

    private static func stagingPath(for request: ArtifactRequest, store: Store) throws -> String {
        let directory = request.outDirectory ?? store.temporaryDirectory
        try FileSystem.makeDirectory(directory)
        return directory + "/.\(request.outputName).unchecked-\(UInt64.random(in: 0...UInt64.max))"
    }

    private static func finish(
        _ request: ArtifactRequest, staged: String, digest: SHA256Digest, size: Int, facts: ArtifactFacts, store: Store
    ) throws -> ArtifactBuild {
        let name = facts.outputName ?? request.outputName
        let provenance = Provenance(
            kind: request.inputs.kind, project: request.project, tool: request.inputs.tool, inputs: request.inputs,
            output: .init(name: name, sha256: digest, size: size, mediaType: request.mediaType), sandbox: facts.sandbox,
            functions: facts.functions, audit: facts.audit, builtInputs: facts.builtInputs, details: facts.details
        )
        var path = store.blobPath(digest)
        if let directory = request.outDirectory {
            path = directory + "/" + name
            try FileSystem.rename(staged, to: path)
            if let provenancePath = request.provenancePath {
                try FileSystem.writeAtomically(provenancePath, provenance.canonicalBytes)
            }
        }
        let source = request.outDirectory == nil ? staged : path
        let put = try store.put(path: source)
        guard put.digest == digest else {
            try? FileSystem.remove(put.temporaryPath)
            throw CheckFailure(CoreErrorCode.inputChanged, "\(source): changed while it was being stored")
        }
        try store.commit([(put.digest, put.temporaryPath)])
        try record(request, provenance: provenance, store: store)
        try store.index.recordAction(
            request.inputs.digest.hex, output: digest, metadata: String(decoding: provenance.canonicalBytes, as: UTF8.self)
        )
        return ArtifactBuild(path: path, provenance: provenance, cacheHit: false)
    }

    /// The index entry, roots and provenance of a stored artifact.
    private static func record(_ request: ArtifactRequest, provenance: Provenance, store: Store) throws {
        let digest = provenance.output.sha256
        try store.index.record(
            [
                BlobEntry(
                    digest: digest, size: provenance.output.size, kind: request.entryKind, name: request.entryName,
                    version: request.entryVersion, filename: provenance.output.name, mediaType: request.mediaType,
                    origin: request.origin
                )
            ],
            roots: request.roots.map { (digest, $0) }
        )
        try store.index.recordProvenance(String(decoding: provenance.canonicalBytes, as: UTF8.self), of: digest)
    }
}

/// Passes bytes through to another output, hashing them on the way.
public final class HashingOutput: ArchiveOutput {
    private let inner: any ArchiveOutput
    private let hasher = SHA256Hasher()
    public private(set) var bytes = 0
    private var finished: SHA256Digest? = nil

    public init(_ inner: any ArchiveOutput) { self.inner = inner }

    public func write(_ chunk: UnsafeRawBufferPointer) throws {
        hasher.update(chunk)
        bytes += chunk.count
        try inner.write(chunk)
    }

    public func close() throws {
        finished = hasher.finalize()
        try inner.close()
    }

    /// The digest of everything written; valid after `close()`.
    public var digest: SHA256Digest { finished ?? SHA256Digest(bytes: [UInt8](repeating: 0, count: 32)) }
}
