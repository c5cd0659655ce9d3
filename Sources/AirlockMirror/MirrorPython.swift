// The Python simple index under `/simple/`, from the wheels and sdists imported bundles carried
// (artifacts whose file name is a wheel's or an sdist's):
//
//   /simple/                  every project (PEP 503 HTML, or PEP 691 JSON)
//   /simple/<name>/           its files: `href` to /files/<sha256>/<filename> with `#sha256=`,
//                             `data-requires-python` and PEP 658/714 `data-core-metadata` for wheels;
//                             JSON with `hashes`, `size`, `requires-python`, `core-metadata`,
//                             `versions` (PEP 700)
//   /files/<sha256>/<filename>            the file (ETag, Range, as for blobs)
//   /files/<sha256>/<filename>.metadata   the wheel's METADATA (PEP 658)
//
// The format follows `Accept` (PEP 691: `application/vnd.pypi.simple.v1+json`, `+html`,
// `text/html`; HTML when nothing asks for JSON) or `?format=`. An unnormalized project name, or one
// without its trailing slash, is redirected to the normalized one (PEP 503). The pages come from
// MirrorPages over the kept MirrorCatalog, rendered once per snapshot; a wheel's METADATA is read
// from the wheel once per digest (the stored blob never changes).

import AirlockCore
import AirlockPython
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Mirror {
    func simple(_ path: MirrorPath, request: Request) async throws -> Response {
        let json = Self.wantsJSON(request, query: path.query)
        let type = json ? MirrorPages.jsonType : MirrorPages.htmlType
        let catalog = try await snapshot()
        switch path.segments.count {
        case 1:
            guard path.trailingSlash else { return Self.redirect(to: "simple/") }
            let page = catalogCache.page(json ? "simple.json" : "simple.html", of: catalog) {
                MirrorPages.simpleIndex(catalog.projects.keys.sorted(), json: json)
            }
            return Self.buffer(page, contentType: type, request: request)
        case 2:
            let name = path.segments[1]
            let normalized = WheelName.normalize(name)
            if name != normalized || !path.trailingSlash {
                return Self.redirect(to: (path.trailingSlash ? "../" : "") + normalized + "/")
            }
            guard let files = catalog.projects[normalized], !files.isEmpty else {
                return Self.text(.notFound, "not found: no imported wheel or sdist of \(normalized)\n")
            }
            let key = "simple/\(normalized)/" + (json ? "json" : "html")
            let cache = catalogCache
            // Rendered already: no hop to the thread pool (only rendering may read METADATA).
            if let kept = cache.kept(key, of: catalog) { return Self.buffer(kept, contentType: type, request: request) }
            let store = self.store
            let metadataCache = self.metadataCache
            let page = try await offPool {
                cache.page(key, of: catalog) {
                    let metadata = files.map { $0.isWheel ? metadataCache.metadata(of: $0, in: store) : nil }
                    return MirrorPages.project(normalized, files: files, metadata: metadata, json: json)
                }
            }
            return Self.buffer(page, contentType: type, request: request)
        default:
            return Self.text(.notFound, "not found\n")
        }
    }

    /// `/files/<sha256>/<filename>[.metadata]`.
    func pythonFile(_ path: MirrorPath, request: Request, context: MirrorContext) async throws -> Response {
        guard path.segments.count == 3, let digest = SHA256Digest(path.segments[1]) else {
            return Self.text(.notFound, "not found: files are /files/<sha256>/<filename>\n")
        }
        let requested = path.segments[2]
        let wantsMetadata = requested.hasSuffix(".whl.metadata")
        let filename = wantsMetadata ? String(requested.dropLast(".metadata".count)) : requested
        let catalog = try await snapshot()
        guard let project = MirrorCatalog.distribution(filename)?.0, let file = catalog.projects[project]?.first(where: {
            $0.digest == digest && $0.filename == filename
        }) else {
            return Self.text(.notFound, "not found: no imported \(filename) with sha256 \(digest.hex)\n")
        }
        if wantsMetadata {
            let store = self.store
            let cache = metadataCache
            guard file.isWheel, let meta = try await offPool({ cache.metadata(of: file, in: store) }) else {
                return Self.text(.notFound, "not found: \(filename) has no METADATA\n")
            }
            return Self.bytes(meta.bytes, contentType: "text/plain; charset=utf-8", request: request)
        }
        return try await self.file(
            digest, contentType: catalog.blobs[digest]?.mediaType ?? "application/octet-stream", filename: nil,
            immutable: true, request: request, context: context
        )
    }

    static func wantsJSON(_ request: Request, query: String?) -> Bool {
        if let query {
            for pair in query.split(separator: "&") where pair.hasPrefix("format=") {
                let value = String(pair.dropFirst("format=".count)).removingPercentEncoding ?? ""
                return value == MirrorPages.jsonType
            }
        }
        // The most preferred type the client names (quality values, then order).
        var best: (type: String, q: Double)? = nil
        for item in (request.headers[.accept] ?? "").split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let type = parts.first, [MirrorPages.jsonType, MirrorPages.htmlType, "text/html", "*/*"].contains(type) else {
                continue
            }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if q > (best?.q ?? 0) { best = (type, q) }
        }
        return best?.type == MirrorPages.jsonType
    }

    static func redirect(to location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.contentLength] = "0"
        return Response(status: .movedPermanently, headers: headers)
    }
}
