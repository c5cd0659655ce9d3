// OSVMatcher.swift — severity derivation and the offline OSV matching index.
//
// Owns (1) `OSVSeverity`, including a CVSS v3.x base-score calculator, and (2) `OSVIndex`,
// which answers "which advisories affect package P at version V" with the OSV schema's
// evaluation semantics (§ Evaluation: `IsVulnerable` / `IncludedInRanges` / `BeforeLimits`).
// Hand-written because no OSV matcher, PEP 440 or semver library is available offline.
//
// Performance: all event versions are parsed and sorted once, in `OSVIndex.init`; a lookup is
// two dictionary probes plus a linear walk over the few events of the package's ranges (and,
// when no range matches, over the package's `versions` lists, which are compared lazily).

// MARK: - Severity

/// Coarse severity of an advisory, ordered `low < medium < high < critical`.
///
/// Unknown severity is represented as `nil` (`OSVSeverity?`), not as a case. By default an
/// unknown severity meets no `--fail-on` threshold (it is still reported); callers that want
/// otherwise pass `treatingUnknownAs:` to `OSVMatch.meets(_:treatingUnknownAs:)`.
public enum OSVSeverity: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    case low, medium, high, critical

    public static func < (lhs: OSVSeverity, rhs: OSVSeverity) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Parses a threshold such as a `--fail-on` value: `low`, `medium`, `high`, `critical`
    /// (case-insensitive; `moderate` is accepted for `medium`, as GitHub spells it).
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "low": self = .low
        case "medium", "moderate": self = .medium
        case "high": self = .high
        case "critical": self = .critical
        default: return nil
        }
    }

    /// The CVSS qualitative rating of a base score: 0.1–3.9 low, 4.0–6.9 medium,
    /// 7.0–8.9 high, 9.0–10.0 critical. 0.0 ("None") and out-of-range scores give nil.
    public init?(cvssScore score: Double) {
        switch score {
        case 0.1..<4.0: self = .low
        case 4.0..<7.0: self = .medium
        case 7.0..<9.0: self = .high
        case 9.0...10.0: self = .critical
        default: return nil
        }
    }

    /// The severity of an advisory, or nil when unknown:
    /// 1. `database_specific.severity` (`LOW`, `MODERATE`/`MEDIUM`, `HIGH`, `CRITICAL`);
    /// 2. otherwise the highest CVSS v3.x base score among `severity[]` entries;
    /// 3. otherwise nil — CVSS v2, v4 (whose score needs FIRST's lookup tables, not computed
    ///    here) and other score types are not interpreted.
    public static func of(_ advisory: OSVAdvisory) -> OSVSeverity? {
        if let text = advisory.databaseSeverity, let severity = OSVSeverity(parsing: text) {
            return severity
        }
        var best: Double?
        for entry in advisory.severity where entry.type.uppercased() == "CVSS_V3" || entry.score.hasPrefix("CVSS:3.") {
            if let score = cvss3BaseScore(entry.score) {
                best = max(best ?? score, score)
            }
        }
        return best.flatMap { OSVSeverity(cvssScore: $0) }
    }

    /// The CVSS v3.0/v3.1 base score of a vector such as
    /// `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` (9.8), per the CVSS 3.1 specification
    /// §7.1 with its `Roundup` (§Appendix A), which 3.1 defines to give 3.0's results without
    /// floating-point artefacts. Temporal and environmental metrics are ignored. Returns nil
    /// unless all eight base metrics are present exactly once with valid values.
    public static func cvss3BaseScore(_ vector: String) -> Double? {
        let bytes = Array(vector.utf8)
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        let start = bytes.firstIndex { !isSpace($0) } ?? bytes.endIndex
        let end = (bytes.lastIndex { !isSpace($0) }).map { $0 + 1 } ?? start
        let components = bytes[start..<max(start, end)].split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard let version = components.first,
              version.elementsEqual("CVSS:3.0".utf8) || version.elementsEqual("CVSS:3.1".utf8) else { return nil }
        // Single-letter values of AV, AC, PR, UI, S, C, I, A, in that order.
        var base = [UInt8?](repeating: nil, count: 8)
        for component in components.dropFirst() {
            let pair = component.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
            guard pair.count == 2 else { return nil }
            guard let slot = cvss3BaseMetrics.firstIndex(where: { pair[0].elementsEqual($0) }) else {
                continue    // temporal / environmental metric: not part of the base score
            }
            guard base[slot] == nil, pair[1].count == 1 else { return nil }   // duplicate or bad value
            base[slot] = pair[1].first
        }
        let changed: Bool
        switch base[4] {
        case UInt8(ascii: "U"): changed = false
        case UInt8(ascii: "C"): changed = true
        default: return nil
        }
        let av: Double, ac: Double, pr: Double, ui: Double
        switch base[0] {
        case UInt8(ascii: "N"): av = 0.85
        case UInt8(ascii: "A"): av = 0.62
        case UInt8(ascii: "L"): av = 0.55
        case UInt8(ascii: "P"): av = 0.2
        default: return nil
        }
        switch base[1] {
        case UInt8(ascii: "L"): ac = 0.77
        case UInt8(ascii: "H"): ac = 0.44
        default: return nil
        }
        switch base[2] {
        case UInt8(ascii: "N"): pr = 0.85
        case UInt8(ascii: "L"): pr = changed ? 0.68 : 0.62
        case UInt8(ascii: "H"): pr = changed ? 0.5 : 0.27
        default: return nil
        }
        switch base[3] {
        case UInt8(ascii: "N"): ui = 0.85
        case UInt8(ascii: "R"): ui = 0.62
        default: return nil
        }
        func impactWeight(_ value: UInt8?) -> Double? {
            switch value {
            case UInt8(ascii: "H"): return 0.56
            case UInt8(ascii: "L"): return 0.22
            case UInt8(ascii: "N"): return 0
            default: return nil
            }
        }
        guard let c = impactWeight(base[5]), let i = impactWeight(base[6]), let a = impactWeight(base[7]) else {
            return nil
        }

        let iss = 1 - (1 - c) * (1 - i) * (1 - a)
        let impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow15(iss - 0.02) : 6.42 * iss
        let exploitability = 8.22 * av * ac * pr * ui
        if impact <= 0 { return 0 }
        let raw = changed ? 1.08 * (impact + exploitability) : impact + exploitability
        return roundUp(min(raw, 10))
    }

    private static let cvss3BaseMetrics: [[UInt8]] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"].map { Array($0.utf8) }

    /// CVSS 3.1 `Roundup`: the smallest number with one decimal that is >= the input.
    private static func roundUp(_ value: Double) -> Double {
        let scaled = Int((value * 100_000).rounded())
        if scaled % 10_000 == 0 { return Double(scaled) / 100_000 }
        return Double(scaled / 10_000 + 1) / 10
    }

    private static func pow15(_ x: Double) -> Double {
        var result = 1.0
        for _ in 0..<15 { result *= x }
        return result
    }

    /// `low`, `medium`, `high` or `critical`.
    public var description: String {
        switch self {
        case .low: return "low"
        case .medium: return "medium"
        case .high: return "high"
        case .critical: return "critical"
        }
    }
}

// MARK: - Match

/// One advisory that affects a queried package version.
public struct OSVMatch: Equatable, Sendable {
    public let advisoryID: String
    public let aliases: [String]
    public let summary: String?
    /// nil when unknown (see `OSVSeverity`).
    public let severity: OSVSeverity?
    /// The affected interval that contains the version, in PEP 440-like notation
    /// (`>=1.0, <1.2.3`, `<2.0`, `<=1.4`, `all versions`), or `= 1.0 (listed)` when the version
    /// matched only through the advisory's explicit `versions` list.
    public let affectedRange: String
    /// The `fixed` versions of the matching range (sorted); for a `versions`-list match, the
    /// `fixed` versions of all the entry's non-GIT ranges. Empty when no fix is recorded.
    public let fixed: [String]

    /// Whether this match reaches a failure threshold such as `--fail-on high`.
    /// An unknown severity is treated as `unknown`; with the default (nil) it meets no
    /// threshold, not even `low` — callers should still report such matches.
    public func meets(_ threshold: OSVSeverity, treatingUnknownAs unknown: OSVSeverity? = nil) -> Bool {
        guard let severity = severity ?? unknown else { return false }
        return severity >= threshold
    }
}

// MARK: - Index

/// An immutable, in-memory index of OSV advisories for offline matching.
public struct OSVIndex: Sendable {
    /// ecosystem (lowercased) → normalized package name → affected entries.
    private let table: [String: [String: [Entry]]]
    private let advisories: [AdvisoryInfo]

    /// The number of indexed (non-withdrawn) advisories.
    public var count: Int { advisories.count }

    /// Indexes the `affected` entries of `advisories` by ecosystem and package name, parsing
    /// every range event once. Withdrawn advisories are skipped. Ecosystems compare
    /// case-insensitively; PyPI names are normalized per PEP 503, other names (Go module
    /// paths included) are kept as written.
    public init(_ advisories: [OSVAdvisory]) {
        var table: [String: [String: [Entry]]] = [:]
        var infos: [AdvisoryInfo] = []
        infos.reserveCapacity(advisories.count)
        for advisory in advisories where advisory.withdrawn == nil {
            let number = infos.count
            infos.append(AdvisoryInfo(id: advisory.id, aliases: advisory.aliases,
                                      summary: advisory.summary, severity: OSVSeverity.of(advisory)))
            for affected in advisory.affected {
                guard let package = affected.package else { continue }
                let ecosystem = package.ecosystem.lowercased()
                let entry = Entry(advisory: number, affected: affected, ecosystem: ecosystem)
                table[ecosystem, default: [:]][Self.normalizedName(package.name, ecosystem: ecosystem), default: []]
                    .append(entry)
            }
        }
        self.table = table
        self.advisories = infos
    }

    /// The advisories affecting `name` at `version` in `ecosystem` (e.g. "PyPI", "Go"),
    /// one match per advisory, sorted by advisory id.
    ///
    /// A version is affected if it is in an entry's `versions` list (exact string, or equal
    /// under PEP 440 for PyPI / under semver for Go) or inside one of its ranges. ECOSYSTEM
    /// ranges are evaluated for PyPI (PEP 440) and Go (semver), SEMVER ranges for every
    /// ecosystem; GIT ranges and ECOSYSTEM ranges of other ecosystems are ignored. A version
    /// that does not parse matches only through `versions`.
    public func matches(ecosystem: String, name: String, version: String) -> [OSVMatch] {
        let ecosystemKey = ecosystem.lowercased()
        guard let entries = table[ecosystemKey]?[Self.normalizedName(name, ecosystem: ecosystemKey)] else {
            return []
        }
        var query = Query(version)   // parsed lazily, at most once per scheme
        var seen = Set<Int>()
        var result: [OSVMatch] = []
        for entry in entries where !seen.contains(entry.advisory) {
            guard let (range, fixed) = entry.match(&query) else { continue }
            seen.insert(entry.advisory)
            let info = advisories[entry.advisory]
            result.append(OSVMatch(advisoryID: info.id, aliases: info.aliases, summary: info.summary,
                                   severity: info.severity, affectedRange: range, fixed: fixed))
        }
        return result.sorted { $0.advisoryID < $1.advisoryID }
    }

    /// PEP 503 normalization for PyPI (lowercase, runs of `-`, `_`, `.` become one `-`);
    /// other ecosystems' names are returned unchanged.
    static func normalizedName(_ name: String, ecosystem: String) -> String {
        guard ecosystem == "pypi" else { return name }
        if name.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII fast path, byte-wise.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(name.utf8.count)
            for byte in name.utf8 {
                if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") {
                    // Only separators become "-", so a trailing "-" means we are inside a run.
                    if bytes.last != UInt8(ascii: "-") { bytes.append(UInt8(ascii: "-")) }
                } else if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") {
                    bytes.append(byte + 32)
                } else {
                    bytes.append(byte)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        var result = ""
        result.reserveCapacity(name.utf8.count)
        var inSeparatorRun = false
        for character in name {
            if character == "-" || character == "_" || character == "." {
                if !inSeparatorRun { result.append("-") }
                inSeparatorRun = true
            } else {
                result.append(character)
                inSeparatorRun = false
            }
        }
        return result.lowercased()
    }
}

// MARK: - Index internals

private struct AdvisoryInfo: Sendable {
    let id: String
    let aliases: [String]
    let summary: String?
    let severity: OSVSeverity?
}

/// How the versions of a range are ordered.
private enum Scheme: Sendable {
    case pep440, semver
}

/// A parsed version under one scheme. Ranges are homogeneous, so mixed comparisons (which
/// order PEP 440 below semver only to keep `<` total) never decide a match.
private enum ParsedVersion: Comparable, Sendable {
    case pep440(PEP440Version)
    case semver(GoSemver)

    static func < (lhs: ParsedVersion, rhs: ParsedVersion) -> Bool {
        switch (lhs, rhs) {
        case let (.pep440(l), .pep440(r)): return l < r
        case let (.semver(l), .semver(r)): return l < r
        case (.pep440, .semver): return true
        case (.semver, .pep440): return false
        }
    }
}

/// An event's position on the version line: `introduced: "0"` is below every version and a
/// `limit` containing `*` above every version.
private enum Bound: Comparable, Sendable {
    case lowest
    case version(ParsedVersion)
    case infinity
}

private struct CompiledEvent: Sendable {
    /// Declaration order is the tie-break for events at the same version.
    enum Kind: Int, Comparable, Sendable {
        case introduced, fixed, lastAffected, limit
        static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    let kind: Kind
    let bound: Bound
    let text: String

    /// nil when the event's version does not parse under the range's scheme.
    init?(_ event: OSVAdvisory.Event, scheme: Scheme) {
        let text = event.version
        switch event {
        case .introduced: kind = .introduced
        case .fixed: kind = .fixed
        case .lastAffected: kind = .lastAffected
        case .limit: kind = .limit
        }
        self.text = text
        if kind == .introduced && text == "0" {
            bound = .lowest
        } else if kind == .limit && text.contains("*") {
            bound = .infinity
        } else if let version = Query.parse(text, scheme) {
            bound = .version(version)
        } else {
            return nil
        }
    }
}

/// One range with its events parsed and sorted.
///
/// Events whose version does not parse are dropped (a malformed bound cannot be compared).
private struct CompiledRange: Sendable {
    let scheme: Scheme
    let events: [CompiledEvent]
    let hasLimits: Bool
    let fixed: [String]

    init(scheme: Scheme, events: [OSVAdvisory.Event]) {
        self.scheme = scheme
        let compiled = events.compactMap { CompiledEvent($0, scheme: scheme) }
        // Sorted by version; at equal versions introduced < fixed < last_affected < limit, so
        // a version both introduced and fixed is not affected.
        self.events = compiled.enumerated().sorted { l, r in
            if l.element.bound != r.element.bound { return l.element.bound < r.element.bound }
            if l.element.kind != r.element.kind { return l.element.kind < r.element.kind }
            return l.offset < r.offset
        }.map(\.element)
        hasLimits = compiled.contains { $0.kind == .limit }
        fixed = self.events.filter { $0.kind == .fixed }.map(\.text)
    }

    /// OSV `BeforeLimits` + `IncludedInRanges` for one range; on a match, the human form of
    /// the interval containing `version`.
    func affectedInterval(of version: ParsedVersion) -> String? {
        let point = Bound.version(version)
        if hasLimits && !events.contains(where: { $0.kind == .limit && point < $0.bound }) {
            return nil
        }
        var vulnerable = false
        var lastIntroduced = 0
        for (index, event) in events.enumerated() {
            if point < event.bound { break }    // sorted: no later event can fire
            switch event.kind {
            case .introduced:
                vulnerable = true
                lastIntroduced = index
            case .fixed:
                vulnerable = false
            case .lastAffected:
                if event.bound < point { vulnerable = false }
            case .limit:
                break
            }
        }
        return vulnerable ? describeInterval(from: lastIntroduced, containing: point) : nil
    }

    private func describeInterval(from introducedIndex: Int, containing point: Bound) -> String {
        // Lower bound: the first introduced of the run of introduced events ending here.
        var lower = introducedIndex
        var index = introducedIndex - 1
        while index >= 0, events[index].kind == .introduced || events[index].kind == .limit {
            if events[index].kind == .introduced { lower = index }
            index -= 1
        }
        var parts: [String] = []
        if events[lower].bound != .lowest { parts.append(">=" + events[lower].text) }
        // Upper bound: the next fixed / last_affected, else the nearest finite limit above.
        let after = events[(introducedIndex + 1)...]
        if let end = after.first(where: { $0.kind == .fixed || $0.kind == .lastAffected }) {
            parts.append((end.kind == .fixed ? "<" : "<=") + end.text)
        } else if let limit = after.first(where: { $0.kind == .limit && $0.bound != .infinity && point < $0.bound }) {
            parts.append("<" + limit.text)
        }
        return parts.isEmpty ? "all versions" : parts.joined(separator: ", ")
    }
}

/// A queried version, parsed lazily under each scheme it is compared in.
private struct Query {
    let text: String
    private(set) lazy var pep440: ParsedVersion? = Self.parse(text, .pep440)
    private(set) lazy var semver: ParsedVersion? = Self.parse(text, .semver)

    init(_ text: String) { self.text = text }

    mutating func parsed(_ scheme: Scheme) -> ParsedVersion? {
        scheme == .pep440 ? pep440 : semver
    }

    static func parse(_ text: String, _ scheme: Scheme) -> ParsedVersion? {
        switch scheme {
        case .pep440: return PEP440Version(text).map(ParsedVersion.pep440)
        case .semver: return GoSemver(text).map(ParsedVersion.semver)
        }
    }
}

/// One `affected[]` entry of one advisory, ready for matching.
private struct Entry: Sendable {
    let advisory: Int
    /// The `versions` list as written. It is compared with the query at match time (exact
    /// string first, then equality under `listedScheme`) rather than parsed here: lists can be
    /// long (osv.dev expands ranges into them) and only the queried packages' lists are needed.
    let listed: [String]
    let listedScheme: Scheme?
    let ranges: [CompiledRange]
    /// `fixed` events of all non-GIT ranges, reported for `versions`-list matches.
    let allFixed: [String]

    init(advisory: Int, affected: OSVAdvisory.Affected, ecosystem: String) {
        self.advisory = advisory
        listed = affected.versions
        switch ecosystem {
        case "pypi": listedScheme = .pep440
        case "go": listedScheme = .semver
        default: listedScheme = nil
        }
        var ranges: [CompiledRange] = []
        var allFixed: [String] = []
        for range in affected.ranges {
            let type = Self.rangeType(range.type)
            guard type != "GIT" else { continue }
            for case .fixed(let version) in range.events where !allFixed.contains(version) {
                allFixed.append(version)
            }
            let scheme: Scheme?
            switch (type, ecosystem) {
            case ("SEMVER", _): scheme = .semver
            case ("ECOSYSTEM", "pypi"): scheme = .pep440
            case ("ECOSYSTEM", "go"): scheme = .semver
            default: scheme = nil
            }
            if let scheme { ranges.append(CompiledRange(scheme: scheme, events: range.events)) }
        }
        self.ranges = ranges
        self.allFixed = allFixed
    }

    /// The range type in upper case (allocation-free for the usual spellings).
    private static func rangeType(_ type: String) -> String {
        switch type {
        case "SEMVER", "ECOSYSTEM", "GIT": return type
        default: return type.uppercased()
        }
    }

    /// (human-readable affected range, fixed versions) when `query` is affected by this entry.
    func match(_ query: inout Query) -> (String, [String])? {
        for range in ranges {
            guard let version = query.parsed(range.scheme) else { continue }
            if let interval = range.affectedInterval(of: version) {
                return (interval, range.fixed)
            }
        }
        guard !listed.isEmpty else { return nil }
        if listed.contains(query.text) {
            return ("= \(query.text) (listed)", allFixed)
        }
        if let scheme = listedScheme, let version = query.parsed(scheme),
           listed.contains(where: { Query.parse($0, scheme) == version }) {
            return ("= \(query.text) (listed)", allFixed)
        }
        return nil
    }
}
