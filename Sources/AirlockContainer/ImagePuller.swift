// `image pull`: an image from a registry into the store, every digest checked. The manifest is
// asked for in the four media types Airlock reads; by digest its bytes must hash to it, by tag to
// the registry's Docker-Content-Digest when it sends one. An index (multi-platform image) gives the
// manifest for this machine's platform, fetched by its digest. Config and layers the store lacks
// are streamed into the store's tmp/ and must hash to their descriptors with their sizes; then the
// image is named through the same commit `image import` uses, all or nothing.

public import AirlockCore
import Foundation

public enum ImagePuller {
    /// The platform an index is resolved for: this machine's.
    public static var hostPlatform: OCIPlatform {
        #if arch(arm64)
            OCIPlatform(architecture: "arm64", os: "linux")
        #else
            OCIPlatform(architecture: "amd64", os: "linux")
        #endif
    }

    static let accept = [
        OCIMediaType.manifest, OCIMediaType.dockerManifest, OCIMediaType.index, OCIMediaType.dockerManifestList,
    ].joined(separator: ", ")

    /// Pulls `client.reference` and names it `name` (default: REGISTRY/REPOSITORY:TAG, or
    /// `:sha256-HEX` for a pull by digest).
    public static func pull(
        with client: RegistryClient, into store: Store, name: ImageName? = nil, progress: ProgressReporter? = nil
    ) async throws -> ImageRecord {
        let reference = client.reference
        let asked = reference.digest?.description ?? reference.tag ?? "latest"
        var (bytes, digest, mediaType) = try await manifest(asked, expected: reference.digest, with: client)
        if OCIMediaType.indexes.contains(mediaType) {
            let index = try OCIJSON.decode(OCIIndex.self, from: bytes, what: "index of \(reference)")
            let platform = hostPlatform
            guard
                let chosen = index.manifests.first(where: {
                    $0.platform?.os == platform.os && $0.platform?.architecture == platform.architecture
                        && OCIMediaType.manifests.contains($0.mediaType)
                })
            else {
                throw ImageError.usage(.wrongPlatform, "\(reference): the index has no image for \(platform.os)/\(platform.architecture)")
            }
            (bytes, digest, mediaType) = try await manifest(chosen.digest.description, expected: chosen.digest, with: client)
        }
        guard OCIMediaType.manifests.contains(mediaType) else {
            throw ImageError.check(.badMediaType, "\(reference): a manifest of type \(mediaType), not an image manifest")
        }
        let manifest = try OCIJSON.decode(OCIManifest.self, from: bytes, what: "manifest of \(reference)")
        for layer in manifest.layers where !OCIMediaType.layers.contains(layer.mediaType) {
            throw ImageError.check(.badMediaType, "\(reference): layer \(layer.digest) has media type \(layer.mediaType)")
        }
        var staged: [(digest: SHA256Digest, temporaryPath: String)] = []
        do {
            for blob in [manifest.config] + manifest.layers where !store.contains(blob.digest) && !staged.contains(where: { $0.digest == blob.digest }) {
                staged.append(try await client.download(blob, into: store))
                progress?.note("pull: \(blob.digest) (\(ByteCount.format(blob.size)))")
            }
            let configBytes = try FileSystem.readFile(
                staged.first { $0.digest == manifest.config.digest }?.temporaryPath ?? store.blobPath(manifest.config.digest),
                limit: OCIJSON.limit
            )
            let config = try OCIJSON.decode(OCIImageConfig.self, from: configBytes, what: "config of \(reference)")
            guard config.diffIDs.count == manifest.layers.count else {
                throw ImageError.check(
                    .badDocument, "\(reference): the config lists \(config.diffIDs.count) diff_ids for \(manifest.layers.count) layers"
                )
            }
            let writer = try store.makeWriter(syncOnFinish: false)
            try writer.append(bytes)
            staged.append((try writer.finish(), writer.temporaryPath))
            let named = name ?? ImageName(
                name: reference.host + "/" + reference.repository,
                tag: reference.digest.map { "sha256-" + $0.hex } ?? reference.tag ?? "latest"
            )
            let pending = PendingImage(
                manifest: OCIDescriptor(mediaType: mediaType, digest: digest, size: bytes.count), manifestBytes: bytes,
                config: manifest.config, layers: manifest.layers, names: [(named.name, named.tag)]
            )
            try ImageImporter.commit([pending], staged: staged, origin: "pull:\(reference)", into: store)
            return try ImageCatalog.resolve(named.description, in: store)
        } catch {
            for blob in staged { try? FileSystem.remove(blob.temporaryPath) }
            throw error
        }
    }

    /// GETs a manifest or index: its bytes, digest (checked) and media type.
    static func manifest(
        _ reference: String, expected: SHA256Digest?, with client: RegistryClient
    ) async throws -> ([UInt8], SHA256Digest, String) {
        let answer = try await client.send("GET", client.url("/manifests/" + reference), headers: [("Accept", accept)], responseLimit: OCIJSON.limit)
        guard answer.response.status == 200 else { throw RegistryError.refused("\(client.reference): GET of manifest \(reference)", answer) }
        let digest = SHA256Hasher.hash(answer.body)
        if let expected, digest != expected {
            throw RegistryError.mismatch("\(client.reference): the manifest of \(expected) hashes to \(digest)")
        }
        if let answered = answer.response.value(of: "Docker-Content-Digest"), answered != digest.description {
            throw RegistryError.mismatch("\(client.reference): the registry names the manifest \(answered), its bytes hash to \(digest)")
        }
        let declared = (try? JSONValue(parsing: answer.body))?["mediaType"]?.stringValue
        let header = answer.response.value(of: "Content-Type")?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        guard let mediaType = declared ?? header else {
            throw ImageError.check(.badMediaType, "\(client.reference): the manifest \(reference) names no media type")
        }
        return (answer.body, digest, mediaType)
    }
}
