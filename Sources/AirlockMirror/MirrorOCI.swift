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
import Hummingbird
import NIOCore

extension Mirror {
    func registry(_ segments: [String], request: Request, context: MirrorContext) async throws -> Response {
        if segments.isEmpty {
            var headers = HTTPFields()
            headers[.init("Docker-Distribution-API-Version")!] = "registry/2.0"
            headers[.contentType] = "application/json"
            headers[.contentLength] = "2"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        guard segments.count >= 3 else { return Self.registryError(.notFound, "NAME_UNKNOWN", "no such repository") }
        let name = segments.dropLast(2).joined(separator: "/")
        let (what, reference) = (segments[segments.count - 2], segments[segments.count - 1])
        let catalog = try await snapshot()
        guard let tags = catalog.images[name], !tags.isEmpty else {
            return Self.registryError(.notFound, "NAME_UNKNOWN", "no imported image named \(name)")
        }
        switch what {
        case "tags" where reference == "list":
            let list = catalogCache.page("v2/\(name)/tags", of: catalog) {
                MirrorPages.tagList(name, tags: tags.map(\.tag).filter { !$0.hasPrefix("sha256:") })
            }
            return Self.buffer(list, contentType: "application/json", request: request)
        case "manifests":
            let digest = SHA256Digest(reference)
            guard let tag = tags.first(where: { digest == nil ? $0.tag == reference : $0.manifest == digest }) else {
                return Self.registryError(.notFound, "MANIFEST_UNKNOWN", "\(name) has no manifest \(reference)")
            }
            let store = self.store
            let manifest = tag.manifest
            let bytes = try await offPool { try ImageCatalog.readSmallBlob(manifest, in: store, what: "manifest") }
            let mediaType = OCIManifestType.of(bytes)
            var response = Self.bytes(bytes, contentType: mediaType, request: request)
            response.headers[.init("Docker-Content-Digest")!] = manifest.description
            response.headers[.eTag] = "\"\(manifest)\""
            return response
        case "blobs":
            // Only a config or layer of this name's imported images.
            guard let digest = SHA256Digest(reference), catalog.imageBlobs[name]?.contains(digest) == true else {
                return Self.registryError(.notFound, "BLOB_UNKNOWN", "\(name) has no blob \(reference)")
            }
            var response = try await file(
                digest, contentType: "application/octet-stream", filename: nil, immutable: true, request: request,
                context: context
            )
            response.headers[.init("Docker-Content-Digest")!] = digest.description
            return response
        default:
            return Self.registryError(.notFound, "NAME_UNKNOWN", "not a pull API path")
        }
    }

    static func registryError(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        let value: JSONValue = .object([
            "errors": .array([.object(["code": .string(code), "message": .string(message)])])
        ])
        let bytes = value.canonicalBytes
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.contentLength] = String(bytes.count)
        headers[.init("Docker-Distribution-API-Version")!] = "registry/2.0"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

enum OCIManifestType {
    /// The media type a manifest names for itself (the OCI one when it names none).
    static func of(_ bytes: [UInt8]) -> String {
        (try? JSONValue(parsing: bytes))?["mediaType"]?.stringValue ?? "application/vnd.oci.image.manifest.v1+json"
    }
}
