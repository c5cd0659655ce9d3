import AirlockCore
import AirlockDeploy
import ArgumentParser

extension DeployCommand {
    struct Kubernetes: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kubernetes",
            abstract: "Write a kit for a Kubernetes cluster with KEDA: manifests.yaml, deploy.sh and README.txt.",
            discussion: Example.discussion(
                """
                The image must be one airlock image build made: its functions (from the smoke test) decide \
                the objects. HTTP functions run on a fixed APP-http Deployment behind a ClusterIP Service; \
                every other function on an APP Deployment that a KEDA ScaledObject scales, one trigger per \
                function. The Deployments pin the image by digest (REGISTRY/NAME@sha256:...). App settings \
                come only from --settings (a local.settings.json) into a Secret. deploy.sh runs kubectl \
                apply and waits for each rollout. An existing --out must be empty unless --force.
                """,
                Example(
                    "A kit for an image in the store",
                    "airlock deploy kubernetes --image app:1 --name app \\\n    --registry registry.example:5000 --out kit/"
                ),
                Example(
                    "With settings, in a namespace, at least one replica",
                    "airlock deploy kubernetes --image app:1 --name app \\\n    --registry registry.example:5000 --namespace apps \\\n    --settings prod.settings.json --min-replicas 1 --out kit/"
                )
            )
        )

        @Option(help: ArgumentHelp("The image in the store, by NAME[:TAG] or digest.", valueName: "name[:tag]"))
        var image: String
        @Option(help: "The app's name: names its Deployments, Service, Secret and ScaledObject.")
        var name: String
        @Option(help: ArgumentHelp("The registry the cluster pulls from (its login server).", valueName: "host[:port]"))
        var registry: String
        @Option(help: "The namespace for every object (default: kubectl's current one).")
        var namespace: String?
        @Option(name: .customLong("pull-secret"), help: "An image pull secret in that namespace for the registry.")
        var pullSecret: String?
        @Option(name: .customLong("min-replicas"), help: "Replicas of the scaled Deployment when idle (default 0).")
        var minReplicas: Int?
        @Option(name: .customLong("max-replicas"), help: "At most this many replicas (default: KEDA's, 100).")
        var maxReplicas: Int?
        @Option(
            name: .customLong("polling-interval"),
            help: ArgumentHelp("How often KEDA checks the triggers (default: KEDA's, 30).", valueName: "seconds")
        )
        var pollingInterval: Int?
        @Option(
            name: .customLong("cooldown-period"),
            help: ArgumentHelp(
                "How long after the last activity KEDA scales back (default: KEDA's, 300).",
                valueName: "seconds"
            )
        )
        var cooldownPeriod: Int?
        @Option(help: ArgumentHelp("A local.settings.json whose Values become the app's Secret.", valueName: "file"))
        var settings: String?
        @Option(help: "The directory to write the kit into (created if missing).")
        var out: String
        @Flag(help: "Write into a non-empty --out, replacing the kit's files there.")
        var force = false
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let configuration = try KubernetesKit.Configuration(
                app: name,
                namespace: namespace,
                registry: registry,
                pullSecret: pullSecret,
                minReplicas: minReplicas,
                maxReplicas: maxReplicas,
                pollingInterval: pollingInterval,
                cooldownPeriod: cooldownPeriod
            )
            let store = try storeOptions.openExisting()
            let kit = try KubernetesKit.make(configuration, image: image, in: store, settingsPath: settings)
            let written = try kit.write(to: out, replacing: force)
            if output.json {
                return try output.emit(
                    KubernetesKitReport(
                        directory: written.directory,
                        files: written.paths,
                        image: kit.pinnedImage,
                        objects: kit.documents.map {
                            KubernetesKitReport.Object(
                                kind: $0["kind"]?.stringValue ?? "",
                                name: $0["metadata"]?["name"]?.stringValue ?? ""
                            )
                        },
                        deployments: kit.deployments,
                        needsKEDA: kit.needsKEDA,
                        notes: kit.notes
                    )
                )
            }
            for path in written.paths { print(path) }
            for note in kit.notes { printError("deploy kubernetes: note: \(note)") }
            printError(
                "deploy kubernetes: kit for \(name) in \(written.directory) (\(kit.documents.count) objects, image \(kit.pinnedImage))\(kit.needsKEDA ? "; the cluster needs KEDA 2.x" : ""); where kubectl reaches the cluster run: bash deploy.sh"
            )
        }
    }
}

/// What `deploy kubernetes --json` prints.
private struct KubernetesKitReport: Encodable {
    struct Object: Encodable {
        var kind: String
        var name: String
    }
    var directory: String
    var files: [String]
    var image: String
    var objects: [Object]
    var deployments: [String]
    var needsKEDA: Bool
    var notes: [String]
}
