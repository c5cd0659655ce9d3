// A tiny function-app image written straight into a store (a config, one empty layer and a
// manifest, named NAME:TAG in the index) with its app provenance recorded as `airlock image build`
// records it, for the kits that read an image's functions back (deploy kubernetes) without
// building one.

public import AirlockCore

public enum AppImageFixture {
    /// A store at `directory/store` holding `name:tag`, whose config has `User` `user` (nil: none)
    /// and whose provenance lists `functions` (nil: no provenance at all, as for a pulled image).
    public static func store(
        in directory: TemporaryDirectory,
        name: String = "app",
        tag: String = "1",
        user: String? = nil,
        runtime: String = "python",
        functions: [AppFunction]?
    ) throws -> (Store, ImageRecord) {
        let store = try Store.open(at: directory.path + "/store")
        let record = try add(to: store, name: name, tag: tag, user: user)
        if let functions {
            let app = ImageProvenance.App(
                runtime: runtime,
                zip: SHA256Hasher.hash(Array("zip".utf8)),
                functions: functions
            )
            try ImageProvenance.record(app, for: record, in: store)
        }
        return (store, record)
    }

    /// Writes the image's blobs and names it `name:tag` in `store`; its one layer is `layer` (by
    /// default an empty tar: two zero blocks' worth of zeros).
    public static func add(
        to store: Store, name: String, tag: String, user: String?, layer: [UInt8] = [UInt8](repeating: 0, count: 1024)
    ) throws -> ImageRecord {
        let layerDigest = SHA256Hasher.hash(layer)
        var config = OCIImageConfig(document: ["architecture": .string("amd64"), "os": .string("linux")])
        config.diffIDs = [layerDigest.description]
        config.env = ["FUNCTIONS_WORKER_RUNTIME=python"]
        if let user { config.user = user }
        let configBytes = try OCIJSON.encode(config)
        let configDigest = SHA256Hasher.hash(configBytes)
        let manifest = OCIManifest(
            config: OCIDescriptor(mediaType: OCIMediaType.config, digest: configDigest, size: configBytes.count),
            layers: [OCIDescriptor(mediaType: OCIMediaType.layer, digest: layerDigest, size: layer.count)]
        )
        let manifestBytes = try OCIJSON.encode(manifest)
        let manifestDigest = SHA256Hasher.hash(manifestBytes)
        var committed: [(digest: SHA256Digest, temporaryPath: String)] = []
        for bytes in [layer, configBytes, manifestBytes] {
            let writer = try store.makeWriter()
            try writer.append(bytes)
            committed.append((try writer.finish(), writer.temporaryPath))
        }
        try store.commit(committed)
        let root = ImageCatalog.rootReason(name: name, tag: tag)
        let entries = [
            BlobEntry(
                digest: manifestDigest,
                size: manifestBytes.count,
                kind: ImageCatalog.manifestKind,
                name: name,
                version: tag,
                filename: "manifest.json",
                mediaType: OCIMediaType.manifest
            ),
            BlobEntry(
                digest: configDigest,
                size: configBytes.count,
                kind: ImageCatalog.configKind,
                name: name,
                version: tag
            ),
            BlobEntry(digest: layerDigest, size: layer.count, kind: ImageCatalog.layerKind, name: name, version: tag),
        ]
        try store.index.replaceImages(
            [(name: name, version: tag, root: root)],
            kinds: ImageCatalog.kinds,
            entries: entries,
            roots: [manifestDigest, configDigest, layerDigest].map { ($0, root) }
        )
        return try ImageCatalog.resolve("\(name):\(tag)", in: store)
    }
}
