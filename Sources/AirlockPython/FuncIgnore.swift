// `.funcignore` exactly as Azure Functions Core Tools reads it, so that an app publishes the same
// files through Airlock as through `func azure functionapp publish`. Core Tools uses a C# port of
// codemix/gitignore-parser (`src/Cli/func/Common/GitIgnoreParser.cs`), which is gitignore-like but
// not git: every pattern is anchored at the app root and must end on a word boundary.
//
// What the port does, read in its source (AZURE-FACTS §2):
// - the text is split on "\n" only; each line is trimmed (.NET `Trim()`: Unicode white space, so
//   "\r" goes); lines starting with "#" and empty lines are skipped;
// - a leading "!" makes a negation; then one leading "/" is removed (also from a negation);
// - the pattern is escaped (`- [ ] / { } ( ) + ? . \ ^ $ |` are literal, so `?` and `[abc]` are
//   literal too), then every `**` becomes `(.+)` and every remaining `*` becomes `([^/]+)` (C#
//   `Replace` replaces all occurrences; the JS original replaced only the first);
// - all positive patterns are joined into `^((p1)|(p2)…)\b`, the negations likewise, compiled with
//   `RegexOptions.ECMAScript` (so `\b` is an ASCII word boundary, `\w` = [A-Za-z0-9_]);
// - a file is published if a negation matches or no positive pattern matches: negation wins, in
//   any order; the input is the file's path relative to the app root with "/" separators (files
//   only, never directories, so no trailing "/").
//
// Consequences worth knowing: `__pycache__` and `*.pyc` only hit the root; `**/__pycache__` needs at
// least one parent directory; `test` excludes `test.py` and `test/…` but not `tests/`; `build/`
// excludes `build/x.py` but not `build/.env`; a line that is just "/" excludes every path starting
// with a letter, digit or "_".
//
// Rather than build a regex, this file runs the same language directly: a pattern is literals,
// `(.+)` and `([^/]+)`, and matching is one pass over the path per token keeping the set of
// reachable positions, then a word-boundary test. That avoids depending on how Foundation or Swift
// Regex define `\b` (Swift Regex's default is Unicode's, under which `test.py` has no boundary
// after `test`) and cannot backtrack exponentially on a hostile pattern.

import AirlockCore

/// A parsed `.funcignore`.
public struct FuncIgnore: Sendable {
    /// One pattern line.
    public struct Rule: Sendable, Equatable {
        /// The line as written, trimmed ("!/keep.py").
        public let text: String
        /// 1-based line number in the file.
        public let line: Int
        public let isNegation: Bool
        /// The pattern after "!" and the leading "/" are removed ("keep.py").
        public let pattern: String
        fileprivate let tokens: [Token]
    }

    fileprivate enum Token: Sendable, Equatable {
        case literal(Unicode.Scalar)
        /// `**` → `(.+)`: one or more of anything but "\n" (.NET `.`).
        case anyPlus
        /// `*` → `([^/]+)`: one or more of anything but "/".
        case segmentPlus
    }

    /// Every pattern line, in file order.
    public let rules: [Rule]

    public init(_ text: String) {
        var rules: [Rule] = []
        var scalars = Substring(text).unicodeScalars[...]
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }  // .NET's reader drops a BOM
        // Split on "\n" scalars only: a Swift Character would keep "\r\n" whole.
        for (index, rawLine) in scalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Self.trimmed(rawLine)
            guard let first = line.first, first != "#" else { continue }
            var pattern = line[...]
            let isNegation = first == "!"
            if isNegation { pattern = pattern.dropFirst() }
            if pattern.first == "/" { pattern = pattern.dropFirst() }
            rules.append(
                Rule(
                    text: Self.string(line),
                    line: index + 1,
                    isNegation: isNegation,
                    pattern: Self.string(pattern),
                    tokens: Self.tokens(pattern)
                )
            )
        }
        self.rules = rules
    }

    /// Decodes file bytes as .NET's UTF-8 reader does (BOM dropped, invalid bytes replaced).
    public init(bytes: [UInt8]) { self.init(String(decoding: bytes, as: UTF8.self)) }

    /// Reads `<appDirectory>/.funcignore`; nil when there is none. A symbolic link is refused, since
    /// Airlock never follows links out of the app.
    public static func read(appDirectory: String) throws -> FuncIgnore? {
        let path = appDirectory + "/.funcignore"
        switch FileSystem.kind(of: path) {
        case nil: return nil
        case .regular: return FuncIgnore(bytes: try FileSystem.readFile(path, limit: 1 << 20))
        case .symlink:
            throw UsageError(
                PythonBuildErrorCode.badFuncIgnore,
                "\(path): is a symbolic link; Airlock does not follow links in the app directory"
            )
        case .directory, .other: throw UsageError(PythonBuildErrorCode.badFuncIgnore, "\(path): is not a regular file")
        }
    }

    /// Whether Core Tools would publish the file at `path` (relative to the app root, "/"-separated).
    public func accepts(_ path: String) -> Bool { excludingRule(for: path) == nil }

    /// Whether Core Tools would leave the file at `path` out.
    public func denies(_ path: String) -> Bool { !accepts(path) }

    /// The first positive rule that excludes `path`, or nil when the file is published (no positive
    /// rule matches, or a negation does).
    public func excludingRule(for path: String) -> Rule? {
        // The port's Accepts turns exactly "/" into ""; nothing else is normalised.
        let input = Array((path == "/" ? "" : path).unicodeScalars)
        guard let rule = rules.first(where: { !$0.isNegation && Self.matches($0.tokens, input) }) else { return nil }
        if rules.contains(where: { $0.isNegation && Self.matches($0.tokens, input) }) { return nil }
        return rule
    }

    // MARK: - Matching

    /// Whether `^((tokens))\b` matches `input`: some prefix the tokens consume ends on a boundary.
    /// (Alternation order in the joined regex cannot change whether it matches, so testing rules one
    /// at a time is equivalent.)
    private static func matches(_ tokens: [Token], _ input: [Unicode.Scalar]) -> Bool {
        let n = input.count
        var reachable = [Bool](repeating: false, count: n + 1)
        reachable[0] = true
        for token in tokens {
            var next = [Bool](repeating: false, count: n + 1)
            var any = false
            switch token {
            case .literal(let c):
                for p in 0..<n where reachable[p] && input[p] == c {
                    next[p + 1] = true
                    any = true
                }
            case .anyPlus, .segmentPlus:
                let stop: Unicode.Scalar = token == .anyPlus ? "\n" : "/"
                // After consuming input[q-1]: active if a run started at or before q-1 and no
                // consumed character was the stop character.
                var active = false
                for q in stride(from: 1, through: n, by: 1) {
                    active = (active || reachable[q - 1]) && input[q - 1] != stop
                    if active {
                        next[q] = true
                        any = true
                    }
                }
            }
            guard any else { return false }
            reachable = next
        }
        for p in 0...n where reachable[p] && isBoundary(input, p) { return true }
        return false
    }

    /// ECMAScript `\b`: a word character on exactly one side of position `p`.
    private static func isBoundary(_ input: [Unicode.Scalar], _ p: Int) -> Bool {
        let before = p > 0 && isWord(input[p - 1])
        let after = p < input.count && isWord(input[p])
        return before != after
    }

    /// ECMAScript `\w`: [A-Za-z0-9_]. (Some .NET versions also count U+0130 "İ"; current ones and
    /// JavaScript do not, and Airlock follows them.)
    private static func isWord(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F: true
        default: false
        }
    }

    private static func tokens(_ pattern: Substring.UnicodeScalarView.SubSequence) -> [Token] {
        var tokens: [Token] = []
        var i = pattern.startIndex
        while i < pattern.endIndex {
            let c = pattern[i]
            let next = pattern.index(after: i)
            if c == "*" {
                if next < pattern.endIndex, pattern[next] == "*" {
                    tokens.append(.anyPlus)
                    i = pattern.index(after: next)
                } else {
                    tokens.append(.segmentPlus)
                    i = next
                }
            } else {
                tokens.append(.literal(c))
                i = next
            }
        }
        return tokens
    }

    /// .NET `String.Trim()`: `Char.IsWhiteSpace` at both ends (Zs, Zl, Zp, U+0009–U+000D, U+0085).
    private static func trimmed(_ line: Substring.UnicodeScalarView.SubSequence)
        -> Substring.UnicodeScalarView.SubSequence
    {
        func isSpace(_ c: Unicode.Scalar) -> Bool {
            switch c.properties.generalCategory {
            case .spaceSeparator, .lineSeparator, .paragraphSeparator: return true
            default: return (0x09...0x0D).contains(c.value) || c.value == 0x85
            }
        }
        var line = line
        while let first = line.first, isSpace(first) { line = line.dropFirst() }
        while let last = line.last, isSpace(last) { line = line.dropLast() }
        return line
    }

    private static func string(_ scalars: Substring.UnicodeScalarView.SubSequence) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
