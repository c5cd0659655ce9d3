import AirlockContainer
import AirlockCore
import AirlockGo
import AirlockPython
import ArgumentParser
import Foundation

extension ImageCommand {
    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a Function App's container image: a base image from the store plus one deterministic app layer, no daemon.",
            discussion: Example.discussion(
                """
                Starts from the app's current `airlock build` (run it first). As the Core Tools \
                Dockerfiles do: the app goes to /home/site/wwwroot (a Go handler's zip whole), a Python app's locked wheels into the base \
                image's own site-packages (asked of the base's python3 in the sandbox), and the config's \
                Env gains AzureWebJobsScriptRoot and AzureFunctionsJobHost__Logging__Console__IsEnabled; \
                every other config field, the entrypoint and the history of the base are kept. A base \
                with /FuncExtensionBundles must have a bundle in host.json's extensionBundle range. The \
                smoke test then runs in the built image. The same inputs give the same image digest.
                """,
                Example(
                    "On the Functions base, imported with airlock image import",
                    "airlock image build --project app \\\n    --base functions-python:3.11 --name app:1"
                ),
                Example("Docker v2 media types instead of OCI", "airlock image build --project app \\\n    --base functions-python:3.11 --name app:1 --format docker")
            )
        )

        @Option(help: "The app directory (default: the current directory).") var project = "."
        @Option(help: "Where its build's zip and provenance.json are (default: PROJECT/dist).") var out: String?
        @Option(help: "The base image in the store, NAME[:TAG] or digest.") var base: String
        @Option(help: "NAME[:TAG] for the built image (TAG defaults to latest).") var name: String
        @Option(help: "oci or docker media types (default: oci).") var format: String = "oci"
        @Option(help: "The container runtime for the base's Python and the smoke test: auto, bwrap, docker or podman (default: auto).")
        var runtime: String?
        @Option(
            help: ArgumentHelp("An app setting the smoke test's environment gets (repeatable).", valueName: "name=value")
        )
        var setting: [String] = []
        @Flag(help: "Build even when the action cache has this exact image.") var noCache = false
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard let imageName = ImageName(parsing: name) else {
                throw UsageError(ImageErrorCode.badName, "--name \(name): not NAME[:TAG] (lowercase name, tag of [A-Za-z0-9_.-])")
            }
            let format = try ImageFormat(parsing: format)
            var settings: [String: String] = [:]
            for pair in setting {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw UsageError(PythonBuildErrorCode.badSetting, "--setting \(pair): expected NAME=VALUE")
                }
                settings[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            var defaults = try ProjectDefaults(project: project)
            let store = try Store.open(at: defaults.storeRoot(storeOptions))
            // The base first: a missing one is the error to show, before any runtime is tried.
            _ = try ImageCatalog.resolve(base, in: store)
            let selected = try await RuntimeSelection.select(defaults.string(runtime, .runtime) ?? RuntimeChoice.auto.rawValue, store: store)
            for note in selected.notes { printError("airlock: note: " + note) }
            let progress = ProgressReporter(label: "image", quiet: output.json)
            let options = AppImageBuildOptions(
                project: project, outDirectory: out, base: base, name: imageName, format: format, runtime: selected.runtime,
                output: output.json ? .discard : SandboxOutput { _, line in printError("  | " + line) },
                sourceDateEpoch: try sourceDateEpoch(), useCache: !noCache, toolVersion: AirlockVersion.current
            )
            let result: ImageBuildResult
            if GoLock.isGoProject(project) {
                if !setting.isEmpty { throw UsageError(ImageErrorCode.badOption, "--setting: a Go handler's smoke test takes no app settings") }
                result = try await GoImageBuild.build(options, store: store, progress: progress)
            } else {
                result = try await PythonImageBuild.build(options, settings: settings, store: store, progress: progress)
            }
            try report(result, runtime: selected.runtime.name)
        }

        private func report(_ result: ImageBuildResult, runtime: String) throws {
            if output.json { return try output.emit(result) }
            print("\(result.manifest)  \(result.image)")
            let names = result.functions.map { $0.name }.joined(separator: ", ")
            printError(
                "built \(result.image) on \(result.base): app layer \(ByteCount.format(result.layer.size)), image \(ByteCount.format(result.size)), \(result.format.rawValue) media types\(result.cacheHit ? " (cached)" : "")"
            )
            if let bundle = result.extensionBundle { printError("extension bundle \(bundle) from the base satisfies host.json") }
            printError("smoke test in \(result.image) (\(runtime)): \(result.functions.count) function(s): \(names)")
        }
    }
}
