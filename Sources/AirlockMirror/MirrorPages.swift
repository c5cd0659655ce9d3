// Every generated answer of the mirror's URL tree, as bytes, from a MirrorCatalog: the Python simple
// index (PEP 503 HTML, PEP 691 JSON with PEP 700 fields, PEP 658/714 core-metadata, PEP 592 yanked),
// the GOPROXY `list`, synthesized `.info` and `@latest`, the OCI tag list, and the page people read
// at `/`.
// `serve` answers with these bytes and `export-static` writes the very same bytes to files, so
// nginx in front of an export answers what `serve` does. Links are relative, so both work behind
// any host, port or path prefix.

import AirlockCore
import Foundation

enum MirrorPages {
    static let jsonType = "application/vnd.pypi.simple.v1+json"
    static let htmlType = "application/vnd.pypi.simple.v1+html"

    // MARK: Python

    static func simpleIndex(_ projects: [String], json: Bool) -> [UInt8] {
        if json {
            return JSONValue.object([
                "meta": .object(["api-version": .string("1.1")]),
                "projects": .array(projects.map { .object(["name": .string($0)]) }),
            ]).canonicalBytes
        }
        var html = "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Simple index</title></head><body>\n"
        for project in projects { html += "<a href=\"\(escape(project))/\">\(escape(project))</a><br>\n" }
        html += "</body></html>\n"
        return Array(html.utf8)
    }

    static func project(_ name: String, files: [IndexedFile], metadata: [WheelMetadata?], json: Bool) -> [UInt8] {
        if json {
            var list: [JSONValue] = []
            for (file, meta) in zip(files, metadata) {
                var object: [String: JSONValue] = [
                    "filename": .string(file.filename), "url": .string(fileURL(file)),
                    "hashes": .object(["sha256": .string(file.digest.hex)]), "size": .int(Int64(file.size)),
                ]
                if let requires = meta?.requiresPython { object["requires-python"] = .string(requires) }
                let core: JSONValue = meta.map { .object(["sha256": .string($0.sha256.hex)]) } ?? .bool(false)
                // PEP 714: only the new key in JSON. pip 22.3 to 23.0 (Debian 12 ships 23.0.1) fails
                // with a TypeError on any `dist-info-metadata` object there; HTML keeps both names.
                object["core-metadata"] = core
                // PEP 691: `true`, or the reason as a string.
                if let yanked = file.yanked { object["yanked"] = yanked.isEmpty ? .bool(true) : .string(yanked) }
                list.append(.object(object))
            }
            let versions = Set(files.map(\.version)).sorted()
            return JSONValue.object([
                "meta": .object(["api-version": .string("1.1")]), "name": .string(name), "files": .array(list),
                "versions": .array(versions.map { .string($0) }),
            ]).canonicalBytes
        }
        var html = "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Links for \(escape(name))</title></head><body>\n<h1>Links for \(escape(name))</h1>\n"
        for (file, meta) in zip(files, metadata) {
            var attributes = ""
            if let requires = meta?.requiresPython { attributes += " data-requires-python=\"\(escape(requires))\"" }
            if let meta {
                attributes += " data-core-metadata=\"sha256=\(meta.sha256.hex)\" data-dist-info-metadata=\"sha256=\(meta.sha256.hex)\""
            }
            if let yanked = file.yanked { attributes += " data-yanked=\"\(escape(yanked))\"" }
            html += "<a href=\"\(escape(fileURL(file)))\"\(attributes)>\(escape(file.filename))</a><br>\n"
        }
        html += "</body></html>\n"
        return Array(html.utf8)
    }

    /// A file's link from its project page (`/simple/<name>/`).
    static func fileURL(_ file: IndexedFile) -> String {
        "../../files/\(file.digest.hex)/\(percentEncode(file.filename))#sha256=\(file.digest.hex)"
    }

    // MARK: Go

    static func goList(_ versions: [String]) -> [UInt8] { Array(versions.map { $0 + "\n" }.joined().utf8) }

    /// The `.info` a bundle carried none for: the version alone, as a proxy that knows no time says.
    static func goInfo(version: String) -> [UInt8] {
        JSONValue.object(["Version": .string(version)]).canonicalBytes + Array("\n".utf8)
    }

    // MARK: OCI

    static func tagList(_ name: String, tags: [String]) -> [UInt8] {
        JSONValue.object(["name": .string(name), "tags": .array(tags.map { .string($0) })]).canonicalBytes
    }

    // MARK: People

    /// `/`: what the mirror serves and how to point a client at it. `base` is the mirror's URL as
    /// clients reach it (nil: a placeholder the reader replaces). No script, no external asset.
    static func home(_ catalog: MirrorCatalog, base: String?, provenance: [SHA256Digest: Provenance]) -> [UInt8] {
        let url = base ?? "https://MIRROR"
        let hostPort = url.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? "MIRROR"
        var h = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Airlock mirror</title>
            <style>
            body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #1b1b1b; }
            h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
            table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .25em .6em; vertical-align: top; }
            tr:nth-child(even) td { background: #f4f4f4; } code, pre { font: 13px ui-monospace, monospace; }
            pre { background: #f4f4f4; padding: .7em; overflow-x: auto; } .muted { color: #666; }
            </style></head><body>
            <h1>Airlock mirror</h1>
            <p>Everything listed here came in a signed bundle that this store verified and imported; nothing else is served.</p>

            """
        h += "<h2 id=\"clients\">Point a client at this mirror</h2>\n<pre id=\"client-lines\">"
        h += escape("pip install --index-url \(url)/simple/ PACKAGE") + "\n"
        h += escape("uv pip install --index-url \(url)/simple/ PACKAGE") + "\n"
        h += escape("GOPROXY=\(url)/go GOSUMDB=off GOFLAGS=-mod=mod go mod download") + "\n"
        h += escape("docker pull \(hostPort)/NAME:TAG") + "\n</pre>\n"
        if url.hasPrefix("https:") {
            h += "<p class=\"muted\">Over HTTPS, give pip the mirror's CA with <code>--cert CA.pem</code> (or <code>PIP_CERT</code>), Go and Docker through the system CA store.</p>\n"
        }

        let projects = catalog.projects.keys.sorted()
        h += section("python", "Python projects", count: projects.count, headers: ["Project", "Versions", "Files"], rows: projects.map { name in
            let files = catalog.projects[name] ?? []
            // A version is marked yanked when every file of it is (PEP 592 yanks files; pip skips them).
            let versions = Set(files.map(\.version)).sorted().map { v in
                files.allSatisfy { $0.version != v || $0.yanked != nil } ? "\(v) (yanked)" : v
            }
            return ["<a href=\"simple/\(escape(name))/\">\(escape(name))</a>", escape(versions.joined(separator: ", ")), "\(files.count)"]
        })
        let modules = catalog.modules.keys.sorted()
        h += section("go", "Go modules", count: modules.count, headers: ["Module", "Versions"], rows: modules.map { path in
            let versions = catalog.goVersions(path).map { v in catalog.modules[path]?[v]?.zip == nil ? "\(v) (go.mod only)" : v }
            return [escape(path), escape(versions.joined(separator: ", "))]
        })
        let images = catalog.images.keys.sorted()
        h += section("images", "Images", count: images.count, headers: ["Image", "Tag", "Manifest digest"], rows: images.flatMap { name in
            (catalog.images[name] ?? []).map { [escape(name), escape($0.tag), "<code>\($0.manifest)</code>"] }
        })
        let artifacts = catalog.artifacts.keys.sorted().compactMap { catalog.artifacts[$0] }
        h += section("artifacts", "Artifacts", count: artifacts.count, headers: ["Name", "Size", "sha256", "Provenance"], rows: artifacts.map { entry in
            [
                "<a href=\"artifacts/\(escape(percentEncodePath(entry.name)))\">\(escape(entry.name))</a>", escape(ByteCount.format(entry.size)),
                "<code>\(entry.digest.hex)</code>", escape(provenance[entry.digest].map(summary) ?? "none recorded (a loose file)"),
            ]
        })
        h += section("imports", "Import history", count: catalog.imports.count, headers: ["Bundle", "Channel", "Sequence", "Signers", "Imported"], rows: catalog.imports.reversed().map { record in
            let signers = record.signers.map { id in catalog.signerNames[id].map { "\($0) (\(id.prefix(12)))" } ?? id }
            return [
                "<code>\(escape(record.bundle))</code>", escape(record.channel), "\(record.sequence)", escape(signers.joined(separator: ", ")),
                escape(record.time),
            ]
        })
        h += "</body></html>\n"
        return Array(h.utf8)
    }

    /// A heading with its count, then a table of `rows` (cells already HTML), or "none".
    static func section(_ id: String, _ title: String, count: Int, headers: [String], rows: [[String]]) -> String {
        var h = "<h2 id=\"\(id)\">\(title) (\(count))</h2>\n"
        if rows.isEmpty { return h + "<p class=\"muted\">none</p>\n" }
        h += "<table><tr>" + headers.map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for row in rows { h += "<tr>" + row.map { "<td>\($0)</td>" }.joined() + "</tr>\n" }
        return h + "</table>\n"
    }

    /// One line of what a build proved: kind, project, target, toolchain, functions, inputs.
    static func summary(_ p: Provenance) -> String {
        var parts = ["\(p.kind) of \(p.project)"]
        if let target = p.inputs?.target {
            parts.append("for \(target.language) \(target.version) \(target.platform)" + (target.libc.map { " (\($0))" } ?? ""))
        }
        if let toolchain = p.sandbox?.toolchain { parts.append("built with \(toolchain)") }
        if let network = p.sandbox?.network { parts.append("network \(network)") }
        if let inputs = p.inputs { parts.append("\(inputs.blobs.count) locked inputs") }
        if let functions = p.functions, !functions.isEmpty {
            parts.append("functions: " + functions.map(\.name).joined(separator: ", "))
        }
        return parts.joined(separator: "; ")
    }

    // MARK: Text

    static func escape(_ text: String) -> String { HTMLText.escape(text) }

    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~+!")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Each segment encoded, the slashes kept.
    static func percentEncodePath(_ text: String) -> String {
        text.split(separator: "/", omittingEmptySubsequences: false).map { percentEncode(String($0)) }.joined(separator: "/")
    }
}
