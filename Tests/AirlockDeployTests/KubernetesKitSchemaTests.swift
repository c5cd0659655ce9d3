// The kit's manifests against real schemas: the Deployments, Services and Secrets through
// kubernetes-validate --strict (the Kubernetes API's own JSON schemas; unknown fields fail), which
// scripts/py-tools.sh installs into .build/py-tools (make test-deps runs it); KEDA's objects, which
// it has no schema for, against a table of the fields the KEDA 2.x docs list (keda.sh/docs/2.x:
// reference/scaledobject-spec, concepts/authentication, and each scaler's page). Without the tools
// the tests fail naming the script; they never pass silently.

import AirlockCore
import AirlockDeploy
import AirlockTestSupport
import Testing

/// The package's root, from this file's path.
private let packageRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = FileSystem.parentPath(path) }
    return path
}()

private let pyTools = packageRoot + "/.build/py-tools"

/// PYTHONPATH for the pinned tools, or nil (with a recorded failure naming the script) without them.
private func pythonPath() -> String? {
    guard FileSystem.exists(pyTools + "/kubernetes_validate/__init__.py"),
        FileSystem.exists(pyTools + "/yaml/__init__.py")
    else {
        Issue.record(
            "kubernetes-validate is not installed in \(pyTools): run scripts/py-tools.sh (make test-deps does)"
        )
        return nil
    }
    return pyTools
}

private func python(_ arguments: String, in directory: String) async throws -> (Int32, String)? {
    guard let path = pythonPath() else { return nil }
    var environment = ChildProcess.inheritedEnvironment()
    environment["PYTHONPATH"] = path
    return try await shell("python3 " + arguments, in: directory, environment: environment)
}

/// The documents of a manifests.yaml as text, split at its `---` lines.
private func documentTexts(_ yaml: String) -> [String] {
    ("\n" + yaml).split(separator: "\n---\n").map { $0.hasPrefix("\n") ? String($0.dropFirst()) : String($0) }
}

private func kind(of document: String) -> String? {
    document.split(separator: "\n").first { $0.hasPrefix("kind: ") }.map { String($0.dropFirst(6)) }
}

// MARK: What KEDA documents

/// ScaledObject `spec` fields (reference/scaledobject-spec).
private let scaledObjectSpec: Set<String> = [
    "scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount", "fallback", "advanced", "triggers",
]
private let scaleTargetRefFields: Set<String> = ["apiVersion", "kind", "name", "envSourceContainerName"]
/// A trigger's fields (reference/scaledobject-spec, "triggers").
private let triggerFields: Set<String> = [
    "type", "metadata", "name", "useCachedMetrics", "authenticationRef", "metricType",
]
/// TriggerAuthentication `spec` fields and one secretTargetRef's (concepts/authentication).
private let triggerAuthenticationSpec: Set<String> = [
    "podIdentity", "secretTargetRef", "env", "hashiCorpVault", "azureKeyVault", "awsSecretManager", "gcpSecretManager",
]
private let secretTargetRefFields: Set<String> = ["parameter", "name", "key"]

/// Per scaler: the metadata keys its page lists, the ones the kit must always give, and its
/// authentication parameters (what a TriggerAuthentication may set for it).
private let scalers: [String: (allowed: Set<String>, required: Set<String>, authentication: Set<String>)] = [
    "azure-queue": (
        [
            "queueName", "queueLength", "queueLengthStrategy", "activationQueueLength", "connectionFromEnv",
            "accountName", "cloud", "endpointSuffix",
        ],
        ["queueName"], ["connection"]
    ),
    "azure-blob": (
        [
            "blobContainerName", "blobCount", "activationBlobCount", "connectionFromEnv", "accountName", "blobPrefix",
            "blobDelimiter",
            "cloud", "endpointSuffix", "recursive", "globPattern",
        ],
        ["blobContainerName"], ["connection", "accountName"]
    ),
    "azure-servicebus": (
        [
            "queueName", "topicName", "subscriptionName", "namespace", "connectionFromEnv", "messageCount",
            "activationMessageCount",
            "cloud", "endpointSuffix", "useRegex", "operation",
        ],
        [], ["connection"]
    ),
    "azure-eventhub": (
        [
            "connectionFromEnv", "storageConnectionFromEnv", "consumerGroup", "unprocessedEventThreshold",
            "activationUnprocessedEventThreshold", "blobContainer", "eventHubNamespace", "eventHubNamespaceFromEnv",
            "eventHubName",
            "eventHubNameFromEnv", "storageAccountName", "checkpointStrategy", "cloud", "endpointSuffix",
            "storageEndpointSuffix",
        ],
        ["eventHubName"], ["connection", "storageConnection"]
    ),
    "kafka": (
        [
            "bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold", "offsetResetPolicy",
            "allowIdleConsumers", "scaleToZeroOnInvalidOffset", "excludePersistentLag", "limitToPartitionsWithLag",
            "ensureEvenDistributionOfPartitions", "version", "partitionLimitation", "sasl", "saslTokenProvider", "tls",
            "unsafeSsl",
            "awsRegion",
        ],
        ["bootstrapServers", "consumerGroup"],
        ["sasl", "username", "password", "tls", "ca", "cert", "key", "keyPassword"]
    ),
    "rabbitmq": (
        [
            "host", "protocol", "mode", "value", "activationValue", "queueName", "vhostName", "queueLength", "useRegex",
            "pageSize",
            "operation", "timeout", "excludeUnacknowledged", "unsafeSsl", "hostFromEnv", "usernameFromEnv",
            "passwordFromEnv",
        ],
        ["queueName"], ["host", "username", "password", "vhostName", "tls", "ca", "cert", "key"]
    ),
    "cron": (["timezone", "start", "end", "desiredReplicas"], ["timezone", "start", "end", "desiredReplicas"], []),
]

/// A map's keys (none for anything else).
private func keys(_ value: ManifestValue?) -> Set<String> { Set(value?.mapValue?.keys.map { $0 } ?? []) }

private let objectFields: Set<String> = ["apiVersion", "kind", "metadata", "spec"]

@Suite struct KubernetesKitSchemaTests {
    @Test(arguments: [SampleApp.queue, .serviceBusQueue, .serviceBusTopic, .eventHub, .blob, .timer, .kafka, .rabbitMQ])
    func theDeploymentsServiceAndSecretPassKubernetesValidateStrict(_ sample: SampleApp) async throws {
        let fixture = try KubeFixture(functions: sample.functions)
        let written = try fixture.written()
        let core = documentTexts(try text(written.manifestsPath)).filter {
            ["Deployment", "Service", "Secret"].contains(kind(of: $0))
        }
        #expect(core.count == 4)
        try fixture.dir.file("core.yaml", core.joined(separator: "\n---\n") + "\n")
        guard let (status, output) = try await python("-m kubernetes_validate --strict core.yaml", in: fixture.dir.path)
        else { return }
        #expect(status == 0, "kubernetes-validate --strict (exit \(status)):\n\(output)")
        for resource in ["secret/app", "service/app-http", "deployment/app-http", "deployment/app"] {
            #expect(output.contains("passed for resource \(resource)"), "\(resource):\n\(output)")
        }
    }

    @Test func kubernetesValidateStrictDoesRefuseAnUnknownField() async throws {
        // The check above is only worth something if the validator really is strict here.
        let fixture = try KubeFixture(functions: SampleApp.queue.functions)
        let written = try fixture.written()
        let deployment = try #require(
            documentTexts(try text(written.manifestsPath)).first { kind(of: $0) == "Deployment" }
        )
        try fixture.dir.file(
            "bad.yaml",
            deployment.replacingFirst(
                "      containers:\n      - ",
                with: "      containers:\n      - bogusField: 1\n        "
            )
        )
        guard let (status, output) = try await python("-m kubernetes_validate --strict bad.yaml", in: fixture.dir.path)
        else { return }
        #expect(status != 0, "an unknown container field passed:\n\(output)")
    }

    @Test func manifestsYAMLReadsBackAsExactlyTheDocuments() async throws {
        var settings = allSettings
        for (key, value) in [
            "Flag": "true", "Number": "0123", "Null": "~", "Colon": "a: b", "Dash": "- x", "Lines": "one\ntwo\n",
        ] {
            settings[key] = value
        }
        let fixture = try KubeFixture(functions: SampleApp.allCases.map(\.trigger) + [function("hello", "httpTrigger")])
        let written = try fixture.kit(settings: settings).write(to: fixture.dir.path + "/kit")
        let script = "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))"
        guard
            let (status, output) = try await python(
                "-c \(ShellQuote.quote(script)) kit/manifests.yaml",
                in: fixture.dir.path
            )
        else {
            return
        }
        try #require(status == 0, "\(output)")
        let parsed = try JSONValue(parsing: Array(output.utf8))
        #expect(parsed == .array(written.kit.documents.map(\.json)))
    }

    @Test func everyKEDAFieldTheKitWritesIsOneKEDADocuments() throws {
        let fixture = try KubeFixture(functions: SampleApp.allCases.map(\.trigger) + [function("hello", "httpTrigger")])
        let kit = try fixture.kit(
            try KubernetesKit.Configuration(
                app: "app",
                registry: "r.example",
                minReplicas: 1,
                maxReplicas: 5,
                pollingInterval: 10,
                cooldownPeriod: 120
            )
        )
        let secretKeys = Set(kit.document("Secret", "app")?["stringData"]?.mapValue?.keys ?? [:].keys)
        var authentications: [String: Set<String>] = [:]
        for document in kit.documents("TriggerAuthentication") {
            #expect(document["apiVersion"] == "keda.sh/v1alpha1")
            #expect(keys(document).isSubset(of: objectFields))
            let spec = try #require(document["spec"]?.mapValue)
            #expect(Set(spec.keys).isSubset(of: triggerAuthenticationSpec))
            var parameters = Set<String>()
            for ref in spec["secretTargetRef"]?.listValue ?? [] {
                #expect(keys(ref) == secretTargetRefFields)
                #expect(ref["name"] == "app", "a secretTargetRef outside the app's Secret")
                #expect(secretKeys.contains(ref["key"]?.stringValue ?? ""), "a key the Secret lacks: \(ref)")
                parameters.insert(ref["parameter"]?.stringValue ?? "")
            }
            authentications[document["metadata"]?["name"]?.stringValue ?? ""] = parameters
        }
        let scaled = try #require(kit.documents("ScaledObject").first)
        #expect(scaled["apiVersion"] == "keda.sh/v1alpha1")
        let spec = try #require(scaled["spec"]?.mapValue)
        #expect(Set(spec.keys).isSubset(of: scaledObjectSpec))
        #expect(keys(spec["scaleTargetRef"]).isSubset(of: scaleTargetRefFields))
        #expect(spec["scaleTargetRef"]?["name"] == "app" && kit.document("Deployment", "app") != nil)
        #expect(
            spec["minReplicaCount"] == 1 && spec["maxReplicaCount"] == 5 && spec["pollingInterval"] == 10
                && spec["cooldownPeriod"] == 120
        )
        let triggers = try #require(spec["triggers"]?.listValue)
        #expect(triggers.count == SampleApp.allCases.count)
        for trigger in triggers {
            #expect(keys(trigger).isSubset(of: triggerFields))
            let type = try #require(trigger["type"]?.stringValue)
            let scaler = try #require(scalers[type], "a scaler type KEDA does not list: \(type)")
            let metadata = try #require(trigger["metadata"]?.mapValue)
            let given = Set(metadata.keys)
            #expect(
                given.isSubset(of: scaler.allowed),
                "\(type): \(given.subtracting(scaler.allowed)) not in KEDA's docs"
            )
            #expect(scaler.required.isSubset(of: given), "\(type): lacks \(scaler.required.subtracting(given))")
            // KEDA reads metadata as strings only.
            #expect(
                metadata.values.allSatisfy { $0.stringValue != nil },
                "\(type): a metadata value that is not a string"
            )
            if type == "azure-servicebus" {
                #expect(
                    given.contains("queueName") != (given.contains("topicName") && given.contains("subscriptionName"))
                )
            }
            if let reference = trigger["authenticationRef"] {
                #expect(keys(reference) == ["name"])
                let parameters = try #require(
                    authentications[reference["name"]?.stringValue ?? ""],
                    "authenticationRef to nothing"
                )
                #expect(
                    parameters.isSubset(of: scaler.authentication),
                    "\(type): \(parameters) are not its authentication parameters"
                )
            }
            // An Azure scaler needs its connection one way or the other.
            if type.hasPrefix("azure-") || type == "rabbitmq" {
                let parameters = authentications[trigger["authenticationRef"]?["name"]?.stringValue ?? ""] ?? []
                #expect(
                    !parameters.isEmpty || given.contains("connectionFromEnv") || given.contains("hostFromEnv"),
                    "\(type): no connection"
                )
            }
        }
    }
}

extension ManifestValue {
    fileprivate var json: JSONValue {
        switch self {
        case .string(let text): .string(text)
        case .int(let number): .int(Int64(number))
        case .bool(let flag): .bool(flag)
        case .list(let items): .array(items.map(\.json))
        case .map(let members): .object(members.mapValues(\.json))
        }
    }
}

extension String {
    fileprivate func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
