// The images a store holds, read from its index: each image is an `oci-manifest` entry named
// NAME with version TAG, plus `oci-config` and `oci-layer` entries under the same name and tag, and
// GC roots with reason `image:NAME:TAG` on every blob of it. Forgetting a name drops those roots
// and entries (`store gc` then removes blobs no other image shares); AirlockContainer's `remove`
// also drops the unpacked rootfs when no other name points at the same manifest.


/// One image in the store, as `image ls` shows it.
public struct ImageRecord: Codable, Sendable, Equatable {
    public var name: String
    public var tag: String
    public var manifest: SHA256Digest
    public var config: SHA256Digest
    public var layers: [OCIDescriptor]
    /// Manifest, config and layers, in bytes.
    public var size: Int
    public var architecture: String?
    public var os: String?

    public var reference: String { "\(name):\(tag)" }

    public init(
        name: String, tag: String, manifest: SHA256Digest, config: SHA256Digest, layers: [OCIDescriptor], size: Int,
        architecture: String?, os: String?
    ) {
        self.name = name
        self.tag = tag
        self.manifest = manifest
        self.config = config
        self.layers = layers
        self.size = size
        self.architecture = architecture
        self.os = os
    }
}

public enum ImageCatalog {
    public static let manifestKind = "oci-manifest"
    public static let configKind = "oci-config"
    public static let layerKind = "oci-layer"
    public static let kinds = [manifestKind, configKind, layerKind]

    /// The GC root every blob of the image `name:tag` holds.
    public static func rootReason(name: String, tag: String) -> String { "image:\(name):\(tag)" }

    /// Every named image, sorted by name and tag.
    public static func list(in store: Store) throws -> [ImageRecord] {
        try store.index.entries(kind: manifestKind).map { try record(for: $0, in: store) }
    }

    package static func record(for entry: BlobEntry, in store: Store) throws -> ImageRecord {
        let manifest = try readManifest(entry.digest, in: store)
        let configBytes = try readSmallBlob(manifest.config.digest, in: store, what: "config")
        let config = try OCIJSON.decode(OCIImageConfig.self, from: configBytes, what: "config \(manifest.config.digest)")
        return ImageRecord(
            name: entry.name,
            tag: entry.version ?? "latest",
            manifest: entry.digest,
            config: manifest.config.digest,
            layers: manifest.layers,
            size: entry.size + manifest.config.size + manifest.layers.reduce(0) { $0 + $1.size },
            architecture: config.architecture,
            os: config.os
        )
    }

    public static func readManifest(_ digest: SHA256Digest, in store: Store) throws -> OCIManifest {
        let bytes = try readSmallBlob(digest, in: store, what: "manifest")
        return try OCIJSON.decode(OCIManifest.self, from: bytes, what: "manifest \(digest)")
    }

    public static func readSmallBlob(_ digest: SHA256Digest, in store: Store, what: String) throws -> [UInt8] {
        guard store.contains(digest) else {
            throw ImageError.check(.missingBlob, "\(what) \(digest): missing from the store at \(store.root)")
        }
        return try FileSystem.readFile(store.blobPath(digest), limit: OCIJSON.limit)
    }

    /// Finds one image by `NAME[:TAG]` (TAG defaults to `latest`, or the only tag the name has) or
    /// by its manifest digest (`sha256:<hex>`, or a hex prefix of at least 12 digits).
    public static func resolve(_ reference: String, in store: Store) throws -> ImageRecord {
        let images = try list(in: store)
        if let exact = images.first(where: { $0.reference == reference }) { return exact }
        let byName = images.filter { $0.name == reference }
        if byName.count == 1 { return byName[0] }
        if let latest = byName.first(where: { $0.tag == "latest" }) { return latest }
        if byName.count > 1 {
            throw ImageError.usage(
                .ambiguous, "'\(reference)' has several tags (\(byName.map(\.tag).joined(separator: ", "))); name one"
            )
        }
        var hex = Substring(reference)
        if hex.hasPrefix("sha256:") { hex = hex.dropFirst(7) }
        if hex.count >= 12, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
            let matches = images.filter { $0.manifest.hex.hasPrefix(hex) }
            if let first = matches.first, matches.allSatisfy({ $0.manifest == first.manifest }) {
                return matches.count == 1 ? first : matches.sorted { $0.reference < $1.reference }[0]
            }
        }
        throw ImageError.usage(.notFound, "\(store.root): no image '\(reference)' in the store (see `airlock image ls`)")
    }
}

extension ImageCatalog {
    /// Forgets the named image (by NAME[:TAG]) or, for a digest, every name of that manifest.
    /// Returns what was forgotten, and the manifest when no name points at it any more.
    public static func forget(_ reference: String, in store: Store) throws -> (removed: [ImageRecord], orphaned: SHA256Digest?) {
        let target = try resolve(reference, in: store)
        let isDigest = reference.hasPrefix("sha256:") || target.manifest.hex.hasPrefix(reference)
        let images = try list(in: store)
        let removed = isDigest ? images.filter { $0.manifest == target.manifest } : [target]
        for image in removed {
            try store.index.forgetImage(
                name: image.name,
                version: image.tag,
                kinds: kinds,
                root: rootReason(name: image.name, tag: image.tag)
            )
        }
        let remaining = try list(in: store)
        return (removed, remaining.contains(where: { $0.manifest == target.manifest }) ? nil : target.manifest)
    }
}
