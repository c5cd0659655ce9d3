import AirlockBundle
import AirlockCore
import AirlockTestSupport
import Foundation

/// A test world: a key pair, some input files, and helpers to seal them.
struct Fixture {
    let dir: TemporaryDirectory
    let keyPath: String
    let publicKey: Ed25519PublicKey
    let inputs: [String]

    init(files: [(String, [UInt8])] = [("a.txt", Array("hello\n".utf8)), ("b.bin", pseudoRandom(200_000, seed: 1))]) throws {
        dir = try TemporaryDirectory()
        publicKey = try KeyFiles.generate(prefix: dir.path + "/keys/alice")
        keyPath = dir.path + "/keys/alice.key"
        var inputs: [String] = []
        for (name, bytes) in files { inputs.append(try dir.file("in/" + name, bytes)) }
        self.inputs = inputs
    }

    /// Recent enough that a 30-day bundle has not expired.
    static var recentEpoch: Int64 { Timestamp.nowEpochSeconds() - 3600 }

    func seal(
        to name: String = "b.airlock", keys: [String]? = nil, channel: String = "default", sequence: Int = 1,
        expiresIn: Int64 = 30 * 86400, epoch: Int64? = Fixture.recentEpoch, compression: ArchiveCompression = .none,
        volumeSize: Int? = nil, inputs: [String]? = nil, provenance: [String: JSONValue] = [:], delta: SealDelta? = nil
    ) async throws -> String {
        let out = dir.path + "/" + name
        try FileSystem.makeDirectory(FileSystem.parentPath(out))
        var options = SealOptions(
            output: out, keyPaths: keys ?? [keyPath], channel: channel, sequence: sequence, expiresIn: expiresIn,
            compression: compression, maximumVolumeSize: volumeSize, sourceDateEpoch: epoch, allowExpired: true
        )
        options.delta = delta
        var sealInputs = try SealInput.expand(inputs ?? self.inputs)
        for i in sealInputs.indices { sealInputs[i].provenance = provenance[sealInputs[i].name] }
        _ = try await Sealer.seal(sealInputs, options: options, store: nil)
        return out
    }

    func policy(threshold: Int = 1, channels: [String] = [], extra: [Ed25519PublicKey] = []) -> TrustPolicy {
        TrustPolicy(
            keys: [TrustPolicy.Key(publicKey: publicKey, name: "alice", channels: channels)]
                + extra.map { TrustPolicy.Key(publicKey: $0, name: "other", channels: []) },
            threshold: threshold
        )
    }

    func verify(_ path: String, policy: TrustPolicy? = nil, now: Int64 = Timestamp.nowEpochSeconds(), allowExpired: Bool = false) throws -> BundleReport {
        try BundleScanner(paths: try Volumes.resolve(path), options: ScanOptions(policy: policy ?? self.policy(), now: now, allowExpired: allowExpired)).scan()
    }

    /// A store that trusts alice.
    func trustingStore(_ name: String = "inside", channels: [String] = []) throws -> Store {
        let store = try Store.open(at: dir.path + "/" + name)
        try store.index.addTrustedKey(
            TrustedKey(keyID: publicKey.keyID, name: "alice", publicKey: String(decoding: try publicKey.pem(), as: UTF8.self), channels: channels)
        )
        return store
    }
}

/// Every file under a store and its bytes (the SQLite shared-memory file excepted: readers touch it).
func snapshot(_ root: String) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    func walk(_ dir: String, _ rel: String) throws {
        for name in try FileSystem.list(dir) {
            let path = dir + "/" + name
            let r = rel.isEmpty ? name : rel + "/" + name
            if FileSystem.kind(of: path) == .directory {
                out[r + "/"] = []
                try walk(path, r)
            } else if !name.hasSuffix("-shm") {
                out[r] = try FileSystem.readFile(path, limit: 1 << 30)
            }
        }
    }
    try walk(root, "")
    return out
}
