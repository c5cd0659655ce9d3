// A request target, read as hostile before anything looks it up: at most `maximumLength` bytes,
// one percent-decoding (a `%` left after it is double encoding, refused), no backslash, NUL or
// control character raw or decoded, no non-ASCII, no empty, `.` or `..` segment (a trailing slash
// is kept as a fact, not a segment). What passes is a list of plain segments that can only name
// something the mirror's own tables name; nothing here ever becomes a file path.

struct MirrorPath: Sendable, Equatable {
    let segments: [String]
    let trailingSlash: Bool
    let query: String?

    enum Refusal: Error, Equatable {
        case tooLong(Int)
        case bad(String)
    }

    static func parse(_ target: String, maximumLength: Int) throws(Refusal) -> MirrorPath {
        guard target.utf8.count <= maximumLength else { throw .tooLong(target.utf8.count) }
        guard target.hasPrefix("/") else { throw .bad("the request target is not an absolute path") }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let raw = parts[0]
        let query = parts.count > 1 ? String(parts[1]) : nil
        let decoded = try decode(raw)
        var segments = decoded.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        segments.removeFirst()  // before the leading slash
        var trailingSlash = false
        if segments.last == "" {
            trailingSlash = true
            segments.removeLast()
        }
        for segment in segments {
            if segment.isEmpty { throw .bad("an empty path segment (//)") }
            if segment == "." || segment == ".." { throw .bad("a '\(segment)' path segment") }
        }
        return MirrorPath(segments: segments, trailingSlash: trailingSlash, query: query)
    }

    /// Percent-decodes once; refuses what must never reach a lookup.
    static func decode(_ raw: Substring) throws(Refusal) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.utf8.count)
        var iterator = Array(raw.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hex), let low = iterator.next().flatMap(hex) else {
                    throw .bad("a '%' that is not followed by two hex digits")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        for byte in bytes {
            if byte < 0x20 || byte == 0x7F { throw .bad("a control character or NUL in the path") }
            if byte >= 0x80 { throw .bad("a non-ASCII byte in the path") }
            if byte == UInt8(ascii: "\\") { throw .bad("a backslash in the path") }
            if byte == UInt8(ascii: "%") { throw .bad("a percent-encoded '%' (double encoding)") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// A `Range: bytes=...` header against a file of `size` bytes: nil for none (or one the mirror
/// ignores, as RFC 9110 allows: several ranges, another unit), else the one range or
/// `unsatisfiable` (416).
enum ByteRange: Equatable {
    case range(ClosedRange<Int>)
    case unsatisfiable

    static func parse(_ header: String?, size: Int) -> ByteRange? {
        guard let header, header.hasPrefix("bytes=") else { return nil }
        let spec = header.dropFirst("bytes=".count).trimmingSpaces
        if spec.contains(",") { return nil }
        let sides = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard sides.count == 2 else { return .unsatisfiable }
        let (first, last) = (sides[0].trimmingSpaces, sides[1].trimmingSpaces)
        guard first.allSatisfy(\.isASCIIDigit), last.allSatisfy(\.isASCIIDigit), !(first.isEmpty && last.isEmpty) else {
            return .unsatisfiable
        }
        // Digits too many for an Int: an overflowing range is unsatisfiable, never a crash.
        if first.isEmpty {
            guard let suffix = Int(last), suffix > 0, size > 0 else { return .unsatisfiable }
            return .range(max(0, size - suffix)...(size - 1))
        }
        guard let start = Int(first), start < size else { return .unsatisfiable }
        let end = last.isEmpty ? size - 1 : min(Int(last) ?? Int.max, size - 1)
        guard end >= start else { return .unsatisfiable }
        return .range(start...end)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: Substring {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
