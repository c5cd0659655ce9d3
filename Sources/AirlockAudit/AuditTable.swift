// The inventory and the diff as people read them on a terminal: a heading for the subject and its
// signers, then one aligned table per section (artifacts, packages, images), and the diff as
// `+`, `-` and `~` lines. Digests are shortened to 12 hex digits here only; --json has them whole.

import AirlockCore
import Foundation

public enum AuditTable {
    public static func lines(_ inventory: AuditInventory) -> [String] {
        var out: [String] = []
        let s = inventory.subject
        if let bundle = s.bundle {
            out.append("bundle \(bundle): channel \(s.channel ?? "?"), sequence \(s.sequence ?? 0), created \(s.created ?? "?"), expires \(s.expires ?? "?")")
        } else {
            out.append("store \(s.path): \(s.imports?.count ?? 0) bundle(s) imported")
        }
        let signers = s.signers.map { ($0.name.map { "\($0) " } ?? "") + "(\($0.keyID.prefix(16)))" }
        out.append("signed by: " + (signers.isEmpty ? "nobody" : signers.joined(separator: ", ")))
        if let imports = s.imports, !imports.isEmpty {
            out.append("")
            out += table(
                ["IMPORTED", "CHANNEL", "SEQUENCE", "BUNDLE", "SIGNERS"],
                imports.map { [$0.time, $0.channel, String($0.sequence), $0.bundle, String($0.signers.count)] }
            )
        }
        out.append("")
        out += table(
            ["ARTIFACT", "KIND", "SIZE", "SHA256", "BUILT FROM"],
            inventory.artifacts.map { a in
                var built: [String] = []
                if let target = a.target { built.append(target) }
                if let builder = a.builder { built.append("in \(builder.reference)") }
                if let functions = a.functions { built.append("\(functions.count) function(s)") }
                if !a.inputs.isEmpty { built.append("\(a.inputs.count) input(s)") }
                return [a.name, a.buildKind ?? a.kind, ByteCount.format(a.size), String(a.sha256.hex.prefix(12)), built.joined(separator: ", ")]
            }
        )
        out.append("")
        out += table(
            ["PACKAGE", "VERSION", "ECOSYSTEM", "KIND", "LICENSE", "DEPENDS ON"],
            inventory.packages.map { p in
                [p.name, p.version, p.ecosystem, p.kind, p.license ?? "-", p.dependsOn.isEmpty ? "" : String(p.dependsOn.count)]
            }
        )
        if !inventory.images.isEmpty {
            out.append("")
            out += table(
                ["IMAGE", "PLATFORM", "LAYERS", "DEB PACKAGES", "MANIFEST"],
                inventory.images.map { i in
                    [i.reference, i.platform ?? "?", String(i.layers.count), String(i.debPackages), String(i.manifest.hex.prefix(12))]
                }
            )
        }
        let counts = Dictionary(grouping: inventory.packages, by: \.ecosystem).map { "\($0.value.count) \($0.key)" }.sorted()
        out.append("")
        out.append("\(inventory.artifacts.count) artifact(s), \(inventory.packages.count) package(s) (\(counts.joined(separator: ", "))), \(inventory.images.count) image(s)")
        return out
    }

    public static func lines(_ diff: AuditDiff, against old: AuditInventory) -> [String] {
        let label = old.subject.bundle.map { "bundle \($0) (sequence \(old.subject.sequence ?? 0))" } ?? "store \(old.subject.path)"
        guard !diff.isEmpty else { return ["no change against \(label)"] }
        var out = ["against \(label):"]
        for p in diff.added { out.append("  + \(p.name) \(p.versions.joined(separator: ", ")) (\(p.ecosystem) \(p.kind))") }
        for p in diff.removed { out.append("  - \(p.name) \(p.versions.joined(separator: ", ")) (\(p.ecosystem) \(p.kind))") }
        for p in diff.changed {
            out.append("  ~ \(p.name) \(p.from.joined(separator: ", ")) -> \(p.to.joined(separator: ", ")) (\(p.ecosystem) \(p.kind))")
        }
        for a in diff.artifacts {
            let from = a.from.map { String($0.dropFirst(7).prefix(12)) } ?? "(none)"
            let to = a.to.map { String($0.dropFirst(7).prefix(12)) } ?? "(none)"
            out.append("  * artifact \(a.name): \(from) -> \(to)")
        }
        for k in diff.signersAdded { out.append("  + signer \(k)") }
        for k in diff.signersRemoved { out.append("  - signer \(k)") }
        if let channel = diff.channel { out.append("  * channel \(channel[0]) -> \(channel[1])") }
        return out
    }

    static func table(_ header: [String], _ rows: [[String]]) -> [String] {
        guard !rows.isEmpty else { return [header[0] + ": none"] }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in i == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }
        return [line(header)] + rows.map(line)
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}

/// A rebuild check as people read it: one row per artifact, then for each that differs the zip
/// entries that differ and the unified diff of the text ones.
public enum RebuildTable {
    public static func lines(_ report: RebuildReport) -> [String] {
        var out = ["bundle \(report.bundle): channel \(report.channel), sequence \(report.sequence)", ""]
        out += AuditTable.table(
            ["ARTIFACT", "KIND", "RESULT", "SECONDS", "SHA256 (BUNDLE)", "SHA256 (REBUILT)"],
            report.artifacts.map { a in
                [
                    a.path, a.kind, a.status.rawValue, String(format: "%.1f", a.seconds), String(a.expected.hex.prefix(12)),
                    a.rebuilt.map { String($0.hex.prefix(12)) } ?? "-",
                ]
            }
        )
        for a in report.artifacts where a.status != .reproduced {
            out.append("")
            if let reason = a.reason { out.append("\(a.path): not rebuilt: \(reason)") }
            if a.status == .differs {
                out.append("\(a.path): the bundle has sha256:\(a.expected.hex), the rebuild sha256:\(a.rebuilt?.hex ?? "?")")
            }
            if !a.inputsDiffer.isEmpty { out.append("  its rebuild read other inputs than recorded: \(a.inputsDiffer.joined(separator: ", "))") }
            guard !a.differences.isEmpty else { continue }
            out += AuditTable.table(
                ["  ENTRY", "DIFFERS IN", "BUNDLE", "REBUILT"],
                a.differences.map { d in
                    ["  " + d.name, d.fields.isEmpty ? (d.expected == nil ? "only in the rebuild" : "only in the bundle") : d.fields.joined(separator: ", "),
                     side(d.expected, d.fields), side(d.rebuilt, d.fields)]
                }
            )
            for d in a.differences {
                guard let text = d.textDiff else { continue }
                out += text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
            }
        }
        let reproduced = report.artifacts.filter { $0.status == .reproduced }.count
        out.append("")
        out.append("\(reproduced) of \(report.artifacts.count) artifact(s) reproduced bit for bit")
        return out
    }

    /// What an entry is on one side, in the fields that differ (all of them for a one-sided entry).
    static func side(_ side: ZipEntryDifference.Side?, _ fields: [String]) -> String {
        guard let side else { return "-" }
        let shown = fields.isEmpty ? ["size", "crc32", "modified", "mode"] : fields
        return shown.compactMap { field -> String? in
            switch field {
            case "size": return "\(side.size) B"
            case "crc32": return "crc \(side.crc32)"
            case "modified": return side.modified
            case "mode": return side.mode.map { "mode \($0)" } ?? "mode -"
            case "method": return "method \(side.method)"
            case "compressedSize": return "\(side.compressedSize) B compressed"
            default: return nil
            }
        }.joined(separator: ", ")
    }
}

extension AuditTable {
    /// The vulnerability matches: one row per advisory and package, the most severe first.
    public static func lines(_ report: VulnerabilityReport) -> [String] {
        var out = table(
            ["VULNERABILITY", "SEVERITY", "PACKAGE", "VERSION", "AFFECTED", "FIXED IN", "ARTIFACTS"],
            report.findings.map { f in
                [f.advisory, f.severity ?? "unknown", f.name, f.version, f.affected, f.fixed.isEmpty ? "-" : f.fixed.joined(separator: ", "),
                 f.artifacts.isEmpty ? "-" : f.artifacts.joined(separator: ", ")]
            }
        )
        let packages = Set(report.findings.map(\.package)).count
        out.append("\(report.findings.count) match(es) in \(packages) package(s), against \(report.advisories) advisories from \(report.sources.joined(separator: ", "))")
        return out
    }
}
