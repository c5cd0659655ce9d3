// The OCI image-spec documents Airlock reads and writes (descriptor, manifest, index, the parts of
// the config it shows), and the docker-archive `manifest.json`. Decoding is lenient about fields it
// does not use and strict about the ones it does: a digest that is not sha256 fails to decode.

public import AirlockCore
import Foundation

public enum OCIMediaType {
    public static let manifest = "application/vnd.oci.image.manifest.v1+json"
    public static let index = "application/vnd.oci.image.index.v1+json"
    public static let config = "application/vnd.oci.image.config.v1+json"
    public static let layer = "application/vnd.oci.image.layer.v1.tar"
    public static let layerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let layerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayer = "application/vnd.docker.image.rootfs.diff.tar"

    static let manifests: Set<String> = [manifest, dockerManifest]
    static let indexes: Set<String> = [index, dockerManifestList]
    static let layers: Set<String> = [layer, layerGzip, layerZstd, dockerLayer, dockerLayerGzip]
}

public struct OCIPlatform: Codable, Sendable, Equatable {
    public var architecture: String
    public var os: String
    public var variant: String?
}

public struct OCIDescriptor: Codable, Sendable, Equatable {
    public var mediaType: String
    public var digest: SHA256Digest
    public var size: Int
    public var annotations: [String: String]?
    public var platform: OCIPlatform?

    public init(mediaType: String, digest: SHA256Digest, size: Int, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = nil
    }
}

public struct OCIManifest: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: OCIDescriptor
    public var layers: [OCIDescriptor]
    public var annotations: [String: String]?
}

public struct OCIIndex: Codable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [OCIDescriptor]
}

/// The parts of an image config Airlock shows or checks.
public struct OCIImageConfig: Decodable, Sendable {
    public struct RootFS: Decodable, Sendable {
        public var type: String?
        public var diffIDs: [String]?
        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }
    public var architecture: String?
    public var os: String?
    public var rootfs: RootFS?
}

/// One image in a docker-archive's `manifest.json`.
struct DockerArchiveImage: Decodable {
    var config: String
    var repoTags: [String]?
    var layers: [String]
    enum CodingKeys: String, CodingKey {
        case config = "Config"
        case repoTags = "RepoTags"
        case layers = "Layers"
    }
}

enum ImageJSON {
    /// Manifests, indexes and configs are small; a larger one is refused before it is parsed.
    static let limit = 4 << 20

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw ImageError.check("\(what): not a valid \(T.self) document: \(error)")
        }
    }

    /// Deterministic JSON: sorted keys, slashes unescaped.
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }
}
