// A vendoring project (`vendor/modules.txt`) builds with `-mod=vendor` and fetches nothing, so its
// vendor tree must say exactly what go.mod says, as the go command checks before such a build
// (for go 1.17 and later): every requirement listed as `# PATH VERSION` and marked `## explicit`,
// every `## explicit` module required at that version, and every replacement the same on both
// sides. Airlock checks it on the connected host, where a mismatch is cheap to fix, and names each
// disagreement.

import AirlockCore
import Foundation

public struct VendorModules: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public let path: String
        public let version: String?
        public let replacement: String?
        public var explicit: Bool
        public let line: Int
    }

    public let file: String
    public private(set) var entries: [Entry] = []

    public init(text: String, file: String = "vendor/modules.txt") throws {
        self.file = file
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("## ") {
                guard !entries.isEmpty else {
                    throw UsageError(GoModuleErrorCode.badVendor, "\(file):\(number): '##' before any '# module' line")
                }
                let markers = line.dropFirst(3).split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                if markers.contains("explicit") || markers.contains(where: { $0.hasPrefix("explicit") }) {
                    entries[entries.count - 1].explicit = true
                }
            } else if line.hasPrefix("# ") {
                let fields = line.dropFirst(2).split(separator: " ").map(String.init)
                guard let path = fields.first else {
                    throw UsageError(GoModuleErrorCode.badVendor, "\(file):\(number): an empty '#' line")
                }
                let arrow = fields.firstIndex(of: "=>")
                let before = arrow.map { Array(fields[..<$0]) } ?? fields
                let after = arrow.map { fields[($0 + 1)...].joined(separator: " ") }
                entries.append(
                    Entry(
                        path: path,
                        version: before.count > 1 ? before[1] : nil,
                        replacement: after,
                        explicit: false,
                        line: number
                    )
                )
            }
        }
    }

    public init(contentsOf path: String) throws {
        try self.init(text: String(decoding: try FileSystem.readFile(path, limit: 64 << 20), as: UTF8.self), file: path)
    }

    /// Every way go.mod and this file disagree, in go.mod's order, then this file's; empty when
    /// they agree.
    public func disagreements(with mod: GoModFile) -> [String] {
        var problems: [String] = []
        var byPath: [String: Entry] = [:]
        for entry in entries where entry.version != nil || entry.replacement != nil {
            if byPath[entry.path] == nil { byPath[entry.path] = entry }
        }
        let required = Set(mod.requirements.map(\.path))
        for requirement in mod.requirements {
            guard let entry = byPath[requirement.path] else {
                problems.append(
                    "go.mod requires \(requirement.path) \(requirement.version), which \(file) does not list"
                )
                continue
            }
            if entry.version != requirement.version {
                problems.append(
                    "go.mod requires \(requirement.path) \(requirement.version), \(file) has \(entry.version ?? "no version")"
                )
            } else if !entry.explicit {
                problems.append("\(requirement.path) is required in go.mod but not marked '## explicit' in \(file)")
            }
        }
        for entry in entries where entry.explicit && entry.version != nil && !required.contains(entry.path) {
            problems.append("\(file):\(entry.line): \(entry.path) is marked explicit but go.mod does not require it")
        }
        for replacement in mod.replacements {
            let want = replacement.newPath + (replacement.newVersion.map { " " + $0 } ?? "")
            let affected = entries.filter {
                $0.path == replacement.path && (replacement.version == nil || $0.version == replacement.version)
            }
            for entry in affected where entry.replacement != want {
                problems.append(
                    "go.mod replaces \(replacement.path) with \(want), \(file) has \(entry.replacement.map { "=> " + $0 } ?? "no replacement") for it"
                )
            }
        }
        for entry in entries where entry.replacement != nil {
            let covered = mod.replacements.contains {
                $0.path == entry.path && ($0.version == nil || $0.version == entry.version)
            }
            if !covered { problems.append("\(file):\(entry.line): \(entry.path) is replaced there but not in go.mod") }
        }
        return problems
    }

    /// Throws `gomod.vendor-mismatch` (exit 1) listing every disagreement.
    public func check(against mod: GoModFile) throws {
        let problems = disagreements(with: mod)
        guard problems.isEmpty else {
            throw CheckFailure(
                GoModuleErrorCode.vendorMismatch,
                problems + ["run `go mod vendor` on the connected host and commit the result"]
            )
        }
    }
}
