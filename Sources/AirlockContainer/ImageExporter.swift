// An image from the store written back out as one tar that is both a docker-archive and an
// oci-archive, as `docker save` has written since Docker 25: `blobs/sha256/<hex>` for the manifest,
// config and layers, `oci-layout` and `index.json` (the OCI image layout, with the name in the
// `org.opencontainers.image.ref.name` annotation) and `manifest.json` (docker's list of config,
// repo tags and layer paths). `docker load`, `podman load`, `skopeo copy oci-archive:` and
// `airlock image import` all read it. Blobs are streamed from the store and re-hashed on the way,
// so a blob damaged on disk fails the export instead of travelling.

public import AirlockCore
import Foundation

public enum ImageExporter {
    /// Writes `image` as one archive at `path` (through a temp file in the same directory).
    public static func write(_ image: ImageRecord, from store: Store, to path: String) throws {
        let directory = FileSystem.parentPath(path).isEmpty ? "." : FileSystem.parentPath(path)
        let temporary = directory + "/.\(FileSystem.baseName(path)).tmp-\(Environment.processID)-\(UInt32.random(in: 0...UInt32.max))"
        do {
            let writer = try TarWriter(output: try FileArchiveOutput(path: temporary), name: path, compression: .none)
            let manifestBytes = try FileSystem.readFile(store.blobPath(image.manifest), limit: OCIJSON.limit)
            let epoch = SandboxSpec.defaultSourceDateEpoch
            try writer.addFile(path: "oci-layout", bytes: Array("{\"imageLayoutVersion\":\"1.0.0\"}".utf8), mtime: epoch)
            var written: Set<SHA256Digest> = []
            for digest in [image.manifest, image.config] + image.layers.map(\.digest) where written.insert(digest).inserted {
                try copyBlob(digest, from: store, into: writer, epoch: epoch)
            }
            let index = JSONValue.object([
                "schemaVersion": .int(2),
                "manifests": .array([
                    .object([
                        "mediaType": .string(OCIMediaType.manifest),
                        "digest": .string(image.manifest.description),
                        "size": .int(Int64(manifestBytes.count)),
                        "annotations": .object([
                            "io.containerd.image.name": .string(image.reference),
                            "org.opencontainers.image.ref.name": .string(image.tag),
                        ]),
                    ])
                ]),
            ])
            try writer.addFile(path: "index.json", bytes: index.canonicalBytes, mtime: epoch)
            let docker = JSONValue.array([
                .object([
                    "Config": .string("blobs/sha256/" + image.config.hex),
                    "RepoTags": .array([.string(image.reference)]),
                    "Layers": .array(image.layers.map { .string("blobs/sha256/" + $0.digest.hex) }),
                ])
            ])
            try writer.addFile(path: "manifest.json", bytes: docker.canonicalBytes, mtime: epoch)
            try writer.close()
            try FileSystem.rename(temporary, to: path)
        } catch {
            try? FileSystem.remove(temporary)
            throw error
        }
    }

    private static func copyBlob(_ digest: SHA256Digest, from store: Store, into writer: TarWriter, epoch: Int64) throws {
        let source = store.blobPath(digest)
        guard store.contains(digest) else {
            throw ImageError.check(.missingBlob, "\(digest): missing from the store at \(store.root)")
        }
        let size = try FileSystem.size(of: source)
        let input = try FileDescriptor.open(source)
        let hasher = SHA256Hasher()
        try writer.addFile(path: "blobs/sha256/" + digest.hex, size: size, mtime: epoch) { writer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { buffer.deallocate() }
            var total = 0
            while true {
                let n = try input.read(into: buffer)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
                hasher.update(chunk)
                try writer.writeData(chunk)
                total += n
            }
            guard total == size, hasher.finalize() == digest else {
                throw ImageError.check(
                    .digestMismatch,
                    "\(source): does not match its digest \(digest) (run `airlock store verify`)"
                )
            }
        }
    }
}
