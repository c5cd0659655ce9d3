import AirlockContainer
import AirlockCore
import AirlockGo
import AirlockPython
import ArgumentParser
import Foundation

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a Function App's deployment zip from its lock and the store, offline and reproducibly.",
        discussion: Example.discussion(
            """
            Needs PROJECT/airlock.lock and its files in the store (airlock fetch). On the connected \
            host, a missing default build image (airlock-python:3.11-bookworm for Python 3.11) is \
            bootstrapped first with mmdebstrap, when it is installed and the Debian mirror answers; \
            --no-bootstrap refuses instead, naming the command that makes it.

            A directory with a go.mod is a Go custom handler: built by the locked toolchain in the \
            sandbox (default image \(GoBuild.defaultImage), bootstrapped the same way) with \
            CGO_ENABLED=0 for --platform, checked to be a static ELF for it, started once to see it \
            listen on FUNCTIONS_CUSTOMHANDLER_PORT, and zipped with host.json and every \
            function.json, the handler at host.json's defaultExecutablePath with mode 0755.
            """,
            Example("Build app/dist/app.zip and smoke-test it in the target's image", "airlock build --project app"),
            Example("A Go handler for an Arm64 plan", "airlock build --project handler --platform linux/arm64")
        )
    )

    @Option(help: "The app directory (default: the current directory).") var project = "."
    @Option(help: "Where the zip and provenance.json go (default: PROJECT/dist).") var out: String?
    @Option(help: "Also unpack the deployment tree into this directory.") var tree: String?
    @Flag(help: "Print the app files that would go into the zip (and, on stderr, what is left out and why).")
    var listFiles = false
    @Flag(help: "Build even when the action cache has this exact build.") var noCache = false
    @Option(help: "The container runtime for the Python steps: auto, bwrap, docker or podman (default: auto).")
    var runtime: String?
    @Option(help: "The build image in the store, NAME[:TAG] or digest (default: the target's, e.g. airlock-python:3.11-bookworm).")
    var image: String?
    @Flag(inversion: .prefixedNo, help: "Write checked-hash .pyc files (compiled by the image's Python) into the zip (default: no).")
    var compileBytecode: Bool?
    @Option(
        help: ArgumentHelp(
            "An app setting the smoke test's environment gets, for apps that read settings while they load (repeatable; names go into provenance, values do not).",
            valueName: "name=value"
        )
    )
    var setting: [String] = []
    @Flag(help: "Build on the host alone: no Python version check and no smoke test (deploy kits then need --expect).")
    var noSandbox = false
    @Flag(help: "When the default build image is missing, refuse instead of bootstrapping it with mmdebstrap.")
    var noBootstrap = false
    @Option(help: "The Debian mirror to bootstrap the default build image from (default: \(ImageBootstrap.defaultMirror)).")
    var bootstrapMirror: String?
    @Option(help: "For a Go project: linux/amd64 or linux/arm64 (default: linux/amd64).") var platform: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        if GoLock.isGoProject(project) { return try await buildGo() }
        // airlock.toml's values sit under the flags.
        var defaults = try ProjectDefaults(project: project)
        if listFiles {
            let list = try PythonBuild.listFiles(project: project, outDirectory: out)
            if output.json {
                return try output.emit(list.included.map { ["path": $0.path, "mode": $0.isExecutable ? "0755" : "0644"] })
            }
            for file in list.included { print(file.path) }
            for excluded in list.excluded { printError("left out: \(excluded.path)\(excluded.isDirectory ? "/" : "") (\(excluded.reason))") }
            return
        }
        if noSandbox, image != nil {
            throw UsageError(
                PythonBuildErrorCode.needsSandbox,
                "--image: the image is used by the sandbox; drop --no-sandbox"
            )
        }
        let compileBytecode = defaults.bool(self.compileBytecode, .compileBytecode) ?? false
        if noSandbox, compileBytecode, let file = defaults.file, self.compileBytecode == nil {
            throw UsageError(
                PythonBuildErrorCode.needsSandbox,
                "--no-sandbox: \(file.path) sets compile-bytecode = true, and the .pyc files are written by the target's Python in the sandbox; add --no-compile-bytecode"
            )
        }
        // With --no-sandbox the file's image and runtime have nothing to choose.
        let image = noSandbox ? nil : defaults.string(self.image, .image)
        let runtime = defaults.string(self.runtime, .runtime) ?? RuntimeChoice.auto.rawValue
        let settings = try settings()
        _ = try defaults.blaming(.runtime) { try RuntimeChoice(parsing: runtime) }
        let store = try Store.open(at: defaults.storeRoot(storeOptions))
        var sandbox: SandboxRequest? = nil
        if !noSandbox {
            // The image first: a missing one is the error to show, before any runtime is tried.
            let bootstrap = DefaultImageBootstrap(
                isAllowed: !noBootstrap,
                mirror: defaults.string(bootstrapMirror, .bootstrapMirror),
                sourceDateEpoch: try sourceDateEpoch() ?? ImageBootstrap.defaultSourceDateEpoch,
                output: output.json ? .discard : SandboxOutput { _, line in printError("  | " + line) }
            )
            _ = try await PythonBuild.buildImage(
                project: project, image: image, store: store, bootstrap: bootstrap,
                progress: ProgressReporter(label: "build", quiet: output.json)
            )
            let selected = try await RuntimeSelection.select(runtime, store: store)
            for note in selected.notes { printError("airlock: note: " + note) }
            sandbox = SandboxRequest(
                runtime: selected.runtime, image: image,
                // The container's lines are diagnostics: standard error, so stdout stays the zip's path (or JSON).
                output: SandboxOutput { _, line in printError("  | " + line) },
                settings: settings
            )
        }
        let options = PythonBuildOptions(
            project: project, outDirectory: out, tree: tree, sourceDateEpoch: try sourceDateEpoch(), toolVersion: AirlockVersion.current,
            useCache: !noCache, jobs: ProcessInfo.processInfo.activeProcessorCount, sandbox: sandbox,
            compileBytecode: compileBytecode
        )
        let result = try await PythonBuild.build(options, store: store, progress: ProgressReporter(label: "build", quiet: output.json))
        if output.json { return try output.emit(result) }
        print(result.zip)
        printError(
            "built \(result.name).zip for \(result.target.description): \(result.wheels) wheel(s), \(result.files) files, \(result.elfObjects) ELF object(s) audited, \(ByteCount.format(result.size)), sha256:\(result.sha256)\(result.cacheHit ? " (cached)" : "")"
        )
        if let functions = result.functions, let image = result.image {
            let names = functions.map { $0.name + ($0.trigger.map { " (\($0))" } ?? "") }.joined(separator: ", ")
            printError("smoke test in \(image) (\(result.runtime ?? "?")): \(functions.count) function(s): \(names)")
        } else {
            printError("no smoke test (--no-sandbox): nothing proved the app loads; deploy kits need --expect")
        }
    }

    private func settings() throws -> [String: String] {
        var settings: [String: String] = [:]
        for pair in setting {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw UsageError(PythonBuildErrorCode.badSetting, "--setting \(pair): expected NAME=VALUE")
            }
            let name = String(pair[..<equals])
            guard name.utf8.allSatisfy({ $0 == 0x5F || $0 == 0x2E || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
            else {
                throw UsageError(
                    PythonBuildErrorCode.badSetting,
                    "--setting \(name): an app setting name is letters, digits, _ and ."
                )
            }
            settings[name] = String(pair[pair.index(after: equals)...])
        }
        return settings
    }
}
