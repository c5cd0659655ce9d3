// Offline vulnerability matching for `audit --vulns`: OSV advisories exported on the connected host
// (the per-ecosystem `all.zip` OSV publishes, a directory of its JSON files, or one JSON file; any
// of them can cross in a bundle like any blob) read into an `OSVIndex`, and every Python and Go
// package of an inventory matched against it with OSV's own range semantics (PEP 440 for PyPI,
// semver for Go; OSV/ holds the matcher). The Go toolchain is matched as OSV's `stdlib` and
// `toolchain` packages. An export is outside input: members are size-capped and a member that is
// not an advisory is refused with its name.

public import AirlockCore
import Foundation

/// One advisory that affects one package of the inventory.
public struct VulnerabilityFinding: Codable, Sendable, Equatable {
    public var advisory: String
    public var aliases: [String]
    public var summary: String?
    /// `low`, `medium`, `high`, `critical`, or nil when the advisory gives none Airlock can read.
    public var severity: String?
    /// The inventory's package id, and its name, version and OSV ecosystem (`PyPI`, `Go`).
    public var package: String
    public var name: String
    public var version: String
    public var ecosystem: String
    /// The affected range that holds the version (`>=1.0, <1.2.3`, `= 1.0 (listed)`).
    public var affected: String
    public var fixed: [String]
    /// The artifacts built from the package (their names), when any is.
    public var artifacts: [String]
}

public struct VulnerabilityReport: Codable, Sendable {
    /// The export files read, and how many advisories they held.
    public var sources: [String]
    public var advisories: Int
    public var findings: [VulnerabilityFinding]

    public init(sources: [String], advisories: Int, findings: [VulnerabilityFinding]) {
        self.sources = sources
        self.advisories = advisories
        self.findings = findings
    }
}

public enum OSVExport {
    /// Largest advisory document read (OSV's largest are tens of KiB).
    static let memberLimit = 16 << 20
    static let maximumMembers = 2_000_000

    /// The advisories of every path: a zip (OSV's `all.zip`), a directory of `.json` files, or a
    /// `.json` file holding one advisory or an array of them.
    public static func load(_ paths: [String]) throws -> [OSVAdvisory] { try load(paths, naming: nil).advisories }

    /// What an export holds: the advisories decoded, and how many advisories it has in all.
    public struct Loaded: Sendable {
        public var advisories: [OSVAdvisory]
        public var documents: Int
    }

    /// The advisories of every path; with `names` (package names, as `VulnerabilityMatcher.names`
    /// gives them), only documents that may name one of them are decoded (OSVPrefilter.swift).
    public static func load(_ paths: [String], naming names: Set<String>?) throws -> Loaded {
        var advisories: [OSVAdvisory] = []
        var documents = 0
        func take(_ bytes: [UInt8], what: String) throws {
            // A document that is not decoded holds one advisory (an array is always decoded).
            if let names, !OSVPrefilter.mayName(bytes, names: names) {
                documents += 1
                return
            }
            let decoded = try document(bytes, what: what)
            documents += decoded.count
            advisories += decoded
        }
        for path in paths {
            switch FileSystem.kind(of: path) {
            case .directory?:
                for name in try FileSystem.list(path).sorted() where name.hasSuffix(".json") {
                    try take(try FileSystem.readFile(path + "/" + name, limit: memberLimit), what: path + "/" + name)
                }
            case .regular?:
                if try isZip(path) {
                    try zip(path, take)
                } else {
                    try take(try FileSystem.readFile(path, limit: 1 << 30), what: path)
                }
            default:
                throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such OSV export (a zip such as all.zip, a directory of .json files, or a .json file)")
            }
        }
        return Loaded(advisories: advisories, documents: documents)
    }

    /// Whether the file starts as a zip does (a local header, or the end record of an empty one).
    private static func isZip(_ path: String) throws -> Bool {
        let file = try FileDescriptor.open(path)
        var head = [UInt8](repeating: 0, count: 4)
        let got = try head.withUnsafeMutableBytes { try file.read(at: 0, into: $0) }
        return got == 4 && (head == [0x50, 0x4B, 0x03, 0x04] || head == [0x50, 0x4B, 0x05, 0x06])
    }

    private static func zip(_ path: String, _ take: (_ bytes: [UInt8], _ what: String) throws -> Void) throws {
        let reader: ArchiveReader
        do { reader = try ArchiveReader(paths: [path], format: .zip) } catch {
            throw UsageError(AuditErrorCode.badOSV, "\(path): not a readable zip (\(error))")
        }
        var members = 0
        while let entry = try reader.next() {
            members += 1
            guard members <= maximumMembers else { throw UsageError(AuditErrorCode.badOSV, "\(path): more than \(maximumMembers) members") }
            guard entry.kind == .regular, let name = entry.path, name.hasSuffix(".json") else {
                try reader.skipData()
                continue
            }
            guard entry.size <= memberLimit else {
                throw UsageError(AuditErrorCode.badOSV, "\(path): \(name): \(entry.size) bytes, over the \(memberLimit >> 20) MiB an advisory may have")
            }
            try take(try reader.readAll(limit: memberLimit), "\(path): \(name)")
        }
    }

    /// One advisory, or an array of them.
    private static func document(_ bytes: [UInt8], what: String) throws -> [OSVAdvisory] {
        let first = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
        do {
            guard first == UInt8(ascii: "[") else { return [try OSVAdvisory.parse(bytes)] }
            guard let list = try JSONSerialization.jsonObject(with: Data(bytes)) as? [Any] else { return [] }
            return try list.map { try OSVAdvisory.parse(Array(try JSONSerialization.data(withJSONObject: $0))) }
        } catch {
            throw UsageError(AuditErrorCode.badOSV, "\(what): not an OSV advisory (\(error))")
        }
    }
}

public enum VulnerabilityMatcher {
    /// The names, normalized as OSVPrefilter compares them, an advisory must name to match a
    /// package of `inventory`: what `OSVExport.load(_:naming:)` decodes.
    public static func names(_ inventory: AuditInventory) -> Set<String> {
        var names: Set<String> = []
        for package in inventory.packages {
            switch (package.ecosystem, package.kind) {
            case ("pypi", _), ("golang", _): names.insert(OSVPrefilter.normalize(package.name))
            case ("generic", "go-toolchain"): names.formUnion(["stdlib", "toolchain"])
            default: continue
            }
        }
        return names
    }

    /// Every advisory of `index` that affects a Python or Go package of `inventory`, the most
    /// severe first (unknown last), then by advisory and package.
    public static func findings(_ inventory: AuditInventory, index: OSVIndex) -> [VulnerabilityFinding] {
        var builtFrom: [String: [String]] = [:]
        for artifact in inventory.artifacts { for input in artifact.inputs { builtFrom[input, default: []].append(artifact.name) } }
        var findings: [VulnerabilityFinding] = []
        for package in inventory.packages {
            let queries: [(ecosystem: String, name: String)]
            switch (package.ecosystem, package.kind) {
            case ("pypi", _): queries = [("PyPI", package.name)]
            case ("golang", _): queries = [("Go", package.name)]
            case ("generic", "go-toolchain"): queries = [("Go", "stdlib"), ("Go", "toolchain")]
            default: continue
            }
            for query in queries {
                for match in index.matches(ecosystem: query.ecosystem, name: query.name, version: package.version) {
                    findings.append(
                        VulnerabilityFinding(
                            advisory: match.advisoryID, aliases: match.aliases, summary: match.summary,
                            severity: match.severity.map(\.description), package: package.id, name: package.name,
                            version: package.version, ecosystem: query.ecosystem, affected: match.affectedRange, fixed: match.fixed,
                            artifacts: (builtFrom[package.id] ?? []).sorted()
                        )
                    )
                }
            }
        }
        func rank(_ f: VulnerabilityFinding) -> Int { f.severity.flatMap { OSVSeverity(parsing: $0) }.map { 4 - $0.rawValue } ?? 5 }
        return findings.sorted { (rank($0), $0.advisory, $0.package) < (rank($1), $1.advisory, $1.package) }
    }

    /// The findings at or above `threshold` (an unknown severity reaches none).
    public static func failing(_ findings: [VulnerabilityFinding], threshold: OSVSeverity) -> [VulnerabilityFinding] {
        findings.filter { $0.severity.flatMap { OSVSeverity(parsing: $0) }.map { $0 >= threshold } ?? false }
    }
}
