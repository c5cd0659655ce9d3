// How a bundle carries an image, the one convention seal writes and import reads: the manifest as
// an artifact of kind `oci-image` at `images/NAME/TAG/manifest.json`, whose signed provenance names
// the image, its config and its layers (so import can name it again), then each config and layer
// blob once at `images/blobs/sha256/HEX` (kinds `oci-config`, `oci-layer`).

import Foundation

/// The provenance of an `oci-image` artifact.
public struct ImageProvenance: Codable, Sendable, Equatable {
    public struct Image: Codable, Sendable, Equatable {
        public var name: String
        public var tag: String
        public var config: SHA256Digest
        public var layers: [SHA256Digest]
    }
    /// For an image `airlock image build` made of a function app: what its smoke test listed.
    public struct App: Codable, Sendable, Equatable {
        /// `python` or `custom` (a Go handler), as FUNCTIONS_WORKER_RUNTIME names it.
        public var runtime: String
        /// The built zip the image carries at /home/site/wwwroot.
        public var zip: SHA256Digest
        public var functions: [AppFunction]

        public init(runtime: String, zip: SHA256Digest, functions: [AppFunction]) {
            self.runtime = runtime
            self.zip = zip
            self.functions = functions
        }
    }
    public var image: Image
    public var app: App?

    public init(name: String, tag: String, config: SHA256Digest, layers: [SHA256Digest], app: App? = nil) {
        image = Image(name: name, tag: tag, config: config, layers: layers)
        self.app = app
    }

    /// The app an image's recorded provenance names (a build here, or the signed manifest of the
    /// bundle that brought it in); nil for an image that is not an app build.
    public static func app(of manifest: SHA256Digest, in store: Store) throws -> App? {
        guard let text = try store.index.provenance(of: manifest) else { return nil }
        return try? JSONDecoder().decode(ImageProvenance.self, from: Data(text.utf8)).app
    }

    /// Records `app` as the provenance of the image `record` names.
    public static func record(_ app: App, for record: ImageRecord, in store: Store) throws {
        let provenance = ImageProvenance(
            name: record.name, tag: record.tag, config: record.config, layers: record.layers.map(\.digest), app: app
        )
        let document = try JSONValue(encoding: provenance).canonicalBytes
        try store.index.recordProvenance(String(decoding: document, as: UTF8.self), of: record.manifest)
    }
}

public enum ImageArtifacts {
    public static let imageKind = "oci-image"
    public static let configKind = "oci-config"
    public static let layerKind = "oci-layer"

    /// `image` as bundle inputs: its manifest, then its config and layers unless `carried` has them.
    public static func inputs(_ image: ImageRecord, store: Store, carried: inout Set<SHA256Digest>) throws -> [BundleInput] {
        let provenance = ImageProvenance(
            name: image.name, tag: image.tag, config: image.config, layers: image.layers.map(\.digest),
            app: try ImageProvenance.app(of: image.manifest, in: store)
        )
        var inputs = [
            BundleInput(
                sourcePath: store.blobPath(image.manifest), artifactPath: "images/\(image.name)/\(image.tag)/manifest.json",
                name: image.reference, kind: imageKind, mediaType: OCIMediaType.manifest, provenance: try JSONValue(encoding: provenance)
            )
        ]
        for (digest, kind, mediaType) in [(image.config, configKind, OCIMediaType.config)]
            + image.layers.map({ ($0.digest, layerKind, $0.mediaType) })
        where carried.insert(digest).inserted {
            inputs.append(
                BundleInput(
                    sourcePath: store.blobPath(digest), artifactPath: "images/blobs/sha256/\(digest.hex)", name: digest.description,
                    kind: kind, mediaType: mediaType
                )
            )
        }
        return inputs
    }

    /// The images a signed manifest carries, as the store's index records named images: entries for
    /// the manifest, config and layers under NAME and TAG, and a GC root on each. Throws when an
    /// image's provenance does not name it or names a blob the bundle lacks.
    public static func names(in manifest: Manifest, origin: String) throws -> (StoreIndex.ImageNames, [BlobEntry]) {
        var images = StoreIndex.ImageNames()
        var entries: [BlobEntry] = []
        images.kinds = ImageCatalog.kinds
        let blobs = Dictionary(manifest.blobs.map { ($0.sha256, $0) }, uniquingKeysWith: { first, _ in first })
        for artifact in manifest.artifacts where artifact.kind == imageKind {
            guard let provenance = try? artifact.provenance?.decoded(as: ImageProvenance.self),
                ImageName.isValidName(provenance.image.name), ImageName.isValidTag(provenance.image.tag)
            else {
                throw CheckFailure(
                    CoreErrorCode.badProvenance,
                    "\(artifact.path): an image whose signed provenance does not name it, its config and its layers"
                )
            }
            let (name, tag) = (provenance.image.name, provenance.image.tag)
            let root = ImageCatalog.rootReason(name: name, tag: tag)
            images.names.append((name: name, version: tag, root: root))
            entries.append(
                BlobEntry(
                    digest: artifact.sha256, size: artifact.size, kind: ImageCatalog.manifestKind, name: name, version: tag,
                    filename: "manifest.json", mediaType: artifact.mediaType, origin: origin
                )
            )
            images.roots.append((artifact.sha256, root))
            for (digest, kind) in [(provenance.image.config, ImageCatalog.configKind)]
                + provenance.image.layers.map({ ($0, ImageCatalog.layerKind) })
            {
                guard let blob = blobs[digest] else {
                    throw CheckFailure(
                        ImageErrorCode.missingBlob,
                        "\(artifact.path): image \(name):\(tag) names \(digest), which the bundle does not carry"
                    )
                }
                entries.append(BlobEntry(digest: digest, size: blob.size, kind: kind, name: name, version: tag, origin: origin))
                images.roots.append((digest, root))
            }
        }
        return (images, entries)
    }
}
