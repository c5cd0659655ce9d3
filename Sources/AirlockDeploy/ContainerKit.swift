// A deploy kit for an image: `deploy.sh` and `README.txt`, which point a Function App
// (`deploy functionapp-container`) or an App Service app (`deploy webapp-container`) at an image
// in the enclave's Azure Container Registry, by digest, pulled with the app's managed identity
// (AcrPull on the registry, no registry password anywhere), with Key Vault references for the
// secrets the operator names. This file owns what a kit is and the checks on every value; the
// script's text is in ContainerKit+Script.swift. As for the Cloud Shell kit, each value is checked
// (`AzureName`) when the configuration is made and single-quoted (`ShellQuote`) when written.

public import AirlockCore

/// One container deploy kit.
public struct ContainerKit: Sendable {
    /// Which kind of app the kit deploys to.
    public enum Target: String, Sendable {
        case functionApp = "functionapp"
        case webApp = "webapp"

        /// The kit's command, for messages and the README.
        public var command: String { self == .functionApp ? "deploy functionapp-container" : "deploy webapp-container" }
    }

    /// The plans a Function App can run a container on.
    public enum Plan: String, CaseIterable, Sendable {
        /// Read from `az functionapp show` when the script runs; Consumption or Flex stops it before
        /// anything is changed.
        case auto
        /// Elastic Premium.
        case premium
        /// An App Service (Dedicated) plan.
        case dedicated

        /// Parses `--plan`, case-insensitively; consumption and flex are known but refused, with why.
        public init(parsing text: String) throws {
            switch text.lowercased() {
            case "consumption", "flex":
                throw UsageError(
                    DeployErrorCode.containerPlan,
                    "--plan \(text.lowercased()): a Function App on \(text.lowercased() == "flex" ? "Flex Consumption" : "Linux Consumption") cannot run a container image; use a Premium or Dedicated (App Service) plan, or deploy the zip with airlock deploy cloudshell"
                )
            default:
                guard let plan = Plan(rawValue: text.lowercased()) else {
                    throw UsageError(
                        DeployErrorCode.badPlan,
                        "--plan \(text.debugDescription): use premium, dedicated or auto (consumption and flex cannot run containers)"
                    )
                }
                self = plan
            }
        }
    }

    /// The managed identity the app pulls the image (and reads Key Vault references) with.
    public enum Identity: Sendable, Equatable {
        /// The app's system-assigned identity (turned on by the script).
        case system
        /// A user-assigned identity, by resource id: assigned to the app, used for the pull
        /// (`acrUserManagedIdentityID`, its client id) and as `keyVaultReferenceIdentity`.
        case userAssigned(resourceID: String)

        /// Parses `--identity system|RESOURCE-ID`.
        public init(parsing text: String) throws {
            if text.lowercased() == "system" || text == "[system]" {
                self = .system
                return
            }
            try AzureName.checkIdentityResourceID(text)
            self = .userAssigned(resourceID: text)
        }

        /// What the script's IDENTITY holds: `system` or the resource id.
        var scriptValue: String {
            switch self {
            case .system: return "system"
            case .userAssigned(let id): return id
            }
        }
    }

    /// An app setting whose value is a Key Vault reference to a secret.
    public struct SecretSetting: Sendable, Equatable {
        public let name: String
        public let secret: String

        /// Parses `NAME=SECRET-NAME`.
        public init(parsing text: String) throws {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex, text.index(after: equals) != text.endIndex else {
                throw UsageError(
                    DeployErrorCode.badSecretSetting,
                    "--secret-setting \(text.debugDescription): give SETTING=SECRET-NAME (the app setting, then the secret's name in --key-vault)"
                )
            }
            name = String(text[..<equals])
            secret = String(text[text.index(after: equals)...])
            try AzureName.checkSettingName(name, option: "--secret-setting")
            try AzureName.checkSecretName(secret, option: "--secret-setting \(name)=")
        }
    }

    /// The image, where the app pulls it from.
    public struct Image: Sendable, Equatable {
        /// The registry's login server (`myreg.azurecr.io`) and the registry's name (`myreg`).
        public let registry: String
        public let registryName: String
        /// The repository (the image's name in the store, without any registry host) and its tag.
        public let repository: String
        public let tag: String
        public let digest: SHA256Digest

        /// `registry` is checked; `name` is an image name as the store keeps it.
        public init(registry: String, name: ImageName, digest: SHA256Digest) throws {
            registryName = try AzureName.checkRegistry(registry)
            self.registry = registry
            var parts = name.name.split(separator: "/").map(String.init)
            if parts.count > 1, let host = parts.first, host.contains(".") || host.contains(":") || host == "localhost" {
                parts.removeFirst()
            }
            repository = parts.joined(separator: "/")
            tag = name.tag
            self.digest = digest
        }

        /// `REGISTRY/REPOSITORY@sha256:...`: what the app is set to.
        public var byDigest: String { "\(registry)/\(repository)@\(digest)" }
        /// `REGISTRY/REPOSITORY:TAG`: what continuous deployment follows.
        public var byTag: String { "\(registry)/\(repository):\(tag)" }
    }

    /// What to deploy to, checked when made.
    public struct Configuration: Sendable, Equatable {
        public let target: Target
        public let resourceGroup: String
        public let app: String
        public let subscription: String?
        /// Function App only (a web app's plan always runs containers).
        public let plan: Plan
        public let identity: Identity
        public let image: Image
        public let runtime: CloudShellKit.WorkerRuntime
        public let keyVault: String?
        public let secretSettings: [SecretSetting]
        /// Function App: the functions that must be listed after the deploy.
        public let expectedFunctions: [String]
        /// Web app: the path deploy.sh waits on until the site answers.
        public let healthPath: String
        /// Web app: register the ACR webhook for continuous deployment (the app then follows the tag).
        public let cdWebhook: Bool
        public let waitMinutes: Int

        /// The settings the kit sets itself, which a --secret-setting may not name, and those it
        /// removes (a registry password has no place in a kit that pulls with an identity).
        public static let ownSettings = [
            "WEBSITES_ENABLE_APP_SERVICE_STORAGE", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION",
            "DOCKER_REGISTRY_SERVER_URL", "DOCKER_REGISTRY_SERVER_USERNAME", "DOCKER_REGISTRY_SERVER_PASSWORD",
        ]

        public init(
            target: Target, resourceGroup: String, app: String, subscription: String? = nil, plan: Plan = .auto,
            identity: Identity = .system, image: Image, runtime: CloudShellKit.WorkerRuntime = .python, keyVault: String? = nil,
            secretSettings: [SecretSetting] = [], expectedFunctions: [String] = [], healthPath: String = "/",
            cdWebhook: Bool = false, waitMinutes: Int = 10
        ) throws {
            try AzureName.checkResourceGroup(resourceGroup)
            try AzureName.checkApp(app)
            if let subscription { try AzureName.checkSubscription(subscription) }
            if let keyVault { try AzureName.checkKeyVault(keyVault) }
            switch (keyVault, secretSettings.isEmpty) {
            case (nil, false):
                throw UsageError(DeployErrorCode.badSecretSetting, "--secret-setting: name the vault the secrets are in with --key-vault")
            case (.some(let vault), true):
                throw UsageError(
                    DeployErrorCode.badSecretSetting,
                    "--key-vault \(vault): name the settings that reference its secrets with --secret-setting SETTING=SECRET-NAME"
                )
            default: break
            }
            var names = Set<String>()
            for setting in secretSettings {
                if Self.ownSettings.contains(setting.name.uppercased()) {
                    throw UsageError(
                        DeployErrorCode.badSecretSetting,
                        "--secret-setting \(setting.name): the kit sets \(setting.name) itself (or removes it); pick another setting"
                    )
                }
                // App settings are case-insensitive on App Service.
                guard names.insert(setting.name.uppercased()).inserted else {
                    throw UsageError(DeployErrorCode.badSecretSetting, "--secret-setting \(setting.name): given twice")
                }
            }
            var functions: [String] = []
            var seen = Set<String>()
            for name in expectedFunctions {
                try AzureName.checkFunction(name)
                if seen.insert(name.lowercased()).inserted { functions.append(name) }
            }
            if target == .functionApp && functions.isEmpty {
                throw UsageError(
                    DeployErrorCode.noExpectedFunctions,
                    "--expect: name the functions the deploy must bring up (NAME,NAME,...); an image airlock image build made records them, this one does not"
                )
            }
            try AzureName.checkHealthPath(healthPath)
            guard (0...CloudShellKit.Configuration.maximumWaitMinutes).contains(waitMinutes) else {
                throw UsageError(
                    DeployErrorCode.badWait, "--wait \(waitMinutes): give minutes from 0 to \(CloudShellKit.Configuration.maximumWaitMinutes)"
                )
            }
            self.target = target
            self.resourceGroup = resourceGroup
            self.app = app
            self.subscription = subscription
            self.plan = target == .functionApp ? plan : .auto
            self.identity = identity
            self.image = image
            self.runtime = runtime
            self.keyVault = keyVault
            self.secretSettings = secretSettings
            self.expectedFunctions = functions
            self.healthPath = healthPath
            self.cdWebhook = target == .webApp && cdWebhook
            self.waitMinutes = waitMinutes
        }

        /// The ACR webhook's name (5-50 letters and digits): `airlock` and the app's.
        public var webhookName: String {
            String(("airlock" + app.filter { $0 != "-" }).prefix(50))
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The paths of a kit written to disk.
    public struct Written: Sendable {
        public let kit: ContainerKit
        public let directory: String
        public var scriptPath: String { directory + "/" + CloudShellKit.scriptName }
        public var readmePath: String { directory + "/" + CloudShellKit.readmeName }
        public var paths: [String] { [scriptPath, readmePath] }
    }

    /// Writes `README.txt`, then `deploy.sh` (mode 0755 less the umask), each through a temp file
    /// and a rename, into `directory` (created if missing; an existing one must be empty unless
    /// `replacing`, as for the Cloud Shell kit).
    public static func write(_ configuration: Configuration, to directory: String, replacing: Bool = false) throws -> Written {
        try KitDirectory.prepare(directory, replacing: replacing)
        let kit = ContainerKit(configuration: configuration)
        let written = Written(kit: kit, directory: directory)
        try FileSystem.writeAtomically(written.readmePath, Array(kit.readme.utf8))
        try FileSystem.writeAtomically(written.scriptPath, Array(kit.deployScript.utf8), mode: 0o755)
        return written
    }

    /// The image `reference` names in the store, as the kit sets it: by digest from `registry`,
    /// with the app the image's build recorded (nil for an image no `airlock image build` made).
    public static func image(
        _ reference: String, registry: String, in store: Store
    ) throws -> (image: Image, app: ImageProvenance.App?) {
        let record: ImageRecord
        do { record = try ImageCatalog.resolve(reference, in: store) } catch let error as ImageError where error.status == .badInput {
            throw UsageError(DeployErrorCode.noSuchImage, "--image \(reference): \(error.description)")
        }
        let image = try Image(registry: registry, name: ImageName(name: record.name, tag: record.tag), digest: record.manifest)
        return (image, try ImageProvenance.app(of: record.manifest, in: store))
    }
}

extension ContainerKit {
    /// What a kit waits for and which worker it sets when the command line does not say: the
    /// functions and runtime the image's build recorded (none and python without a record).
    public static func defaults(from app: ImageProvenance.App?) -> (functions: [String], runtime: CloudShellKit.WorkerRuntime) {
        (app?.functions.map(\.name) ?? [], app.flatMap { CloudShellKit.WorkerRuntime(rawValue: $0.runtime) } ?? .python)
    }
}
