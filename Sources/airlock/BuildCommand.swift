import AirlockCore
import AirlockPython
import ArgumentParser
import Foundation

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a Function App's deployment zip from its lock and the store, offline and reproducibly."
    )

    @Option(help: "The app directory (default: the current directory).") var project = "."
    @Option(help: "Where the zip and provenance.json go (default: PROJECT/dist).") var out: String?
    @Option(help: "Also unpack the deployment tree into this directory.") var tree: String?
    @Flag(help: "Print the app files that would go into the zip (and, on stderr, what is left out and why).")
    var listFiles = false
    @Flag(help: "Build even when the action cache has this exact build.") var noCache = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        if listFiles {
            let list = try PythonBuild.listFiles(project: project, outDirectory: out)
            if output.json {
                return try output.emit(list.included.map { ["path": $0.path, "mode": $0.isExecutable ? "0755" : "0644"] })
            }
            for file in list.included { print(file.path) }
            for excluded in list.excluded { printError("left out: \(excluded.path)\(excluded.isDirectory ? "/" : "") (\(excluded.reason))") }
            return
        }
        let store = try storeOptions.open()
        let options = PythonBuildOptions(
            project: project, outDirectory: out, tree: tree, sourceDateEpoch: try sourceDateEpoch(), toolVersion: AirlockVersion.current,
            useCache: !noCache, jobs: ProcessInfo.processInfo.activeProcessorCount
        )
        let result = try await PythonBuild.build(options, store: store, progress: ProgressReporter(label: "build", quiet: output.json))
        if output.json { return try output.emit(result) }
        print(result.zip)
        printError(
            "built \(result.name).zip for \(result.target.description): \(result.wheels) wheel(s), \(result.files) files, \(result.elfObjects) ELF object(s) audited, \(ByteCount.format(result.size)), sha256:\(result.sha256)\(result.cacheHit ? " (cached)" : "")"
        )
    }
}
