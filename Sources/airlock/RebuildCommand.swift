import AirlockAudit
import AirlockBundle
import AirlockContainer
import AirlockCore
import ArgumentParser
import Foundation

struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild every built artifact of a bundle from what the bundle carries, offline, and compare it bit for bit.",
        discussion: Example.discussion(
            """
            The bundle is verified and unpacked into a scratch store (yours is not touched). Each \
            artifact whose provenance records its build inputs is built again from the bundle's \
            sources/, wheels, Go modules and toolchain, in the image it names (carried by seal by \
            default), network off, with the recorded SOURCE_DATE_EPOCH and options. --check exits \
            1 when any digest differs, naming the zip entries that differ (size, CRC-32, time, \
            mode, and a unified diff for text).
            """,
            Example("Check a bundle against your team's key", "airlock rebuild --check --trust keys/team.pub app.airlock"),
            Example("Keep what it rebuilt, to compare with other tools", "airlock rebuild app.airlock --out rebuilt/")
        )
    )

    @Argument(help: "The bundle (or any of its volumes).") var bundle: String
    @Flag(help: "Compare each rebuilt artifact with the bundle's; exit 1 on any difference.") var check = false
    @Option(help: "Copy the rebuilt artifacts into this directory, under their paths in the bundle.") var out: String?
    @Option(help: "The container runtime: auto, bwrap, docker or podman (default: auto).") var runtime = RuntimeChoice.auto.rawValue
    @Option(help: "Where the scratch store and projects go (default: $TMPDIR); it needs room for the bundle's contents.")
    var workDirectory: String?
    @OptionGroup var trustOptions: TrustOptions
    @Flag(help: "Accept an expired bundle.") var allowExpired = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        guard check || out != nil else {
            throw UsageError(AuditErrorCode.rebuildNeedsMode, "rebuild: give --check (compare with the bundle) or --out DIR (keep what it rebuilds)")
        }
        _ = try RuntimeChoice(parsing: runtime)
        _ = try Volumes.resolve(bundle)
        let policy = try trustOptions.policy(storeOptions)
        var options = RebuildOptions(
            policy: policy, allowExpired: allowExpired, runtime: runtime, workDirectory: workDirectory, keepDirectory: out,
            toolVersion: AirlockVersion.current, jobs: ProcessInfo.processInfo.activeProcessorCount,
            output: output.json ? .discard : SandboxOutput { _, line in printError("  | " + line) }
        )
        // A delta's base comes from the store it was imported into (read only), when there is one.
        options.baseStore = try? storeOptions.openExisting()
        let report = try await RebuildCheck.run(
            bundle,
            options: options,
            progress: ProgressReporter(label: "rebuild", quiet: output.json)
        )
        if output.json {
            try output.emit(report)
        } else {
            for line in RebuildTable.lines(report) { print(line) }
            for note in report.notes { printError("note: \(note)") }
        }
        guard check, !report.isReproduced else { return }
        let failed = report.artifacts.filter { $0.status != .reproduced }
        throw CheckFailure(
            AuditErrorCode.notReproduced,
            failed.isEmpty
                ? "\(bundle): nothing was rebuilt"
                : "\(bundle): \(failed.count) of \(report.artifacts.count) artifact(s) not reproduced: \(failed.map(\.path).joined(separator: ", "))"
        )
    }
}
