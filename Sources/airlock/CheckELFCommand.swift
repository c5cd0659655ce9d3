import AirlockCore
import AirlockGo
import ArgumentParser

/// `airlock check-elf`: the check a Go handler gets before it is packaged, for any binary.
struct CheckELFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-elf",
        abstract:
            "Check that executables will start on the Functions host: the target's machine, nothing dynamic (exit 1 on a finding).",
        discussion: Example.discussion(
            Example("A handler built by hand", "airlock check-elf handler"),
            Example("For an arm64 plan, as JSON", "airlock check-elf handler --target linux/arm64 --json")
        )
    )
    @Argument(help: "The executables to check.") var files: [String]
    @Option(help: "linux/amd64 (default) or linux/arm64.") var target = "linux/amd64"
    @OptionGroup var output: OutputOptions

    func run() throws {
        guard !files.isEmpty else { throw UsageError(CoreErrorCode.usage, "check-elf: name at least one file") }
        let platform = try GoPlatform(parsing: target)
        let reports = try files.map { try HandlerELFCheck.check($0, target: platform) }
        let bad = reports.filter { !$0.isOK }
        if output.json {
            // The reports are the answer, findings and all; the status says whether any has one.
            try output.emit(reports)
            if !bad.isEmpty { throw ExitCode(ExitStatus.checkFailed.rawValue) }
            return
        }
        for report in reports {
            print("\(report.path): \(report.summary)" + (report.isOK ? ": ok for \(platform)" : ""))
            for finding in report.findings { print("  \(finding)") }
        }
        if !bad.isEmpty {
            throw CheckFailure(
                GoModuleErrorCode.badHandler,
                bad.map { "\($0.path): \($0.findings.joined(separator: "; "))" }
            )
        }
    }
}
