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
        let store = self.store
        let manifests = try await offPool {
            try store.index.importedEntries(kind: ImageCatalog.manifestKind, name: name).filter { store.contains($0.digest) }
        }
        guard !manifests.isEmpty else {
            return Self.registryError(.notFound, "NAME_UNKNOWN", "no imported image named \(name)")
        }
        switch what {
        case "tags" where reference == "list":
            let tags = Set(manifests.compactMap(\.version)).sorted()
            let value: JSONValue = .object(["name": .string(name), "tags": .array(tags.map { .string($0) })])
            return Self.bytes(value.canonicalBytes, contentType: "application/json", request: request)
        case "manifests":
            let entry: BlobEntry?
            if let digest = SHA256Digest(reference) {
                entry = manifests.first { $0.digest == digest }
            } else {
                entry = manifests.first { $0.version == reference }
            }
            guard let entry else {
                return Self.registryError(.notFound, "MANIFEST_UNKNOWN", "\(name) has no manifest \(reference)")
            }
            let bytes = try await offPool { try ImageCatalog.readSmallBlob(entry.digest, in: store, what: "manifest") }
            let mediaType =
                (try? JSONValue(parsing: bytes))?["mediaType"]?.stringValue ?? "application/vnd.oci.image.manifest.v1+json"
            var response = Self.bytes(bytes, contentType: mediaType, request: request)
            response.headers[.init("Docker-Content-Digest")!] = entry.digest.description
            response.headers[.eTag] = "\"\(entry.digest)\""
            return response
        case "blobs":
            guard let digest = SHA256Digest(reference) else {
                return Self.registryError(.notFound, "BLOB_UNKNOWN", "\(reference) is not a sha256 digest")
            }
            // Only a config or layer of this name's imported images.
            let belongs = try await offPool { () -> Bool in
                guard try store.index.isImported(digest), store.contains(digest) else { return false }
                return try store.index.entries(digest: digest).contains {
                    $0.name == name && [ImageCatalog.configKind, ImageCatalog.layerKind].contains($0.kind)
                }
            }
            guard belongs else { return Self.registryError(.notFound, "BLOB_UNKNOWN", "\(name) has no blob \(digest)") }
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
