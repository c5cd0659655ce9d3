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
import Hummingbird

extension Mirror {
    func go(_ segments: [String], request: Request, context: MirrorContext) async throws -> Response {
        if segments.count == 3, segments[0] == "sumdb", segments[2] == "supported" {
            return Self.text(.notFound, "no checksum database is proxied here\n")
        }
        guard let marker = segments.firstIndex(where: { $0 == "@v" || $0 == "@latest" }), marker > 0 else {
            return Self.text(.notFound, "not found: GOPROXY paths are /go/<module>/@v/... or /go/<module>/@latest\n")
        }
        let escaped = segments[..<marker].joined(separator: "/")
        guard let path = ModulePath.unescape(escaped), (try? ModulePath.check(path)) != nil else {
            return Self.text(.badRequest, "bad module path '\(escaped)' (upper case is written !x)\n")
        }
        let catalog = try await snapshot()
        guard let versions = catalog.modules[path], !versions.isEmpty else {
            return Self.text(.notFound, "not found: module \(path) is not in an imported bundle\n")
        }

        if segments[marker] == "@latest" {
            guard marker == segments.count - 1, let latest = GoVersionOrder.latest(versions.keys) else {
                return Self.text(.notFound, "not found\n")
            }
            return try await info(versions[latest]!, version: latest, request: request, context: context)
        }
        guard marker == segments.count - 2 else { return Self.text(.notFound, "not found\n") }
        let file = segments[marker + 1]
        if file == "list" {
            let list = catalogCache.page("go/\(path)/list", of: catalog) { MirrorPages.goList(catalog.goVersions(path)) }
            return Self.buffer(list, contentType: "text/plain; charset=utf-8", request: request)
        }
        guard let dot = file.lastIndex(of: "."), let version = ModulePath.unescape(String(file[..<dot])),
            let parts = versions[version]
        else {
            return Self.text(.notFound, "not found: \(path) has no version '\(file)' here\n")
        }
        switch file[file.index(after: dot)...] {
        case "info":
            return try await info(parts, version: version, request: request, context: context)
        case "mod":
            return try await self.file(
                parts.mod, contentType: "text/plain; charset=utf-8", filename: nil, immutable: true, request: request,
                context: context
            )
        case "zip":
            // Only the zip whose h1: was recorded for this very module (another module's bytes never answer).
            guard let zip = parts.zip else {
                return Self.text(.notFound, "not found: no zip of \(path)@\(version) was imported (only its go.mod)\n")
            }
            return try await self.file(
                zip, contentType: "application/zip", filename: nil, immutable: true, request: request, context: context
            )
        default:
            return Self.text(.notFound, "not found\n")
        }
    }

    private func info(_ parts: GoModuleVersion, version: String, request: Request, context: MirrorContext) async throws -> Response {
        if let info = parts.info {
            return try await file(info, contentType: "application/json", filename: nil, immutable: true, request: request, context: context)
        }
        return Self.bytes(MirrorPages.goInfo(version: version), contentType: "application/json", request: request)
    }
}
