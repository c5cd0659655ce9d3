// A pip requirements file read as pip reads it (pip/_internal/req/req_file.py): a line ending in `\`
// continues on the next unless it is a comment; `#` after whitespace starts a comment; a line whose
// first token starts with `-` is an option line; otherwise the tokens before the first `-…` token are
// the requirement and the rest are its options (`--hash=sha256:…`). `-r FILE` is followed, relative
// to the including file. Airlock reads the file only to decide how to lock it (resolve, or pin the
// hashed lines as they are) and to check what pip reports; pip itself still reads it for the lock.

import AirlockCore
import Foundation

/// One requirement line, after joining and comment stripping.
package struct LockRequirement: Sendable, Equatable {
    /// The file and line number (of the line's first physical line) it came from.
    package var file: String
    package var line: Int
    /// The requirement without its options, e.g. `alpha[extra]==1.0 ; python_version >= "3.9"`.
    package var text: String
    /// The PEP 503 normalised project name; empty when the line names none (a bare path or URL).
    package var name: String
    /// The version when the line is pinned exactly (`==V` or `===V`, no wildcard).
    package var pinnedVersion: String?
    /// The URL of a `name @ URL` requirement.
    package var url: String?
    /// `-e` / `--editable`.
    package var isEditable: Bool
    /// `--hash` values, lowercase, as `algorithm:hex`.
    package var hashes: [String]

    /// The sha256 digests among `hashes`.
    package var sha256: Set<String> {
        Set(hashes.compactMap { $0.hasPrefix("sha256:") ? String($0.dropFirst(7)) : nil })
    }

    /// Where to point a user: `requirements.txt:3: alpha==1.0`.
    package var location: String { "\(file):\(line): \(text)" }
}

package struct LockRequirements: Sendable {
    package var requirements: [LockRequirement] = []
    /// The index options the files set (`--index-url X`, `--extra-index-url Y`, `--find-links Z`,
    /// `--no-index`, `--trusted-host H`), as pip arguments, in file order.
    package var indexOptions: [String] = []

    /// Reads `path` and every file it includes with `-r`.
    package init(path: String) throws {
        try read(path: path, depth: 0)
    }

    /// Parses `text` as if it were the file `path` (includes are read from disk).
    package init(text: String, path: String) throws {
        try parse(text: text, path: path, depth: 0)
    }

    /// Every requirement carries a `--hash`: pip then runs in hash-checking mode.
    package var isFullyHashed: Bool { !requirements.isEmpty && requirements.allSatisfy { !$0.hashes.isEmpty } }
    package var isPartlyHashed: Bool { requirements.contains { !$0.hashes.isEmpty } && !isFullyHashed }

    private mutating func read(path: String, depth: Int) throws {
        guard depth < 16 else {
            throw UsageError(
                PythonErrorCode.badRequirements,
                "\(path): requirement files include each other more than 16 deep"
            )
        }
        guard FileSystem.kind(of: path) == .regular || FileSystem.kind(of: path) == .symlink else {
            throw UsageError(PythonErrorCode.noRequirements, "\(path): no such requirements file")
        }
        let bytes = try FileSystem.readFile(path, limit: 16 << 20)
        try parse(text: String(decoding: bytes, as: UTF8.self), path: path, depth: depth)
    }

    private mutating func parse(text: String, path: String, depth: Int) throws {
        let directory = FileSystem.parentPath(path)
        for (number, line) in Self.logicalLines(text) {
            let (requirement, optionText) = Self.breakArgsOptions(line)
            let options = Self.tokens(optionText)
            if requirement.isEmpty {
                try option(options, path: path, line: number, directory: directory, depth: depth)
            } else {
                requirements.append(try Self.requirement(requirement, options: options, path: path, line: number))
            }
        }
    }

    /// Handles an option line.
    private mutating func option(_ tokens: [String], path: String, line: Int, directory: String, depth: Int) throws {
        guard let first = tokens.first else { return }
        let (flag, inlineValue) = Self.splitFlag(first)
        let value = inlineValue ?? (tokens.count > 1 ? tokens[1] : nil)
        func relative(_ p: String) -> String {
            p.hasPrefix("/") || p.contains("://") || directory.isEmpty ? p : directory + "/" + p
        }
        switch flag {
        case "-r", "--requirement":
            guard let value else {
                throw UsageError(PythonErrorCode.badRequirements, "\(path):\(line): \(flag) needs a file")
            }
            guard !value.contains("://") else {
                throw UsageError(
                    PythonErrorCode.badRequirements,
                    "\(path):\(line): \(value): Airlock locks local requirement files only"
                )
            }
            try read(path: relative(value), depth: depth + 1)
        case "-e", "--editable":
            requirements.append(
                LockRequirement(
                    file: path,
                    line: line,
                    text: "-e \(value ?? "")",
                    name: "",
                    pinnedVersion: nil,
                    url: value,
                    isEditable: true,
                    hashes: []
                )
            )
        case "-i", "--index-url", "--extra-index-url", "--trusted-host":
            if let value { indexOptions += [flag == "-i" ? "--index-url" : flag, value] }
        case "-f", "--find-links":
            if let value {
                let local = !value.contains("://") && FileSystem.exists(relative(value))
                indexOptions += ["--find-links", local ? relative(value) : value]
            }
        case "--no-index":
            indexOptions.append("--no-index")
        default:
            break  // -c, --pre, --only-binary, --prefer-binary, --require-hashes, ...: pip handles them.
        }
    }

    /// `-iURL` and `--index-url=URL` carry their value inline.
    private static func splitFlag(_ token: String) -> (String, String?) {
        if token.hasPrefix("--") {
            guard let eq = token.firstIndex(of: "=") else { return (token, nil) }
            return (String(token[..<eq]), String(token[token.index(after: eq)...]))
        }
        if token.count > 2, token.hasPrefix("-") {
            return (String(token.prefix(2)), String(token.dropFirst(2)))
        }
        return (token, nil)
    }

    /// Parses a requirement line's requirement and `--hash` options.
    static func requirement(_ text: String, options: [String], path: String, line: Int) throws -> LockRequirement {
        var hashes: [String] = []
        var i = 0
        while i < options.count {
            let (flag, inline) = splitFlag(options[i])
            if flag == "--hash" {
                let value = inline ?? (i + 1 < options.count ? options[i + 1] : "")
                if inline == nil { i += 1 }
                let parts = value.split(separator: ":", maxSplits: 1)
                guard parts.count == 2, !parts[1].isEmpty, parts[1].allSatisfy(\.isHexDigit) else {
                    throw UsageError(
                        PythonErrorCode.badRequirements,
                        "\(path):\(line): --hash \(value): want ALGORITHM:HEX, e.g. sha256:<64 hex digits>"
                    )
                }
                hashes.append(value.lowercased())
            }
            i += 1
        }
        var req = LockRequirement(
            file: path,
            line: line,
            text: text,
            name: "",
            pinnedVersion: nil,
            url: nil,
            isEditable: false,
            hashes: hashes
        )
        // PEP 508: NAME [EXTRAS] (VERSIONSPEC | @ URL) [; MARKERS]
        let scalars = Array(text.unicodeScalars)
        var p = 0
        while p < scalars.count, scalars[p].isASCII,
            scalars[p].properties.isAlphabetic || ("0"..."9").contains(scalars[p])
                || "._-".unicodeScalars.contains(scalars[p])
        {
            p += 1
        }
        let name = String(String.UnicodeScalarView(scalars[0..<p]))
        var rest = Substring(String(String.UnicodeScalarView(scalars[p...])))
        // A bare path or URL names no project.
        guard !name.isEmpty,
            rest.first.map({
                $0 == " " || $0 == "[" || $0 == "=" || $0 == "<" || $0 == ">" || $0 == "!" || $0 == "~" || $0 == "@"
                    || $0 == ";" || $0 == "("
            }) ?? true
        else {
            return req
        }
        let lower = name.lowercased()
        if rest.isEmpty, [".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2"].contains(where: { lower.hasSuffix($0) }) {
            return req
        }
        req.name = WheelName.normalize(name)
        rest = rest.drop { $0 == " " }
        if rest.first == "[", let close = rest.firstIndex(of: "]") {
            rest = rest[rest.index(after: close)...].drop { $0 == " " }
        }
        if rest.first == "@" {
            let url = rest.dropFirst().drop { $0 == " " }.prefix { $0 != " " && $0 != ";" }
            req.url = String(url)
            return req
        }
        let spec = String(rest.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces)
        let bare =
            spec.hasPrefix("(") && spec.hasSuffix(")")
            ? String(spec.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces) : spec
        for op in ["===", "=="] where bare.hasPrefix(op) {
            let version = bare.dropFirst(op.count).trimmingCharacters(in: .whitespaces)
            if !version.isEmpty, !version.contains(","), !version.contains("*"), !version.contains(" ") {
                req.pinnedVersion = version
            }
            break
        }
        return req
    }

    /// pip's `join_lines` then `ignore_comments`: logical lines with the number of their first line.
    static func logicalLines(_ text: String) -> [(Int, String)] {
        var out: [(Int, String)] = []
        var pending: [String] = []
        var first = 0
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        for (index, line) in lines.enumerated() {
            let number = index + 1
            let comment = isComment(line)
            if !line.hasSuffix("\\") || comment {
                let piece = comment ? " " + line : line
                if pending.isEmpty {
                    out.append((number, piece))
                } else {
                    pending.append(piece)
                    out.append((first, pending.joined()))
                    pending = []
                }
            } else {
                if pending.isEmpty { first = number }
                pending.append(line.trimmingCharacters(in: CharacterSet(charactersIn: "\\")))
            }
        }
        if !pending.isEmpty { out.append((first, pending.joined())) }
        return out.compactMap { number, line in
            let stripped = stripComment(line).trimmingCharacters(in: .whitespaces)
            return stripped.isEmpty ? nil : (number, stripped)
        }
    }

    /// `(^|\s+)#.*$` matches somewhere in the line.
    private static func isComment(_ line: String) -> Bool { commentStart(line) != nil }

    private static func commentStart(_ line: String) -> String.Index? {
        var previous: Character? = nil
        for i in line.indices {
            if line[i] == "#", previous == nil || previous?.isWhitespace == true { return i }
            previous = line[i]
        }
        return nil
    }

    private static func stripComment(_ line: String) -> String {
        guard let start = commentStart(line) else { return line }
        return String(line[..<start])
    }

    /// pip's `break_args_options`: tokens (split on spaces) up to the first starting with `-` are the
    /// requirement, the rest its options.
    static func breakArgsOptions(_ line: String) -> (String, String) {
        let tokens = line.split(separator: " ", omittingEmptySubsequences: false)
        var args: [Substring] = []
        var index = 0
        while index < tokens.count, !tokens[index].hasPrefix("-") {
            args.append(tokens[index])
            index += 1
        }
        return (
            args.joined(separator: " ").trimmingCharacters(in: .whitespaces), tokens[index...].joined(separator: " ")
        )
    }

    /// Whitespace-separated tokens, with simple single and double quotes (as shlex would).
    static func tokens(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quote: Character? = nil
        var inToken = false
        for c in text {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
                inToken = true
            } else if c.isWhitespace {
                if inToken { out.append(current) }
                current = ""
                inToken = false
            } else {
                current.append(c)
                inToken = true
            }
        }
        if inToken { out.append(current) }
        return out
    }
}
