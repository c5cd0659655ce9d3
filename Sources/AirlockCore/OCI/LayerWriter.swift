// Writes one OCI image layer into the store: a deterministic tar (the caller fixes every header
// field), optionally gzip-compressed by Airlock's own deflater (so a layer built on two machines has
// one digest), hashed twice on the way: the uncompressed tar's digest is the config's diff ID, the
// stored blob's digest and size go into the manifest's descriptor. Nothing is buffered whole.

public final class LayerWriter {
    public struct Layer: Sendable {
        public var descriptor: OCIDescriptor
        /// The digest of the uncompressed tar (`rootfs.diff_ids`).
        public var diffID: SHA256Digest
        /// The staged blob: pass to `Store.commit` (or remove it) once the image is complete.
        public var temporaryPath: String
    }

    private let blob: BlobWriter
    private let diff: HashingOutput
    private let gzip: GzipWriter?
    public let tar: TarWriter
    private let compressed: Bool

    /// A layer staged in `store`'s tmp/; `gzip` picks `tar+gzip` over plain `tar`.
    public init(store: Store, gzip: Bool, name: String = "layer") throws {
        blob = try store.makeWriter()
        compressed = gzip
        let sink = BlobOutput(blob)
        self.gzip = gzip ? GzipWriter(output: sink) : nil
        diff = HashingOutput(self.gzip ?? sink)
        tar = try TarWriter(output: diff, name: name, compression: .none)
    }

    /// Ends the tar (and the gzip member) and returns the layer.
    public func finish() throws -> Layer {
        try tar.close()
        let digest = try blob.finish()
        return Layer(
            descriptor: OCIDescriptor(
                mediaType: compressed ? OCIMediaType.layerGzip : OCIMediaType.layer, digest: digest, size: blob.size
            ),
            diffID: diff.digest, temporaryPath: blob.temporaryPath
        )
    }

    /// Drops the staged blob.
    public func discard() { blob.discard() }
}

/// Feeds bytes into a blob being written.
private final class BlobOutput: ArchiveOutput {
    let blob: BlobWriter
    init(_ blob: BlobWriter) { self.blob = blob }
    func write(_ bytes: UnsafeRawBufferPointer) throws { try blob.append(bytes) }
    func close() throws {}
}
