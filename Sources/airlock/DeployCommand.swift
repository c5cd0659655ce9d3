import AirlockCore
import AirlockDeploy
import ArgumentParser

struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Write what an operator runs inside the enclave to put a built artifact live.",
        discussion: Example.discussion(
            Example("A Cloud Shell kit for the app built into the store", "airlock deploy cloudshell --artifact app --resource-group rg-app \\\n    --app func-app --out kit/")
        ),
        subcommands: [CloudShell.self, FunctionAppContainer.self, WebAppContainer.self, Kubernetes.self]
    )

    struct CloudShell: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cloudshell",
            abstract: "Write a kit for Azure Cloud Shell: the zip, ZIP.sha256, deploy.sh and README.txt.",
            discussion: Example.discussion(
                """
                    deploy.sh checks the zip's hash, runs az account set (with --subscription), sets the app \
                    settings the plan needs, deploys with az functionapp deployment source config-zip \
                    --build-remote false, and polls az functionapp function list until every --expect function \
                    is listed (exit 1, naming the missing ones, when --wait runs out). Without --expect it waits \
                    for the functions the build's smoke test listed (from the artifact's provenance). An \
                    existing --out must be empty unless --force.
                    """,
                Example("A kit for the app built into the store", "airlock deploy cloudshell --artifact app --resource-group rg-app \\\n    --app func-app --out kit/"),
                Example("For a Premium plan, waiting for two functions", "airlock deploy cloudshell --artifact app.zip --resource-group rg-app \\\n    --app func-app --plan premium --expect hello,bye --out kit/")
            )
        )

        @Option(help: "The zip: a .zip file, or an artifact in the store (name, file name or digest).")
        var artifact: String
        @Option(name: .customLong("resource-group"), help: "The function app's resource group.")
        var resourceGroup: String
        @Option(help: "The function app's name.")
        var app: String
        @Option(help: "The subscription (id or name) to select with az account set.")
        var subscription: String?
        @Option(help: "A deployment slot (not on Flex Consumption).")
        var slot: String?
        @Option(help: "auto (ask az when the script runs), premium, dedicated, consumption or flex.")
        var plan = "auto"
        @Option(
            help: ArgumentHelp(
                "Functions that must be listed after the deploy (NAME,NAME,...; repeatable; default: the build's smoke test list).",
                valueName: "names"
            )
        )
        var expect: [String] = []
        @Option(
            help: ArgumentHelp(
                "Minutes the script waits for the functions (AIRLOCK_WAIT_SECONDS overrides at run time).",
                valueName: "minutes"
            )
        )
        var wait = 10
        @Option(help: "The zip's worker: python or custom (a Go handler) (default: the build's, from its provenance; else python).")
        var runtime: String?
        @Option(help: "The directory to write the kit into (created if missing).")
        var out: String
        @Flag(help: "Write into a non-empty --out, replacing the kit's files there.")
        var force = false
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let source = try ZipSource.resolve(artifact, storeRoot: storeOptions.root)
            var expected = expect.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { String($0).trimmingSpaces }
            if expect.isEmpty, let built = try source.builtFunctions() {
                expected = built.names
                if !output.json { printError("deploy cloudshell: expecting \(built.names.joined(separator: ", ")) (the smoke test's list, from \(built.from))") }
            }
            var worker = try source.workerRuntime() ?? .python
            if let runtime {
                guard let given = CloudShellKit.WorkerRuntime(rawValue: runtime) else {
                    throw UsageError(CoreErrorCode.usage, "--runtime \(runtime.debugDescription): use python or custom")
                }
                worker = given
            }
            let configuration = try CloudShellKit.Configuration(
                resourceGroup: resourceGroup,
                app: app,
                subscription: subscription,
                slot: slot,
                plan: try CloudShellKit.Plan(parsing: plan),
                expectedFunctions: expected,
                waitMinutes: wait,
                runtime: worker
            )
            let written = try CloudShellKit.write(configuration, zip: source, to: out, replacing: force)
            let kit = written.kit
            if output.json {
                return try output.emit(
                    DeployKitReport(
                        directory: written.directory,
                        files: written.paths,
                        zip: kit.zipName,
                        sha256: kit.zipDigest.hex,
                        plan: kit.configuration.plan.rawValue,
                        runtime: kit.configuration.runtime.rawValue,
                        expectedFunctions: kit.configuration.expectedFunctions
                    )
                )
            }
            for path in written.paths { print(path) }
            printError(
                "deploy cloudshell: kit for \(app) in \(written.directory) (\(kit.zipName), sha256 \(kit.zipDigest.hex.prefix(16))..., plan \(kit.configuration.plan.rawValue), waits for \(kit.configuration.expectedFunctions.count) function(s)); in Cloud Shell run: bash deploy.sh"
            )
        }
    }
}

/// What `deploy cloudshell --json` prints.
private struct DeployKitReport: Encodable {
    var directory: String
    var files: [String]
    var zip: String
    var sha256: String
    var plan: String
    var runtime: String
    var expectedFunctions: [String]
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
