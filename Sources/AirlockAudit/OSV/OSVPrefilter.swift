// A pass over one OSV document's raw bytes that tells whether it can name a package of interest, so
// `audit --vulns` decodes only those: OSV's per-ecosystem exports hold tens of thousands of
// advisories and an audit's packages appear in a few of them, and decoding every one through
// JSONDecoder was most of the time of an audit against 10,000 (the target is under 1 s). Written by
// hand for that reason; it is a filter, not a parser, and errs towards decoding:
//   - it finds every object key `"name"` outside other strings and compares its string value,
//     normalized (ASCII lowercase, runs of `-`, `_`, `.` as one `-`: PEP 503's rule, applied to Go
//     module paths too, where it only adds false positives), with the names of interest;
//   - a key or a `name` value with any backslash escape, an unterminated string, brackets that do
//     not balance, or a document that is not an object all answer "decode it", so escapes cannot
//     hide a name and a malformed document still reaches the decoder, which refuses it.

enum OSVPrefilter {
    /// PEP 503-style normalization, used on both sides of the comparison.
    static func normalize(_ name: String) -> String { normalize(Array(name.utf8)[...]) }

    static func normalize(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var separator = false
        for b in bytes {
            if b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") {
                separator = true
                continue
            }
            if separator, !out.isEmpty { out.append(UInt8(ascii: "-")) }
            separator = false
            out.append(b >= 65 && b <= 90 ? b + 32 : b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether the document may name one of `names` (normalized with `normalize`).
    static func mayName(_ bytes: [UInt8], names: Set<String>) -> Bool {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        let n = bytes.count
        var i = 0
        var depth = 0
        var sawObject = false
        /// The end of the string starting at `start` (its opening quote), and whether it has escapes;
        /// nil when it does not end.
        func string(at start: Int) -> (end: Int, escaped: Bool)? {
            var j = start + 1
            var escaped = false
            while j < n {
                let c = bytes[j]
                if c == backslash {
                    escaped = true
                    j += 2
                    continue
                }
                if c == quote { return (j, escaped) }
                j += 1
            }
            return nil
        }
        func skipSpace(_ k: Int) -> Int {
            var k = k
            while k < n, bytes[k] == 0x20 || bytes[k] == 0x09 || bytes[k] == 0x0A || bytes[k] == 0x0D { k += 1 }
            return k
        }
        while i < n {
            let c = bytes[i]
            switch c {
            case quote:
                guard let (end, escaped) = string(at: i) else { return true }
                let after = skipSpace(end + 1)
                if after < n, bytes[after] == UInt8(ascii: ":") {
                    if escaped { return true }
                    if end - i - 1 == 4, bytes[(i + 1)..<end].elementsEqual("name".utf8) {
                        let value = skipSpace(after + 1)
                        if value < n, bytes[value] == quote {
                            guard let (valueEnd, valueEscaped) = string(at: value) else { return true }
                            if valueEscaped || names.contains(normalize(bytes[(value + 1)..<valueEnd])) { return true }
                            i = valueEnd + 1
                            continue
                        }
                    }
                    i = after + 1
                } else {
                    i = end + 1
                }
            case UInt8(ascii: "{"):
                if depth == 0, sawObject { return true }
                sawObject = true
                depth += 1
                i += 1
            case UInt8(ascii: "["):
                if depth == 0 { return true }
                depth += 1
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth < 0 { return true }
                i += 1
            default:
                i += 1
            }
        }
        return depth != 0 || !sawObject
    }
}
