// AirlockBundle owns what crosses the gap: sealing files into one signed bundle, verifying a bundle
// against a trust policy, importing it into a store all or nothing, and splitting it into volumes.
// It does not decide what the files are (Python and Go builds do) and never trusts a byte of a
// bundle before its manifest's signatures pass.

public import AirlockCore

/// Which keys may sign which channels, and how many must agree.
public struct TrustPolicy: Sendable {
    public struct Key: Sendable {
        public let publicKey: Ed25519PublicKey
        public let name: String
        public let channels: [String]

        public init(publicKey: Ed25519PublicKey, name: String, channels: [String]) {
            self.publicKey = publicKey
            self.name = name
            self.channels = channels
        }

        public func allows(channel: String) -> Bool { channels.isEmpty || channels.contains(channel) }
    }

    public let keys: [Key]
    public let threshold: Int

    public init(keys: [Key], threshold: Int) {
        self.keys = keys
        self.threshold = threshold
    }

    /// The policy kept in a store's index.
    public static func load(from index: StoreIndex) throws -> TrustPolicy {
        let keys = try index.trustedKeys().map { trusted in
            Key(
                publicKey: try Ed25519PublicKey(pem: Array(trusted.publicKey.utf8), source: "trusted key \(trusted.keyID)"),
                name: trusted.name,
                channels: trusted.channels
            )
        }
        return TrustPolicy(keys: keys, threshold: try index.threshold())
    }

    /// The outcome of checking a manifest's signatures.
    public struct Evaluation: Sendable {
        /// Key ids of trusted keys, allowed for the channel, whose signature verified.
        public var signers: [String] = []
        public private(set) var problems: [String] = []
        /// The code of each problem, in the same order.
        public private(set) var problemCodes: [ErrorCode] = []
        public var notes: [String] = []
        public var isSatisfied: Bool { problems.isEmpty }

        mutating func add(_ code: BundleErrorCode, _ problem: String) {
            problems.append(problem)
            problemCodes.append(code.code)
        }
    }

    /// Checks `signatures` (key id to raw signature) over the exact manifest bytes.
    public func evaluate(manifest bytes: [UInt8], channel: String, signatures: [String: [UInt8]]) -> Evaluation {
        var result = Evaluation()
        let byID = Dictionary(keys.map { ($0.publicKey.keyID, $0) }, uniquingKeysWith: { first, _ in first })
        for (keyID, signature) in signatures.sorted(by: { $0.key < $1.key }) {
            guard let key = byID[keyID] else {
                result.notes.append("signature by \(keyID) ignored: not a trusted key")
                continue
            }
            guard key.publicKey.isValidSignature(signature, for: bytes) else {
                result.add(
                    .badSignature,
                    "signatures/\(keyID).sig: does not verify with trusted key \(key.name) (\(keyID)): "
                        + "the manifest was changed or signed by another key"
                )
                continue
            }
            guard key.allows(channel: channel) else {
                result.add(
                    .channelNotAllowed,
                    "signatures/\(keyID).sig: key \(key.name) may not sign channel '\(channel)' "
                        + "(allowed: \(key.channels.joined(separator: ", ")))"
                )
                continue
            }
            result.signers.append(keyID)
        }
        if keys.isEmpty {
            result.add(
                .noTrustedKeys,
                "no trusted keys: add one with `airlock trust add KEY.pub` or pass --trust KEY.pub"
            )
        } else if result.signers.count < threshold {
            result.add(
                .thresholdNotMet,
                "needs valid signatures from \(threshold) trusted key(s) allowed for channel '\(channel)', "
                    + "found \(result.signers.count)"
            )
        }
        return result
    }
}
