// A guard in front of TOMLKit. Its toml++ (3.x, built with assertions on) aborts the process, a
// failed `assert` in `parser::parse_key`, on a table header whose first key starts with a character
// no key may start with (`[~]`, `[#]`, `[.a]`, `[=]`, `[é]`, `[[ ~]]`, `[` then a newline), where it
// should report a parse error; found by the pylock fuzz harness (Fuzz/regressions/pylock/). Every
// reader of TOML text (airlock.toml, pylock.toml) asks `firstBadHeader(in:)` first and refuses such
// text itself, as the parse error TOMLKit would have given.

package enum TOMLHeaderCheck {
    /// Where a table header (`[` or `[[` at the start of a line, outside strings, comments and
    /// values) is followed by a character that can start no key: 1-based line and column of that
    /// character; nil when there is none.
    package static func firstBadHeader(in text: String) -> (line: Int, column: Int)? {
        let bytes = Array(text.utf8)
        var i = 0
        var line = 1
        var lineStart = 0
        var atLineStart = true
        var depth = 0
        var inHeader = false

        /// The index after a string opening at `start` (one of `"`, `'`, `"""`, `'''`), or the end.
        func skipString(from start: Int) -> Int {
            let quote = bytes[start]
            let isTriple = start + 2 < bytes.count && bytes[start + 1] == quote && bytes[start + 2] == quote
            var j = start + (isTriple ? 3 : 1)
            while j < bytes.count {
                let c = bytes[j]
                if c == UInt8(ascii: "\\") && quote == UInt8(ascii: "\"") {
                    j += 2
                    continue
                }
                if c == UInt8(ascii: "\n") {
                    guard isTriple else { return j }  // an unterminated line: the parser's to refuse
                    line += 1
                    lineStart = j + 1
                }
                if c == quote {
                    if !isTriple { return j + 1 }
                    if j + 2 < bytes.count && bytes[j + 1] == quote && bytes[j + 2] == quote {
                        var end = j + 3
                        while end < bytes.count && bytes[end] == quote && end < j + 5 { end += 1 }  // `""""` ends with a quote
                        return end
                    }
                }
                j += 1
            }
            return j
        }

        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\n"):
                line += 1
                lineStart = i + 1
                atLineStart = true
                inHeader = false
                i += 1
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                i += 1
            case UInt8(ascii: "#"):
                while i < bytes.count && bytes[i] != UInt8(ascii: "\n") { i += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                atLineStart = false
                i = skipString(from: i)
            case UInt8(ascii: "[") where atLineStart && depth == 0:
                atLineStart = false
                inHeader = true
                var j = i + 1
                if j < bytes.count && bytes[j] == UInt8(ascii: "[") { j += 1 }
                while j < bytes.count && (bytes[j] == UInt8(ascii: " ") || bytes[j] == UInt8(ascii: "\t")) { j += 1 }
                if j < bytes.count && !canFollowHeaderBracket(bytes[j]) { return (line, j - lineStart + 1) }
                i = j
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                atLineStart = false
                if !inHeader { depth += 1 }
                i += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                atLineStart = false
                if !inHeader { depth = max(0, depth - 1) }
                i += 1
            default:
                atLineStart = false
                i += 1
            }
        }
        return nil
    }

    /// A bare key character, a quote, or the `]` of an empty header (which the parser refuses).
    private static func canFollowHeaderBracket(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "]"):
            return true
        default:
            return false
        }
    }
}
