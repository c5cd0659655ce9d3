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
        volumeSize: Int? = nil, inputs: [String]? = nil
    ) async throws -> String {
        let out = dir.path + "/" + name
        try FileSystem.makeDirectory(FileSystem.parentPath(out))
        let options = SealOptions(
            output: out, keyPaths: keys ?? [keyPath], channel: channel, sequence: sequence, expiresIn: expiresIn,
            compression: compression, maximumVolumeSize: volumeSize, sourceDateEpoch: epoch
        )
        _ = try await Sealer.seal(try SealInput.expand(inputs ?? self.inputs), options: options, store: nil)
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

/// One member of a hand-made tar: any name, type and header size, whatever the data.
struct RawMember {
    var name: String
    var type: UInt8 = UInt8(ascii: "0")
    var data: [UInt8] = []
    var headerSize: Int? = nil
    var linkName: String = ""
    var mode: Int = 0o644
}

/// Writes ustar by hand (not through libarchive), so tests can build archives our writer never would.
enum RawTar {
    static func build(_ members: [RawMember], endMarker: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        for m in members {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int, width: Int) {
                for (i, b) in text.utf8.prefix(width).enumerated() { header[offset + i] = b }
            }
            func octal(_ value: Int, at offset: Int, width: Int) {
                let s = String(value, radix: 8)
                put(String(repeating: "0", count: max(0, width - 1 - s.count)) + s, at: offset, width: width - 1)
            }
            var name = m.name
            var prefix = ""
            if name.utf8.count > 100, let slash = name.lastIndex(of: "/") {
                prefix = String(name[..<slash])
                name = String(name[name.index(after: slash)...])
            }
            put(name, at: 0, width: 100)
            octal(m.mode, at: 100, width: 8)
            octal(0, at: 108, width: 8)
            octal(0, at: 116, width: 8)
            octal(m.headerSize ?? m.data.count, at: 124, width: 12)
            octal(1_700_000_000, at: 136, width: 12)
            header[156] = m.type
            put(m.linkName, at: 157, width: 100)
            put("ustar", at: 257, width: 6)
            put("00", at: 263, width: 2)
            put(prefix, at: 345, width: 155)
            for i in 148..<156 { header[i] = 32 }
            let sum = header.reduce(0) { $0 + Int($1) }
            octal(sum, at: 148, width: 7)
            header[155] = 32
            out += header
            out += m.data
            let pad = (512 - m.data.count % 512) % 512
            out += [UInt8](repeating: 0, count: pad)
        }
        if endMarker { out += [UInt8](repeating: 0, count: 1024) }
        return out
    }

    /// The members of an existing (plain) tar, in order.
    static func members(of path: String) throws -> [RawMember] {
        let reader = try ArchiveReader(paths: [path])
        var members: [RawMember] = []
        while let entry = try reader.next() {
            members.append(RawMember(name: entry.path ?? "", data: try reader.readAll(limit: 1 << 30)))
        }
        return members
    }
}
