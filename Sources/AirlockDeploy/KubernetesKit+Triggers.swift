// From a function's trigger binding to the KEDA scaler that follows it. Metadata keys are the ones
// the KEDA 2.x scaler pages document (keda.sh/docs/2.x/scalers: azure-storage-queue,
// azure-storage-blob, azure-service-bus, azure-event-hub, apache-kafka, rabbitmq-queue, cron); no
// other key is written. Connection strings never go into a ScaledObject: a trigger that needs one
// gets an `authenticationRef` to a TriggerAuthentication whose `secretTargetRef` points at the
// setting's key in the app's Secret (the scalers' documented authentication parameters:
// `connection`, Event Hubs' `storageConnection`, RabbitMQ's `host`), which KEDA reads directly,
// instead of `*FromEnv`, which makes KEDA read the container's environment.
//
// Binding values of the form `%NAME%` are app settings (as the Functions host resolves them); each
// is read from --settings, or the function is refused naming the setting.
//
// Timer triggers: KEDA's cron scaler holds replicas between a `start` and an `end` cron expression,
// while an NCRONTAB schedule fires at instants. The kit opens a window at each firing and closes it
// `cronWindowMinutes` later (the ScaledObject's cooldown then scales back to the minimum). The
// window moves only the minute field, so it follows a single minute (`0 30 9 * * *`; past minute 54
// only when the hour field is `*`) or an `*/N` step with N above the window; other schedules, a
// seconds field other than 0 (KEDA works in minutes) and the TimeSpan form (`00:05:00`) are refused
// with the reason.

package import AirlockCore

extension KubernetesKit {
    /// How long a timer function's cron window stays open, in minutes.
    public static let cronWindowMinutes = 5

    /// A scaler for one function: its KEDA type and metadata, and the authentication parameters it
    /// reads from the app's Secret (parameter → Secret key).
    public struct ScaleTrigger: Sendable, Equatable {
        public var type: String
        public var metadata: [String: String]
        public var secretParameters: [String: String]
    }

    /// The trigger types the kit maps to a KEDA scaler, and the scaler each one gets.
    public static let scalerTypes: [String: String] = [
        "queueTrigger": "azure-queue",
        "blobTrigger": "azure-blob",
        "serviceBusTrigger": "azure-servicebus",
        "eventHubTrigger": "azure-eventhub",
        "kafkaTrigger": "kafka",
        "rabbitMQTrigger": "rabbitmq",
        "timerTrigger": "cron",
    ]

    /// The scaler for `function`, whose trigger is not HTTP. Throws a `UsageError` for a trigger with
    /// no scaler, a binding that lacks what the scaler needs, or a setting `settings` does not give.
    package static func scaleTrigger(for function: AppFunction, settings: AppSettings?) throws -> ScaleTrigger {
        let trigger = function.trigger ?? ""
        guard let type = scalerTypes[trigger] else {
            let supported = (["httpTrigger"] + scalerTypes.keys.sorted()).joined(separator: ", ")
            throw UsageError(
                DeployErrorCode.unsupportedTrigger,
                trigger.isEmpty
                    ? "function \(function.name): it has no trigger, so nothing would start it in the cluster"
                    : "function \(function.name): its trigger \(trigger) has no KEDA scaler in this kit (supported: \(supported))"
            )
        }
        let binding = function.bindings.first { $0.type == trigger }
        let reader = BindingReader(
            function: function.name,
            trigger: trigger,
            properties: binding?.properties ?? [:],
            settings: settings
        )
        var metadata: [String: String] = [:]
        var secrets: [String: String] = [:]
        switch trigger {
        case "queueTrigger":
            metadata["queueName"] = try reader.required("queueName")
            secrets["connection"] = try reader.connection(default: "AzureWebJobsStorage")
        case "blobTrigger":
            let path = try reader.required("path")
            let (container, prefix) = try reader.blobContainer(of: path)
            metadata["blobContainerName"] = container
            if !prefix.isEmpty { metadata["blobPrefix"] = prefix }
            secrets["connection"] = try reader.connection(default: "AzureWebJobsStorage")
        case "serviceBusTrigger":
            if let queue = try reader.optional("queueName") {
                metadata["queueName"] = queue
            } else if let topic = try reader.optional("topicName") {
                metadata["topicName"] = topic
                metadata["subscriptionName"] = try reader.required("subscriptionName")
            } else {
                throw reader.refuse("names neither a queueName nor a topicName with a subscriptionName")
            }
            secrets["connection"] = try reader.connection(default: "AzureWebJobsServiceBus")
        case "eventHubTrigger":
            metadata["eventHubName"] = try reader.required("eventHubName")
            metadata["consumerGroup"] = try reader.optional("consumerGroup") ?? "$Default"
            metadata["checkpointStrategy"] = "azureFunction"
            secrets["connection"] = try reader.connection(default: nil)
            secrets["storageConnection"] = try reader.setting(
                "AzureWebJobsStorage",
                for: "its checkpoints (AzureWebJobsStorage)"
            )
        case "kafkaTrigger":
            metadata["bootstrapServers"] = try reader.required("brokerList")
            metadata["consumerGroup"] = try reader.required("consumerGroup")
            metadata["topic"] = try reader.required("topic")
        case "rabbitMQTrigger":
            metadata["queueName"] = try reader.required("queueName")
            metadata["mode"] = "QueueLength"
            metadata["value"] = "20"
            let name = try reader.optional("connectionStringSetting") ?? reader.optional("connection")
            guard let name else {
                throw reader.refuse("names no connectionStringSetting (the app setting with the amqp:// URI)")
            }
            secrets["host"] = try reader.setting(name, for: "its connectionStringSetting")
        case "timerTrigger":
            let schedule = try reader.required("schedule")
            let window = try cronWindow(for: schedule, function: function.name)
            metadata["start"] = window.start
            metadata["end"] = window.end
            metadata["timezone"] = settings?.values["WEBSITE_TIME_ZONE"] ?? "Etc/UTC"
            metadata["desiredReplicas"] = "1"
        default:
            preconditionFailure("a trigger in scalerTypes without a mapping: \(trigger)")
        }
        return ScaleTrigger(type: type, metadata: metadata, secretParameters: secrets)
    }

    /// The KEDA cron `start` and `end` (5-field, minute first) for an NCRONTAB `schedule`
    /// (6-field, second first): see the file's header for what can be expressed.
    package static func cronWindow(for schedule: String, function: String) throws -> (start: String, end: String) {
        func refuse(_ why: String) -> UsageError {
            UsageError(
                DeployErrorCode.unsupportedSchedule,
                "function \(function): the timer schedule \(schedule.debugDescription) \(why)"
            )
        }
        if schedule.contains(":") {
            throw refuse(
                "is a TimeSpan (hh:mm:ss), which a KEDA cron trigger cannot express; use an NCRONTAB expression such as 0 */5 * * * *"
            )
        }
        let fields = schedule.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 6 else {
            throw refuse("is not a 6-field NCRONTAB expression (second minute hour day month day-of-week)")
        }
        guard fields[0] == "0" else {
            throw refuse(
                "fires at second \(fields[0]); KEDA's cron scaler works in whole minutes, so the seconds field must be 0"
            )
        }
        let (minute, hour) = (fields[1], fields[2])
        let window = cronWindowMinutes
        let endMinute: String
        if let m = Int(minute), minute.allSatisfy(\.isNumber), (0...59).contains(m) {
            if m + window <= 59 {
                endMinute = String(m + window)
            } else if hour == "*" {
                endMinute = String(m + window - 60)
            } else {
                throw refuse(
                    "opens at minute \(m), and its \(window)-minute window would end in the next hour, which the hour field \(hour) does not follow"
                )
            }
        } else if minute.hasPrefix("*/"), let step = Int(minute.dropFirst(2)),
            minute.dropFirst(2).allSatisfy(\.isNumber),
            (1...59).contains(step)
        {
            guard step > window else {
                throw refuse(
                    "fires every \(step) minute(s), within the kit's \(window)-minute window; give a step above \(window) minutes"
                )
            }
            endMinute = "\(window)-59/\(step)"
        } else {
            throw refuse(
                "has the minute field \(minute.debugDescription); the kit's \(window)-minute window follows a single minute (0-59) or a */N step"
            )
        }
        let rest = fields[2...5].joined(separator: " ")
        return (minute + " " + rest, endMinute + " " + rest)
    }
}

/// Reads one trigger binding's properties, resolving `%NAME%` app settings and naming the function
/// and the binding in every refusal.
private struct BindingReader {
    let function: String
    let trigger: String
    let properties: [String: String]
    let settings: AppSettings?

    func refuse(_ why: String) -> UsageError {
        UsageError(DeployErrorCode.badTrigger, "function \(function): its \(trigger) binding \(why)")
    }

    /// The property, resolved; nil when the binding does not declare it (or declares it empty).
    func optional(_ name: String) throws -> String? {
        guard let raw = properties[name], !raw.isEmpty else { return nil }
        return try resolve(raw, property: name)
    }

    func required(_ name: String) throws -> String {
        guard let value = try optional(name), !value.isEmpty else { throw refuse("names no \(name)") }
        return value
    }

    /// The Secret key that holds the binding's connection string: the `connection` property, or
    /// `fallback` when it has none (nil: the binding must name one).
    func connection(default fallback: String?) throws -> String {
        guard let name = try optional("connection") ?? fallback else {
            throw refuse("names no connection (the app setting with its connection string)")
        }
        return try setting(name, for: "its connection")
    }

    /// The Secret key of the app setting `name`, which the trigger needs for `what`.
    func setting(_ name: String, for what: String) throws -> String {
        guard let settings else {
            throw UsageError(
                DeployErrorCode.missingSetting,
                "function \(function): its \(trigger) reads the app setting \(name) for \(what); pass --settings FILE (a local.settings.json with it)"
            )
        }
        guard let key = settings.key(for: name) else {
            throw UsageError(
                DeployErrorCode.missingSetting,
                "function \(function): its \(trigger) reads the app setting \(name) for \(what), which --settings does not have"
            )
        }
        return key
    }

    /// A blob trigger's path as KEDA's container and prefix: the first segment, then the literal
    /// text before the first `{` binding expression.
    func blobContainer(of path: String) throws -> (String, String) {
        let trimmed = path.hasPrefix("/") ? String(path.dropFirst()) : path
        let parts = trimmed.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let container = String(parts[0])
        guard !container.isEmpty, !container.contains("{") else {
            throw refuse("has the path \(path.debugDescription), whose container is not a fixed name")
        }
        let rest = parts.count > 1 ? parts[1] : ""
        let prefix = rest.prefix { $0 != "{" }
        return (container, String(prefix))
    }

    /// `raw` with each `%NAME%` replaced by the app setting's value.
    private func resolve(_ raw: String, property: String) throws -> String {
        guard raw.contains("%") else { return raw }
        var out = ""
        var rest = Substring(raw)
        while let open = rest.firstIndex(of: "%") {
            out += rest[..<open]
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "%") else {
                out += rest[open...]
                return out
            }
            let name = String(after[..<close])
            guard let value = settings?.values[name] else {
                let hint =
                    settings == nil
                    ? "pass --settings FILE (a local.settings.json with it)" : "which --settings does not have"
                throw UsageError(
                    DeployErrorCode.missingSetting,
                    "function \(function): its \(trigger) binding's \(property) is the app setting %\(name)%; \(hint)"
                )
            }
            out += value
            rest = after[after.index(after: close)...]
        }
        return out + rest
    }
}
