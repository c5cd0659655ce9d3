import AirlockBundle
import AirlockCore
import ArgumentParser

/// `--trust KEY.pub ... [--threshold K]`: check a bundle against these keys instead of the store's
/// trust policy (verify, audit).
struct TrustOptions: ParsableArguments {
    @Option(name: .long, help: "Trust this public key instead of the store's policy; repeatable.") var trust: [String] = []
    @Option(help: "With --trust: how many of those keys must sign (default 1).") var threshold = 1

    /// The keys given, or else the policy of the store `storeOptions` names.
    func policy(_ storeOptions: StoreOptions) throws -> TrustPolicy {
        guard !trust.isEmpty else { return try TrustPolicy.load(from: storeOptions.openExisting().index) }
        let keys = try trust.map { TrustPolicy.Key(publicKey: try KeyFiles.loadPublicKey($0), name: FileSystem.baseName($0), channels: []) }
        return TrustPolicy(keys: keys, threshold: threshold)
    }
}
