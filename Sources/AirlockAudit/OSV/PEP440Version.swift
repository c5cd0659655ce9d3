// PEP440Version.swift — Python package versions (PEP 440), as used by OSV ecosystem "PyPI".
//
// Owns parsing and ordering of PEP 440 versions. Hand-written because no Swift PEP 440
// library is available offline; it mirrors `packaging.version.Version` (the reference
// implementation pip uses): the same accepted spellings (its VERSION_PATTERN regex, matched
// case-insensitively with surrounding whitespace allowed), the same normalized `str()` form
// (`description`) and the same ordering (`_cmpkey`).

/// A version string as defined by PEP 440, e.g. `1!2.0.3rc1.post2.dev3+ubuntu.1`.
///
/// Equality and ordering follow PEP 440: trailing zeros of the release are insignificant
/// (`1.0 == 1.0.0`), alternate spellings are equal (`1.0-1 == 1.0.post1`,
/// `1.0ALPHA1 == 1.0a1`), and `dev < pre-release < release < post-release`, with a
/// release's own dev releases before its pre-releases (`1.0.dev0 < 1.0a1`). A version with
/// a local label sorts after the same public version (`1.0 < 1.0+abc`).
public struct PEP440Version: Comparable, Hashable, Sendable, CustomStringConvertible {
    enum PreKind: Int, Comparable, Sendable {
        case alpha, beta, rc
        static func < (lhs: PreKind, rhs: PreKind) -> Bool { lhs.rawValue < rhs.rawValue }
        var label: String {
            switch self {
            case .alpha: return "a"
            case .beta: return "b"
            case .rc: return "rc"
            }
        }
    }

    /// One dot-separated part of a local label: numeric parts sort above alphanumeric ones.
    enum LocalSegment: Hashable, Comparable, Sendable, CustomStringConvertible {
        case alphanumeric(String)   // lowercased
        case numeric(Numeral)

        static func < (lhs: LocalSegment, rhs: LocalSegment) -> Bool {
            switch (lhs, rhs) {
            case let (.numeric(l), .numeric(r)): return l < r
            case let (.alphanumeric(l), .alphanumeric(r)): return l < r
            case (.alphanumeric, .numeric): return true
            case (.numeric, .alphanumeric): return false
            }
        }

        var description: String {
            switch self {
            case .alphanumeric(let text): return text
            case .numeric(let number): return number.description
            }
        }
    }

    let epoch: Numeral
    /// Release segments as written (normalized numbers), used for `description`.
    let release: [Numeral]
    /// How many leading `release` segments take part in comparison (trailing zeros do not).
    let releaseKeyCount: Int
    /// `release` without trailing zeros.
    var releaseKey: ArraySlice<Numeral> { release[..<releaseKeyCount] }
    let pre: (kind: PreKind, number: Numeral)?
    let post: Numeral?
    let dev: Numeral?
    let local: [LocalSegment]?

    /// Parses a PEP 440 version; returns nil for strings `packaging.version.Version` rejects.
    ///
    /// Accepts a leading `v`, any letter case, surrounding whitespace, `N!` epochs, pre-release
    /// spellings `a|alpha|b|beta|rc|c|pre|preview` and post spellings `post|rev|r` or `-N`,
    /// each with optional `-`, `_` or `.` separators and an implicit number 0, `dev`, and a
    /// local label `+seg[.seg]*` (separators `-`, `_`, `.`).
    public init?(_ text: String) {
        guard let parsed = Parser.parse(text) else { return nil }
        self = parsed
    }

    fileprivate init(epoch: Numeral, release: [Numeral], pre: (kind: PreKind, number: Numeral)?,
                     post: Numeral?, dev: Numeral?, local: [LocalSegment]?) {
        self.epoch = epoch
        self.release = release
        var count = release.count
        while count > 0 && release[count - 1].isZero { count -= 1 }
        self.releaseKeyCount = count
        self.pre = pre
        self.post = post
        self.dev = dev
        self.local = local
    }

    /// True for dev releases and pre-releases (as `packaging`'s `is_prerelease`).
    public var isPrerelease: Bool { pre != nil || dev != nil }

    /// The normalized form, as `str(packaging.version.Version(text))`, e.g. `1.0a1.post2`.
    public var description: String {
        var text = ""
        if !epoch.isZero { text += "\(epoch)!" }
        text += release.map(\.description).joined(separator: ".")
        if let pre { text += "\(pre.kind.label)\(pre.number)" }
        if let post { text += ".post\(post)" }
        if let dev { text += ".dev\(dev)" }
        if let local { text += "+" + local.map(\.description).joined(separator: ".") }
        return text
    }

    // MARK: Ordering (packaging's _cmpkey)

    /// Position of the pre-release component in the comparison key. A version with only a dev
    /// part (`1.0.dev1`) sorts before every pre-release of that release; a version without a
    /// pre-release sorts after all of them.
    private enum PreKey: Comparable {
        case beforeAll
        case pre(PreKind, Numeral)
        case afterAll

        static func < (lhs: PreKey, rhs: PreKey) -> Bool {
            switch (lhs, rhs) {
            case (.beforeAll, .beforeAll), (.afterAll, _): return false
            case (.beforeAll, _), (_, .afterAll): return true
            case (.pre, .beforeAll): return false
            case let (.pre(lk, ln), .pre(rk, rn)): return lk != rk ? lk < rk : ln < rn
            }
        }
    }

    private var preKey: PreKey {
        if let pre { return .pre(pre.kind, pre.number) }
        if post == nil && dev != nil { return .beforeAll }
        return .afterAll
    }

    /// Three-way comparison, returning -1, 0 or 1.
    private static func compare(_ a: PEP440Version, _ b: PEP440Version) -> Int {
        if a.epoch != b.epoch { return a.epoch < b.epoch ? -1 : 1 }
        if !a.releaseKey.elementsEqual(b.releaseKey) {
            // Releases are compared as tuples after dropping trailing zeros.
            return a.releaseKey.lexicographicallyPrecedes(b.releaseKey) ? -1 : 1
        }
        let (ap, bp) = (a.preKey, b.preKey)
        if ap != bp { return ap < bp ? -1 : 1 }
        // No post-release sorts before any post-release.
        switch (a.post, b.post) {
        case (nil, nil): break
        case (nil, _): return -1
        case (_, nil): return 1
        case let (l?, r?): if l != r { return l < r ? -1 : 1 }
        }
        // No dev release sorts after any dev release.
        switch (a.dev, b.dev) {
        case (nil, nil): break
        case (nil, _): return 1
        case (_, nil): return -1
        case let (l?, r?): if l != r { return l < r ? -1 : 1 }
        }
        // No local label sorts before any local label; labels compare segment-wise.
        switch (a.local, b.local) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case let (l?, r?):
            if l == r { return 0 }
            return l.lexicographicallyPrecedes(r) ? -1 : 1
        }
    }

    public static func < (lhs: PEP440Version, rhs: PEP440Version) -> Bool {
        compare(lhs, rhs) < 0
    }

    public static func == (lhs: PEP440Version, rhs: PEP440Version) -> Bool {
        compare(lhs, rhs) == 0
    }

    public func hash(into hasher: inout Hasher) {
        // Only the components that take part in comparison, so that `==` implies equal hashes.
        hasher.combine(epoch)
        hasher.combine(releaseKeyCount)
        for segment in releaseKey { hasher.combine(segment) }
        if let pre {
            hasher.combine(pre.kind)
            hasher.combine(pre.number)
        } else {
            hasher.combine(-1)
        }
        hasher.combine(post)
        hasher.combine(dev)
        hasher.combine(local)
    }
}

// MARK: - Parser

/// A hand-written scanner equivalent to packaging's VERSION_PATTERN:
///
///     v? (N!)? N(.N)* ([-_.]?(alpha|a|beta|b|preview|pre|c|rc)[-_.]?N?)?
///        (-N | [-_.]?(post|rev|r)[-_.]?N?)? ([-_.]?dev[-_.]?N?)? (+L([-_.]L)*)?
///
/// Scanning is greedy; where the regex could backtrack (an optional separator after a label
/// that is not followed by a number) keeping the separator consumed accepts exactly the same
/// strings, because every following component begins with an optional separator too.
private struct Parser {
    private let bytes: [UInt8]
    private var pos = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    static func parse(_ text: String) -> PEP440Version? {
        // Python's `\s` trimming; then ASCII lowercasing (the regex is case-insensitive).
        var bytes: [UInt8]
        let utf8 = text.utf8
        if let first = utf8.first, let last = utf8.last, first > 0x20, first < 0x80, last > 0x20, last < 0x80 {
            bytes = Array(utf8)     // fast path: nothing to trim
        } else {
            var trimmed = Substring(text)
            while let first = trimmed.first, first.isWhitespace { trimmed.removeFirst() }
            while let last = trimmed.last, last.isWhitespace { trimmed.removeLast() }
            bytes = Array(trimmed.utf8)
        }
        for index in bytes.indices where bytes[index] >= UInt8(ascii: "A") && bytes[index] <= UInt8(ascii: "Z") {
            bytes[index] += 32
        }
        var parser = Parser(bytes)
        return parser.parseVersion()
    }

    private static let preLabels: [([UInt8], PEP440Version.PreKind)] = [
        // Longest first so that `preview` is not read as `pre` + `view`.
        (Array("preview".utf8), .rc), (Array("alpha".utf8), .alpha), (Array("beta".utf8), .beta),
        (Array("pre".utf8), .rc), (Array("rc".utf8), .rc), (Array("a".utf8), .alpha),
        (Array("b".utf8), .beta), (Array("c".utf8), .rc),
    ]
    private static let postLabels: [([UInt8], Void)] = [(Array("post".utf8), ()), (Array("rev".utf8), ()), (Array("r".utf8), ())]
    private static let devLabels: [([UInt8], Void)] = [(Array("dev".utf8), ())]

    private mutating func parseVersion() -> PEP440Version? {
        _ = consume("v")
        guard var first = readNumber() else { return nil }
        var epoch = Numeral.zero
        if consume("!") {
            epoch = first
            guard let releaseStart = readNumber() else { return nil }
            first = releaseStart
        }
        var release = [first]
        while peek() == UInt8(ascii: "."), isDigit(peek(1)) {
            pos += 1
            guard let number = readNumber() else { return nil }
            release.append(number)
        }

        // Pre-release.
        var pre: (kind: PEP440Version.PreKind, number: Numeral)?
        var save = pos
        consumeSeparator()
        if let kind = readLabel(Self.preLabels) {
            pre = (kind, readImplicitNumber())
        } else {
            pos = save
        }

        // Post-release: `-N`, or an optional separator, a label and an optional number.
        var post: Numeral?
        save = pos
        if peek() == UInt8(ascii: "-"), isDigit(peek(1)) {
            pos += 1
            post = readNumber()
        } else {
            consumeSeparator()
            if readLabel(Self.postLabels) != nil {
                post = readImplicitNumber()
            } else {
                pos = save
            }
        }

        // Dev release.
        var dev: Numeral?
        save = pos
        consumeSeparator()
        if readLabel(Self.devLabels) != nil {
            dev = readImplicitNumber()
        } else {
            pos = save
        }

        // Local label.
        var local: [PEP440Version.LocalSegment]?
        if consume("+") {
            var segments: [PEP440Version.LocalSegment] = []
            while true {
                guard let segment = readLocalSegment() else { return nil }
                segments.append(segment)
                // A separator must be followed by another segment (no trailing separator).
                guard isSeparator(peek()), isAlphanumeric(peek(1)) else { break }
                pos += 1
            }
            local = segments
        }

        guard pos == bytes.count else { return nil }
        return PEP440Version(epoch: epoch, release: release, pre: pre, post: post, dev: dev, local: local)
    }

    // MARK: Scanning helpers

    private func peek(_ offset: Int = 0) -> UInt8? {
        let index = pos + offset
        return index < bytes.count ? bytes[index] : nil
    }

    private func isDigit(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private func isAlphanumeric(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    }

    private func isSeparator(_ byte: UInt8?) -> Bool {
        byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
    }

    private mutating func consume(_ scalar: Unicode.Scalar) -> Bool {
        guard peek() == UInt8(ascii: scalar) else { return false }
        pos += 1
        return true
    }

    private mutating func consumeSeparator() {
        if isSeparator(peek()) { pos += 1 }
    }

    private mutating func readNumber() -> Numeral? {
        let start = pos
        while isDigit(peek()) { pos += 1 }
        return Numeral(digits: bytes[start..<pos])
    }

    /// After a label: an optional separator and an optional number (implicitly 0).
    private mutating func readImplicitNumber() -> Numeral {
        consumeSeparator()
        return readNumber() ?? .zero
    }

    private mutating func readLabel<T>(_ labels: [([UInt8], T)]) -> T? {
        for (label, value) in labels {
            if pos + label.count <= bytes.count, bytes[pos..<(pos + label.count)].elementsEqual(label) {
                pos += label.count
                return value
            }
        }
        return nil
    }

    private mutating func readLocalSegment() -> PEP440Version.LocalSegment? {
        let start = pos
        var allDigits = true
        while isAlphanumeric(peek()) {
            if !isDigit(peek()) { allDigits = false }
            pos += 1
        }
        let part = bytes[start..<pos]
        if part.isEmpty { return nil }
        if allDigits, let number = Numeral(digits: part) { return .numeric(number) }
        return .alphanumeric(String(decoding: part, as: UTF8.self))
    }
}
