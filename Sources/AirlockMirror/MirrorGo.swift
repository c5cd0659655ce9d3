// The GOPROXY protocol under `/go/`, from the Go module parts imported bundles carried (kinds
// `go-mod`, `go-info`, `go-module`, named by module path and version; see GoModuleStore):
//
//   /go/<escaped path>/@v/list            the versions, one per line (200 even when only go.mods)
//   /go/<escaped path>/@v/<version>.info  the stored .info, or {"Version": v} when none was carried
//   /go/<escaped path>/@v/<version>.mod   the go.mod
//   /go/<escaped path>/@v/<version>.zip   the zip, only one whose recorded h1: names this module
//   /go/<escaped path>/@latest            the .info of the highest release (else pre-release)
//   /go/sumdb/<name>/supported            404: there is no checksum database to proxy, so the go
//                                         command asks the database itself or, with GOSUMDB=off
//                                         or GONOSUMDB, nothing
//
// An unknown module or version is 404 (the go command's "not found", so a `,`-list moves on); a
// path whose case escaping is wrong is 400.

import AirlockCore
import AirlockGo
import Foundation
import HTTPTypes

extension Mirror {
    func go(_ segments: [String], request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        if segments.count == 3, segments[0] == "sumdb", segments[2] == "supported" {
            return .text(.notFound, "no checksum database is proxied here\n")
        }
        guard let marker = segments.firstIndex(where: { $0 == "@v" || $0 == "@latest" }), marker > 0 else {
            return .text(.notFound, "not found: GOPROXY paths are /go/<module>/@v/... or /go/<module>/@latest\n")
        }
        let escaped = segments[..<marker].joined(separator: "/")
        guard let path = ModulePath.unescape(escaped), (try? ModulePath.check(path)) != nil else {
            return .text(.badRequest, "bad module path '\(escaped)' (upper case is written !x)\n")
        }
        guard let versions = catalog.modules[path], !versions.isEmpty else {
            return .text(.notFound, "not found: module \(path) is not in an imported bundle\n")
        }

        if segments[marker] == "@latest" {
            guard marker == segments.count - 1, let latest = GoVersionOrder.latest(versions.keys) else {
                return .text(.notFound, "not found\n")
            }
            return info(versions[latest]!, version: latest, request: request, catalog: catalog)
        }
        guard marker == segments.count - 2 else { return .text(.notFound, "not found\n") }
        let file = segments[marker + 1]
        if file == "list" {
            let list = catalogCache.page("go/\(path)/list", of: catalog) { MirrorPages.goList(catalog.goVersions(path)) }
            return .buffer(list, contentType: "text/plain; charset=utf-8")
        }
        guard let dot = file.lastIndex(of: "."), let version = ModulePath.unescape(String(file[..<dot])),
            let parts = versions[version]
        else {
            return .text(.notFound, "not found: \(path) has no version '\(file)' here\n")
        }
        switch file[file.index(after: dot)...] {
        case "info":
            return info(parts, version: version, request: request, catalog: catalog)
        case "mod":
            return stored(parts.mod, contentType: "text/plain; charset=utf-8", request: request, catalog: catalog)
        case "zip":
            // Only the zip whose h1: was recorded for this very module (another module's bytes never answer).
            guard let zip = parts.zip else {
                return .text(.notFound, "not found: no zip of \(path)@\(version) was imported (only its go.mod)\n")
            }
            return stored(zip, contentType: "application/zip", request: request, catalog: catalog)
        default:
            return .text(.notFound, "not found\n")
        }
    }

    private func info(_ parts: GoModuleVersion, version: String, request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        if let info = parts.info { return stored(info, contentType: "application/json", request: request, catalog: catalog) }
        return .bytes(MirrorPages.goInfo(version: version), contentType: "application/json")
    }

    /// An imported part, by digest (its size as the index recorded it).
    private func stored(_ digest: SHA256Digest, contentType: String, request: MirrorRequest, catalog: MirrorCatalog) -> MirrorAnswer {
        guard let entry = catalog.blobs[digest] else { return .text(.notFound, "not found\n") }
        return file(digest, size: entry.size, contentType: contentType, filename: nil, immutable: true, request: request)
    }
}
