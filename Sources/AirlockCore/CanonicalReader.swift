// Reads canonical JSON (exactly what `JSONValue.canonicalBytes` writes) piece by piece, for
// documents too large to hold as a JSONValue tree: a manifest of 100,000 blobs is 29 MB, and as a
// tree it took 1.4 s and most of 200 MB to parse and re-encode for the canonical check. Written by
// hand because the check is the point: any byte the canonical writer would not have written (a
// space, an unsorted or repeated key, an escape it does not use, a leading zero, `-0`) refuses the
// read, so what this accepts is a subset of what `JSONValue(parsing:)` plus
// `canonicalBytes == bytes` accepts. Refusals carry no reason: callers read the document again the
// slow way to say why (Manifest.init(canonicalBytes:)).

struct CanonicalReader {
    struct Refused: Error {}

    private let bytes: [UInt8]
    private(set) var position = 0
    /// As deep as `JSONValue(parsing:)` goes.
    static let maxDepth = 64

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }

    private func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func take(_ byte: UInt8) throws(Refused) {
        guard position < bytes.count, bytes[position] == byte else { throw Refused() }
        position += 1
    }

    /// An object: `member` reads each value, given its key; keys must rise strictly (UTF-16 order).
    mutating func object(_ member: (inout CanonicalReader, String) throws(Refused) -> Void) throws(Refused) {
        try take(UInt8(ascii: "{"))
        if peek() == UInt8(ascii: "}") {
            position += 1
            return
        }
        var previous: String? = nil
        while true {
            let key = try string()
            if let previous, !previous.utf16.lexicographicallyPrecedes(key.utf16) { throw Refused() }
            try take(UInt8(ascii: ":"))
            try member(&self, key)
            previous = key
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            return try take(UInt8(ascii: "}"))
        }
    }

    /// An array: `element` reads each item.
    mutating func array(_ element: (inout CanonicalReader) throws(Refused) -> Void) throws(Refused) {
        try take(UInt8(ascii: "["))
        if peek() == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            try element(&self)
            if peek() == UInt8(ascii: ",") {
                position += 1
                continue
            }
            return try take(UInt8(ascii: "]"))
        }
    }

    /// A string with only the escapes the writer uses: `\"`, `\\`, `\b \t \n \f \r`, and `\u00xx`
    /// (lowercase) for the other control characters; valid UTF-8 otherwise, raw.
    mutating func string() throws(Refused) -> String {
        try take(UInt8(ascii: "\""))
        let start = position
        while position < bytes.count {
            let b = bytes[position]
            if b == UInt8(ascii: "\"") {
                guard let s = String(validating: bytes[start..<position], as: UTF8.self) else { throw Refused() }
                position += 1
                return s
            }
            if b == UInt8(ascii: "\\") || b < 0x20 { return try escapedString(from: start) }
            position += 1
        }
        throw Refused()
    }

    private mutating func escapedString(from start: Int) throws(Refused) -> String {
        var out = Array(bytes[start..<position])
        while position < bytes.count {
            let b = bytes[position]
            position += 1
            switch b {
            case UInt8(ascii: "\""):
                guard let s = String(validating: out, as: UTF8.self) else { throw Refused() }
                return s
            case 0..<0x20: throw Refused()
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { throw Refused() }
                let e = bytes[position]
                position += 1
                switch e {
                case UInt8(ascii: "\""): out.append(34)
                case UInt8(ascii: "\\"): out.append(92)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "u"):
                    guard position + 4 <= bytes.count, bytes[position] == 48, bytes[position + 1] == 48,
                        let high = Self.lowerHex(bytes[position + 2]), high <= 1, let low = Self.lowerHex(bytes[position + 3])
                    else { throw Refused() }
                    let scalar = high << 4 | low
                    // The writer spells these five with their short escapes.
                    guard ![8, 9, 10, 12, 13].contains(scalar) else { throw Refused() }
                    out.append(scalar)
                    position += 4
                default: throw Refused()
                }
            default: out.append(b)
            }
        }
        throw Refused()
    }

    private static func lowerHex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    /// An integer as `String(Int64)` writes it: no leading zero, no `-0`, within Int64.
    mutating func int() throws(Refused) -> Int64 {
        let start = position
        if peek() == UInt8(ascii: "-") { position += 1 }
        let digits = position
        while let c = peek(), c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") { position += 1 }
        let count = position - digits
        guard count > 0, count <= 19 else { throw Refused() }
        if bytes[digits] == UInt8(ascii: "0"), count > 1 || digits > start { throw Refused() }
        var value: Int64 = 0
        for c in bytes[digits..<position] {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = digits > start ? m.subtractingReportingOverflow(Int64(c - 48)) : m.addingReportingOverflow(Int64(c - 48))
            guard !o1, !o2 else { throw Refused() }
            value = s
        }
        return value
    }

    /// Any value, as a JSONValue (for the free-form parts: a target, a provenance document).
    mutating func value(depth: Int = 0) throws(Refused) -> JSONValue {
        guard depth <= Self.maxDepth, let c = peek() else { throw Refused() }
        switch c {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            try object { (reader, key) throws(Refused) in members[key] = try reader.value(depth: depth + 1) }
            return .object(members)
        case UInt8(ascii: "["):
            var items: [JSONValue] = []
            try array { (reader) throws(Refused) in items.append(try reader.value(depth: depth + 1)) }
            return .array(items)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        default: return .int(try int())
        }
    }

    private mutating func literal(_ word: String) throws(Refused) {
        for b in word.utf8 { try take(b) }
    }
}
