// A Kubernetes deploy kit: `manifests.yaml`, `deploy.sh` and `README.txt` in one directory, for an
// operator inside the enclave to run with `bash deploy.sh` where kubectl reaches the cluster. What
// it deploys comes from the store: an image `airlock image build` made (pinned by its manifest
// digest) and the functions its smoke test recorded in the image's provenance, which decide the
// objects, as `func kubernetes deploy` lays them out (AZURE-FACTS.md section 7): HTTP functions on a
// fixed `APP-http` Deployment behind a ClusterIP Service, every other function on an `APP`
// Deployment that a KEDA ScaledObject scales (one trigger per function, KubernetesKit+Triggers.swift).
// Every value is checked when the kit is made (`KubernetesName`, `AppSettings`, the trigger map);
// the script's text is in KubernetesKit+Script.swift.

public import AirlockCore

/// One Kubernetes kit: what it deploys, and the objects it applies.
public struct KubernetesKit: Sendable {
    /// Where and how to deploy, checked when made.
    public struct Configuration: Sendable, Equatable {
        public let app: String
        public let namespace: String?
        /// The registry's login server, `HOST[:PORT]`, the cluster pulls the image from.
        public let registry: String
        public let pullSecret: String?
        /// The scaled Deployment's replicas when idle (KEDA's minReplicaCount), 0 by default.
        public let minReplicas: Int
        public let maxReplicas: Int?
        public let pollingInterval: Int?
        public let cooldownPeriod: Int?

        public static let replicaRange = 0...1000
        /// Polling interval and cooldown, in seconds: positive, at most a day.
        public static let periodRange = 1...86_400

        /// Checks every value; throws `UsageError` naming the first bad one.
        public init(
            app: String,
            namespace: String? = nil,
            registry: String,
            pullSecret: String? = nil,
            minReplicas: Int? = nil,
            maxReplicas: Int? = nil,
            pollingInterval: Int? = nil,
            cooldownPeriod: Int? = nil
        ) throws {
            try KubernetesName.checkApp(app)
            if let namespace { try KubernetesName.checkNamespace(namespace) }
            try KubernetesName.checkRegistry(registry)
            if let pullSecret { try KubernetesName.checkPullSecret(pullSecret) }
            let range = Self.replicaRange
            for (option, value) in [("--min-replicas", minReplicas), ("--max-replicas", maxReplicas)] {
                if let value, !range.contains(value) {
                    throw UsageError(
                        DeployErrorCode.badReplicas,
                        "\(option) \(value): give \(range.lowerBound) to \(range.upperBound)"
                    )
                }
            }
            if let minReplicas, let maxReplicas, minReplicas > maxReplicas {
                throw UsageError(
                    DeployErrorCode.badReplicas,
                    "--min-replicas \(minReplicas) is above --max-replicas \(maxReplicas)"
                )
            }
            if let maxReplicas, maxReplicas == 0 {
                throw UsageError(
                    DeployErrorCode.badReplicas,
                    "--max-replicas 0: the app could never run; give 1 to \(range.upperBound)"
                )
            }
            for (option, value) in [("--polling-interval", pollingInterval), ("--cooldown-period", cooldownPeriod)] {
                if let value, !Self.periodRange.contains(value) {
                    throw UsageError(
                        DeployErrorCode.badScalingPeriod,
                        "\(option) \(value): give a positive number of seconds, at most \(Self.periodRange.upperBound)"
                    )
                }
            }
            self.app = app
            self.namespace = namespace
            self.registry = registry
            self.pullSecret = pullSecret
            self.minReplicas = minReplicas ?? 0
            self.maxReplicas = maxReplicas
            self.pollingInterval = pollingInterval
            self.cooldownPeriod = cooldownPeriod
        }
    }

    /// The image as the store holds it: its repository name and tag, its manifest digest (which
    /// the Deployments pin) and its config's `User`.
    public struct Image: Sendable, Equatable {
        public let name: String
        public let tag: String
        public let manifest: SHA256Digest
        public let user: String?

        public init(name: String, tag: String, manifest: SHA256Digest, user: String?) {
            self.name = name
            self.tag = tag
            self.manifest = manifest
            self.user = user
        }

        /// The uid the image runs as, when its `User` is a non-zero number (`1000`, `1000:1000`).
        public var nonRootUID: Int? {
            guard let user, let uid = user.split(separator: ":", maxSplits: 1).first.flatMap({ Int($0) }), uid > 0,
                user.prefix(while: { $0 != ":" }).allSatisfy(\.isNumber)
            else { return nil }
            return uid
        }
    }

    public static let manifestsName = "manifests.yaml"
    public static let scriptName = "deploy.sh"
    public static let readmeName = "README.txt"
    /// How long deploy.sh waits for each Deployment's rollout, unless AIRLOCK_WAIT_SECONDS says otherwise.
    public static let defaultWaitSeconds = 300

    public let configuration: Configuration
    public let image: Image
    public let app: ImageProvenance.App
    public let settings: AppSettings?
    /// The objects in the order kubectl applies them: the Secret, TriggerAuthentications, the HTTP
    /// Service and Deployment, the scaled Deployment, its ScaledObject.
    public let documents: [ManifestValue]
    /// The Deployments' names, in order, for `kubectl rollout status`.
    public let deployments: [String]
    /// What the operator should know that the manifests alone do not say.
    public let notes: [String]

    /// Builds the objects; throws a `UsageError` for an app the kit cannot deploy as asked.
    public init(configuration: Configuration, image: Image, app: ImageProvenance.App, settings: AppSettings?) throws {
        guard ImageName.isValidName(image.name) else {
            throw UsageError(
                DeployErrorCode.badName,
                "image name \(image.name.debugDescription): not an OCI repository name"
            )
        }
        guard !app.functions.isEmpty else {
            throw UsageError(
                DeployErrorCode.noFunctions,
                "image \(image.name):\(image.tag): its app provenance lists no functions; nothing to deploy"
            )
        }
        self.configuration = configuration
        self.image = image
        self.app = app
        self.settings = settings

        let http = app.functions.filter { $0.trigger == "httpTrigger" }
        let scaled = app.functions.filter { $0.trigger != "httpTrigger" }
        let triggers = try scaled.map { try Self.scaleTrigger(for: $0, settings: settings) }
        let builder = Builder(configuration: configuration, image: image, app: app, settings: settings)

        var documents: [ManifestValue] = []
        var deployments: [String] = []
        if let secret = builder.secret() { documents.append(secret) }
        let (authentications, references) = builder.triggerAuthentications(for: triggers)
        documents += authentications
        if !http.isEmpty {
            let name = configuration.app + "-http"
            documents.append(builder.service(name))
            documents.append(builder.deployment(name, replicas: 1, functions: http, isHTTP: true))
            deployments.append(name)
        }
        if !scaled.isEmpty {
            let name = configuration.app
            documents.append(
                builder.deployment(name, replicas: configuration.minReplicas, functions: scaled, isHTTP: false)
            )
            documents.append(builder.scaledObject(name, triggers: triggers, authentications: references))
            deployments.append(name)
        }
        self.documents = documents
        self.deployments = deployments

        var notes: [String] = []
        if image.nonRootUID == nil {
            let user = image.user.map { $0.isEmpty ? "empty" : $0.debugDescription } ?? "not set"
            notes.append(
                "The image's User is \(user), not a non-zero numeric uid, so the pods do not set runAsNonRoot (Kubernetes could not verify it); they still drop all capabilities and run with a read-only root file system."
            )
        }
        self.notes = notes
    }

    /// Reads the image `reference` (NAME[:TAG] or digest) and its app provenance from `store`, and
    /// the settings from `settingsPath` when given, then builds the kit.
    public static func make(
        _ configuration: Configuration,
        image reference: String,
        in store: Store,
        settingsPath: String? = nil
    ) throws -> KubernetesKit {
        let record = try ImageCatalog.resolve(reference, in: store)
        guard let app = try ImageProvenance.app(of: record.manifest, in: store) else {
            throw UsageError(
                DeployErrorCode.noAppProvenance,
                "image \(record.reference) (\(record.manifest)): no app provenance, so it was not made by airlock image build and its functions are unknown; build the app with airlock image build"
            )
        }
        let configBytes = try ImageCatalog.readSmallBlob(record.config, in: store, what: "config")
        let config = try OCIJSON.decode(OCIImageConfig.self, from: configBytes, what: "config \(record.config)")
        let image = Image(name: record.name, tag: record.tag, manifest: record.manifest, user: config.user)
        let settings = try settingsPath.map { try AppSettings.read($0) }
        return try KubernetesKit(configuration: configuration, image: image, app: app, settings: settings)
    }

    /// The image as the Deployments name it: `REGISTRY/NAME@sha256:HEX`.
    public var pinnedImage: String { "\(configuration.registry)/\(image.name)@\(image.manifest)" }

    /// Whether the kit has a ScaledObject, and so needs KEDA in the cluster.
    public var needsKEDA: Bool { documents.contains { $0["kind"]?.stringValue == "ScaledObject" } }

    /// Whether the kit carries a Secret (then manifests.yaml holds the settings' values).
    public var hasSecret: Bool { documents.contains { $0["kind"]?.stringValue == "Secret" } }

    /// `manifests.yaml`: every document, `---` between them.
    public func manifestsYAML() throws -> String { try ManifestValue.yaml(documents) }

    /// The paths of a kit written to disk.
    public struct Written: Sendable {
        public let kit: KubernetesKit
        public let directory: String
        public var manifestsPath: String { directory + "/" + KubernetesKit.manifestsName }
        public var scriptPath: String { directory + "/" + KubernetesKit.scriptName }
        public var readmePath: String { directory + "/" + KubernetesKit.readmeName }
        public var paths: [String] { [manifestsPath, scriptPath, readmePath] }
    }

    /// Writes the kit into `directory` (the same --out rule as every kit: created if missing, an
    /// existing one must be empty unless `replacing`): `manifests.yaml` (0600 when it holds a
    /// Secret), `README.txt`, and last `deploy.sh` (0755), each through a temp file and a rename.
    public func write(to directory: String, replacing: Bool = false) throws -> Written {
        let manifests = try manifestsYAML()
        try KitDirectory.prepare(directory, replacing: replacing)
        let written = Written(kit: self, directory: directory)
        try FileSystem.writeAtomically(written.manifestsPath, Array(manifests.utf8), mode: hasSecret ? 0o600 : 0o644)
        try FileSystem.writeAtomically(written.readmePath, Array(readme.utf8))
        try FileSystem.writeAtomically(written.scriptPath, Array(deployScript.utf8), mode: 0o755)
        return written
    }
}

/// Builds each object from the checked configuration.
private struct Builder {
    let configuration: KubernetesKit.Configuration
    let image: KubernetesKit.Image
    let app: ImageProvenance.App
    let settings: AppSettings?

    static let managedBy: (String, ManifestValue) = ("app.kubernetes.io/managed-by", "airlock")

    func labels(_ name: String) -> ManifestValue { ["app": .string(name), Self.managedBy.0: Self.managedBy.1] }

    func metadata(_ name: String, labelled component: String? = nil) -> ManifestValue {
        var members: [String: ManifestValue] = [
            "name": .string(name), "labels": labels(component ?? configuration.app),
        ]
        if let namespace = configuration.namespace { members["namespace"] = .string(namespace) }
        return .map(members)
    }

    /// The app's Secret: the settings' values, plus FUNCTIONS_WORKER_RUNTIME from the provenance
    /// when they lack it. Nil without --settings.
    func secret() -> ManifestValue? {
        guard let settings else { return nil }
        var values = settings.values
        if values["FUNCTIONS_WORKER_RUNTIME"] == nil { values["FUNCTIONS_WORKER_RUNTIME"] = app.runtime }
        return [
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata(configuration.app),
            "type": "Opaque",
            "stringData": .map(values.mapValues(ManifestValue.string)),
        ]
    }

    /// One TriggerAuthentication per distinct set of Secret keys the triggers read, named
    /// `APP-auth-N`; returns them and, per trigger, the name it references (nil: none needed).
    func triggerAuthentications(for triggers: [KubernetesKit.ScaleTrigger]) -> ([ManifestValue], [String?]) {
        var documents: [ManifestValue] = []
        var names: [[String: String]: String] = [:]
        var references: [String?] = []
        for trigger in triggers {
            guard !trigger.secretParameters.isEmpty else {
                references.append(nil)
                continue
            }
            if let name = names[trigger.secretParameters] {
                references.append(name)
                continue
            }
            let name = "\(configuration.app)-auth-\(names.count + 1)"
            names[trigger.secretParameters] = name
            references.append(name)
            let refs: [ManifestValue] = trigger.secretParameters.sorted { $0.key < $1.key }.map { parameter, key in
                ["parameter": .string(parameter), "name": .string(configuration.app), "key": .string(key)]
            }
            documents.append([
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "TriggerAuthentication",
                "metadata": metadata(name),
                "spec": ["secretTargetRef": .list(refs)],
            ])
        }
        return (documents, references)
    }

    func service(_ name: String) -> ManifestValue {
        [
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(name, labelled: name),
            "spec": [
                "type": "ClusterIP",
                "selector": ["app": .string(name)],
                "ports": [["name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"]],
            ],
        ]
    }

    func deployment(_ name: String, replicas: Int, functions: [AppFunction], isHTTP: Bool) -> ManifestValue {
        let env: [ManifestValue] = functions.enumerated().map { index, function in
            ["name": .string("AzureFunctionsJobHost__functions__\(index)"), "value": .string(function.name)]
        }
        var security: [String: ManifestValue] = [
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "capabilities": ["drop": ["ALL"]],
        ]
        if let uid = image.nonRootUID {
            security["runAsNonRoot"] = true
            security["runAsUser"] = .int(uid)
        }
        var container: [String: ManifestValue] = [
            "name": .string(name),
            "image": .string("\(configuration.registry)/\(image.name)@\(image.manifest)"),
            "env": .list(env),
            "resources": ["requests": ["cpu": "100m", "memory": "256Mi"]],
            "securityContext": .map(security),
            // The host and the worker write logs and temp files; the root file system is read-only.
            "volumeMounts": [["name": "tmp", "mountPath": "/tmp"]],
        ]
        if settings != nil { container["envFrom"] = [["secretRef": ["name": .string(configuration.app)]]] }
        if isHTTP {
            let probe: ManifestValue = ["path": "/", "port": 80, "scheme": "HTTP"]
            container["ports"] = [["name": "http", "containerPort": 80, "protocol": "TCP"]]
            container["readinessProbe"] = ["httpGet": probe, "periodSeconds": 10, "failureThreshold": 3]
            // The host takes a while to index and start the worker: up to 5 minutes before readiness counts.
            container["startupProbe"] = ["httpGet": probe, "periodSeconds": 10, "failureThreshold": 30]
        }
        var pod: [String: ManifestValue] = [
            "automountServiceAccountToken": false,
            "containers": [.map(container)],
            "volumes": [["name": "tmp", "emptyDir": [:]]],
        ]
        if let pullSecret = configuration.pullSecret { pod["imagePullSecrets"] = [["name": .string(pullSecret)]] }
        return [
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata(name, labelled: name),
            "spec": [
                "replicas": .int(replicas),
                "selector": ["matchLabels": ["app": .string(name)]],
                "template": ["metadata": ["labels": labels(name)], "spec": .map(pod)],
            ],
        ]
    }

    func scaledObject(_ name: String, triggers: [KubernetesKit.ScaleTrigger], authentications: [String?])
        -> ManifestValue
    {
        let entries: [ManifestValue] = zip(triggers, authentications).map { trigger, authentication in
            var entry: [String: ManifestValue] = [
                "type": .string(trigger.type),
                "metadata": .map(trigger.metadata.mapValues(ManifestValue.string)),
            ]
            if let authentication { entry["authenticationRef"] = ["name": .string(authentication)] }
            return .map(entry)
        }
        var spec: [String: ManifestValue] = [
            "scaleTargetRef": ["name": .string(name)],
            "minReplicaCount": .int(configuration.minReplicas),
            "triggers": .list(entries),
        ]
        if let value = configuration.maxReplicas { spec["maxReplicaCount"] = .int(value) }
        if let value = configuration.pollingInterval { spec["pollingInterval"] = .int(value) }
        if let value = configuration.cooldownPeriod { spec["cooldownPeriod"] = .int(value) }
        return [
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": metadata(name),
            "spec": .map(spec),
        ]
    }
}
