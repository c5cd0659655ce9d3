// The OCI distribution pull API under `/v2/`, for images imported bundles carried (manifest
// entries of kind `oci-manifest` named `name` with the tag as version, their config and layers):
//
//   /v2/                                   200 `{}` (no authentication here)
//   /v2/<name>/tags/list                   {"name": ..., "tags": [...]}
//   /v2/<name>/manifests/<tag or digest>   the manifest as stored, with its media type as
//                                          Content-Type and Docker-Content-Digest
//   /v2/<name>/blobs/<digest>              the config or a layer of one of that name's images
//                                          (ETag, Range), with Docker-Content-Digest
//
// Errors are the spec's JSON (`NAME_UNKNOWN`, `MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, 404). A name may
// hold slashes (`team/app`); the last two segments say what is asked.

import AirlockCore
import Foundation
import HTTPTypes
import NIOCore

extension Mirror {
    func registry(_ segments: [String], request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        if segments.isEmpty {
            var headers = HTTPFields()
            headers[MirrorAnswer.registryVersion] = "registry/2.0"
            headers[.contentType] = "application/json"
            return .buffer(ByteBuffer(string: "{}"), headers: headers)
        }
        guard segments.count >= 3 else { return .registryError(.notFound, "NAME_UNKNOWN", "no such repository") }
        let name = segments.dropLast(2).joined(separator: "/")
        let (what, reference) = (segments[segments.count - 2], segments[segments.count - 1])
        guard let tags = catalog.images[name], !tags.isEmpty else {
            return .registryError(.notFound, "NAME_UNKNOWN", "no imported image named \(name)")
        }
        switch what {
        case "tags" where reference == "list":
            let list = catalogCache.page("v2/\(name)/tags", of: catalog) {
                MirrorPages.tagList(name, tags: tags.map(\.tag).filter { !$0.hasPrefix("sha256:") })
            }
            return .buffer(list, contentType: "application/json")
        case "manifests":
            let digest = SHA256Digest(reference)
            guard let tag = tags.first(where: { digest == nil ? $0.tag == reference : $0.manifest == digest }) else {
                return .registryError(.notFound, "MANIFEST_UNKNOWN", "\(name) has no manifest \(reference)")
            }
            let manifest = tag.manifest
            @Sendable func answer(_ bytes: ByteBuffer) -> MirrorAnswer {
                var headers = HTTPFields()
                headers[.contentType] = OCIManifestType.of(Array(bytes.readableBytesView))
                headers[MirrorAnswer.contentDigest] = manifest.description
                headers[.eTag] = "\"\(manifest)\""
                return .buffer(bytes, headers: headers)
            }
            // A stored manifest never changes: read once per snapshot, then answered where asked.
            let key = "v2/manifest/\(manifest.hex)"
            let cache = catalogCache
            if let kept = cache.kept(key, of: catalog) { return answer(kept) }
            let store = self.store
            return .later {
                answer(try cache.page(key, of: catalog) { try ImageCatalog.readSmallBlob(manifest, in: store, what: "manifest") })
            }
        case "blobs":
            // Only a config or layer of this name's imported images.
            guard let digest = SHA256Digest(reference), catalog.imageBlobs[name]?.contains(digest) == true,
                let entry = catalog.blobs[digest]
            else {
                return .registryError(.notFound, "BLOB_UNKNOWN", "\(name) has no blob \(reference)")
            }
            return file(
                digest, size: entry.size, contentType: "application/octet-stream", filename: nil, immutable: true,
                request: request
            ).adding(MirrorAnswer.contentDigest, digest.description)
        default:
            return .registryError(.notFound, "NAME_UNKNOWN", "not a pull API path")
        }
    }
}

enum OCIManifestType {
    /// The media type a manifest names for itself (the OCI one when it names none).
    static func of(_ bytes: [UInt8]) -> String {
        (try? JSONValue(parsing: bytes))?["mediaType"]?.stringValue ?? "application/vnd.oci.image.manifest.v1+json"
    }
}
