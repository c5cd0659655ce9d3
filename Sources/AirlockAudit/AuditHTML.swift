// `audit --html`: the audit as one self-contained page for people (an auditor's report, a change
// review): the subject and its signers, the artifacts with their provenance, the SBOM as a table,
// the diff against an earlier bundle, the vulnerability matches, and the stock-tool commands that
// check the bundle without Airlock. One file with its CSS inline, no script, no external asset, so it
// opens offline and crosses the gap as it is; the same inventory gives the same bytes.

public import AirlockCore

public enum AuditHTML {
    public static func page(
        _ inventory: AuditInventory, diff: AuditDiff? = nil, against old: AuditInventory? = nil,
        vulnerabilities: VulnerabilityReport? = nil, tool: String
    ) -> [UInt8] {
        var html = Page()
        let s = inventory.subject
        let title = s.bundle.map { "Bundle \($0)" } ?? "Store \(s.path)"
        html.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Airlock audit: \(escape(title))</title>")
        html.raw("<style>\(css)</style></head><body>")
        html.raw("<h1>Airlock audit: \(escape(title))</h1>")
        var facts: [(String, String)] = [("Subject", "\(s.kind) \(s.path)")]
        if let bundle = s.bundle { facts.append(("Bundle", bundle)) }
        if let channel = s.channel { facts.append(("Channel / sequence", "\(channel) / \(s.sequence ?? 0)")) }
        if let created = s.created { facts.append(("Created", created)) }
        if let expires = s.expires { facts.append(("Expires", expires)) }
        facts.append(("Written by", tool))
        html.raw("<dl>" + facts.map { "<dt>\(escape($0.0))</dt><dd>\(escape($0.1))</dd>" }.joined() + "</dl>")

        html.section("Signers and trust", id: "signers")
        html.para(
            s.kind == "bundle"
                ? "Every signature below was checked against the trusted keys (--trust, or the store's trust policy) before anything else on this page was read."
                : "The keys that signed the bundles this store imported."
        )
        html.table(["Key id (sha256 of the DER public key)", "Name"], s.signers.map { [$0.keyID, $0.name ?? "-"] })

        html.section("Artifacts and their provenance", id: "artifacts")
        html.table(
            ["Artifact", "Kind", "Size", "SHA-256", "Target", "Built in", "Toolchain", "Build key", "SOURCE_DATE_EPOCH", "Functions", "Inputs"],
            inventory.artifacts.map { a in
                [
                    a.name, a.buildKind ?? a.kind, ByteCount.format(a.size), a.sha256.hex, a.target ?? "-",
                    a.builder.map { "\($0.reference) \($0.manifest)" } ?? "-", a.toolchain ?? "-", a.key?.hex ?? "-",
                    a.sourceDateEpoch.map(String.init) ?? "-", a.functions?.joined(separator: ", ") ?? "-", String(a.inputs.count),
                ]
            }
        )

        html.section("Software bill of materials (\(inventory.packages.count) packages)", id: "sbom")
        html.table(
            ["Package", "Version", "Ecosystem", "Kind", "License", "Package URL", "SHA-256"],
            inventory.packages.map { p in [p.name, p.version, p.ecosystem, p.kind, p.license ?? "-", p.purl, p.sha256?.hex ?? "-"] }
        )
        if !inventory.images.isEmpty {
            html.raw("<h3>Images</h3>")
            html.table(
                ["Image", "Platform", "Layers", "Debian packages", "Manifest"],
                inventory.images.map { [$0.reference, $0.platform ?? "?", String($0.layers.count), String($0.debPackages), $0.manifest.description] }
            )
        }

        html.section("Changes", id: "diff")
        if let diff, let old {
            let label = old.subject.bundle.map { "bundle \($0) (sequence \(old.subject.sequence ?? 0))" } ?? "store \(old.subject.path)"
            html.para("Against \(label).")
            var rows: [[String]] = []
            rows += diff.added.map { ["added", $0.name, $0.ecosystem, "-", $0.versions.joined(separator: ", ")] }
            rows += diff.removed.map { ["removed", $0.name, $0.ecosystem, $0.versions.joined(separator: ", "), "-"] }
            rows += diff.changed.map { ["changed", $0.name, $0.ecosystem, $0.from.joined(separator: ", "), $0.to.joined(separator: ", ")] }
            rows += diff.artifacts.map { ["artifact", $0.name, $0.kind, $0.from ?? "-", $0.to ?? "-"] }
            rows += diff.signersAdded.map { ["signer added", $0, "", "-", $0] }
            rows += diff.signersRemoved.map { ["signer removed", $0, "", $0, "-"] }
            if let channel = diff.channel { rows.append(["channel", "", "", channel.first ?? "", channel.last ?? ""]) }
            html.table(["Change", "Name", "Ecosystem / kind", "Before", "After"], rows, empty: "No change.")
        } else {
            html.para("No earlier bundle or store was given (audit --against OLD).")
        }

        html.section("Known vulnerabilities", id: "vulnerabilities")
        if let vulnerabilities {
            html.para("\(vulnerabilities.findings.count) match(es) against \(vulnerabilities.advisories) OSV advisories from \(vulnerabilities.sources.joined(separator: ", ")).")
            html.table(
                ["Advisory", "Severity", "Package", "Version", "Affected", "Fixed in", "Artifacts", "Summary"],
                vulnerabilities.findings.map { f in
                    [f.advisory, f.severity ?? "unknown", f.name, f.version, f.affected, f.fixed.isEmpty ? "-" : f.fixed.joined(separator: ", "),
                     f.artifacts.isEmpty ? "-" : f.artifacts.joined(separator: ", "), f.summary ?? ""]
                },
                empty: "No advisory affects a package listed above."
            )
        } else {
            html.para("No OSV export was given (audit --vulns OSV-EXPORT).")
        }

        html.section("Checking it with stock tools", id: "stock-tools")
        html.para("With no Airlock at hand (VERIFY.md in the bundle says the same, signed with it):")
        let name = s.kind == "bundle" ? FileSystem.baseName(s.path) : "BUNDLE.airlock"
        var commands = [
            "mkdir check && cd check && tar -xf ../\(name)",
            "openssl pkey -pubin -in KEY.pub -outform DER | sha256sum    # must print a key id above",
        ]
        commands += s.signers.map { "openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in manifest.json -sigfile signatures/\($0.keyID).sig" }
        commands += ["sha256sum -c SHA256SUMS", "grep '\"expires\"' manifest.json"]
        html.raw("<pre>" + escape(commands.joined(separator: "\n")) + "</pre>")
        if !inventory.notes.isEmpty {
            html.section("Notes", id: "notes")
            html.raw("<ul>" + inventory.notes.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
        }
        html.raw("</body></html>\n")
        return Array(html.text.utf8)
    }

    static let css = """
        body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1f24;background:#fff}\
        h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #d0d7de}\
        dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}\
        table{border-collapse:collapse;margin:.5em 0;font-size:13px}th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}\
        th{background:#f6f8fa}td{word-break:break-all}pre{background:#f6f8fa;padding:1em;overflow-x:auto}
        """

    static func escape(_ text: String) -> String { HTMLText.escape(text) }

    private struct Page {
        var text = ""
        mutating func raw(_ html: String) { text += html + "\n" }
        mutating func section(_ title: String, id: String) { raw("<h2 id=\"\(id)\">\(escape(title))</h2>") }
        mutating func para(_ line: String) { raw("<p>\(escape(line))</p>") }
        mutating func table(_ header: [String], _ rows: [[String]], empty: String = "None.") {
            guard !rows.isEmpty else { return para(empty) }
            var t = "<table><thead><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
            for row in rows { t += "<tr>" + row.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }
            raw(t + "</tbody></table>")
        }
    }
}
