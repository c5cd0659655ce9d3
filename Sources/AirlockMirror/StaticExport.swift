// `airlock export-static`: the mirror's URL tree as plain files, for nginx, `python3 -m
// http.server` or a bucket, with the very bytes `serve` answers (MirrorPages over the same
// MirrorCatalog):
//
//   index.html                                   the page people read
//   healthz
//   simple/index.html, simple/index.json         PEP 503 / PEP 691
//   simple/<name>/index.html, index.json
//   files/<sha256>/<filename>[.metadata]         the file, its METADATA (PEP 658)
//   go/<escaped path>/@v/list, <v>.info, <v>.mod, <v>.zip; go/<escaped path>/@latest
//   v2/index.html ({}), v2/<name>/tags/list, v2/<name>/manifests/<tag> and /sha256:<hex>,
//   v2/<name>/blobs/sha256:<hex>
//   blobs/sha256/<hex>, artifacts/<name>
//   _airlock/nginx-http.conf, _airlock/nginx-server.conf   what nginx needs beyond plain files:
//                                                 PEP 691 negotiation on Accept and ?format=, the
//                                                 registry's media types and digest headers
//   _airlock/export.json                         what this export wrote, for the next one
//
// Blobs are hard-linked from the store where the file system allows, copied (and re-hashed)
// otherwise. Incremental and never half-written: each file is written beside its place and
// renamed into it, a file already right (the stored blob itself, or the same bytes) is kept,
// content goes in before the pages that link to it, and what the catalog no longer has is
// removed last. Every path segment comes from a signed bundle but is checked again here: no
// empty, `.` or `..` segment, no NUL, nothing that would leave the export directory.

public import AirlockCore
import AirlockGo
import Foundation

public struct StaticExportResult: Sendable, Equatable {
    public var paths = 0
    public var written = 0
    public var linked = 0
    public var copied = 0
    public var kept = 0
    public var removed = 0
    /// Paths left out, with the reason (a name that is not a safe path, or one path both a file
    /// and a directory).
    public var skipped: [String] = []
}

public enum StaticExport {
    enum Source {
        case blob(SHA256Digest)
        case bytes([UInt8])
    }

    /// Writes the tree of the store's imported content under `directory`. `baseURL` is where
    /// clients will reach it (for the client lines of `index.html`).
    public static func export(store: Store, to directory: String, baseURL: String?) throws -> StaticExportResult {
        let catalog = try MirrorCatalog.read(from: store)
        var result = StaticExportResult()
        var content: [(String, Source)] = []  // what pages link to: written first
        var pages: [(String, Source)] = []  // written after, deepest first; index.html last

        // Python.
        let metadataCache = MetadataCache()
        for (name, files) in catalog.projects.sorted(by: { $0.key < $1.key }) {
            var metadata: [WheelMetadata?] = []
            for file in files {
                content.append(("files/\(file.digest.hex)/\(file.filename)", .blob(file.digest)))
                let meta = file.isWheel ? metadataCache.metadata(of: file, in: store) : nil
                if let meta { content.append(("files/\(file.digest.hex)/\(file.filename).metadata", .bytes(meta.bytes))) }
                metadata.append(meta)
            }
            pages.append(("simple/\(name)/index.html", .bytes(MirrorPages.project(name, files: files, metadata: metadata, json: false))))
            pages.append(("simple/\(name)/index.json", .bytes(MirrorPages.project(name, files: files, metadata: metadata, json: true))))
        }
        let projects = catalog.projects.keys.sorted()
        pages.append(("simple/index.html", .bytes(MirrorPages.simpleIndex(projects, json: false))))
        pages.append(("simple/index.json", .bytes(MirrorPages.simpleIndex(projects, json: true))))

        // Go.
        for path in catalog.modules.keys.sorted() {
            let escaped = ModulePath.escape(path)
            let versions = catalog.goVersions(path)
            for version in versions {
                guard let parts = catalog.modules[path]?[version] else { continue }
                let base = "go/\(escaped)/@v/\(ModulePath.escape(version))"
                content.append((base + ".mod", .blob(parts.mod)))
                content.append((base + ".info", parts.info.map { .blob($0) } ?? .bytes(MirrorPages.goInfo(version: version))))
                if let zip = parts.zip { content.append((base + ".zip", .blob(zip))) }
            }
            pages.append(("go/\(escaped)/@v/list", .bytes(MirrorPages.goList(versions))))
            if let latest = GoVersionOrder.latest(versions), let parts = catalog.modules[path]?[latest] {
                pages.append(("go/\(escaped)/@latest", parts.info.map { .blob($0) } ?? .bytes(MirrorPages.goInfo(version: latest))))
            }
        }

        // OCI.
        var manifestTypes: [(String, String, SHA256Digest)] = []  // URL path, media type, digest
        for name in catalog.images.keys.sorted() {
            for digest in (catalog.imageBlobs[name] ?? []).sorted(by: { $0.hex < $1.hex }) {
                content.append(("v2/\(name)/blobs/\(digest)", .blob(digest)))
            }
            let tags = catalog.images[name] ?? []
            for tag in tags {
                let type = OCIManifestType.of(try ImageCatalog.readSmallBlob(tag.manifest, in: store, what: "manifest"))
                for reference in Set([tag.tag, tag.manifest.description]).sorted() {
                    pages.append(("v2/\(name)/manifests/\(reference)", .blob(tag.manifest)))
                    manifestTypes.append(("/v2/\(name)/manifests/\(reference)", type, tag.manifest))
                }
            }
            pages.append(("v2/\(name)/tags/list", .bytes(MirrorPages.tagList(name, tags: tags.map(\.tag).filter { !$0.hasPrefix("sha256:") }))))
        }
        pages.append(("v2/index.html", .bytes(Array("{}".utf8))))

        // Files.
        for digest in catalog.blobs.keys.sorted(by: { $0.hex < $1.hex }) {
            content.append(("blobs/sha256/\(digest.hex)", .blob(digest)))
        }
        for (name, entry) in catalog.artifacts.sorted(by: { $0.key < $1.key }) {
            pages.append(("artifacts/\(name)", .blob(entry.digest)))
        }
        pages.append(("healthz", .bytes(Array("ok\n".utf8))))
        pages.append(("_airlock/nginx-http.conf", .bytes(Array(NginxSnippets.http.utf8))))
        pages.append(("_airlock/nginx-server.conf", .bytes(Array(NginxSnippets.server(manifests: manifestTypes).utf8))))
        let provenance = try Mirror.provenance(of: catalog, in: store)
        pages.append(("index.html", .bytes(MirrorPages.home(catalog, base: baseURL, provenance: provenance))))

        // Safe, distinct paths only; a path that is also another's directory is left out.
        var planned: [(String, Source)] = []
        var files: Set<String> = []
        var directories: Set<String> = []
        for (path, source) in content + pages {
            guard safe(path) else {
                result.skipped.append("\(path): not a safe relative path")
                continue
            }
            let parents = Self.parents(of: path)
            if directories.contains(path) || parents.contains(where: files.contains) {
                result.skipped.append("\(path): a file and a directory at once")
                continue
            }
            guard files.insert(path).inserted else { continue }
            directories.formUnion(parents)
            planned.append((path, source))
        }

        try FileSystem.makeDirectory(directory)
        let recordPath = directory + "/_airlock/export.json"
        let previous = (try? JSONValue(parsing: FileSystem.readFile(recordPath, limit: 256 << 20)))?["files"]?.objectValue ?? [:]
        var record: [String: JSONValue] = [:]
        for (path, source) in planned {
            let target = directory + "/" + path
            // A directory left where a file now goes (or the reverse) by an earlier export.
            if FileSystem.kind(of: target) == .directory { FileSystem.removeTree(target) }
            for parent in Self.parents(of: path) where FileSystem.kind(of: directory + "/" + parent) == .regular {
                try FileSystem.remove(directory + "/" + parent)
            }
            try FileSystem.makeDirectory(FileSystem.parentPath(target))
            switch source {
            case .blob(let digest):
                record[path] = .string(digest.hex)
                if store.isPlaced(digest, at: target)
                    || (previous[path]?.stringValue == digest.hex && (try? FileSystem.size(of: target)) == (try? FileSystem.size(of: store.blobPath(digest))))
                {
                    result.kept += 1
                    continue
                }
                switch try store.place(digest, at: target) {
                case .linked: result.linked += 1
                case .copied: result.copied += 1
                }
                result.written += 1
            case .bytes(let bytes):
                record[path] = .string(SHA256Hasher.hash(bytes).hex)
                if FileSystem.kind(of: target) == .regular, (try? FileSystem.readFile(target, limit: bytes.count + 1)) == bytes {
                    result.kept += 1
                    continue
                }
                try FileSystem.writeAtomically(target, bytes)
                result.written += 1
            }
        }
        // What the last export wrote and this one does not: removed once nothing links to it.
        for path in previous.keys.sorted() where record[path] == nil && safe(path) {
            let target = directory + "/" + path
            guard FileSystem.kind(of: target) == .regular else { continue }
            try FileSystem.remove(target)
            result.removed += 1
            var parent = FileSystem.parentPath(target)
            while parent.count > directory.count, (try? FileSystem.list(parent))?.isEmpty == true {
                try? FileSystem.remove(parent)
                parent = FileSystem.parentPath(parent)
            }
        }
        result.paths = planned.count
        try FileSystem.writeAtomically(
            recordPath, JSONValue.object(["schema": .int(1), "files": .object(record)]).canonicalBytes
        )
        return result
    }

    /// A relative path whose every segment is a plain name.
    static func safe(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.contains("\0"), !path.contains("\\") else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy {
            !$0.isEmpty && $0 != "." && $0 != ".." && $0.utf8.count <= 255
        }
    }

    static func parents(of path: String) -> [String] {
        var out: [String] = []
        var current = Substring(path)
        while let slash = current.lastIndex(of: "/") {
            current = current[..<slash]
            out.append(String(current))
        }
        return out
    }
}

/// The nginx configuration an export needs beyond serving files.
enum NginxSnippets {
    static let http = """
        # Airlock export: include inside http { }. Picks the PEP 691 JSON page when ?format= asks for
        # it, or when the client lists the JSON type first in Accept (pip and uv do); HTML otherwise.
        map $http_accept $airlock_simple_accept {
            default "index.html";
            "~^\\s*application/vnd\\.pypi\\.simple\\.v1\\+json" "index.json";
        }
        map $arg_format $airlock_simple_index {
            default $airlock_simple_accept;
            "application/vnd.pypi.simple.v1+json" "index.json";
            "application/vnd.pypi.simple.v1+html" "index.html";
            "text/html" "index.html";
        }

        """

    static func server(manifests: [(String, String, SHA256Digest)]) -> String {
        var s = """
            # Airlock export: include inside server { } after `root EXPORT-DIR;`. The same answers as
            # `airlock serve`: the simple index negotiated (nginx-http.conf), the registry's media types
            # and digest headers, JSON and zip types for the GOPROXY files.
            location /simple/ {
                index $airlock_simple_index;
                add_header Vary Accept;
                location ~ /index\\.json$ { types { } default_type application/vnd.pypi.simple.v1+json; add_header Vary Accept; }
                location ~ /index\\.html$ { types { } default_type application/vnd.pypi.simple.v1+html; add_header Vary Accept; }
            }
            location /files/ {
                types { } default_type application/octet-stream;
                location ~ \\.metadata$ { types { } default_type "text/plain; charset=utf-8"; }
                location ~ \\.whl$ { types { } default_type application/zip; }
            }
            location /go/ {
                types { } default_type "text/plain; charset=utf-8";
                location ~ (\\.info|/@latest)$ { types { } default_type application/json; }
                location ~ \\.zip$ { types { } default_type application/zip; }
            }
            location /blobs/ { types { } default_type application/octet-stream; }
            location /artifacts/ { types { } default_type application/octet-stream; }
            location = /healthz { types { } default_type "text/plain; charset=utf-8"; }
            location = /v2/ {
                types { } default_type application/json;
                add_header Docker-Distribution-API-Version registry/2.0 always;
            }
            location /v2/ {
                types { } default_type application/json;
                add_header Docker-Distribution-API-Version registry/2.0 always;
                location ~ "^/v2/.+/blobs/(sha256:[0-9a-f]{64})$" {
                    types { } default_type application/octet-stream;
                    add_header Docker-Content-Digest $1 always;
                    add_header Docker-Distribution-API-Version registry/2.0 always;
                }

            """
        for (path, type, digest) in manifests {
            s += """
                    location = \(nginxQuote(path)) {
                        types { } default_type \(nginxQuote(type));
                        add_header Docker-Content-Digest \(digest) always;
                        add_header Docker-Distribution-API-Version registry/2.0 always;
                    }

                """
        }
        s += "}\n"
        return s
    }

    /// A quoted nginx string: only safe characters reach it (paths are checked, types are tokens).
    static func nginxQuote(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "$", with: "") + "\""
    }
}
