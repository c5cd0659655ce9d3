import AirlockCore
import AirlockDeploy
import AirlockTestSupport
import Testing

// MARK: Fixtures

/// A function whose trigger binding (direction in) declares `properties`.
func function(_ name: String, _ trigger: String, _ properties: [String: String] = [:]) -> AppFunction {
    AppFunction(
        name: name,
        trigger: trigger,
        route: trigger == "httpTrigger" ? name : nil,
        bindings: [
            AppFunction.Binding(
                type: trigger,
                direction: "in",
                name: "msg",
                properties: properties.isEmpty ? nil : properties
            ),
            AppFunction.Binding(type: "http", direction: "out", name: "$return"),
        ]
    )
}

let storageConnection =
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net"

/// Settings that give every connection the sample apps below read.
let allSettings: [String: String] = [
    "AzureWebJobsStorage": storageConnection,
    "JobsStorage": storageConnection,
    "AzureWebJobsServiceBus": "Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s",
    "SB": "Endpoint=sb://other.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s",
    "EH": "Endpoint=sb://hub.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s",
    "KafkaBrokers": "broker-0.kafka:9092,broker-1.kafka:9092",
    "Rabbit": "amqp://user:pass@rabbitmq.default:5672/",
]

/// The sample apps, one per trigger the kit maps, each with an HTTP function beside it.
enum SampleApp: String, CaseIterable, Sendable {
    case queue, serviceBusQueue, serviceBusTopic, eventHub, blob, kafka, rabbitMQ, timer

    var functions: [AppFunction] {
        [function("hello", "httpTrigger", ["authLevel": "anonymous"]), trigger]
    }

    var trigger: AppFunction {
        switch self {
        case .queue: function("on_queue", "queueTrigger", ["queueName": "jobs", "connection": "JobsStorage"])
        case .serviceBusQueue: function("on_order", "serviceBusTrigger", ["queueName": "orders"])
        case .serviceBusTopic:
            function(
                "on_event",
                "serviceBusTrigger",
                ["topicName": "events", "subscriptionName": "audit", "connection": "SB"]
            )
        case .eventHub:
            function(
                "on_telemetry",
                "eventHubTrigger",
                ["eventHubName": "telemetry", "connection": "EH", "cardinality": "many"]
            )
        case .blob:
            function(
                "on_upload",
                "blobTrigger",
                ["path": "uploads/incoming/{name}.csv", "connection": "AzureWebJobsStorage"]
            )
        case .kafka:
            function(
                "on_kafka",
                "kafkaTrigger",
                ["brokerList": "%KafkaBrokers%", "topic": "clicks", "consumerGroup": "functions"]
            )
        case .rabbitMQ:
            function("on_rabbit", "rabbitMQTrigger", ["queueName": "work", "connectionStringSetting": "Rabbit"])
        case .timer: function("nightly", "timerTrigger", ["schedule": "0 30 2 * * 1-5", "runOnStartup": "false"])
        }
    }

    /// The scaler's type and metadata, and the Secret keys it authenticates with.
    var expected: (type: String, metadata: [String: String], secrets: [String: String]) {
        switch self {
        case .queue: ("azure-queue", ["queueName": "jobs"], ["connection": "JobsStorage"])
        case .serviceBusQueue: ("azure-servicebus", ["queueName": "orders"], ["connection": "AzureWebJobsServiceBus"])
        case .serviceBusTopic:
            ("azure-servicebus", ["topicName": "events", "subscriptionName": "audit"], ["connection": "SB"])
        case .eventHub:
            (
                "azure-eventhub",
                ["eventHubName": "telemetry", "consumerGroup": "$Default", "checkpointStrategy": "azureFunction"],
                ["connection": "EH", "storageConnection": "AzureWebJobsStorage"]
            )
        case .blob:
            (
                "azure-blob", ["blobContainerName": "uploads", "blobPrefix": "incoming/"],
                ["connection": "AzureWebJobsStorage"]
            )
        case .kafka:
            (
                "kafka",
                [
                    "bootstrapServers": "broker-0.kafka:9092,broker-1.kafka:9092", "topic": "clicks",
                    "consumerGroup": "functions",
                ], [:]
            )
        case .rabbitMQ: ("rabbitmq", ["queueName": "work", "mode": "QueueLength", "value": "20"], ["host": "Rabbit"])
        case .timer:
            (
                "cron",
                ["start": "30 2 * * 1-5", "end": "35 2 * * 1-5", "timezone": "Etc/UTC", "desiredReplicas": "1"], [:]
            )
        }
    }
}

/// A store with one app image, a settings file beside it, and the kit made from them.
struct KubeFixture {
    let dir: TemporaryDirectory
    let store: Store
    let record: ImageRecord

    init(functions: [AppFunction]?, user: String? = "1000", runtime: String = "python") throws {
        dir = try TemporaryDirectory()
        (store, record) = try AppImageFixture.store(in: dir, user: user, runtime: runtime, functions: functions)
    }

    /// Writes `values` as a local.settings.json and returns its path.
    func settingsFile(_ values: [String: String]?, encrypted: Bool = false) throws -> String? {
        guard let values else { return nil }
        let members = values.mapValues(JSONValue.string)
        let document = JSONValue.object(["IsEncrypted": .bool(encrypted), "Values": .object(members)])
        return try dir.file("local.settings.json", document.canonicalBytes)
    }

    func kit(_ configuration: KubernetesKit.Configuration? = nil, settings: [String: String]? = allSettings) throws
        -> KubernetesKit
    {
        try KubernetesKit.make(
            configuration ?? KubeFixture.configuration(),
            image: "app:1",
            in: store,
            settingsPath: try settingsFile(settings)
        )
    }

    func written(_ configuration: KubernetesKit.Configuration? = nil, settings: [String: String]? = allSettings) throws
        -> KubernetesKit.Written
    {
        try kit(configuration, settings: settings).write(to: dir.path + "/kit")
    }

    static func configuration(
        app: String = "app",
        namespace: String? = "apps",
        pullSecret: String? = "regcred",
        minReplicas: Int? = nil,
        maxReplicas: Int? = 10
    ) throws -> KubernetesKit.Configuration {
        try KubernetesKit.Configuration(
            app: app,
            namespace: namespace,
            registry: "registry.enclave.example:5000",
            pullSecret: pullSecret,
            minReplicas: minReplicas,
            maxReplicas: maxReplicas
        )
    }
}

extension KubernetesKit {
    func documents(_ kind: String) -> [ManifestValue] { documents.filter { $0["kind"]?.stringValue == kind } }
    func document(_ kind: String, _ name: String) -> ManifestValue? {
        documents(kind).first { $0["metadata"]?["name"]?.stringValue == name }
    }
}

func text(_ path: String) throws -> String { String(decoding: try FileSystem.readFile(path), as: UTF8.self) }

@Suite struct KubernetesKitTests {
    // MARK: The objects

    @Test func aMixedAppGivesTheSecretTheHTTPPairAndTheScaledPairInOrder() throws {
        let fixture = try KubeFixture(functions: SampleApp.queue.functions + [SampleApp.timer.trigger])
        let kit = try fixture.kit()
        let objects = kit.documents.map {
            "\($0["kind"]?.stringValue ?? "?") \($0["metadata"]?["name"]?.stringValue ?? "?")"
        }
        #expect(
            objects == [
                "Secret app", "TriggerAuthentication app-auth-1", "Service app-http", "Deployment app-http",
                "Deployment app",
                "ScaledObject app",
            ]
        )
        #expect(kit.deployments == ["app-http", "app"])
        #expect(kit.needsKEDA)
        for document in kit.documents {
            #expect(document["metadata"]?["namespace"] == "apps")
            #expect(document["metadata"]?["labels"]?["app.kubernetes.io/managed-by"] == "airlock")
        }
        // The digest pin: the registry, the store's repository name, the manifest digest; no tag.
        let pin = "registry.enclave.example:5000/app@\(fixture.record.manifest)"
        #expect(kit.pinnedImage == pin)
        for name in ["app-http", "app"] {
            let container = try #require(
                kit.document("Deployment", name)?["spec"]?["template"]?["spec"]?["containers"]?.listValue?.first
            )
            #expect(container["image"] == .string(pin))
        }
        let yaml = try kit.manifestsYAML()
        #expect(yaml.split(separator: "\n---\n").count == 6)
        #expect(!yaml.contains(":1\n") && yaml.contains("@sha256:\(fixture.record.manifest.hex)"))
    }

    @Test func theHTTPDeploymentRunsOneReplicaBehindAClusterIPServiceWithProbes() throws {
        let kit = try KubeFixture(functions: SampleApp.queue.functions).kit()
        let deployment = try #require(kit.document("Deployment", "app-http"))
        #expect(deployment["spec"]?["replicas"] == 1)
        #expect(deployment["spec"]?["selector"]?["matchLabels"]?["app"] == "app-http")
        #expect(deployment["spec"]?["template"]?["metadata"]?["labels"]?["app"] == "app-http")
        let pod = try #require(deployment["spec"]?["template"]?["spec"])
        #expect(pod["imagePullSecrets"] == [["name": "regcred"]])
        #expect(pod["automountServiceAccountToken"] == false)
        #expect(pod["volumes"] == [["name": "tmp", "emptyDir": [:]]])
        let container = try #require(pod["containers"]?.listValue?.first)
        #expect(container["env"] == [["name": "AzureFunctionsJobHost__functions__0", "value": "hello"]])
        #expect(container["envFrom"] == [["secretRef": ["name": "app"]]])
        #expect(container["readinessProbe"]?["httpGet"] == ["path": "/", "port": 80, "scheme": "HTTP"])
        #expect(container["startupProbe"]?["httpGet"]?["port"] == 80)
        #expect(container["ports"] == [["name": "http", "containerPort": 80, "protocol": "TCP"]])
        #expect(container["volumeMounts"] == [["name": "tmp", "mountPath": "/tmp"]])
        #expect(container["resources"] == ["requests": ["cpu": "100m", "memory": "256Mi"]])
        #expect(
            container["securityContext"] == [
                "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": ["drop": ["ALL"]],
                "runAsNonRoot": true, "runAsUser": 1000,
            ]
        )
        let service = try #require(kit.document("Service", "app-http"))
        #expect(service["spec"]?["type"] == "ClusterIP")
        #expect(service["spec"]?["selector"] == ["app": "app-http"])
        #expect(service["spec"]?["ports"] == [["name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"]])
    }

    @Test func theScaledDeploymentStartsAtMinReplicasWithoutProbesAndNamesEachFunction() throws {
        let functions = [SampleApp.queue.trigger, SampleApp.timer.trigger, SampleApp.kafka.trigger]
        let kit = try KubeFixture(functions: functions).kit(try KubeFixture.configuration(minReplicas: 2))
        #expect(kit.documents("Service").isEmpty && kit.deployments == ["app"])
        let deployment = try #require(kit.document("Deployment", "app"))
        #expect(deployment["spec"]?["replicas"] == 2)
        let container = try #require(deployment["spec"]?["template"]?["spec"]?["containers"]?.listValue?.first)
        #expect(container["readinessProbe"] == nil && container["startupProbe"] == nil && container["ports"] == nil)
        #expect(
            container["env"] == [
                ["name": "AzureFunctionsJobHost__functions__0", "value": "on_queue"],
                ["name": "AzureFunctionsJobHost__functions__1", "value": "nightly"],
                ["name": "AzureFunctionsJobHost__functions__2", "value": "on_kafka"],
            ]
        )
        let scaled = try #require(kit.document("ScaledObject", "app"))
        #expect(scaled["apiVersion"] == "keda.sh/v1alpha1")
        #expect(scaled["spec"]?["scaleTargetRef"] == ["name": "app"])
        #expect(scaled["spec"]?["minReplicaCount"] == 2 && scaled["spec"]?["maxReplicaCount"] == 10)
        // Only the flags given reach the ScaledObject; KEDA's defaults stand for the rest.
        #expect(scaled["spec"]?["pollingInterval"] == nil && scaled["spec"]?["cooldownPeriod"] == nil)
        #expect(scaled["spec"]?["triggers"]?.listValue?.map { $0["type"] } == ["azure-queue", "cron", "kafka"])
        let tuned = try KubeFixture(functions: functions).kit(
            try KubernetesKit.Configuration(
                app: "app",
                registry: "reg.example",
                pollingInterval: 15,
                cooldownPeriod: 60
            )
        )
        let spec = try #require(tuned.document("ScaledObject", "app")?["spec"])
        #expect(spec["pollingInterval"] == 15 && spec["cooldownPeriod"] == 60 && spec["maxReplicaCount"] == nil)
        #expect(spec["minReplicaCount"] == 0 && tuned.document("Deployment", "app")?["spec"]?["replicas"] == 0)
    }

    @Test(arguments: SampleApp.allCases)
    func eachTriggerMapsToItsScalerAndAuthenticatesThroughTheSecret(_ sample: SampleApp) throws {
        let kit = try KubeFixture(functions: sample.functions).kit()
        let trigger = try #require(kit.document("ScaledObject", "app")?["spec"]?["triggers"]?.listValue?.first)
        let expected = sample.expected
        #expect(trigger["type"] == .string(expected.type))
        #expect(trigger["metadata"] == .map(expected.metadata.mapValues(ManifestValue.string)))
        let authentications = kit.documents("TriggerAuthentication")
        if expected.secrets.isEmpty {
            #expect(trigger["authenticationRef"] == nil && authentications.isEmpty)
        } else {
            #expect(trigger["authenticationRef"] == ["name": "app-auth-1"])
            let refs = try #require(authentications.first?["spec"]?["secretTargetRef"]?.listValue)
            let pairs = refs.map { ($0["parameter"]?.stringValue ?? "", $0["key"]?.stringValue ?? "") }
            #expect(Dictionary(pairs, uniquingKeysWith: { a, _ in a }) == expected.secrets)
            #expect(refs.allSatisfy { $0["name"] == "app" })
            // Every key the TriggerAuthentication reads is in the Secret.
            let secret = try #require(kit.document("Secret", "app")?["stringData"]?.mapValue)
            #expect(expected.secrets.values.allSatisfy { secret[$0] != nil })
        }
        // No connection string ever lands in a ScaledObject.
        #expect(!(try ManifestValue.yaml([trigger])).contains("AccountKey"))
    }

    @Test func triggersThatReadTheSameKeysShareOneTriggerAuthentication() throws {
        let functions = [
            function("a", "queueTrigger", ["queueName": "a"]), function("b", "blobTrigger", ["path": "b/{name}"]),
            function("c", "queueTrigger", ["queueName": "c", "connection": "JobsStorage"]),
        ]
        let kit = try KubeFixture(functions: functions).kit()
        #expect(kit.documents("TriggerAuthentication").map { $0["metadata"]?["name"] } == ["app-auth-1", "app-auth-2"])
        let refs = kit.document("ScaledObject", "app")?["spec"]?["triggers"]?.listValue?.map {
            $0["authenticationRef"]?["name"]
        }
        #expect(refs == ["app-auth-1", "app-auth-1", "app-auth-2"])
        // A blob path of only a container has no prefix.
        #expect(
            kit.document("ScaledObject", "app")?["spec"]?["triggers"]?.listValue?[1]["metadata"] == [
                "blobContainerName": "b"
            ]
        )
    }

    @Test func theSecretHoldsTheSettingsPlusTheWorkerRuntimeAndNothingElse() throws {
        let fixture = try KubeFixture(functions: SampleApp.queue.functions, runtime: "custom")
        let kit = try fixture.kit()
        let secret = try #require(kit.document("Secret", "app"))
        #expect(secret["type"] == "Opaque" && secret["apiVersion"] == "v1")
        var expected = allSettings
        expected["FUNCTIONS_WORKER_RUNTIME"] = "custom"
        #expect(secret["stringData"] == .map(expected.mapValues(ManifestValue.string)))
        // A runtime the settings name is kept as they name it.
        var given = allSettings
        given["FUNCTIONS_WORKER_RUNTIME"] = "python"
        #expect(
            try fixture.kit(settings: given).document("Secret", "app")?["stringData"]?["FUNCTIONS_WORKER_RUNTIME"]
                == "python"
        )
        // The file is written owner-only when it holds the Secret.
        let written = try kit.write(to: fixture.dir.path + "/kit")
        #expect(try FileSystem.mode(of: written.manifestsPath) & 0o777 == 0o600)
    }

    @Test func withoutSettingsThereIsNoSecretAndNoEnvFrom() throws {
        let brokers = function(
            "on_kafka",
            "kafkaTrigger",
            ["brokerList": "broker:9092", "topic": "clicks", "consumerGroup": "g"]
        )
        let fixture = try KubeFixture(functions: [function("hello", "httpTrigger"), brokers])
        let kit = try fixture.kit(settings: nil)
        #expect(kit.documents("Secret").isEmpty && kit.documents("TriggerAuthentication").isEmpty)
        for name in kit.deployments {
            let container = kit.document("Deployment", name)?["spec"]?["template"]?["spec"]?["containers"]?.listValue?
                .first
            #expect(container?["envFrom"] == nil)
        }
        let written = try kit.write(to: fixture.dir.path + "/kit")
        #expect(try FileSystem.mode(of: written.manifestsPath) & 0o777 == 0o644)
    }

    @Test func anHTTPOnlyAppNeedsNoKEDA() throws {
        let kit = try KubeFixture(functions: [function("hello", "httpTrigger"), function("bye", "httpTrigger")]).kit(
            settings: nil
        )
        #expect(kit.documents.map { $0["kind"] } == ["Service", "Deployment"])
        #expect(!kit.needsKEDA && !kit.readme.contains("needs the KEDA"))
        let container = kit.document("Deployment", "app-http")?["spec"]?["template"]?["spec"]?["containers"]?.listValue?
            .first
        #expect(container?["env"]?.listValue?.count == 2)
    }

    @Test(arguments: [
        ("0", false), ("", false), ("root", false), ("app", false), ("1000", true), ("1001:1001", true),
        ("x:1000", false),
    ])
    func runAsNonRootOnlyForANonZeroNumericUser(_ user: String, _ isNonRoot: Bool) throws {
        let kit = try KubeFixture(functions: SampleApp.timer.functions, user: user).kit()
        for name in kit.deployments {
            let security = kit.document("Deployment", name)?["spec"]?["template"]?["spec"]?["containers"]?.listValue?
                .first?["securityContext"]
            #expect((security?["runAsNonRoot"] == true) == isNonRoot, "\(user)")
            #expect((security?["runAsUser"] != nil) == isNonRoot, "\(user)")
            #expect(security?["readOnlyRootFilesystem"] == true && security?["capabilities"]?["drop"] == ["ALL"])
        }
        #expect(kit.notes.isEmpty == isNonRoot)
        #expect(kit.readme.contains("runAsNonRoot") == !isNonRoot)
        let noUser = try KubeFixture(functions: SampleApp.timer.functions, user: nil).kit()
        #expect(noUser.notes.first?.contains("not set") == true)
    }

    @Test func aTimerUsesTheAppsTimeZoneWhenTheSettingsNameOne() throws {
        var settings = allSettings
        settings["WEBSITE_TIME_ZONE"] = "Europe/Amsterdam"
        let kit = try KubeFixture(functions: SampleApp.timer.functions).kit(settings: settings)
        #expect(
            kit.document("ScaledObject", "app")?["spec"]?["triggers"]?.listValue?.first?["metadata"]?["timezone"]
                == "Europe/Amsterdam"
        )
    }

    // MARK: Timer schedules

    @Test(arguments: [
        ("0 30 2 * * 1-5", "30 2 * * 1-5", "35 2 * * 1-5"),
        ("0 0 * * * *", "0 * * * *", "5 * * * *"),
        ("0 57 * * * *", "57 * * * *", "2 * * * *"),
        ("0 */15 * * * *", "*/15 * * * *", "5-59/15 * * * *"),
        ("0  0 12 1 1 *", "0 12 1 1 *", "5 12 1 1 *"),
    ])
    func aScheduleBecomesAFiveMinuteCronWindow(_ schedule: String, _ start: String, _ end: String) throws {
        let window = try KubernetesKit.cronWindow(for: schedule, function: "f")
        #expect(window.start == start && window.end == end)
    }

    @Test(arguments: [
        ("00:05:00", "TimeSpan"),
        ("*/30 * * * * *", "second"),
        ("5 0 * * * *", "second"),
        ("0 */5 * * * *", "within the kit's 5-minute window"),
        ("0 * * * * *", "minute field"),
        ("0 0,30 * * * *", "minute field"),
        ("0 58 9 * * *", "next hour"),
        ("0 0 * * *", "6-field"),
    ])
    func aScheduleKEDACannotFollowIsRefusedWithTheReason(_ schedule: String, _ reason: String) throws {
        let error = #expect(throws: UsageError.self) {
            try KubernetesKit.cronWindow(for: schedule, function: "nightly")
        }
        #expect(error?.code == DeployErrorCode.unsupportedSchedule.code)
        #expect(
            error?.description.contains(reason) == true && error?.description.contains("nightly") == true,
            "\(String(describing: error))"
        )
    }

    @Test func aScheduleFromAnAppSettingIsReadFromTheSettings() throws {
        let timer = function("nightly", "timerTrigger", ["schedule": "%NightlySchedule%"])
        var settings = allSettings
        settings["NightlySchedule"] = "0 0 3 * * *"
        let kit = try KubeFixture(functions: [timer]).kit(settings: settings)
        #expect(
            kit.document("ScaledObject", "app")?["spec"]?["triggers"]?.listValue?.first?["metadata"]?["start"]
                == "0 3 * * *"
        )
        let error = #expect(throws: UsageError.self) { try KubeFixture(functions: [timer]).kit() }
        #expect(
            error?.code == DeployErrorCode.missingSetting.code
                && error?.description.contains("%NightlySchedule%") == true
        )
    }

    // MARK: Refusals

    @Test(arguments: [
        (function("f", "cosmosDBTrigger", ["connection": "C"]), DeployErrorCode.unsupportedTrigger, "cosmosDBTrigger"),
        (
            AppFunction(name: "f", trigger: nil, route: nil, bindings: []), DeployErrorCode.unsupportedTrigger,
            "no trigger"
        ),
        (function("f", "queueTrigger"), DeployErrorCode.badTrigger, "queueName"),
        (function("f", "serviceBusTrigger", ["topicName": "t"]), DeployErrorCode.badTrigger, "subscriptionName"),
        (function("f", "serviceBusTrigger"), DeployErrorCode.badTrigger, "neither a queueName"),
        (function("f", "eventHubTrigger", ["eventHubName": "h"]), DeployErrorCode.badTrigger, "names no connection"),
        (function("f", "blobTrigger", ["path": "{container}/x"]), DeployErrorCode.badTrigger, "not a fixed name"),
        (
            function("f", "kafkaTrigger", ["brokerList": "b:9092", "topic": "t"]), DeployErrorCode.badTrigger,
            "consumerGroup"
        ),
        (function("f", "rabbitMQTrigger", ["queueName": "q"]), DeployErrorCode.badTrigger, "connectionStringSetting"),
        (
            function("f", "queueTrigger", ["queueName": "q", "connection": "Nowhere"]), DeployErrorCode.missingSetting,
            "Nowhere"
        ),
        (
            function("f", "kafkaTrigger", ["brokerList": "%Brokers%", "topic": "t", "consumerGroup": "g"]),
            DeployErrorCode.missingSetting, "%Brokers%"
        ),
        (function("f", "timerTrigger", ["schedule": "00:05:00"]), DeployErrorCode.unsupportedSchedule, "TimeSpan"),
    ])
    func aFunctionTheKitCannotScaleIsRefusedNamingIt(_ function: AppFunction, _ code: DeployErrorCode, _ reason: String)
        throws
    {
        let fixture = try KubeFixture(functions: [SampleApp.queue.functions[0], function])
        let error = #expect(throws: UsageError.self) { try fixture.kit() }
        #expect(error?.code == code.code, "\(String(describing: error))")
        #expect(
            error?.description.contains("function f") == true && error?.description.contains(reason) == true,
            "\(String(describing: error))"
        )
    }

    @Test func aConnectionWithoutSettingsIsRefusedNamingTheSettingAndTheFlag() throws {
        for sample in [SampleApp.queue, .serviceBusQueue, .eventHub, .blob, .rabbitMQ] {
            let error = #expect(throws: UsageError.self) {
                try KubeFixture(functions: sample.functions).kit(settings: nil)
            }
            #expect(error?.code == DeployErrorCode.missingSetting.code)
            let setting = sample.expected.secrets["connection"] ?? sample.expected.secrets["host"] ?? ""
            #expect(
                error?.description.contains(setting) == true && error?.description.contains("--settings") == true,
                "\(String(describing: error))"
            )
        }
        // The host's AzureWebJobs<name> fallback counts as the setting.
        let kit = try KubeFixture(functions: [function("f", "queueTrigger", ["queueName": "q", "connection": "Jobs"])])
            .kit(settings: ["AzureWebJobsJobs": storageConnection, "AzureWebJobsStorage": storageConnection])
        #expect(
            kit.documents("TriggerAuthentication").first?["spec"]?["secretTargetRef"]?.listValue?.first?["key"]
                == "AzureWebJobsJobs"
        )
    }

    @Test func anImageWithoutAppProvenanceIsRefused() throws {
        let fixture = try KubeFixture(functions: nil)
        let error = #expect(throws: UsageError.self) { try fixture.kit() }
        #expect(error?.code == DeployErrorCode.noAppProvenance.code)
        #expect(
            error?.description.contains("airlock image build") == true && error?.description.contains("app:1") == true
        )
        let empty = #expect(throws: UsageError.self) { try KubeFixture(functions: []).kit() }
        #expect(empty?.code == DeployErrorCode.noFunctions.code)
    }

    @Test(arguments: [
        ("{\"IsEncrypted\": true, \"Values\": {\"A\": \"x\"}}", "encrypted"),
        ("{\"IsEncrypted\": false, \"Values\": {\"A\": 1}}", "not a string"),
        ("{\"IsEncrypted\": false, \"Values\": {\"A\": true}}", "not a string"),
        ("{\"IsEncrypted\": false}", "no \"Values\""),
        ("{\"IsEncrypted\": \"no\", \"Values\": {}}", "IsEncrypted"),
        ("{\"Values\": {\"bad key\": \"x\"}}", "Secret key"),
        ("[1]", "not a local.settings.json"),
        ("{\"Values\": {\"A\": \"x\",}}", "not a local.settings.json"),
    ])
    func aSettingsFileThatIsNotAPlainLocalSettingsJSONIsRefused(_ content: String, _ reason: String) throws {
        let fixture = try KubeFixture(functions: SampleApp.queue.functions)
        let path = try fixture.dir.file("bad.settings.json", content)
        let error = #expect(throws: UsageError.self) {
            try KubernetesKit.make(
                try KubeFixture.configuration(),
                image: "app:1",
                in: fixture.store,
                settingsPath: path
            )
        }
        #expect(error?.code == DeployErrorCode.badSettings.code, "\(String(describing: error))")
        #expect(
            error?.description.contains(reason) == true && error?.description.contains(path) == true,
            "\(String(describing: error))"
        )
    }

    /// The flags of one bad command line, for the table below.
    struct Flags: Sendable, CustomTestStringConvertible {
        var app = "app"
        var namespace: String? = nil
        var registry = "registry.example:5000"
        var pullSecret: String? = nil
        var minReplicas: Int? = nil
        var maxReplicas: Int? = nil
        var pollingInterval: Int? = nil
        var cooldownPeriod: Int? = nil
        var code = DeployErrorCode.badKubernetesName
        var says = ""

        var testDescription: String { says }

        func make() throws -> KubernetesKit.Configuration {
            try KubernetesKit.Configuration(
                app: app,
                namespace: namespace,
                registry: registry,
                pullSecret: pullSecret,
                minReplicas: minReplicas,
                maxReplicas: maxReplicas,
                pollingInterval: pollingInterval,
                cooldownPeriod: cooldownPeriod
            )
        }
    }

    @Test(arguments: [
        Flags(app: "App", says: "--name"),
        Flags(app: "1app", says: "lowercase letter"),
        Flags(app: "app-", says: "'-'"),
        Flags(app: "my_app", says: "\"_\""),
        Flags(app: String(repeating: "a", count: 59), says: "58"),
        Flags(namespace: "Apps", says: "--namespace"),
        Flags(namespace: "a'b", says: "--namespace"),
        Flags(pullSecret: "reg..cred", says: "--pull-secret"),
        Flags(pullSecret: "$(reboot)", says: "--pull-secret"),
        Flags(minReplicas: 3, maxReplicas: 2, code: .badReplicas, says: "above --max-replicas"),
        Flags(minReplicas: -1, code: .badReplicas, says: "--min-replicas"),
        Flags(maxReplicas: 1001, code: .badReplicas, says: "1000"),
        Flags(maxReplicas: 0, code: .badReplicas, says: "--max-replicas 0"),
        Flags(pollingInterval: 0, code: .badScalingPeriod, says: "--polling-interval"),
        Flags(cooldownPeriod: -5, code: .badScalingPeriod, says: "--cooldown-period"),
        Flags(registry: "https://reg.example", code: .badRegistry, says: "--registry"),
        Flags(registry: "reg.example/team", code: .badRegistry, says: "--registry"),
        Flags(registry: "reg.example:0", code: .badRegistry, says: "port"),
        Flags(registry: "-reg.example", code: .badRegistry, says: "label"),
        Flags(registry: "", code: .badRegistry, says: "no host"),
    ])
    func aBadFlagIsRefusedWithItsCode(_ flags: Flags) {
        let error = #expect(throws: UsageError.self) { try flags.make() }
        #expect(error?.code == flags.code.code, "\(String(describing: error))")
        #expect(error?.description.contains(flags.says) == true, "\(String(describing: error))")
    }

    @Test func goodFlagsAreAccepted() throws {
        for registry in ["localhost:5000", "registry.enclave.example", "10.0.0.5:443", "Reg-1.example"] {
            #expect(throws: Never.self) { try KubernetesKit.Configuration(app: "a", registry: registry) }
        }
        #expect(throws: Never.self) {
            try KubernetesKit.Configuration(
                app: String(repeating: "a", count: 58),
                namespace: String(repeating: "n", count: 63),
                registry: "r.example",
                pullSecret: "reg.cred-1",
                minReplicas: 1000,
                maxReplicas: 1000,
                pollingInterval: 1,
                cooldownPeriod: 86_400
            )
        }
    }

    // MARK: Writing

    @Test func theKitHoldsManifestsAScriptAndAReadme() throws {
        let fixture = try KubeFixture(functions: SampleApp.eventHub.functions)
        let written = try fixture.written()
        #expect(try FileSystem.list(written.directory).sorted() == ["README.txt", "deploy.sh", "manifests.yaml"])
        #expect(try FileSystem.mode(of: written.scriptPath) & 0o111 != 0)
        #expect(try text(written.manifestsPath) == (try written.kit.manifestsYAML()))
        let script = try text(written.scriptPath)
        #expect(script.hasPrefix("#!/usr/bin/env bash\n") && script.contains("\nset -euo pipefail\n"))
        let readme = try text(written.readmePath)
        for needle in [
            "bash deploy.sh", "KEDA 2.x", "Made offline by Airlock", "Secret app:", "TriggerAuthentication app-auth-1:",
            "Service app-http:", "Deployment app-http:", "Deployment app:", "ScaledObject app:",
            written.kit.pinnedImage,
            "azure-eventhub", "kubectl create namespace apps", "regcred", "0600",
        ] {
            #expect(readme.contains(needle), "README.txt lacks \(needle):\n\(readme)")
        }
        #expect(try FileSystem.list(written.directory).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test func theSameInputsGiveTheSameBytes() throws {
        let fixture = try KubeFixture(functions: SampleApp.allCases.map(\.trigger) + [function("hello", "httpTrigger")])
        let first = try fixture.kit().manifestsYAML()
        for _ in 0..<3 { #expect(try fixture.kit().manifestsYAML() == first) }
    }

    @Test func aNonEmptyOutIsRefusedUnlessForced() throws {
        let fixture = try KubeFixture(functions: SampleApp.queue.functions)
        try fixture.dir.file("kit/notes.txt", "keep me")
        let kit = try fixture.kit()
        let error = #expect(throws: UsageError.self) { try kit.write(to: fixture.dir.path + "/kit") }
        #expect(error?.code == DeployErrorCode.outDirNotEmpty.code)
        #expect(try FileSystem.list(fixture.dir.path + "/kit") == ["notes.txt"])
        _ = try kit.write(to: fixture.dir.path + "/kit", replacing: true)
        #expect(
            try FileSystem.list(fixture.dir.path + "/kit").sorted() == [
                "README.txt", "deploy.sh", "manifests.yaml", "notes.txt",
            ]
        )
        try fixture.dir.file("file", "x")
        let notDirectory = #expect(throws: UsageError.self) {
            try kit.write(to: fixture.dir.path + "/file", replacing: true)
        }
        #expect(notDirectory?.code == DeployErrorCode.outNotADirectory.code)
    }
}
