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
// without its trailing slash, is redirected to the normalized one (PEP 503). A wheel's METADATA is
// read from the wheel once per digest and kept in memory (the stored blob never changes).
// Links are relative, so the pages work behind any host, port or path prefix.

import AirlockCore
import AirlockPython
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// One file of a project, as the index lists it.
struct IndexedFile: Sendable {
    var project: String
    var version: String
    var filename: String
    var digest: SHA256Digest
    var size: Int
    var isWheel: Bool
}

/// What a wheel's METADATA says, read once per digest.
struct WheelMetadata: Sendable {
    var bytes: [UInt8]
    var sha256: SHA256Digest
    var requiresPython: String?
}

final class MetadataCache: Sendable {
    private let cache = Mutex<[SHA256Digest: WheelMetadata?]>([:])

    func metadata(of file: IndexedFile, in store: Store) -> WheelMetadata? {
        if let known = cache.withLock({ $0[file.digest] }) { return known }
        let read = Self.read(file, store: store)
        cache.withLock { $0[file.digest] = read }
        return read
    }

    /// `NAME-VERSION.dist-info/METADATA` from the wheel, at most 16 MiB.
    static func read(_ file: IndexedFile, store: Store) -> WheelMetadata? {
        guard let name = try? WheelName(file.filename) else { return nil }
        let wanted = name.distInfo + "/METADATA"
        guard let reader = try? ArchiveReader(paths: [store.blobPath(file.digest)], format: .zip) else { return nil }
        while let entry = try? reader.next() {
            guard entry.path == wanted, entry.kind == .regular else { continue }
            guard let bytes = try? reader.readAll(limit: 16 << 20) else { return nil }
            var requires: String? = nil
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { break }  // the headers end at a blank line
                if line.lowercased().hasPrefix("requires-python:") {
                    requires = line.dropFirst("requires-python:".count).trimmingCharacters(in: .whitespaces)
                }
            }
            return WheelMetadata(bytes: bytes, sha256: SHA256Hasher.hash(bytes), requiresPython: requires)
        }
        return nil
    }
}

extension Mirror {
    static let jsonType = "application/vnd.pypi.simple.v1+json"
    static let htmlType = "application/vnd.pypi.simple.v1+html"

    /// Every imported wheel and sdist, by normalized project name.
    func indexedFiles() async throws -> [String: [IndexedFile]] {
        let store = self.store
        return try await offPool {
            var projects: [String: [IndexedFile]] = [:]
            var seen: Set<SHA256Digest> = []
            for entry in try store.index.importedEntries(kind: "artifact") where seen.insert(entry.digest).inserted {
                guard let filename = entry.filename, let (project, version, isWheel) = Self.distribution(filename) else {
                    continue
                }
                projects[project, default: []].append(
                    IndexedFile(
                        project: project, version: version, filename: filename, digest: entry.digest, size: entry.size,
                        isWheel: isWheel
                    )
                )
            }
            return projects.mapValues { $0.sorted { $0.filename < $1.filename } }
        }
    }

    /// The normalized project, version and kind of a wheel or sdist file name; nil for others.
    static func distribution(_ filename: String) -> (String, String, Bool)? {
        if filename.hasSuffix(".whl") {
            guard let name = try? WheelName(filename) else { return nil }
            return (WheelName.normalize(name.distribution), name.version, true)
        }
        for suffix in [".tar.gz", ".zip"] where filename.hasSuffix(suffix) {
            let stem = filename.dropLast(suffix.count)
            guard let dash = stem.lastIndex(of: "-"), dash > stem.startIndex else { return nil }
            let version = stem[stem.index(after: dash)...]
            guard version.first?.isNumber == true else { return nil }
            return (WheelName.normalize(String(stem[..<dash])), String(version), false)
        }
        return nil
    }

    func simple(_ path: MirrorPath, request: Request) async throws -> Response {
        let json = Self.wantsJSON(request, query: path.query)
        switch path.segments.count {
        case 1:
            guard path.trailingSlash else { return Self.redirect(to: "simple/") }
            let projects = try await indexedFiles().keys.sorted()
            if json {
                let value: JSONValue = .object([
                    "meta": .object(["api-version": .string("1.1")]),
                    "projects": .array(projects.map { .object(["name": .string($0)]) }),
                ])
                return Self.bytes(value.canonicalBytes, contentType: Self.jsonType, request: request)
            }
            var html = "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Simple index</title></head><body>\n"
            for project in projects { html += "<a href=\"\(Self.escape(project))/\">\(Self.escape(project))</a><br>\n" }
            html += "</body></html>\n"
            return Self.bytes(Array(html.utf8), contentType: Self.htmlType, request: request)
        case 2:
            let name = path.segments[1]
            let normalized = WheelName.normalize(name)
            if name != normalized || !path.trailingSlash {
                return Self.redirect(to: (path.trailingSlash ? "../" : "") + normalized + "/")
            }
            guard let files = try await indexedFiles()[normalized], !files.isEmpty else {
                return Self.text(.notFound, "not found: no imported wheel or sdist of \(normalized)\n")
            }
            let store = self.store
            let cache = metadataCache
            let metadata = try await offPool { files.map { $0.isWheel ? cache.metadata(of: $0, in: store) : nil } }
            if json {
                var list: [JSONValue] = []
                for (file, meta) in zip(files, metadata) {
                    var object: [String: JSONValue] = [
                        "filename": .string(file.filename), "url": .string(Self.fileURL(file)),
                        "hashes": .object(["sha256": .string(file.digest.hex)]), "size": .int(Int64(file.size)),
                    ]
                    if let requires = meta?.requiresPython { object["requires-python"] = .string(requires) }
                    let core: JSONValue = meta.map { .object(["sha256": .string($0.sha256.hex)]) } ?? .bool(false)
                    object["core-metadata"] = core
                    object["dist-info-metadata"] = core
                    list.append(.object(object))
                }
                let versions = Set(files.map(\.version)).sorted()
                let value: JSONValue = .object([
                    "meta": .object(["api-version": .string("1.1")]), "name": .string(normalized), "files": .array(list),
                    "versions": .array(versions.map { .string($0) }),
                ])
                return Self.bytes(value.canonicalBytes, contentType: Self.jsonType, request: request)
            }
            var html = "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Links for \(Self.escape(normalized))</title></head><body>\n<h1>Links for \(Self.escape(normalized))</h1>\n"
            for (file, meta) in zip(files, metadata) {
                var attributes = ""
                if let requires = meta?.requiresPython { attributes += " data-requires-python=\"\(Self.escape(requires))\"" }
                if let meta { attributes += " data-core-metadata=\"sha256=\(meta.sha256.hex)\" data-dist-info-metadata=\"sha256=\(meta.sha256.hex)\"" }
                html += "<a href=\"\(Self.escape(Self.fileURL(file)))\"\(attributes)>\(Self.escape(file.filename))</a><br>\n"
            }
            html += "</body></html>\n"
            return Self.bytes(Array(html.utf8), contentType: Self.htmlType, request: request)
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
        let store = self.store
        let entry = try await offPool { () -> BlobEntry? in
            guard try store.index.isImported(digest), store.contains(digest) else { return nil }
            return try store.index.entries(digest: digest).first { $0.kind == "artifact" && $0.filename == filename }
        }
        guard let entry else { return Self.text(.notFound, "not found: no imported \(filename) with sha256 \(digest.hex)\n") }
        if wantsMetadata {
            let file = IndexedFile(project: "", version: "", filename: filename, digest: digest, size: entry.size, isWheel: true)
            let cache = metadataCache
            guard let meta = try await offPool({ cache.metadata(of: file, in: store) }) else {
                return Self.text(.notFound, "not found: \(filename) has no METADATA\n")
            }
            return Self.bytes(meta.bytes, contentType: "text/plain; charset=utf-8", request: request)
        }
        return try await file(
            digest, contentType: entry.mediaType ?? "application/octet-stream", filename: nil, immutable: true,
            request: request, context: context
        )
    }

    /// Relative to a project page (`/simple/<name>/`).
    static func fileURL(_ file: IndexedFile) -> String {
        "../../files/\(file.digest.hex)/\(percentEncode(file.filename))#sha256=\(file.digest.hex)"
    }

    static func wantsJSON(_ request: Request, query: String?) -> Bool {
        if let query {
            for pair in query.split(separator: "&") where pair.hasPrefix("format=") {
                let value = String(pair.dropFirst("format=".count)).removingPercentEncoding ?? ""
                return value == jsonType
            }
        }
        // The most preferred type the client names (quality values, then order).
        var best: (type: String, q: Double)? = nil
        for item in (request.headers[.accept] ?? "").split(separator: ",") {
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let type = parts.first, [jsonType, htmlType, "text/html", "*/*"].contains(type) else { continue }
            let q = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if q > (best?.q ?? 0) { best = (type, q) }
        }
        return best?.type == jsonType
    }

    static func redirect(to location: String) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.contentLength] = "0"
        return Response(status: .movedPermanently, headers: headers)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~+!")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
