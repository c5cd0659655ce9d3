// `image push`: an image from the store to a registry over the OCI distribution API, as the
// distribution spec's push section describes it. Each blob (layers, then the config) is asked
// for first with HEAD and skipped when the registry has it; otherwise it is mounted from
// another repository of the same registry when `--mount-from` names one and the registry offers
// mounting (201), else uploaded: one PUT for a blob up to the chunk size, PATCHes of that size then
// a closing PUT for a larger one. The manifest goes last (a registry may refuse a manifest whose
// blobs it lacks), with its own media type, under the tag (or its digest). The digest the registry
// answers must be the store's, and a HEAD by digest must find it: the image the enclave runs is
// byte for byte the one the bundle carried.

public import AirlockCore
import Foundation

public struct PushOptions: Sendable {
    /// Blobs larger than this go up in PATCHes of this size.
    public var chunkSize: Int
    /// A repository on the same registry to mount blobs from.
    public var mountFrom: String?

    public init(chunkSize: Int = 64 << 20, mountFrom: String? = nil) {
        self.chunkSize = chunkSize
        self.mountFrom = mountFrom
    }
}

public struct PushResult: Sendable, Codable {
    /// `HOST/REPOSITORY:TAG` (or `@DIGEST` when no tag was given).
    public var pushed: String
    public var manifest: SHA256Digest
    /// `HOST/REPOSITORY@DIGEST`: what a deployment pins.
    public var pinned: String
    public var blobs: Int
    /// Blobs the registry had already, mounted, and uploaded (with their bytes).
    public var present: Int
    public var mounted: Int
    public var uploaded: Int
    public var uploadedBytes: Int
}

public enum ImagePusher {
    public static func push(
        _ image: ImageRecord, from store: Store, with client: RegistryClient, options: PushOptions = PushOptions(),
        progress: ProgressReporter? = nil
    ) async throws -> PushResult {
        let manifestBytes = try ImageCatalog.readSmallBlob(image.manifest, in: store, what: "manifest of \(image.reference)")
        let manifest = try OCIJSON.decode(OCIManifest.self, from: manifestBytes, what: "manifest of \(image.reference)")
        let blobs = manifest.layers + [manifest.config]
        for blob in blobs where !store.contains(blob.digest) {
            throw ImageError.check(.missingBlob, "image \(image.reference): \(blob.digest) is missing from the store")
        }
        var present = 0
        var mounted = 0
        var uploaded = 0
        var uploadedBytes = 0
        var seen: Set<SHA256Digest> = []
        for blob in blobs where seen.insert(blob.digest).inserted {
            switch try await pushBlob(blob, from: store, with: client, options: options) {
            case .present: present += 1
            case .mounted: mounted += 1
            case .uploaded:
                uploaded += 1
                uploadedBytes += blob.size
                progress?.note("push: \(blob.digest) (\(ByteCount.format(blob.size))) uploaded")
            }
        }
        let reference = client.reference.tag ?? image.manifest.description
        let mediaType = manifest.mediaType ?? OCIMediaType.manifest
        let put = try await client.send(
            "PUT", client.url("/manifests/" + reference), headers: [("Content-Type", mediaType)], body: .bytes(manifestBytes)
        )
        guard put.response.status == 201 || put.response.status == 200 else {
            throw RegistryError.refused("\(client.reference): the manifest PUT", put)
        }
        if let answered = put.response.value(of: "Docker-Content-Digest"), answered != image.manifest.description {
            throw RegistryError.mismatch(
                "\(client.reference): the registry stored the manifest as \(answered), not the store's \(image.manifest)"
            )
        }
        // Read it back by digest: the registry has exactly these bytes.
        let check = try await client.send(
            "HEAD", client.url("/manifests/" + image.manifest.description), headers: [("Accept", mediaType)]
        )
        guard check.response.status == 200 else {
            throw RegistryError.mismatch("\(client.reference): the pushed manifest \(image.manifest) is not there (HTTP \(check.response.status))")
        }
        if let answered = check.response.value(of: "Docker-Content-Digest"), answered != image.manifest.description {
            throw RegistryError.mismatch("\(client.reference): the registry answers \(answered) for \(image.manifest)")
        }
        let repository = client.reference.host + "/" + client.reference.repository
        return PushResult(
            pushed: repository + (client.reference.tag.map { ":" + $0 } ?? "@" + image.manifest.description),
            manifest: image.manifest, pinned: repository + "@" + image.manifest.description, blobs: seen.count,
            present: present, mounted: mounted, uploaded: uploaded, uploadedBytes: uploadedBytes
        )
    }

    enum BlobOutcome { case present, mounted, uploaded }

    static func pushBlob(
        _ blob: OCIDescriptor, from store: Store, with client: RegistryClient, options: PushOptions
    ) async throws -> BlobOutcome {
        let digest = blob.digest.description
        let head = try await client.send("HEAD", client.url("/blobs/" + digest))
        if head.response.status == 200 { return .present }
        guard head.response.status == 404 else { throw RegistryError.refused("\(client.reference): HEAD of blob \(digest)", head) }

        var start = "/blobs/uploads/"
        if let from = options.mountFrom { start += "?mount=\(digest)&from=\(from)" }
        let opened = try await client.send("POST", client.url(start), headers: [("Content-Length", "0")])
        if opened.response.status == 201, options.mountFrom != nil { return .mounted }
        guard opened.response.status == 202 else { throw RegistryError.refused("\(client.reference): starting the upload of \(digest)", opened) }
        var location = try client.location(opened.response)
        let path = store.blobPath(blob.digest)

        if blob.size > options.chunkSize {
            var offset = 0
            while offset < blob.size {
                let length = min(options.chunkSize, blob.size - offset)
                let patched = try await client.send(
                    "PATCH", location,
                    headers: [
                        ("Content-Type", "application/octet-stream"), ("Content-Range", "\(offset)-\(offset + length - 1)"),
                        ("Content-Length", "\(length)"),
                    ],
                    body: .file(path: path, offset: offset, length: length)
                )
                guard patched.response.status == 202 else {
                    throw RegistryError.refused("\(client.reference): a chunk of \(digest) at \(offset)", patched)
                }
                location = try client.location(patched.response)
                offset += length
            }
            let closed = try await client.send(
                "PUT", try withDigest(location, digest), headers: [("Content-Length", "0")]
            )
            guard closed.response.status == 201 else { throw RegistryError.refused("\(client.reference): closing the upload of \(digest)", closed) }
            try checkAnswered(closed.response, digest, client)
        } else {
            let put = try await client.send(
                "PUT", try withDigest(location, digest),
                headers: [("Content-Type", "application/octet-stream"), ("Content-Length", "\(blob.size)")],
                body: .file(path: path, offset: 0, length: blob.size)
            )
            guard put.response.status == 201 else { throw RegistryError.refused("\(client.reference): the upload of \(digest)", put) }
            try checkAnswered(put.response, digest, client)
        }
        return .uploaded
    }

    static func withDigest(_ location: URL, _ digest: String) throws -> URL {
        guard var components = URLComponents(url: location, resolvingAgainstBaseURL: true) else {
            throw RegistryError.protocolError("\(location): not an upload URL")
        }
        components.queryItems = (components.queryItems ?? []) + [URLQueryItem(name: "digest", value: digest)]
        // `+` and `:` stay as they are in other query values; the digest's `:` must be escaped.
        components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(of: "digest=sha256:", with: "digest=sha256%3A")
        guard let url = components.url else { throw RegistryError.protocolError("\(location): not an upload URL") }
        return url
    }

    static func checkAnswered(_ response: HTTPResponse, _ digest: String, _ client: RegistryClient) throws {
        if let answered = response.value(of: "Docker-Content-Digest"), answered != digest {
            throw RegistryError.mismatch("\(client.reference): the registry stored \(digest) as \(answered)")
        }
    }
}
