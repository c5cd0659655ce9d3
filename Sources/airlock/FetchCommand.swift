import AirlockCore
import AirlockGo
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
            https_proxy/HTTPS_PROXY, http_proxy/HTTP_PROXY, all_proxy/ALL_PROXY and no_proxy/NO_PROXY \
            (tunnelled with CONNECT). HTTPS is always verified against the system CA bundle, plus the \
            bundle your pip configuration or PIP_CERT, REQUESTS_CA_BUNDLE, SSL_CERT_FILE or CURL_CA_BUNDLE \
            names when it holds certificates the system lacks.

            For a Go project (a go.mod beside the lock), every locked module version comes through \
            the GOPROXY protocol from $GOPROXY's proxies (`,` tries the next on 404/410, `|` on any \
            failure; direct and off are not taken: there is no version control here), with .netrc \
            credentials; its go.mod and zip must hash (h1:) to go.sum's, and its zip must keep the \
            go command's rules, or nothing of it is stored.
            """ + "\n\n" + examples
    )

    @Option(help: "The app directory holding airlock.lock (default: the current directory).") var project = "."
    @Option(help: "Downloads at once (default: \(Fetcher.defaultJobs)).") var jobs: Int?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard jobs.map({ $0 >= 1 }) ?? true else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        // airlock.toml's jobs and store sit under the flags.
        var defaults = try ProjectDefaults(project: project)
        let jobs = defaults.integer(self.jobs, .jobs) ?? Fetcher.defaultJobs
        if GoLock.isGoProject(project) {
            let (lock, _) = try GoLock.read(project: project)
            try lock.checkCurrent(project: project)
            let store = try Store.open(at: defaults.storeRoot(storeOptions))
            let report = try await GoModuleFetcher.fetch(
                GoModuleFetcher.Options(
                    lock: lock, projectName: PythonBuild.projectName(project),
                    environment: ProcessInfo.processInfo.environment, jobs: jobs,
                    userAgent: "airlock/\(AirlockVersion.current)",
                    // The go command's own variable for another CA bundle.
                    caFile: Environment.get("SSL_CERT_FILE")
                ),
                store: store,
                progress: ProgressReporter(label: "fetch", quiet: output.json)
            )
            if output.json { try output.emit(report.modules) }
            if let error = report.error { throw error }
            return
        }
        let (lock, _) = try PythonLock.read(project: project)
        let store = try Store.open(at: defaults.storeRoot(storeOptions))
        let plan = await Fetcher.plan(lock: lock, store: store)
        if !output.json { for note in plan.notes { printError("airlock: note: \(note)") } }
        let report = try await Fetcher.fetch(
            lock: lock,
            projectName: PythonBuild.projectName(project),
            store: store,
            jobs: jobs,
            userAgent: "airlock/\(AirlockVersion.current)",
            progress: ProgressReporter(label: "fetch", quiet: output.json),
            plan: plan
        )
        if output.json { try output.emit(report.files) }
        if let error = report.error { throw error }
    }
}
