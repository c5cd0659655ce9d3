import AirlockCore
import AirlockMirror
import ArgumentParser
import Foundation

struct ExportStaticCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-static",
        abstract: "Write the mirror's URL tree as plain files, for nginx, python3 -m http.server or a bucket.",
        discussion: Example.discussion(
            """
            The same answers as `airlock serve`, byte for byte: simple/<name>/index.html and \
            index.json, files/<sha256>/<filename> (and .metadata), go/<module>/@v/..., v2/<name>/..., \
            blobs/sha256/HEX, artifacts/NAME and index.html, with relative links so the tree works \
            from any host and port. Blobs are hard-linked from the store where the file system \
            allows, copied otherwise. _airlock/nginx-http.conf (inside http { }) and \
            _airlock/nginx-server.conf (inside server { }, after root) add the PEP 691 negotiation \
            and the registry's headers. Run it again after an import: only what changed is written, \
            each file beside its place and renamed into it, and what the store no longer serves is \
            removed last.
            """,
            Example("Export for nginx", "airlock export-static --out /srv/mirror --base-url https://mirror:8443"),
            Example("Again after an import, as JSON", "airlock export-static --out /srv/mirror --json")
        )
    )

    @Option(help: "The directory to write (created if missing).") var out: String
    @Option(help: "The URL clients will reach the export at (for the client lines of index.html).") var baseUrl: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        if let baseUrl, !(baseUrl.hasPrefix("http://") || baseUrl.hasPrefix("https://")) || baseUrl.contains(" ") {
            throw UsageError(CoreErrorCode.usage, "--base-url \(baseUrl): give an http:// or https:// URL")
        }
        let store = try Store.openExisting(at: storeOptions.root)
        let base = baseUrl.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        let result = try StaticExport.export(store: store, to: out, baseURL: base)
        for skipped in result.skipped { printError("export-static: skipped \(skipped)") }
        if output.json {
            let value: JSONValue = .object([
                "out": .string(out), "paths": .int(Int64(result.paths)), "written": .int(Int64(result.written)),
                "linked": .int(Int64(result.linked)), "copied": .int(Int64(result.copied)), "kept": .int(Int64(result.kept)),
                "removed": .int(Int64(result.removed)), "skipped": .array(result.skipped.map { .string($0) }),
            ])
            print(String(decoding: value.canonicalBytes, as: UTF8.self))
        } else {
            print(
                "\(out): \(result.paths) files; \(result.written) written (\(result.linked) hard-linked, \(result.copied) copied), \(result.kept) kept, \(result.removed) removed"
            )
        }
    }
}
