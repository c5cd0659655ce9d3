// The reasons a deploy kit cannot be made, for `--json` callers and tests to switch on instead of
// the message (manifests/error-codes.md lists them). All are bad input (exit 2): a kit is checked
// offline, before anything reaches Azure.

public import AirlockCore

public enum DeployErrorCode: String, ErrorCodes {
    public static let domain = "deploy"
    /// A resource group, app, slot, subscription, function or zip file name Azure would refuse.
    case badName = "bad-name"
    /// A --plan that is not one of auto, premium, dedicated, consumption, flex.
    case badPlan = "bad-plan"
    /// A --slot for a Flex Consumption app, which has none.
    case noSlots = "no-slots"
    /// No --expect and no smoke-test provenance naming the functions to wait for.
    case noExpectedFunctions = "no-expected-functions"
    /// A --wait outside 0 to 24 hours.
    case badWait = "bad-wait"
    /// --artifact names neither a zip file nor anything in a store.
    case noSuchArtifact = "no-such-artifact"
    /// --artifact is a directory, a file not named .zip, or bytes that do not start like a zip.
    case notAZip = "not-a-zip"
    /// --out exists and is not a directory.
    case outNotADirectory = "out-not-a-directory"
    /// --out is a directory with files in it, and --force was not given.
    case outDirNotEmpty = "out-dir-not-empty"
    // The container kits
    /// --plan consumption or flex for a container: neither runs one.
    case containerPlan = "container-plan"
    /// --image names no image in the store.
    case noSuchImage = "no-such-image"
    /// A --secret-setting that is not NAME=SECRET, is given twice or names a setting the kit sets
    /// itself; or --key-vault and --secret-setting without each other.
    case badSecretSetting = "bad-secret-setting"

    // The Kubernetes kit
    /// --name, --namespace or --pull-secret that Kubernetes would refuse as an object name.
    case badKubernetesName = "bad-kubernetes-name"
    /// --registry that is not a registry host name with an optional port.
    case badRegistry = "bad-registry"
    /// --min-replicas or --max-replicas outside 0 to 1000, or a minimum above the maximum.
    case badReplicas = "bad-replicas"
    /// --polling-interval or --cooldown-period that is not a positive number of seconds (at most a day).
    case badScalingPeriod = "bad-scaling-period"
    /// --settings that is not a local.settings.json: not JSON, encrypted, a non-string value, a bad key.
    case badSettings = "bad-settings"
    /// A trigger reads an app setting (a connection, or a %NAME% value) that no --settings file gives.
    case missingSetting = "missing-setting"
    /// The image records no app provenance (it was not made by `airlock image build`).
    case noAppProvenance = "no-app-provenance"
    /// The image's app records no functions to deploy.
    case noFunctions = "no-functions"
    /// A function whose trigger no KEDA scaler in the kit's map follows.
    case unsupportedTrigger = "unsupported-trigger"
    /// A trigger binding without what its scaler needs (a queue, topic, container or consumer group name).
    case badTrigger = "bad-trigger"
    /// A timer schedule a KEDA cron trigger cannot express (seconds, a TimeSpan, too frequent).
    case unsupportedSchedule = "unsupported-schedule"
}
