import AirlockCore
import AirlockPython
import ArgumentParser
import Foundation

struct FetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download every file in the lock into the store, verified by sha256; resume interrupted downloads.",
        discussion: """
            Files the store has are skipped without a request. A file whose size or sha256 does not match \
            the lock, that the server refuses (HTTP 4xx/5xx), or that redirects to another scheme is named \
            and not stored; the others still complete, and the exit status is 1. Proxies come from \
            https_proxy/HTTPS_PROXY, http_proxy and no_proxy/NO_PROXY; HTTPS is verified against the system \
            CA bundle.
            """
    )

    @Option(help: "The app directory holding airlock.lock (default: the current directory).") var project = "."
    @Option(help: "Downloads at once.") var jobs = Fetcher.defaultJobs
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        let (lock, _) = try PythonLock.read(project: project)
        let store = try storeOptions.open()
        for warning in Fetcher.trustWarnings(lock: lock, store: store) { printError("airlock: warning: \(warning)") }
        let report = try await Fetcher.fetch(
            lock: lock,
            projectName: PythonBuild.projectName(project),
            store: store,
            jobs: jobs,
            userAgent: "airlock/\(AirlockVersion.current)",
            progress: ProgressReporter(label: "fetch", quiet: output.json)
        )
        if output.json { try output.emit(report.files) }
        guard report.failures.isEmpty else { throw CheckFailure(report.failureLines) }
    }
}
