import AirlockCore
import AirlockDeploy
import ArgumentParser

/// The options `deploy functionapp-container` and `deploy webapp-container` share.
struct ContainerKitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The image in the store (it is set by digest).", valueName: "name[:tag]"))
    var image: String
    @Option(help: ArgumentHelp("The Azure Container Registry the app pulls from; the repository is the image's name.", valueName: "login-server"))
    var registry: String
    @Option(name: .customLong("resource-group"), help: "The app's resource group.")
    var resourceGroup: String
    @Option(help: "The app's name.")
    var app: String
    @Option(help: "The subscription (id or name) to select with az account set.")
    var subscription: String?
    @Option(help: ArgumentHelp("The managed identity that pulls the image: system, or a user-assigned identity's resource id.", valueName: "system|resource-id"))
    var identity = "system"
    @Option(name: .customLong("key-vault"), help: "The Key Vault the --secret-setting secrets are in.")
    var keyVault: String?
    @Option(
        name: .customLong("secret-setting"),
        help: ArgumentHelp("An app setting that references a Key Vault secret (repeatable).", valueName: "setting=secret-name")
    )
    var secretSettings: [String] = []
    @Option(help: ArgumentHelp("Minutes the script waits (AIRLOCK_WAIT_SECONDS overrides at run time).", valueName: "minutes"))
    var wait = 10
    @Option(help: "The directory to write the kit into (created if missing).")
    var out: String
    @Flag(help: "Write into a non-empty --out, replacing the kit's files there.")
    var force = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    /// Writes the kit for `target`; `expect` and `plan`, `healthPath` and `cdWebhook` are the
    /// options only one kind of app has.
    func write(
        _ target: ContainerKit.Target, expect: [String] = [], plan: String = "auto", healthPath: String = "/", cdWebhook: Bool = false
    ) throws {
        let store = try storeOptions.openExisting()
        let (image, app) = try ContainerKit.image(self.image, registry: registry, in: store)
        let defaults = ContainerKit.defaults(from: app)
        let given = expect.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { String($0).trimmingSpaces }
        let configuration = try ContainerKit.Configuration(
            target: target, resourceGroup: resourceGroup, app: self.app, subscription: subscription,
            plan: try ContainerKit.Plan(parsing: plan), identity: try ContainerKit.Identity(parsing: identity), image: image,
            runtime: defaults.runtime, keyVault: keyVault, secretSettings: try secretSettings.map(ContainerKit.SecretSetting.init(parsing:)),
            expectedFunctions: given.isEmpty ? defaults.functions : given, healthPath: healthPath, cdWebhook: cdWebhook, waitMinutes: wait
        )
        let written = try ContainerKit.write(configuration, to: out, replacing: force)
        let c = written.kit.configuration
        if output.json {
            return try output.emit(
                ContainerKitReport(
                    directory: written.directory, files: written.paths, image: c.image.byDigest, plan: target == .functionApp ? c.plan.rawValue : nil,
                    runtime: c.runtime.rawValue, identity: identity, expectedFunctions: target == .functionApp ? c.expectedFunctions : nil,
                    healthPath: target == .webApp ? c.healthPath : nil, cdWebhook: c.cdWebhook
                )
            )
        }
        for path in written.paths { print(path) }
        let waits = target == .functionApp ? "waits for \(c.expectedFunctions.count) function(s)" : "waits for \(c.healthPath) to answer"
        printError("\(target.command): kit for \(c.app) in \(written.directory) (\(c.image.byDigest), \(waits)); push the image, then run: bash deploy.sh")
    }
}

/// What the container kits print with --json.
private struct ContainerKitReport: Encodable {
    var directory: String
    var files: [String]
    var image: String
    var plan: String?
    var runtime: String
    var identity: String
    var expectedFunctions: [String]?
    var healthPath: String?
    var cdWebhook: Bool
}

extension DeployCommand {
    struct FunctionAppContainer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "functionapp-container",
            abstract: "Write a kit that runs an image from the store on a Function App (Premium or Dedicated plan).",
            discussion: Example.discussion(
                """
                    deploy.sh checks the plan (containers need Premium or Dedicated) and that the registry has the \
                    image under its digest, turns on the managed identity (--identity) and gives it AcrPull on the \
                    registry, sets acrUseManagedIdentityCreds on the site (no registry password anywhere), sets \
                    WEBSITES_ENABLE_APP_SERVICE_STORAGE=false, FUNCTIONS_WORKER_RUNTIME and Key Vault references \
                    (--key-vault, --secret-setting), runs az functionapp config container set with the image by \
                    digest, and waits until the functions the image's smoke test listed are there.
                    """,
                Example(
                    "A kit for the image built and pushed as func-app:1",
                    "airlock deploy functionapp-container --image func-app:1 \\\n    --registry contoso.azurecr.io --resource-group rg-app --app func-app \\\n    --out kit/"
                ),
                Example(
                    "With a user-assigned identity (its resource id) and a Key Vault secret",
                    "airlock deploy functionapp-container --image func-app:1 \\\n    --registry contoso.azurecr.io --resource-group rg-app --app func-app \\\n    --identity $IDENTITY_ID \\\n    --key-vault kv-app --secret-setting AzureWebJobsStorage=storage-conn \\\n    --out kit/"
                )
            )
        )

        @OptionGroup var options: ContainerKitOptions
        @Option(help: "premium, dedicated or auto (ask az when the script runs); consumption and flex cannot run containers.")
        var plan = "auto"
        @Option(help: ArgumentHelp("Functions that must be listed (NAME,NAME,...; repeatable; default: the image's smoke test list).", valueName: "names"))
        var expect: [String] = []

        func run() throws { try options.write(.functionApp, expect: expect, plan: plan) }
    }

    struct WebAppContainer: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "webapp-container",
            abstract: "Write a kit that runs an image from the store on an App Service app.",
            discussion: Example.discussion(
                """
                    As functionapp-container, for App Service: az webapp config set --acr-use-identity, az webapp \
                    config container set with the image by digest, then waits until https://HOST/--health-path \
                    answers. With --cd-webhook the app follows the image's tag (checked to name the kit's digest) \
                    and an ACR webhook tells it when the tag is pushed again.
                    """,
                Example(
                    "A kit that waits for /api/health",
                    "airlock deploy webapp-container --image func-app:1 \\\n    --registry contoso.azurecr.io --resource-group rg-app --app web-app \\\n    --health-path /api/health --out kit/"
                )
            )
        )

        @OptionGroup var options: ContainerKitOptions
        @Option(name: .customLong("health-path"), help: "The path deploy.sh waits on until it answers 2xx or 3xx.")
        var healthPath = "/"
        @Flag(name: .customLong("cd-webhook"), help: "Register the ACR webhook for continuous deployment of the image's tag.")
        var cdWebhook = false

        func run() throws { try options.write(.webApp, healthPath: healthPath, cdWebhook: cdWebhook) }
    }
}
