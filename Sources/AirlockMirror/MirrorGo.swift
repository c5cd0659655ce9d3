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
        let store = self.store
        let goMods = try await offPool {
            try store.index.importedEntries(kind: GoModuleStore.goModKind, name: path).filter { store.contains($0.digest) }
        }
        guard !goMods.isEmpty else { return Self.text(.notFound, "not found: module \(path) is not in an imported bundle\n") }
        let versions = Set(goMods.compactMap(\.version))

        if segments[marker] == "@latest" {
            guard marker == segments.count - 1, let latest = Self.latest(versions) else {
                return Self.text(.notFound, "not found\n")
            }
            return try await info(path: path, version: latest, request: request)
        }
        guard marker == segments.count - 2 else { return Self.text(.notFound, "not found\n") }
        let file = segments[marker + 1]
        if file == "list" {
            let list = versions.sorted { Self.precedes($0, $1) }.map { $0 + "\n" }.joined()
            return Self.bytes(Array(list.utf8), contentType: "text/plain; charset=utf-8", request: request)
        }
        guard let dot = file.lastIndex(of: "."), let version = ModulePath.unescape(String(file[..<dot])),
            versions.contains(version)
        else {
            return Self.text(.notFound, "not found: \(path) has no version '\(file)' here\n")
        }
        switch file[file.index(after: dot)...] {
        case "info":
            return try await info(path: path, version: version, request: request)
        case "mod":
            guard let entry = goMods.first(where: { $0.version == version }) else { return Self.text(.notFound, "not found\n") }
            return try await self.file(
                entry.digest, contentType: "text/plain; charset=utf-8", filename: nil, immutable: true, request: request,
                context: context
            )
        case "zip":
            let module = "\(path)@\(version)"
            // The zip whose h1: was recorded for this very module (another module's bytes never answer).
            let zip = try await offPool { () -> SHA256Digest? in
                let zips = try store.index.importedEntries(kind: GoModuleStore.zipKind, name: path).filter {
                    $0.version == version && store.contains($0.digest)
                }
                for entry in zips {
                    guard let document = try store.index.provenance(of: entry.digest),
                        let record = try? JSONValue(parsing: Array(document.utf8)), record["module"]?.stringValue == module
                    else { continue }
                    return entry.digest
                }
                return nil
            }
            if let zip {
                return try await self.file(
                    zip, contentType: "application/zip", filename: nil, immutable: true, request: request, context: context
                )
            }
            return Self.text(.notFound, "not found: no zip of \(module) was imported (only its go.mod)\n")
        default:
            return Self.text(.notFound, "not found\n")
        }
    }

    private func info(path: String, version: String, request: Request) async throws -> Response {
        let store = self.store
        let stored = try await offPool { () -> [UInt8]? in
            let infos = try store.index.importedEntries(kind: GoModuleStore.infoKind, name: path).filter {
                $0.version == version && store.contains($0.digest)
            }
            return infos.first.flatMap { try? FileSystem.readFile(store.blobPath($0.digest), limit: 1 << 20) }
        }
        if let bytes = stored { return Self.bytes(bytes, contentType: "application/json", request: request) }
        let text = String(decoding: JSONValue.object(["Version": .string(version)]).canonicalBytes, as: UTF8.self) + "\n"
        return Self.bytes(Array(text.utf8), contentType: "application/json", request: request)
    }

    /// The highest release among `versions`, else the highest pre-release, as the go command's
    /// @latest prefers.
    static func latest(_ versions: Set<String>) -> String? {
        let sorted = versions.sorted { precedes($0, $1) }
        return sorted.last { !$0.contains("-") } ?? sorted.last
    }

    /// Semantic-version order (`v1.2.3` < `v1.10.0`; a pre-release before its release).
    static func precedes(_ a: String, _ b: String) -> Bool {
        func parts(_ v: String) -> ([Int], String?) {
            let core = v.dropFirst().split(separator: "+", maxSplits: 1)[0]
            let split = core.split(separator: "-", maxSplits: 1)
            let numbers = split[0].split(separator: ".").map { Int($0) ?? 0 }
            return (numbers, split.count > 1 ? String(split[1]) : nil)
        }
        let (x, xp) = parts(a)
        let (y, yp) = parts(b)
        if x != y { return x.lexicographicallyPrecedes(y) }
        switch (xp, yp) {
        case (nil, nil): return a < b
        case (nil, _?): return false
        case (_?, nil): return true
        case (let p?, let q?): return p < q
        }
    }
}
