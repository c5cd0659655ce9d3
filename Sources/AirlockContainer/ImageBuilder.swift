// `image build`'s domain-free half: a base image from the store plus one layer on top, as a
// Dockerfile's `COPY` step would add it, written as a new image in the store without a daemon.
// The layer is written by the caller into a LayerWriter (every tar header fixed by the caller);
// this file derives the config (every field of the base kept: Env gains the given variables in
// place, diff_ids and history gain one entry, `created` is the build's fixed time), writes the
// manifest in OCI or Docker v2 media types (the base's layers keep their bytes and digests; only
// their media type names change), and names the image through the same commit `image import` uses.
// The bytes depend on nothing but the inputs, so the same inputs give the same manifest digest.

public import AirlockCore
import Foundation

/// The media types an image is written in.
public enum ImageFormat: String, Sendable, Codable, CaseIterable {
    /// `application/vnd.oci.image.manifest.v1+json` and OCI layer types.
    case oci
    /// `application/vnd.docker.distribution.manifest.v2+json` and Docker layer types.
    case docker

    public init(parsing text: String) throws {
        guard let format = ImageFormat(rawValue: text) else {
            throw ImageError.usage(.badName, "--format \(text): expected oci or docker")
        }
        self = format
    }

    var manifestType: String { self == .oci ? OCIMediaType.manifest : OCIMediaType.dockerManifest }
    var configType: String { self == .oci ? OCIMediaType.config : OCIMediaType.dockerConfig }

    /// A layer's media type in this format; nil when the format has none for its compression.
    func layerType(_ mediaType: String) -> String? {
        switch OCIMediaType.layerCompression(mediaType) {
        case "gzip": return self == .oci ? OCIMediaType.layerGzip : OCIMediaType.dockerLayerGzip
        case "zstd": return self == .oci ? OCIMediaType.layerZstd : nil
        default: return self == .oci ? OCIMediaType.layer : OCIMediaType.dockerLayer
        }
    }
}

/// What goes on top of the base, besides the layer.
public struct DerivedImageSpec: Sendable {
    public var base: ImageRecord
    public var name: ImageName
    public var format: ImageFormat
    /// Set in the config's `Env`, in order (an existing variable is replaced in place).
    public var environment: [(name: String, value: String)]
    /// The image's and the history entry's `created` (RFC 3339).
    public var created: String
    /// The history entry's `created_by`.
    public var createdBy: String

    public init(
        base: ImageRecord, name: ImageName, format: ImageFormat, environment: [(name: String, value: String)], created: String,
        createdBy: String
    ) {
        self.base = base
        self.name = name
        self.format = format
        self.environment = environment
        self.created = created
        self.createdBy = createdBy
    }
}

public enum ImageBuilder {
    /// The config and manifest of `spec.base` with `layer` on top, staged as blobs, then committed
    /// with the layer and named `spec.name`. The layer's staged blob is committed or removed.
    public static func commit(_ spec: DerivedImageSpec, layer: LayerWriter.Layer, into store: Store) throws -> ImageRecord {
        var staged: [(digest: SHA256Digest, temporaryPath: String)] = [(layer.descriptor.digest, layer.temporaryPath)]
        do {
            let (pending, blobs) = try derive(spec, layer: layer.descriptor, diffID: layer.diffID, store: store)
            staged += blobs
            try ImageImporter.commit([pending], staged: staged, origin: "image-build", into: store)
            return try ImageCatalog.resolve(spec.name.description, in: store)
        } catch {
            for blob in staged { try? FileSystem.remove(blob.temporaryPath) }
            throw error
        }
    }

    /// Names `spec.name` again for an image built before (its manifest in the store): the cached
    /// path of `image build`, which writes nothing but the index rows.
    public static func rename(manifest digest: SHA256Digest, as name: ImageName, in store: Store) throws -> ImageRecord {
        let bytes = try ImageCatalog.readSmallBlob(digest, in: store, what: "manifest")
        let manifest = try OCIJSON.decode(OCIManifest.self, from: bytes, what: "manifest \(digest)")
        for blob in [manifest.config] + manifest.layers where !store.contains(blob.digest) {
            throw ImageError.check(.missingBlob, "image \(name): \(blob.digest) is missing from the store")
        }
        let pending = PendingImage(
            manifest: OCIDescriptor(mediaType: manifest.mediaType ?? OCIMediaType.manifest, digest: digest, size: bytes.count),
            manifestBytes: bytes, config: manifest.config, layers: manifest.layers, names: [(name.name, name.tag)]
        )
        try ImageImporter.commit([pending], staged: [], origin: "image-build", into: store)
        return try ImageCatalog.resolve(name.description, in: store)
    }

    static func derive(
        _ spec: DerivedImageSpec, layer: OCIDescriptor, diffID: SHA256Digest, store: Store
    ) throws -> (PendingImage, [(digest: SHA256Digest, temporaryPath: String)]) {
        let base = spec.base
        let configBytes = try ImageCatalog.readSmallBlob(base.config, in: store, what: "config of \(base.reference)")
        var config = try OCIJSON.decode(OCIImageConfig.self, from: configBytes, what: "config of \(base.reference)")
        guard config.diffIDs.count == base.layers.count else {
            throw ImageError.check(
                .badDocument,
                "image \(base.reference): its config lists \(config.diffIDs.count) diff_ids for \(base.layers.count) layers"
            )
        }
        for (name, value) in spec.environment { config.setEnvironment(name, value) }
        config = config.adding(
            layerDiffID: diffID, history: OCIImageConfig.History(created: spec.created, createdBy: spec.createdBy)
        )
        config.created = spec.created

        var layers: [OCIDescriptor] = []
        for descriptor in base.layers + [layer] {
            guard let type = spec.format.layerType(descriptor.mediaType) else {
                throw ImageError.usage(
                    .badDocument,
                    "image \(base.reference): layer \(descriptor.digest) is \(descriptor.mediaType), which a Docker v2 manifest cannot name; build with --format oci"
                )
            }
            layers.append(OCIDescriptor(mediaType: type, digest: descriptor.digest, size: descriptor.size))
        }
        let newConfig = try OCIJSON.encode(config)
        let configDescriptor = OCIDescriptor(
            mediaType: spec.format.configType, digest: SHA256Hasher.hash(newConfig), size: newConfig.count
        )
        var manifest = OCIManifest(config: configDescriptor, layers: layers)
        manifest.mediaType = spec.format.manifestType
        let manifestBytes = try OCIJSON.encode(manifest)
        let manifestDescriptor = OCIDescriptor(
            mediaType: spec.format.manifestType, digest: SHA256Hasher.hash(manifestBytes), size: manifestBytes.count
        )
        var staged: [(digest: SHA256Digest, temporaryPath: String)] = []
        do {
            for bytes in [newConfig, manifestBytes] {
                let writer = try store.makeWriter(syncOnFinish: false)
                try writer.append(bytes)
                staged.append((try writer.finish(), writer.temporaryPath))
            }
        } catch {
            for blob in staged { try? FileSystem.remove(blob.temporaryPath) }
            throw error
        }
        let pending = PendingImage(
            manifest: manifestDescriptor, manifestBytes: manifestBytes, config: configDescriptor, layers: layers,
            names: [(spec.name.name, spec.name.tag)]
        )
        return (pending, staged)
    }
}
