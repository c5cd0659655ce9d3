// What a bundle carries, in the one shape every domain maps its outputs to: a Python build gives
// its zip, wheels and sdists, an image its manifest, config and layers, and `airlock seal` hands
// the list to the sealer. So the CLI concatenates lists and holds no rule about what a build carries.

/// A file to carry in a bundle and the artifact it becomes.
public struct BundleInput: Sendable, Equatable {
    public var sourcePath: String
    /// Where it sits in the bundle's artifact list (`wheels/x.whl`).
    public var artifactPath: String
    public var name: String
    public var kind: String
    public var mediaType: String
    /// Signed with the manifest: what the artifact is and where it came from.
    public var provenance: JSONValue?

    public init(
        sourcePath: String, artifactPath: String, name: String, kind: String = "file", mediaType: String? = nil,
        provenance: JSONValue? = nil
    ) {
        self.sourcePath = sourcePath
        self.artifactPath = artifactPath
        self.name = name
        self.kind = kind
        self.mediaType = mediaType ?? MediaType.guess(artifactPath)
        self.provenance = provenance
    }
}

public enum MediaType {
    public static func guess(_ path: String) -> String {
        let lower = path.lowercased()
        let table: [(String, String)] = [
            (".zip", "application/zip"), (".whl", "application/zip"), (".json", "application/json"),
            (".tar", "application/x-tar"), (".gz", "application/gzip"), (".zst", "application/zstd"),
            (".py", "text/x-python"), (".go", "text/x-go"), (".md", "text/markdown"), (".txt", "text/plain"),
            (".mod", "text/plain"), (".sum", "text/plain"), (".sh", "text/x-shellscript"),
        ]
        return table.first { lower.hasSuffix($0.0) }?.1 ?? "application/octet-stream"
    }
}
