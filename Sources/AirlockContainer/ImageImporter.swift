// `image import`: one streaming pass over a docker-archive (`docker save`) or an oci-archive
// (`skopeo copy ... oci-archive:`), plain or compressed. Every member name is checked against the
// few paths those formats use; each blob is staged in the store's tmp/ and hashed as it streams;
// an OCI blob must hash to its name, every manifest descriptor must match its blob's digest and
// size. A docker-archive image is converted to an OCI manifest (written as a blob too). Only when
// every image in the archive has passed are the blobs synced, renamed into place and recorded in one
// index transaction, so a refused import leaves the store as it was.

public import AirlockCore
import Foundation

public enum ImageImporter {
    /// Imports every image in the archive at `path`. `name` (`NAME[:TAG]`) names the image when the
    /// archive names none, or replaces the names it carries (then the archive must hold one image).
    public static func importArchive(_ path: String, into store: Store, name: String? = nil) throws -> [ImageRecord] {
        try requireRoom(for: path, in: store)
        let staging = Staging(store: store, archive: path)
        do {
            try staging.read()
            let images = try staging.images(override: name)
            try staging.commit(images)
            let named = Set(images.flatMap { image in image.names.map { "\($0.name):\($0.tag)" } })
            return try ImageCatalog.list(in: store).filter { named.contains($0.reference) }
        } catch {
            staging.discard()
            throw error
        }
    }

    /// Refuses up front an archive whose members cannot fit: every member is staged in the store's
    /// tmp/ before anything commits, so an uncompressed archive needs at most its own size. A
    /// compressed one (gzip, zstd, xz, bzip2 by their magic) is not bounded by its size and is
    /// checked only by the writes themselves.
    static func requireRoom(for path: String, in store: Store) throws {
        let file = try FileDescriptor.open(path)
        var magic = [UInt8](repeating: 0, count: 6)
        let got = try magic.withUnsafeMutableBytes { try file.read(at: 0, into: $0) }
        let compressed =
            got >= 2 && (magic.starts(with: [0x1F, 0x8B]) || magic.starts(with: [0x28, 0xB5, 0x2F, 0xFD])
                || magic.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A]) || magic.starts(with: [0x42, 0x5A, 0x68]))
        guard !compressed else { return }
        try store.requireFreeSpace(try file.size, for: "importing image archive \(path)")
    }

    /// Records images whose blobs are staged in the store's tmp/: removes the staged files no image
    /// refers to, makes the rest durable with one syncfs, renames them into place, then records every
    /// name's entries and GC roots in one index transaction. `image import` and `image bootstrap`
    /// both end here, so an image is in the store the same way whichever made it.
    static func commit(
        _ images: [PendingImage],
        staged: [(digest: SHA256Digest, temporaryPath: String)],
        origin: String,
        into store: Store
    ) throws {
        var wanted: Set<SHA256Digest> = []
        var entries: [BlobEntry] = []
        var roots: [(SHA256Digest, String)] = []
        for image in images {
            let blobs = [image.manifest.digest, image.config.digest] + image.layers.map(\.digest)
            wanted.formUnion(blobs)
            for (name, tag) in image.names {
                entries.append(
                    BlobEntry(
                        digest: image.manifest.digest,
                        size: image.manifest.size,
                        kind: ImageCatalog.manifestKind,
                        name: name,
                        version: tag,
                        filename: "manifest.json",
                        mediaType: image.manifest.mediaType,
                        origin: origin
                    )
                )
                entries.append(
                    BlobEntry(
                        digest: image.config.digest,
                        size: image.config.size,
                        kind: ImageCatalog.configKind,
                        name: name,
                        version: tag,
                        mediaType: image.config.mediaType,
                        origin: origin
                    )
                )
                for layer in image.layers {
                    entries.append(
                        BlobEntry(
                            digest: layer.digest,
                            size: layer.size,
                            kind: ImageCatalog.layerKind,
                            name: name,
                            version: tag,
                            mediaType: layer.mediaType,
                            origin: origin
                        )
                    )
                }
                let reason = ImageCatalog.rootReason(name: name, tag: tag)
                roots += Set(blobs).sorted().map { ($0, reason) }
            }
        }
        var commit: [(digest: SHA256Digest, temporaryPath: String)] = []
        var unused: [String] = []
        for blob in staged {
            if wanted.contains(blob.digest) {
                commit.append(blob)
            } else {
                unused.append(blob.temporaryPath)
            }
        }
        for path in unused { try? FileSystem.remove(path) }
        do {
            try store.syncData()
            try store.commit(commit)
        } catch {
            for blob in commit { try? FileSystem.remove(blob.temporaryPath) }
            throw error
        }
        // A name moves to the new image (as a tag does); the old one's blobs wait for `store gc`.
        let names = images.flatMap { image in
            image.names.map { (name: $0.0, version: $0.1, root: ImageCatalog.rootReason(name: $0.0, tag: $0.1)) }
        }
        try store.index.replaceImages(names, kinds: ImageCatalog.kinds, entries: entries, roots: roots)
        // An image no name points at any more gives up its unpacked rootfs (its blobs wait for gc).
        try? ImageRootfs.prune(in: store)
    }

    /// Splits `registry/name:tag@digest` into name and tag (nil when none is given).
    static func splitReference(_ reference: String) -> (name: String, tag: String?) {
        var text = Substring(reference)
        if let at = text.firstIndex(of: "@") { text = text[..<at] }
        if let colon = text.lastIndex(of: ":"), !text[colon...].contains("/") {
            return (String(text[..<colon]), String(text[text.index(after: colon)...]))
        }
        return (String(text), nil)
    }

    static func validName(_ name: String, tag: String) -> Bool {
        func ok(_ s: String) -> Bool {
            !s.isEmpty && s.utf8.count <= 255 && s.utf8.allSatisfy { $0 > 32 && $0 < 127 }
        }
        return ok(name) && ok(tag) && !tag.contains("/")
    }

    static var hostArchitecture: String {
        #if arch(x86_64)
        "amd64"
        #elseif arch(arm64)
        "arm64"
        #else
        "unknown"
        #endif
    }
}

/// One image ready to record: its manifest blob, the blobs it refers to, the names it goes by.
struct PendingImage {
    var manifest: OCIDescriptor
    var manifestBytes: [UInt8]
    var config: OCIDescriptor
    var layers: [OCIDescriptor]
    var names: [(name: String, tag: String)]
}

private struct StagedBlob {
    var digest: SHA256Digest
    var size: Int
    var temporaryPath: String
    var compression: String
}

private final class Staging {
    let store: Store
    let archive: String
    var blobs: [String: StagedBlob] = [:]
    var links: [String: String] = [:]
    var metadata: [String: [UInt8]] = [:]
    var extra: [StagedBlob] = []
    var seen: Set<String> = []

    init(store: Store, archive: String) {
        self.store = store
        self.archive = archive
    }

    private enum Role { case metadata, blob(verify: SHA256Digest?), ignored, directory }

    /// What a member path may be in either format; nil for anything else.
    private func role(of parts: [String]) -> Role? {
        switch parts.count {
        case 0:
            return .directory
        case 1:
            let p = parts[0]
            if ["oci-layout", "index.json", "manifest.json", "repositories"].contains(p) { return .metadata }
            if p == "blobs" || LayerPath.isHexDigest(p) { return .directory }
            if p.hasSuffix(".json"), LayerPath.isHexDigest(p.dropLast(5)) {
                return .blob(verify: SHA256Digest(p.dropLast(5)))
            }
            if p.hasSuffix(".tar"), LayerPath.isHexDigest(p.dropLast(4)) { return .blob(verify: nil) }
        case 2:
            if parts == ["blobs", "sha256"] { return .directory }
            if LayerPath.isHexDigest(parts[0]) {
                if parts[1] == "layer.tar" { return .blob(verify: nil) }
                if parts[1] == "json" || parts[1] == "VERSION" { return .ignored }
            }
        case 3:
            if parts[0] == "blobs", parts[1] == "sha256", LayerPath.isHexDigest(parts[2]) {
                return .blob(verify: SHA256Digest(parts[2]))
            }
        default: break
        }
        return nil
    }

    func read() throws {
        let reader = try ArchiveReader(paths: [archive], format: .layer)
        while let entry = try reader.next() {
            guard let raw = entry.path else {
                throw ImageError.check(.unexpectedMember, "\(archive): a member has no name")
            }
            let parts = try LayerPath.components(raw, in: archive)
            let key = parts.joined(separator: "/")
            guard let role = role(of: parts) else {
                throw ImageError.check(
                    .unexpectedMember,
                    "\(archive): unexpected member '\(raw)' (not part of a docker-archive or oci-archive)"
                )
            }
            if case .directory = role {
                guard entry.kind == .directory else {
                    throw ImageError.check(.unexpectedMember, "\(archive): '\(raw)' should be a directory")
                }
                continue
            }
            guard seen.insert(key).inserted else {
                throw ImageError.check(.unexpectedMember, "\(archive): '\(raw)' appears twice")
            }
            switch (role, entry.kind) {
            case (.ignored, _):
                try reader.skipData()
            case (.metadata, .regular):
                metadata[key] = try reader.readAll(limit: OCIJSON.limit)
            case (.blob(let expected), .regular):
                let blob = try stage(reader)
                blobs[key] = blob
                if let expected, expected != blob.digest {
                    throw ImageError.check(
                        .digestMismatch,
                        "\(archive): '\(raw)' hashes to \(blob.digest), not the digest its name says; import refused"
                    )
                }
            case (.blob, .symlink), (.blob, .hardlink):
                // docker save links a layer shared by two images to the first copy.
                guard let target = entry.linkTarget else {
                    throw ImageError.check(.unexpectedMember, "\(archive): '\(raw)' links nowhere")
                }
                let base = entry.kind == .symlink ? parts.dropLast().joined(separator: "/") + "/" : ""
                links[key] = try LayerPath.components(base + target, in: archive).joined(separator: "/")
                try reader.skipData()
            default:
                throw ImageError.check(.unexpectedMember, "\(archive): '\(raw)' is not a regular file")
            }
        }
    }

    private func stage(_ reader: ArchiveReader) throws -> StagedBlob {
        let writer = try store.makeWriter(syncOnFinish: false)
        var magic: [UInt8] = []
        do {
            try reader.readData { chunk in
                if magic.count < 4 { magic += chunk.prefix(4 - magic.count) }
                try writer.append(chunk)
            }
            let digest = try writer.finish()
            let compression: String
            if magic.starts(with: [0x1f, 0x8b]) {
                compression = "gzip"
            } else if magic.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) {
                compression = "zstd"
            } else {
                compression = "none"
            }
            return StagedBlob(
                digest: digest,
                size: writer.size,
                temporaryPath: writer.temporaryPath,
                compression: compression
            )
        } catch {
            writer.discard()
            throw error
        }
    }

    private func blob(atPath raw: String) throws -> StagedBlob {
        var key = try LayerPath.components(raw, in: archive).joined(separator: "/")
        var hops = 0
        while let next = links[key], hops < 8 {
            key = next
            hops += 1
        }
        guard let blob = blobs[key] else {
            throw ImageError.check(.missingBlob, "\(archive): '\(raw)' is named but not in the archive")
        }
        return blob
    }

    private func blob(_ descriptor: OCIDescriptor, what: String) throws -> StagedBlob {
        guard let blob = blobs["blobs/sha256/" + descriptor.digest.hex] else {
            throw ImageError.check(.missingBlob, "\(archive): \(what) \(descriptor.digest) is not in the archive")
        }
        guard blob.size == descriptor.size else {
            throw ImageError.check(
                .sizeMismatch,
                "\(archive): \(what) \(descriptor.digest) is \(blob.size) bytes, the descriptor says \(descriptor.size)"
            )
        }
        return blob
    }

    private func contents(_ blob: StagedBlob, what: String) throws -> [UInt8] {
        guard blob.size <= OCIJSON.limit else {
            throw ImageError.check(
                .badDocument,
                "\(archive): \(what) \(blob.digest) is \(blob.size) bytes, over the \(OCIJSON.limit)-byte limit"
            )
        }
        return try FileSystem.readFile(blob.temporaryPath, limit: OCIJSON.limit)
    }

    func images(override: String?) throws -> [PendingImage] {
        var images: [PendingImage]
        if let index = metadata["index.json"] {
            images = try ociImages(index)
        } else if let manifest = metadata["manifest.json"] {
            images = try dockerImages(manifest)
        } else {
            throw ImageError.usage(
                .notAnImageArchive,
                "\(archive): neither index.json (oci-archive) nor manifest.json (docker-archive); not an image archive"
            )
        }
        guard !images.isEmpty else { throw ImageError.check(.noImage, "\(archive): holds no image") }
        let fallback = defaultName()
        if let override {
            guard Set(images.map(\.manifest.digest)).count == 1 else {
                throw ImageError.usage(
                    .severalImages,
                    "\(archive): holds \(images.count) images; --name can name only one"
                )
            }
            let (name, tag) = ImageImporter.splitReference(override)
            images = [images[0]]
            images[0].names = [(name, tag ?? "latest")]
        }
        for i in images.indices where images[i].names.isEmpty { images[i].names = [fallback] }
        for image in images {
            for n in image.names where !ImageImporter.validName(n.name, tag: n.tag) {
                throw ImageError.usage(.badName, "\(archive): '\(n.name):\(n.tag)' is not a usable image name")
            }
        }
        return images
    }

    private func defaultName() -> (name: String, tag: String) {
        var base = FileSystem.baseName(archive)
        for suffix in [".tar.gz", ".tgz", ".tar.zst", ".tar", ".oci", ".docker"] where base.hasSuffix(suffix) {
            base = String(base.dropLast(suffix.count))
        }
        return (base.isEmpty ? "image" : base, "latest")
    }

    // MARK: oci-archive

    private func ociImages(_ indexBytes: [UInt8]) throws -> [PendingImage] {
        if let layout = metadata["oci-layout"] {
            struct Layout: Decodable { var imageLayoutVersion: String }
            let version = try OCIJSON.decode(Layout.self, from: layout, what: "\(archive): oci-layout")
                .imageLayoutVersion
            guard version.hasPrefix("1.") else {
                throw ImageError.usage(
                    .unsupportedLayout,
                    "\(archive): OCI image layout version \(version) is not supported"
                )
            }
        }
        let index = try OCIJSON.decode(OCIIndex.self, from: indexBytes, what: "\(archive): index.json")
        var out: [PendingImage] = []
        for descriptor in index.manifests {
            try collect(descriptor, annotations: descriptor.annotations ?? [:], depth: 0, into: &out)
        }
        // One manifest named twice (two tags) becomes one image with two names.
        var merged: [PendingImage] = []
        for image in out {
            if let i = merged.firstIndex(where: { $0.manifest.digest == image.manifest.digest }) {
                merged[i].names += image.names.filter { n in !merged[i].names.contains { $0 == n } }
            } else {
                merged.append(image)
            }
        }
        return merged
    }

    private func collect(
        _ descriptor: OCIDescriptor,
        annotations: [String: String],
        depth: Int,
        into out: inout [PendingImage]
    ) throws {
        if OCIMediaType.indexes.contains(descriptor.mediaType) {
            guard depth < 2 else { throw ImageError.check(.badDocument, "\(archive): image indexes nested too deep") }
            let bytes = try contents(try blob(descriptor, what: "index"), what: "index")
            let index = try OCIJSON.decode(OCIIndex.self, from: bytes, what: "\(archive): index \(descriptor.digest)")
            let wanted = index.manifests.filter { d in
                guard let p = d.platform else { return true }
                return p.os == "linux" && p.architecture == ImageImporter.hostArchitecture
            }
            guard !wanted.isEmpty else {
                throw ImageError.usage(
                    .wrongPlatform,
                    "\(archive): index \(descriptor.digest) has no linux/\(ImageImporter.hostArchitecture) image"
                )
            }
            for d in wanted { try collect(d, annotations: annotations, depth: depth + 1, into: &out) }
            return
        }
        guard OCIMediaType.manifests.contains(descriptor.mediaType) else {
            throw ImageError.check(
                .badMediaType,
                "\(archive): \(descriptor.digest) has media type \(descriptor.mediaType), not an image manifest"
            )
        }
        let bytes = try contents(try blob(descriptor, what: "manifest"), what: "manifest")
        let manifest = try OCIJSON.decode(
            OCIManifest.self,
            from: bytes,
            what: "\(archive): manifest \(descriptor.digest)"
        )
        let config = try blob(manifest.config, what: "config")
        _ = try contents(config, what: "config")
        for layer in manifest.layers {
            guard OCIMediaType.layers.contains(layer.mediaType) else {
                throw ImageError.check(
                    .badMediaType,
                    "\(archive): layer \(layer.digest) has media type \(layer.mediaType), which Airlock cannot unpack"
                )
            }
            _ = try blob(layer, what: "layer")
        }
        var names: [(name: String, tag: String)] = []
        if let full = annotations["io.containerd.image.name"] {
            let (n, t) = ImageImporter.splitReference(full)
            names.append((n, t ?? "latest"))
        } else if let ref = annotations["org.opencontainers.image.ref.name"] {
            let (n, t) = ImageImporter.splitReference(ref)
            // A bare ref name is a tag (as skopeo writes `oci-archive:FILE:TAG`).
            if ref.contains("/") || t != nil {
                names.append((n, t ?? "latest"))
            } else {
                names.append((defaultName().name, ref))
            }
        }
        var plain = descriptor
        plain.annotations = nil
        plain.platform = nil
        out.append(
            PendingImage(
                manifest: plain,
                manifestBytes: bytes,
                config: manifest.config,
                layers: manifest.layers,
                names: names
            )
        )
    }

    // MARK: docker-archive

    private func dockerImages(_ manifestBytes: [UInt8]) throws -> [PendingImage] {
        let entries = try OCIJSON.decode(
            [DockerArchiveImage].self,
            from: manifestBytes,
            what: "\(archive): manifest.json"
        )
        var out: [PendingImage] = []
        for entry in entries {
            let configBlob = try blob(atPath: entry.config)
            let configBytes = try contents(configBlob, what: "config")
            let config = try OCIJSON.decode(
                OCIImageConfig.self,
                from: configBytes,
                what: "\(archive): \(entry.config)"
            )
            let diffIDs = config.diffIDs
            guard diffIDs.isEmpty || diffIDs.count == entry.layers.count else {
                throw ImageError.check(
                    .badDocument,
                    "\(archive): \(entry.config) lists \(diffIDs.count) layers, manifest.json \(entry.layers.count)"
                )
            }
            var layers: [OCIDescriptor] = []
            for (i, path) in entry.layers.enumerated() {
                let layer = try blob(atPath: path)
                let mediaType: String
                switch layer.compression {
                case "gzip": mediaType = OCIMediaType.layerGzip
                case "zstd": mediaType = OCIMediaType.layerZstd
                default:
                    mediaType = OCIMediaType.layer
                    // An uncompressed layer is its own diff ID: the config vouches for it.
                    if !diffIDs.isEmpty, diffIDs[i] != layer.digest.description {
                        throw ImageError.check(
                            .digestMismatch,
                            "\(archive): layer '\(path)' hashes to \(layer.digest), the config says \(diffIDs[i]); import refused"
                        )
                    }
                }
                layers.append(OCIDescriptor(mediaType: mediaType, digest: layer.digest, size: layer.size))
            }
            let configDescriptor = OCIDescriptor(
                mediaType: OCIMediaType.config,
                digest: configBlob.digest,
                size: configBlob.size
            )
            let manifest = OCIManifest(config: configDescriptor, layers: layers)
            let bytes = try OCIJSON.encode(manifest)
            let staged = try stageBytes(bytes)
            let names = (entry.repoTags ?? []).map { tag -> (name: String, tag: String) in
                let (n, t) = ImageImporter.splitReference(tag)
                return (n, t ?? "latest")
            }
            let descriptor = OCIDescriptor(mediaType: OCIMediaType.manifest, digest: staged.digest, size: staged.size)
            out.append(
                PendingImage(
                    manifest: descriptor,
                    manifestBytes: bytes,
                    config: configDescriptor,
                    layers: layers,
                    names: names
                )
            )
        }
        return out
    }

    private func stageBytes(_ bytes: [UInt8]) throws -> StagedBlob {
        let writer = try store.makeWriter(syncOnFinish: false)
        do {
            try writer.append(bytes)
            let digest = try writer.finish()
            let blob = StagedBlob(
                digest: digest,
                size: bytes.count,
                temporaryPath: writer.temporaryPath,
                compression: "none"
            )
            extra.append(blob)
            return blob
        } catch {
            writer.discard()
            throw error
        }
    }

    // MARK: Commit

    func commit(_ images: [PendingImage]) throws {
        let staged = (blobs.values.sorted(by: { $0.temporaryPath < $1.temporaryPath }) + extra).map {
            (digest: $0.digest, temporaryPath: $0.temporaryPath)
        }
        // Once the shared commit starts, the temp files are its own (renamed or removed).
        blobs = [:]
        extra = []
        let origin = "image-archive:" + FileSystem.absolute(archive)
        try ImageImporter.commit(images, staged: staged, origin: origin, into: store)
    }

    func discard() {
        for blob in blobs.values { try? FileSystem.remove(blob.temporaryPath) }
        for blob in extra { try? FileSystem.remove(blob.temporaryPath) }
        blobs = [:]
        extra = []
    }
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
