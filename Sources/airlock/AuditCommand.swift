import AirlockAudit
import AirlockBundle
import AirlockCore
import ArgumentParser
import Foundation

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "What a bundle or store holds (artifacts, packages, images, signers), what changed, and its SBOM.",
        discussion: Example.discussion(
            Example("What changed since last week's bundle, verified against your key", "airlock audit --trust keys/team.pub app.airlock \\\n    --against last-week.airlock"),
            Example("An SPDX 2.3 SBOM of what the inside store holds", "airlock audit --store /srv/airlock --sbom spdx --out store.spdx.json")
        )
    )

    @Argument(help: "A bundle (or any of its volumes), or a store directory (default: the --store).") var subject: String?
    @Option(help: "Compare with this earlier bundle or store.") var against: String?
    @Option(help: "Write an SBOM instead of the table: cyclonedx (1.6 JSON) or spdx (2.3 JSON).") var sbom: String?
    @Option(help: "With --sbom: the file to write.") var out: String?
    @Option(help: "Write the audit as one self-contained HTML page (signers, artifacts and provenance, the SBOM, the diff, vulnerabilities, stock-tool checks) instead of the table.")
    var html: String?
    @Option(help: "Match the Python and Go packages against this OSV export: a zip (OSV's per-ecosystem all.zip), a directory of .json files, or a .json file; repeatable.")
    var vulns: [String] = []
    @Option(help: "With --vulns: exit 1 when an advisory of this severity or above affects a package: low, medium, high or critical.")
    var failOn: String?
    @OptionGroup var trustOptions: TrustOptions
    @Flag(help: "Accept an expired bundle (an --against bundle may always have expired).") var allowExpired = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let format = try sbom.map { name in
            guard let format = SBOMFormat(rawValue: name) else {
                throw UsageError(AuditErrorCode.badSBOMFormat, "--sbom '\(name)': use cyclonedx or spdx")
            }
            return format
        }
        guard (format == nil) == (out == nil) else {
            throw UsageError(AuditErrorCode.sbomNeedsOut, format == nil ? "--out: give --sbom cyclonedx|spdx too" : "--sbom: give --out FILE too")
        }
        let threshold = try failOn.map { name in
            guard !vulns.isEmpty else { throw UsageError(AuditErrorCode.badFailOn, "--fail-on: give --vulns OSV-EXPORT too") }
            guard let level = OSVSeverity(parsing: name) else {
                throw UsageError(AuditErrorCode.badFailOn, "--fail-on '\(name)': use low, medium, high or critical")
            }
            return level
        }
        for path in vulns where !FileSystem.exists(path) {
            throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such OSV export (a zip such as all.zip, a directory of .json files, or a .json file)")
        }
        let inventory = try read(subject, allowExpired: allowExpired)
        let old = try against.map { try read($0, allowExpired: true) }
        let diff = old.map { AuditDiff(from: $0, to: inventory) }
        // Only the advisories that may name one of the audited packages are decoded.
        let vulnerabilities = try vulns.isEmpty ? nil : {
            let loaded = try OSVExport.load(vulns, naming: VulnerabilityMatcher.names(inventory))
            return VulnerabilityReport(
                sources: vulns, advisories: loaded.documents,
                findings: VulnerabilityMatcher.findings(inventory, index: OSVIndex(loaded.advisories))
            )
        }()
        try report(inventory: inventory, old: old, diff: diff, format: format, vulnerabilities: vulnerabilities)
        if let vulnerabilities, !output.json, html == nil, format == nil {
            print("")
            for line in AuditTable.lines(vulnerabilities) { print(line) }
        }
        guard let threshold, let vulnerabilities else { return }
        let failing = VulnerabilityMatcher.failing(vulnerabilities.findings, threshold: threshold)
        guard failing.isEmpty else {
            throw CheckFailure(
                AuditErrorCode.vulnerable,
                "\(failing.count) advisory match(es) at \(threshold) or above: " + Set(failing.map { "\($0.advisory) (\($0.name) \($0.version))" }).sorted().joined(separator: ", ")
            )
        }
    }

    private func report(
        inventory: AuditInventory, old: AuditInventory?, diff: AuditDiff?, format: SBOMFormat?, vulnerabilities: VulnerabilityReport?
    ) throws {
        if let html {
            let bytes = AuditHTML.page(inventory, diff: diff, against: old, vulnerabilities: vulnerabilities, tool: "airlock \(AirlockVersion.current)")
            try FileSystem.writeAtomically(html, bytes)
            if output.json { return try output.emit(["path": html, "sha256": SHA256Hasher.hash(bytes).hex]) }
            print(html)
            return
        }
        if let format, let out {
            let bytes = try SBOM.document(inventory, format: format, tool: "airlock \(AirlockVersion.current)")
            try FileSystem.writeAtomically(out, bytes)
            if output.json { return try output.emit(["path": out, "format": format.rawValue, "sha256": SHA256Hasher.hash(bytes).hex]) }
            print(out)
            printError("\(format == .cyclonedx ? "CycloneDX 1.6" : "SPDX 2.3"): \(inventory.artifacts.count) artifact(s), \(inventory.packages.count) package(s)")
            return
        }
        if output.json {
            struct Report: Encodable {
                var inventory: AuditInventory
                var diff: AuditDiff?
                var vulnerabilities: VulnerabilityReport?
                enum CodingKeys: String, CodingKey { case subject, artifacts, packages, images, notes, diff, vulnerabilities }
                func encode(to encoder: any Encoder) throws {
                    var c = encoder.container(keyedBy: CodingKeys.self)
                    try c.encode(inventory.subject, forKey: .subject)
                    try c.encode(inventory.artifacts, forKey: .artifacts)
                    try c.encode(inventory.packages, forKey: .packages)
                    try c.encode(inventory.images, forKey: .images)
                    try c.encode(inventory.notes, forKey: .notes)
                    try c.encodeIfPresent(diff, forKey: .diff)
                    try c.encodeIfPresent(vulnerabilities, forKey: .vulnerabilities)
                }
            }
            return try output.emit(Report(inventory: inventory, diff: diff, vulnerabilities: vulnerabilities))
        }
        for line in AuditTable.lines(inventory) { print(line) }
        if let diff, let old {
            print("")
            for line in AuditTable.lines(diff, against: old) { print(line) }
        }
        for note in inventory.notes { printError("note: \(note)") }
    }

    /// A store directory, or a bundle verified against --trust or the store's trust policy.
    private func read(_ path: String?, allowExpired: Bool) throws -> AuditInventory {
        guard let path else { return try AuditReader.store(try storeOptions.openExisting()) }
        if FileSystem.kind(of: path) == .directory {
            guard FileSystem.kind(of: path + "/index.sqlite") == .regular else {
                throw UsageError(AuditErrorCode.notAuditable, "\(path): a directory that is not an Airlock store (no index.sqlite)")
            }
            return try AuditReader.store(try Store.openExisting(at: path))
        }
        let paths = try Volumes.resolve(path)
        let policy = try trustOptions.policy(storeOptions)
        // A delta's left-out blobs are read from the store, when there is one that holds them.
        return try AuditReader.bundle(
            paths, shownAs: path, policy: policy, allowExpired: allowExpired, store: try? storeOptions.openExisting(),
            progress: ProgressReporter(label: "audit", quiet: output.json)
        )
    }
}
