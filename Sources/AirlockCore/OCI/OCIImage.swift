// The OCI image model, in one place for every domain that touches images: the image-spec documents
// (descriptor, manifest, index, config), their media types, image names and tags, and the
// conventions by which a store and a bundle hold an image (ImageCatalog.swift, ImageArtifacts.swift).
// Container imports, exports, unpacks and runs images; Bundle carries and names them; the mirror and
// `image push` serve them: all through these types.
//
// Decoding is lenient about fields Airlock does not use and strict about the ones it does (a digest
// that is not sha256 fails to decode). The config keeps every field it was given, known or not, so
// an image derived from a base keeps the base's Env, Entrypoint, Cmd, WorkingDir, Labels, history and
// whatever a newer spec adds.

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
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerLayer = "application/vnd.docker.image.rootfs.diff.tar"

    public static let manifests: Set<String> = [manifest, dockerManifest]
    public static let indexes: Set<String> = [index, dockerManifestList]
    public static let layers: Set<String> = [layer, layerGzip, layerZstd, dockerLayer, dockerLayerGzip]

    /// How a layer of this media type is compressed: nil (plain tar), `gzip` or `zstd`.
    public static func layerCompression(_ mediaType: String) -> String? {
        if mediaType.hasSuffix("+gzip") || mediaType.hasSuffix(".tar.gzip") { return "gzip" }
        if mediaType.hasSuffix("+zstd") { return "zstd" }
        return nil
    }
}

public struct OCIPlatform: Codable, Sendable, Equatable {
    public var architecture: String
    public var os: String
    public var variant: String?

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }
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

    public init(config: OCIDescriptor, layers: [OCIDescriptor], annotations: [String: String]? = nil) {
        self.schemaVersion = 2
        self.mediaType = OCIMediaType.manifest
        self.config = config
        self.layers = layers
        self.annotations = annotations
    }
}

public struct OCIIndex: Codable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [OCIDescriptor]

    public init(manifests: [OCIDescriptor]) {
        self.schemaVersion = 2
        self.mediaType = OCIMediaType.index
        self.manifests = manifests
    }
}

/// An image config, whole: the fields Airlock reads and changes are typed views over the document,
/// and everything else in it is written back as it came.
public struct OCIImageConfig: Codable, Sendable, Equatable {
    /// One entry of the config's `history`.
    public struct History: Codable, Sendable, Equatable {
        public var created: String?
        public var createdBy: String?
        public var comment: String?
        public var emptyLayer: Bool?

        public init(created: String? = nil, createdBy: String? = nil, comment: String? = nil, emptyLayer: Bool? = nil) {
            self.created = created
            self.createdBy = createdBy
            self.comment = comment
            self.emptyLayer = emptyLayer
        }

        enum CodingKeys: String, CodingKey {
            case created
            case createdBy = "created_by"
            case comment
            case emptyLayer = "empty_layer"
        }
    }

    /// The document, every field kept.
    public private(set) var document: [String: JSONValue]

    public init(document: [String: JSONValue]) { self.document = document }

    public init(from decoder: any Decoder) throws {
        document = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(document)
    }

    public var architecture: String? {
        get { document["architecture"]?.stringValue }
        set { document["architecture"] = newValue.map(JSONValue.string) }
    }
    public var os: String? {
        get { document["os"]?.stringValue }
        set { document["os"] = newValue.map(JSONValue.string) }
    }
    public var created: String? {
        get { document["created"]?.stringValue }
        set { document["created"] = newValue.map(JSONValue.string) }
    }

    /// `rootfs.diff_ids`: the digest of each layer uncompressed, in order.
    public var diffIDs: [String] {
        get { document["rootfs"]?["diff_ids"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        set { document["rootfs"] = .object(["type": .string("layers"), "diff_ids": .array(newValue.map(JSONValue.string))]) }
    }

    public var history: [History] {
        get { (try? document["history"]?.decoded(as: [History].self)) ?? [] }
        set { document["history"] = try? JSONValue(encoding: newValue) }
    }

    // The container config (`config`): what a runtime starts.
    private func field(_ name: String) -> JSONValue? { document["config"]?[name] }
    private mutating func setField(_ name: String, _ value: JSONValue?) {
        var config = document["config"]?.objectValue ?? [:]
        config[name] = value
        document["config"] = .object(config)
    }

    /// `NAME=value` entries, in order.
    public var env: [String] {
        get { field("Env")?.arrayValue?.compactMap(\.stringValue) ?? [] }
        set { setField("Env", .array(newValue.map(JSONValue.string))) }
    }
    public var entrypoint: [String]? {
        get { field("Entrypoint")?.arrayValue?.compactMap(\.stringValue) }
        set { setField("Entrypoint", newValue.map { .array($0.map(JSONValue.string)) }) }
    }
    public var cmd: [String]? {
        get { field("Cmd")?.arrayValue?.compactMap(\.stringValue) }
        set { setField("Cmd", newValue.map { .array($0.map(JSONValue.string)) }) }
    }
    public var workingDir: String? {
        get { field("WorkingDir")?.stringValue }
        set { setField("WorkingDir", newValue.map(JSONValue.string)) }
    }
    public var user: String? {
        get { field("User")?.stringValue }
        set { setField("User", newValue.map(JSONValue.string)) }
    }
    public var labels: [String: String] {
        get { (field("Labels")?.objectValue ?? [:]).compactMapValues(\.stringValue) }
        set { setField("Labels", .object(newValue.mapValues(JSONValue.string))) }
    }

    /// Sets `NAME=value` in `Env`, replacing an earlier value of the same name in place.
    public mutating func setEnvironment(_ name: String, _ value: String) {
        var entries = env
        let entry = name + "=" + value
        if let i = entries.firstIndex(where: { $0.hasPrefix(name + "=") }) { entries[i] = entry } else { entries.append(entry) }
        env = entries
    }

    /// A config derived from this one with one more layer on top: its diff id and a history entry.
    public func adding(layerDiffID: SHA256Digest, history entry: History) -> OCIImageConfig {
        var derived = self
        derived.diffIDs = diffIDs + [layerDiffID.description]
        derived.history = history + [entry]
        return derived
    }
}

/// Manifests, indexes and configs as Airlock reads and writes them.
public enum OCIJSON {
    /// Manifests, indexes and configs are small; a larger one is refused before it is parsed.
    public static let limit = 4 << 20

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        guard bytes.count <= limit else { throw ImageError.check(.badDocument, "\(what): larger than \(limit) bytes") }
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw ImageError.check(.badDocument, "\(what): not a valid \(T.self) document: \(error)")
        }
    }

    /// Deterministic JSON: sorted keys, slashes unescaped.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }
}

/// `NAME[:TAG]` as the distribution spec allows them: lowercase path components separated by `/`
/// (each `[a-z0-9]+` joined by `.`, `_`, `__` or `-`s), an optional registry host first, and a tag of
/// at most 128 `[A-Za-z0-9_.-]` not starting with `.` or `-`.
public struct ImageName: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var name: String
    public var tag: String

    public init(name: String, tag: String) {
        self.name = name
        self.tag = tag
    }

    /// Parses `NAME[:TAG]` (TAG defaults to `latest`); nil when either part is not allowed.
    public init?(parsing text: String) {
        var name = text
        var tag = "latest"
        if let colon = text.lastIndex(of: ":"), !text[colon...].contains("/") {
            name = String(text[..<colon])
            tag = String(text[text.index(after: colon)...])
        }
        guard Self.isValidName(name), Self.isValidTag(tag) else { return nil }
        self.init(name: name, tag: tag)
    }

    public var description: String { name + ":" + tag }

    public static func isValidTag(_ tag: String) -> Bool {
        guard let first = tag.utf8.first, tag.utf8.count <= 128, first != UInt8(ascii: "."), first != UInt8(ascii: "-") else {
            return false
        }
        return tag.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        var parts = name.split(separator: "/", omittingEmptySubsequences: false)
        // A first component with a dot, a colon (port) or `localhost` is a registry host.
        if parts.count > 1, let host = parts.first, host.contains(".") || host.contains(":") || host == "localhost" {
            let hostPart = host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let labels = hostPart[0].split(separator: ".", omittingEmptySubsequences: false)
            guard labels.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") } }),
                hostPart.count == 1 || (!hostPart[1].isEmpty && hostPart[1].allSatisfy(\.isNumber))
            else { return false }
            parts.removeFirst()
        }
        return parts.allSatisfy(isValidComponent)
    }

    private static func isValidComponent(_ part: Substring) -> Bool {
        let bytes = Array(part.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last) else {
            return false
        }
        var i = 0
        while i < bytes.count {
            if isLowerAlphanumeric(bytes[i]) {
                i += 1
                continue
            }
            // A separator: `.`, `_`, `__` or one or more `-`, between alphanumerics.
            var j = i
            while j < bytes.count, !isLowerAlphanumeric(bytes[j]) { j += 1 }
            let separator = String(decoding: bytes[i..<j], as: UTF8.self)
            guard separator == "." || separator == "_" || separator == "__" || separator.allSatisfy({ $0 == "-" }) else { return false }
            i = j
        }
        return true
    }

    private static func isLowerAlphanumeric(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
    private static func isAlphanumeric(_ b: UInt8) -> Bool { isLowerAlphanumeric(b) || (b >= 0x41 && b <= 0x5A) }
}
