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
import NIOCore

extension Mirror {
    func simple(_ path: MirrorPath, request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        let json = Self.wantsJSON(accept: request.accept, query: path.query)
        let type = json ? MirrorPages.jsonType : MirrorPages.htmlType
        switch path.segments.count {
        case 1:
            guard path.trailingSlash else { return .redirect(to: "simple/") }
            let page = catalogCache.page(json ? "simple.json" : "simple.html", of: catalog) {
                MirrorPages.simpleIndex(catalog.projects.keys.sorted(), json: json)
            }
            return .buffer(page, contentType: type)
        case 2:
            let name = path.segments[1]
            let normalized = WheelName.normalize(name)
            if name != normalized || !path.trailingSlash {
                return .redirect(to: (path.trailingSlash ? "../" : "") + normalized + "/")
            }
            guard let files = catalog.projects[normalized], !files.isEmpty else {
                return .text(.notFound, "not found: no imported wheel or sdist of \(normalized)\n")
            }
            let key = "simple/\(normalized)/" + (json ? "json" : "html")
            let cache = catalogCache
            // Rendered already: answered where it is asked (only rendering may read METADATA).
            if let kept = cache.kept(key, of: catalog) { return .buffer(kept, contentType: type) }
            let store = self.store
            let metadataCache = self.metadataCache
            return .later {
                let page = cache.page(key, of: catalog) {
                    let metadata = files.map { $0.isWheel ? metadataCache.metadata(of: $0, in: store) : nil }
                    return MirrorPages.project(normalized, files: files, metadata: metadata, json: json)
                }
                return .buffer(page, contentType: type)
            }
        default:
            return .text(.notFound, "not found\n")
        }
    }

    /// `/files/<sha256>/<filename>[.metadata]`.
    func pythonFile(_ path: MirrorPath, request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        guard path.segments.count == 3, let digest = SHA256Digest(path.segments[1]) else {
            return .text(.notFound, "not found: files are /files/<sha256>/<filename>\n")
        }
        let requested = path.segments[2]
        let wantsMetadata = requested.hasSuffix(".whl.metadata")
        let filename = wantsMetadata ? String(requested.dropLast(".metadata".count)) : requested
        guard let project = MirrorCatalog.distribution(filename)?.0, let file = catalog.projects[project]?.first(where: {
            $0.digest == digest && $0.filename == filename
        }) else {
            return .text(.notFound, "not found: no imported \(filename) with sha256 \(digest.hex)\n")
        }
        if wantsMetadata {
            @Sendable func answer(_ meta: WheelMetadata?) -> MirrorAnswer {
                guard file.isWheel, let meta else { return .text(.notFound, "not found: \(filename) has no METADATA\n") }
                return .bytes(meta.bytes, contentType: "text/plain; charset=utf-8")
            }
            if let known = metadataCache.known(file.digest) { return answer(known) }
            let store = self.store
            let cache = metadataCache
            return .later { answer(file.isWheel ? cache.metadata(of: file, in: store) : nil) }
        }
        return self.file(
            digest, size: file.size, contentType: catalog.blobs[digest]?.mediaType ?? "application/octet-stream",
            filename: nil, immutable: true, request: request
        )
    }

    static func wantsJSON(accept: String?, query: String?) -> Bool {
        if let query {
            for pair in query.split(separator: "&") where pair.hasPrefix("format=") {
                let value = String(pair.dropFirst("format=".count)).removingPercentEncoding ?? ""
                return value == MirrorPages.jsonType
            }
        }
        // The most preferred type the client names (quality values, then order).
        var best: (type: String, q: Double)? = nil
        for item in (accept ?? "").split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let type = parts.first, [MirrorPages.jsonType, MirrorPages.htmlType, "text/html", "*/*"].contains(type) else {
                continue
            }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if q > (best?.q ?? 0) { best = (type, q) }
        }
        return best?.type == MirrorPages.jsonType
    }
}
