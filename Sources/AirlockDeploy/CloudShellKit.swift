// A Cloud Shell deploy kit: the zip, `ZIP.sha256`, `deploy.sh` and `README.txt` in one directory,
// for an operator to upload to Azure Cloud Shell inside the enclave and run with `bash deploy.sh`.
// This file owns what goes into a kit and how it is written; the script's text is in
// CloudShellKit+Script.swift. Every value that reaches the script is checked (`AzureName`) when the
// configuration is made, and single-quoted (`ShellQuote`) when the script is written.

public import AirlockCore

/// One deploy kit: what it deploys, where, and the zip's name and digest.
public struct CloudShellKit: Sendable {
    /// The hosting plan, which decides the app settings and how config-zip runs.
    public enum Plan: String, CaseIterable, Sendable {
        /// Read from `az functionapp show` when the script runs.
        case auto
        /// Elastic Premium: settings for a prebuilt zip, WEBSITE_RUN_FROM_PACKAGE=1.
        case premium
        /// An App Service (Dedicated) plan: as Premium.
        case dedicated
        /// Linux Consumption: no WEBSITE_RUN_FROM_PACKAGE=1 (az uploads the package and sets the URL).
        case consumption
        /// Flex Consumption: no app settings at all, and no slots.
        case flex

        /// Parses `--plan`, case-insensitively.
        public init(parsing text: String) throws {
            guard let plan = Plan(rawValue: text.lowercased()) else {
                throw UsageError(
                    DeployErrorCode.badPlan,
                    "--plan \(text.debugDescription): use one of \(Plan.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            self = plan
        }
    }

    /// The Functions worker the zip is for, which decides the app settings besides the plan's.
    public enum WorkerRuntime: String, CaseIterable, Sendable {
        /// A Python v2-model app: AzureWebJobsFeatureFlags gets EnableWorkerIndexing.
        case python
        /// A custom handler (a Go executable named by host.json): FUNCTIONS_WORKER_RUNTIME=custom, and
        /// nothing Python needs.
        case custom

        /// The runtime of an artifact kind Airlock builds (nil for one it does not know).
        public init?(artifactKind: String) {
            switch artifactKind {
            case "python-function-app": self = .python
            case "go-custom-handler": self = .custom
            default: return nil
            }
        }
    }

    /// What to deploy to, checked when made: every value is one Azure would accept.
    public struct Configuration: Sendable, Equatable {
        public let resourceGroup: String
        public let app: String
        public let subscription: String?
        public let slot: String?
        public let plan: Plan
        /// The functions that must be listed after the deploy, in the order given, without duplicates.
        public let expectedFunctions: [String]
        /// How long the script waits for them, unless AIRLOCK_WAIT_SECONDS says otherwise.
        public let waitMinutes: Int
        public let runtime: WorkerRuntime

        /// The longest `--wait` accepted: a day.
        public static let maximumWaitMinutes = 24 * 60

        /// Checks every value; throws `UsageError` naming the first bad one.
        public init(
            resourceGroup: String,
            app: String,
            subscription: String? = nil,
            slot: String? = nil,
            plan: Plan = .auto,
            expectedFunctions: [String],
            waitMinutes: Int = 10,
            runtime: WorkerRuntime = .python
        ) throws {
            try AzureName.checkResourceGroup(resourceGroup)
            try AzureName.checkApp(app)
            if let subscription { try AzureName.checkSubscription(subscription) }
            if let slot {
                try AzureName.checkSlot(slot)
                if plan == .flex {
                    throw UsageError(
                        DeployErrorCode.noSlots,
                        "--slot \(slot): Flex Consumption apps have no deployment slots"
                    )
                }
            }
            var seen = Set<String>()
            var functions: [String] = []
            for name in expectedFunctions {
                try AzureName.checkFunction(name)
                // The host treats function names case-insensitively, and so does the script.
                if seen.insert(name.lowercased()).inserted { functions.append(name) }
            }
            guard !functions.isEmpty else {
                throw UsageError(
                    DeployErrorCode.noExpectedFunctions,
                    "--expect: name the functions the deploy must bring up (NAME,NAME,...); the script waits until all are listed (a build with its smoke test records them, but this artifact has no such provenance)"
                )
            }
            guard (0...Self.maximumWaitMinutes).contains(waitMinutes) else {
                throw UsageError(
                    DeployErrorCode.badWait,
                    "--wait \(waitMinutes): give minutes from 0 to \(Self.maximumWaitMinutes)"
                )
            }
            self.resourceGroup = resourceGroup
            self.app = app
            self.subscription = subscription
            self.slot = slot
            self.plan = plan
            self.expectedFunctions = functions
            self.waitMinutes = waitMinutes
            self.runtime = runtime
        }
    }

    /// The files of a kit, as named inside its directory.
    public static let scriptName = "deploy.sh"
    public static let readmeName = "README.txt"

    public let configuration: Configuration
    /// The zip's file name in the kit.
    public let zipName: String
    /// The SHA-256 of the zip in the kit.
    public let zipDigest: SHA256Digest

    /// Checks the zip's name (it lands in the script and in `ZIP.sha256`).
    public init(configuration: Configuration, zipName: String, zipDigest: SHA256Digest) throws {
        try AzureName.checkZipName(zipName)
        self.configuration = configuration
        self.zipName = zipName
        self.zipDigest = zipDigest
    }

    /// `ZIP.sha256`'s name.
    public var checksumName: String { zipName + ".sha256" }

    /// `ZIP.sha256`'s content, in `sha256sum` format: `<hex>  <zip name>` and a newline.
    public var checksumFile: String { "\(zipDigest.hex)  \(zipName)\n" }

    /// The paths of a kit written to disk.
    public struct Written: Sendable {
        public let kit: CloudShellKit
        public let directory: String
        public var zipPath: String { directory + "/" + kit.zipName }
        public var checksumPath: String { directory + "/" + kit.checksumName }
        public var scriptPath: String { directory + "/" + CloudShellKit.scriptName }
        public var readmePath: String { directory + "/" + CloudShellKit.readmeName }
        public var paths: [String] { [zipPath, checksumPath, scriptPath, readmePath] }
    }

    /// Writes a kit into `directory`: the zip copied from `source`, then `ZIP.sha256`, `README.txt`
    /// and last `deploy.sh` (mode 0755 less the umask), each through a temp file and a rename, so an
    /// interrupted run never leaves a script that points at a partial zip.
    ///
    /// `directory` is created if missing. An existing directory must be empty unless `replacing` is
    /// true; then the kit's four files are replaced and anything else in it is left alone.
    public static func write(
        _ configuration: Configuration,
        zip source: ZipSource,
        to directory: String,
        replacing: Bool = false
    ) throws -> Written {
        let zipName = try source.fileName
        try AzureName.checkZipName(zipName)
        try source.checkIsZip()
        try KitDirectory.prepare(directory, replacing: replacing)
        let digest = try source.copy(to: directory + "/" + zipName)
        let kit = try CloudShellKit(configuration: configuration, zipName: zipName, zipDigest: digest)
        let written = Written(kit: kit, directory: directory)
        try FileSystem.writeAtomically(written.checksumPath, Array(kit.checksumFile.utf8))
        try FileSystem.writeAtomically(written.readmePath, Array(kit.readme.utf8))
        try FileSystem.writeAtomically(written.scriptPath, Array(kit.deployScript.utf8), mode: 0o755)
        return written
    }
}
