// go.mod, read for what a build needs from it: the module path, the `go` and `toolchain` lines
// (which pin the Go release a build must use), the requirements and the replacements. The syntax
// is the go command's: one directive per line or a parenthesized block of them, `//` comments,
// tokens bare or quoted ("..." or `...`). Directives Airlock does not use (exclude, retract,
// godebug, tool, ignore) are read past; anything else is refused with its line number.

import AirlockCore
import Foundation

public struct GoModFile: Sendable, Equatable {
    public struct Requirement: Sendable, Equatable {
        public let path: String
        public let version: String
        /// Marked `// indirect`.
        public let indirect: Bool
    }

    public struct Replacement: Sendable, Equatable {
        public let path: String
        /// Nil: every version of `path`.
        public let version: String?
        public let newPath: String
        /// Nil for a directory replacement (`=> ../local`).
        public let newVersion: String?
    }

    public let file: String
    public private(set) var module: String?
    public private(set) var go: String?
    public private(set) var toolchain: String?
    public private(set) var requirements: [Requirement] = []
    public private(set) var replacements: [Replacement] = []

    public init(text: String, file: String = "go.mod") throws {
        self.file = file
        var block: String? = nil
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let (tokens, comment) = try Self.tokens(String(raw), file: file, line: number)
            if tokens.isEmpty { continue }
            if let open = block {
                if tokens == [")"] {
                    block = nil
                    continue
                }
                try apply(open, Array(tokens), comment: comment, line: number)
                continue
            }
            if tokens.count == 2, tokens[1] == "(" {
                block = tokens[0]
                continue
            }
            try apply(tokens[0], Array(tokens.dropFirst()), comment: comment, line: number)
        }
        if let open = block { throw bad("'\(open) (' is never closed", line: number) }
    }

    public init(contentsOf path: String) throws {
        guard FileSystem.exists(path) else { throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such file") }
        try self.init(text: String(decoding: try FileSystem.readFile(path, limit: 16 << 20), as: UTF8.self), file: path)
    }

    /// The Go release a build must use: `--go` when given, else the `toolchain` line, else a `go`
    /// line that names a whole release (`go 1.22.10`); a `go 1.22` names none, and is refused
    /// with how to pin one.
    public func pinnedRelease(override: String? = nil) throws -> String {
        if let override {
            let version = override.hasPrefix("go") ? String(override.dropFirst(2)) : override
            guard GoVersion.isRelease(version), Self.isWhole(version) else {
                throw UsageError(GoModuleErrorCode.badGoMod, "--go '\(override)': name a Go release such as 1.22.10")
            }
            return version
        }
        if let toolchain {
            let version = toolchain.hasPrefix("go") ? String(toolchain.dropFirst(2)) : toolchain
            guard GoVersion.isRelease(version) else {
                throw UsageError(
                    GoModuleErrorCode.badGoMod,
                    "\(file): toolchain '\(toolchain)' is not a Go release (toolchain go1.22.10)"
                )
            }
            return version
        }
        guard let go else {
            throw UsageError(
                GoModuleErrorCode.badGoMod,
                "\(file): no go or toolchain line pins a Go release; add `toolchain go1.22.10` or pass --go 1.22.10"
            )
        }
        guard GoVersion.isRelease(go), Self.isWhole(go) else {
            throw UsageError(
                GoModuleErrorCode.badGoMod,
                "\(file): `go \(go)` names a language version, not a Go release; add `toolchain go\(go).N` (the release the team builds with) or pass --go \(go).N"
            )
        }
        return go
    }

    /// `1.22.10` and `1.23rc1` name one release; `1.22` does not.
    static func isWhole(_ version: String) -> Bool {
        version.contains("rc") || version.contains("beta") || version.split(separator: ".").count == 3
    }

    private mutating func apply(_ verb: String, _ args: [String], comment: String, line: Int) throws {
        switch verb {
        case "module":
            guard args.count == 1 else { throw bad("module takes one path", line: line) }
            module = args[0]
        case "go":
            guard args.count == 1 else { throw bad("go takes one version", line: line) }
            go = args[0]
        case "toolchain":
            guard args.count == 1 else { throw bad("toolchain takes one name", line: line) }
            toolchain = args[0]
        case "require":
            guard args.count == 2 else { throw bad("require takes a path and a version", line: line) }
            let indirect = comment.split(separator: ";").contains {
                $0.trimmingCharacters(in: .whitespaces) == "indirect"
            }
            requirements.append(Requirement(path: args[0], version: args[1], indirect: indirect))
        case "replace":
            guard let arrow = args.firstIndex(of: "=>") else { throw bad("replace needs =>", line: line) }
            let old = args[..<arrow], new = args[(arrow + 1)...]
            guard (1...2).contains(old.count), (1...2).contains(new.count) else {
                throw bad("replace takes PATH [VERSION] => PATH [VERSION]", line: line)
            }
            replacements.append(
                Replacement(
                    path: old[old.startIndex],
                    version: old.count == 2 ? old.last : nil,
                    newPath: new[new.startIndex],
                    newVersion: new.count == 2 ? new.last : nil
                )
            )
        case "exclude", "retract", "godebug", "tool", "ignore":
            break
        default:
            throw bad("unknown directive '\(verb)'", line: line)
        }
    }

    private func bad(_ reason: String, line: Int) -> UsageError {
        UsageError(GoModuleErrorCode.badGoMod, "\(file):\(line): \(reason)")
    }

    /// A line's tokens and its `//` comment (without the slashes).
    static func tokens(_ line: String, file: String, line number: Int) throws -> ([String], String) {
        var tokens: [String] = []
        var scalars = Array(line.unicodeScalars)[...]
        while let first = scalars.first {
            if first == " " || first == "\t" || first == "\r" {
                scalars.removeFirst()
            } else if first == "/", scalars.dropFirst().first == "/" {
                return (
                    tokens, String(String.UnicodeScalarView(scalars.dropFirst(2))).trimmingCharacters(in: .whitespaces)
                )
            } else if first == "\"" || first == "`" {
                scalars.removeFirst()
                var token = String.UnicodeScalarView()
                var closed = false
                while let c = scalars.first {
                    scalars.removeFirst()
                    if c == first {
                        closed = true
                        break
                    }
                    if c == "\\", first == "\"", let next = scalars.first {
                        scalars.removeFirst()
                        token.append(next)
                    } else {
                        token.append(c)
                    }
                }
                guard closed else {
                    throw UsageError(GoModuleErrorCode.badGoMod, "\(file):\(number): an unclosed quoted string")
                }
                tokens.append(String(token))
            } else if first == "(" || first == ")" {
                scalars.removeFirst()
                tokens.append(String(first))
            } else {
                var token = String.UnicodeScalarView()
                while let c = scalars.first, c != " ", c != "\t", c != "\r", c != "(", c != ")",
                    !(c == "/" && scalars.dropFirst().first == "/")
                {
                    token.append(c)
                    scalars.removeFirst()
                }
                tokens.append(String(token))
            }
        }
        return (tokens, "")
    }
}
