// A build's inputs as one value: everything that can change an artifact's bytes, and nothing that
// cannot. Its canonical-JSON digest is the action-cache key, and it is recorded whole in the
// artifact's provenance, so `rebuild --check` can rebuild an artifact from its provenance and the
// blobs the bundle carries alone. The container runtime is not an input: bwrap, docker and podman
// must give the same bytes from the same image, and a test holds them to it.

/// One blob a build reads: a wheel, an sdist, a build requirement, a toolchain, a module zip.
public struct BuildInputBlob: Codable, Sendable, Equatable, Hashable {
    /// What the blob is to the build (`wheel`, `sdist`, `build-wheel`, `toolchain`, `module`...).
    public var role: String
    /// Its file name as the build uses it.
    public var name: String
    public var sha256: SHA256Digest

    public init(role: String, name: String, sha256: SHA256Digest) {
        self.role = role
        self.name = name
        self.sha256 = sha256
    }
}

/// One file of the app's own sources, as it goes into the artifact.
public struct BuildInputFile: Codable, Sendable, Equatable, Hashable {
    public var path: String
    /// `0644` or `0755`.
    public var mode: String
    public var sha256: SHA256Digest

    public init(path: String, executable: Bool, sha256: SHA256Digest) {
        self.path = path
        self.mode = executable ? "0755" : "0644"
        self.sha256 = sha256
    }

    public var isExecutable: Bool { mode == "0755" }
}

/// The image a build's sandboxed steps ran in: the manifest digest is the input, the reference is
/// what the user called it (for messages and for finding it again).
public struct BuildInputImage: Codable, Sendable, Equatable, Hashable {
    public var reference: String
    public var manifest: SHA256Digest

    public init(reference: String, manifest: SHA256Digest) {
        self.reference = reference
        self.manifest = manifest
    }

    enum CodingKeys: String, CodingKey {
        case reference
        case manifest
    }

    /// Two builds differing only in the name the image was called by are the same build.
    public static func == (a: Self, b: Self) -> Bool { a.manifest == b.manifest }
    public func hash(into hasher: inout Hasher) { hasher.combine(manifest) }
}

/// What an artifact is built for: the language runtime and the platform (`linux/amd64`), and the
/// C library the platform's runtime image has.
public struct BuildTarget: Codable, Sendable, Equatable, Hashable {
    /// `python` or `go`.
    public var language: String
    /// `3.11`, `1.22.10`.
    public var version: String
    public var platform: String
    /// `glibc 2.31`, or nil where the artifact needs none (a static Go binary).
    public var libc: String?

    public init(language: String, version: String, platform: String, libc: String? = nil) {
        self.language = language
        self.version = version
        self.platform = platform
        self.libc = libc
    }
}

public struct BuildInputs: Codable, Sendable, Equatable {
    /// Bumped when the meaning of a field changes, so old cache entries stop matching.
    public static let schemaVersion = 1

    public var schema: Int
    /// The artifact kind (`python-function-app`, `python-sdist-wheel`, `go-custom-handler`...).
    public var kind: String
    /// `airlock 0.1.0`: a new Airlock may write different bytes.
    public var tool: String
    public var target: BuildTarget
    /// The sha256 of the lock file the build read, if it read one.
    public var lock: SHA256Digest?
    /// Every blob the build reads, sorted by role then name.
    public var blobs: [BuildInputBlob]
    /// The app's own files, sorted by path.
    public var files: [BuildInputFile]
    public var image: BuildInputImage?
    /// The app's entry script (`function_app.py`), or the handler's name.
    public var script: String?
    /// Build options that change the bytes (`bytecode: "checked-hash"`, `settings: <sha256>`).
    /// Secrets never appear here in clear: a setting's value enters as a hash.
    public var options: [String: String]
    public var sourceDateEpoch: Int64

    public init(
        kind: String, tool: String, target: BuildTarget, lock: SHA256Digest? = nil, blobs: [BuildInputBlob] = [],
        files: [BuildInputFile] = [], image: BuildInputImage? = nil, script: String? = nil, options: [String: String] = [:],
        sourceDateEpoch: Int64
    ) {
        self.schema = Self.schemaVersion
        self.kind = kind
        self.tool = tool
        self.target = target
        self.lock = lock
        self.blobs = blobs.sorted { ($0.role, $0.name, $0.sha256.hex) < ($1.role, $1.name, $1.sha256.hex) }
        self.files = files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        self.image = image
        self.script = script
        self.options = options
        self.sourceDateEpoch = sourceDateEpoch
    }

    /// The action-cache key: sha256 of the canonical JSON with the image named by digest only.
    public var digest: SHA256Digest {
        var keyed = self
        if let image { keyed.image = BuildInputImage(reference: "", manifest: image.manifest) }
        // Encoding a value of plain strings, integers and digests cannot fail.
        guard let bytes = try? keyed.canonicalJSON() else { preconditionFailure("build inputs did not encode") }
        return SHA256Hasher.hash(bytes)
    }

    /// The hash that stands for a set of secret values (app settings) in `options`.
    public static func hashed(_ values: [String: String]) -> String {
        let text = values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\0")
        return SHA256Hasher.hash(Array(text.utf8)).hex
    }
}
