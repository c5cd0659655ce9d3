// GoSemver.swift — Go module versions (golang.org/x/mod/semver) and SemVer 2.0 precedence.
//
// Owns parsing and ordering of semantic versions for OSV ecosystem "Go" and for OSV ranges
// of type SEMVER. Hand-written because no Swift semver library is available offline; the
// parser follows x/mod/semver's `parse` (shorthands `v1`, `v1.2`; no leading zeros; build
// metadata such as `+incompatible` accepted and ignored for ordering), and `isPseudoVersion`
// follows x/mod/module's `IsPseudoVersion`. Pseudo-versions need no special ordering: they
// are ordinary prereleases and sort exactly as SemVer 2.0 §11 says.

/// A semantic version as Go modules use it, e.g. `v1.2.3`, `v1.2.4-0.20200101120000-abcdef123456`,
/// `v2.0.0+incompatible`.
///
/// Go requires a leading `v`; OSV records omit it (`1.2.3`), so both are accepted.
/// Build metadata takes no part in ordering, so `v2.0.0+incompatible == v2.0.0`.
public struct GoSemver: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// One dot-separated prerelease identifier. Numeric identifiers sort below alphanumeric.
    enum Identifier: Hashable, Comparable, Sendable {
        case numeric(Numeral)
        case alphanumeric(String)

        static func < (lhs: Identifier, rhs: Identifier) -> Bool {
            switch (lhs, rhs) {
            case let (.numeric(l), .numeric(r)): return l < r
            case let (.alphanumeric(l), .alphanumeric(r)): return l < r   // ASCII only: byte order
            case (.numeric, .alphanumeric): return true
            case (.alphanumeric, .numeric): return false
            }
        }
    }

    let major: Numeral
    let minor: Numeral
    let patch: Numeral
    /// Prerelease identifiers (empty for a release).
    let prerelease: [Identifier]
    /// The prerelease text without the leading `-` (empty for a release).
    let prereleaseText: String
    /// Build metadata without the leading `+`, or nil.
    public let build: String?

    /// Parses `[v]MAJOR[.MINOR[.PATCH[-PRERELEASE][+BUILD]]]`; returns nil when invalid.
    /// Surrounding ASCII whitespace is ignored. As in x/mod/semver, the shorthands `v1` and
    /// `v1.2` (meaning `v1.0.0`, `v1.2.0`) take no prerelease or build suffix.
    public init?(_ text: String) {
        var bytes = Array(text.utf8)
        while let last = bytes.last, last == 0x20 || last == 0x09 || last == 0x0A || last == 0x0D { bytes.removeLast() }
        var start = 0
        while start < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[start]) { start += 1 }
        if start < bytes.count, bytes[start] == UInt8(ascii: "v") { start += 1 }
        guard let parsed = Self.parse(bytes[start...]) else { return nil }
        self = parsed
    }

    private init(major: Numeral, minor: Numeral, patch: Numeral, prerelease: [Identifier],
                 prereleaseText: String, build: String?) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.prereleaseText = prereleaseText
        self.build = build
    }

    /// True when the version has a prerelease part (`-...`).
    public var isPrerelease: Bool { !prerelease.isEmpty }

    /// True for Go pseudo-versions (x/mod/module `IsPseudoVersion`), in any of the three forms
    /// `vX.0.0-yyyymmddhhmmss-abcdef123456`, `vX.Y.Z-pre.0.yyyymmddhhmmss-abcdef123456` and
    /// `vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef123456`.
    public var isPseudoVersion: Bool {
        let text = Array(prereleaseText.utf8)
        // The commit hash follows the last '-'; it must be non-empty and alphanumeric.
        guard let dash = text.lastIndex(of: UInt8(ascii: "-")) else { return false }
        let hash = text[(dash + 1)...]
        guard !hash.isEmpty, hash.allSatisfy(Self.isAlphanumeric) else { return false }
        // Immediately before it: a 14-digit timestamp.
        let head = text[..<dash]
        guard head.count >= 14 else { return false }
        let timestamp = head.suffix(14)
        guard timestamp.allSatisfy(Self.isDigit) else { return false }
        let prefix = head.dropLast(14)
        if prefix.isEmpty {
            // vX.0.0-yyyymmddhhmmss-hash
            return minor.isZero && patch.isZero
        }
        // ...-[anything.]0.yyyymmddhhmmss-hash
        guard prefix.count >= 2, prefix.suffix(2).elementsEqual("0.".utf8) else { return false }
        let before = prefix.dropLast(2)
        return before.isEmpty || before.last == UInt8(ascii: ".")
    }

    /// The canonical Go spelling: `vMAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`.
    public var description: String {
        var text = "v\(major).\(minor).\(patch)"
        if !prereleaseText.isEmpty { text += "-" + prereleaseText }
        if let build { text += "+" + build }
        return text
    }

    // MARK: Ordering (SemVer 2.0 §11; build metadata ignored)

    public static func < (lhs: GoSemver, rhs: GoSemver) -> Bool {
        if lhs.major != rhs.major { return lhs.major < rhs.major }
        if lhs.minor != rhs.minor { return lhs.minor < rhs.minor }
        if lhs.patch != rhs.patch { return lhs.patch < rhs.patch }
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, _): return false             // a release is never below anything equal-numbered
        case (false, true): return true          // a prerelease is below its release
        case (false, false):
            // Field by field; when one is a prefix of the other the shorter is lower.
            return lhs.prerelease.lexicographicallyPrecedes(rhs.prerelease)
        }
    }

    public static func == (lhs: GoSemver, rhs: GoSemver) -> Bool {
        lhs.major == rhs.major && lhs.minor == rhs.minor && lhs.patch == rhs.patch
            && lhs.prerelease == rhs.prerelease
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(major)
        hasher.combine(minor)
        hasher.combine(patch)
        hasher.combine(prerelease)
    }

    // MARK: Parsing (x/mod/semver `parse`, without the leading 'v')

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: "-")
    }

    private static func parse(_ bytes: ArraySlice<UInt8>) -> GoSemver? {
        var rest = bytes
        guard let major = parseInt(&rest) else { return nil }
        guard let dot1 = rest.first else {
            return GoSemver(major: major, minor: .zero, patch: .zero, prerelease: [], prereleaseText: "", build: nil)
        }
        guard dot1 == UInt8(ascii: "."), let minor = parseInt(&rest, skipping: 1) else { return nil }
        guard let dot2 = rest.first else {
            return GoSemver(major: major, minor: minor, patch: .zero, prerelease: [], prereleaseText: "", build: nil)
        }
        guard dot2 == UInt8(ascii: "."), let patch = parseInt(&rest, skipping: 1) else { return nil }

        var identifiers: [Identifier] = []
        var prereleaseText = ""
        if rest.first == UInt8(ascii: "-") {
            rest = rest.dropFirst()
            let end = rest.firstIndex(of: UInt8(ascii: "+")) ?? rest.endIndex
            let text = rest[..<end]
            rest = rest[end...]
            for part in text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
                guard !part.isEmpty, part.allSatisfy(isIdentifierByte) else { return nil }
                if part.allSatisfy(isDigit) {
                    // Numeric identifiers must not have leading zeros.
                    if part.count > 1 && part.first == UInt8(ascii: "0") { return nil }
                    guard let number = Numeral(digits: part) else { return nil }
                    identifiers.append(.numeric(number))
                } else {
                    identifiers.append(.alphanumeric(String(decoding: part, as: UTF8.self)))
                }
            }
            prereleaseText = String(decoding: text, as: UTF8.self)
        }

        var build: String?
        if rest.first == UInt8(ascii: "+") {
            let text = rest.dropFirst()
            for part in text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
                guard !part.isEmpty, part.allSatisfy(isIdentifierByte) else { return nil }
            }
            build = String(decoding: text, as: UTF8.self)
            rest = rest[rest.endIndex...]
        }

        guard rest.isEmpty else { return nil }
        return GoSemver(major: major, minor: minor, patch: patch, prerelease: identifiers,
                        prereleaseText: prereleaseText, build: build)
    }

    /// Reads a decimal number without leading zeros (x/mod/semver `parseInt`) after skipping
    /// `skipping` bytes; advances `rest` past it.
    private static func parseInt(_ rest: inout ArraySlice<UInt8>, skipping: Int = 0) -> Numeral? {
        let digits = rest.dropFirst(skipping).prefix(while: isDigit)
        guard let first = digits.first else { return nil }
        if first == UInt8(ascii: "0") && digits.count > 1 { return nil }
        rest = rest[digits.endIndex...]
        return Numeral(digits: digits)
    }
}
