// Trust rotation, as TUF rotates its root: the next trust policy (its keys, threshold and version)
// crosses the gap as one signed file, a DSSE envelope (DSSE.swift) over the policy's canonical JSON
// with an expiry. A store accepts it only when it is signed by the threshold of the keys the store
// trusts now and by the threshold of the new policy's keys (so the new keys proved possession), its
// version is above the store's, and it has not expired; then every key, the threshold and the
// version are replaced in one index transaction. Key channels do not limit who may sign a rotation:
// every trusted key counts towards the threshold, as every root key does in TUF.

public import AirlockCore
import Foundation

/// A signed next trust policy: `trust rotate --policy ... --out ROTATION` writes one,
/// `trust rotate ROTATION` applies it.
public struct TrustRotation: Sendable {
    /// The DSSE payload type, signed with the payload.
    public static let payloadType = "application/vnd.airlock.trust-rotation+json"
    /// The payload's `_type`, so no other signed Airlock document can pass for a rotation.
    static let documentType = "airlock.trust-rotation.v1"
    /// How long a rotation stays valid when `--expires` is not given (one week, as TUF's root
    /// metadata is commonly short-lived: a rotation is applied within days, not kept).
    public static let defaultExpiry: Int64 = 7 * 86400

    public var policy: TrustPolicyDocument
    public var created: Int64
    public var expires: Int64
    /// The envelope as read, whose signatures are over `envelope.signedBytes`.
    public var envelope: DSSE.Envelope

    /// Signs `policy` with each of `signers`; the envelope's canonical JSON bytes.
    public static func envelope(
        for policy: TrustPolicyDocument,
        created: Int64,
        expires: Int64,
        signers: [(key: Ed25519PrivateKey, id: String)]
    ) throws -> [UInt8] {
        var document = policy.json
        document["_type"] = .string(documentType)
        document["created"] = .string(Timestamp.format(epochSeconds: created))
        document["expires"] = .string(Timestamp.format(epochSeconds: expires))
        return try DSSE.envelope(
            payload: JSONValue.object(document).canonicalBytes,
            type: payloadType,
            signers: signers
        )
    }

    /// Reads a rotation file; `source` names it in errors. Checks its form only, not its signatures.
    public init(parsing bytes: [UInt8], source: String) throws {
        func refuse(_ reason: String) -> UsageError {
            UsageError(BundleErrorCode.badRotation, "\(source): not a trust rotation: \(reason)")
        }
        do { envelope = try DSSE.Envelope(parsing: bytes) } catch { throw refuse(error.description) }
        guard envelope.payloadType == Self.payloadType else {
            throw refuse("its payload type is \(envelope.payloadType), not \(Self.payloadType)")
        }
        let object: [String: JSONValue]
        do {
            let value = try JSONValue(parsing: envelope.payload)
            guard let members = value.objectValue else { throw refuse("its payload is not a JSON object") }
            object = members
        } catch let error as JSONParseError {
            throw refuse("its payload: \(error.description)")
        }
        guard object["_type"]?.stringValue == Self.documentType else {
            throw refuse("its payload's _type is not \(Self.documentType)")
        }
        guard let created = object["created"]?.stringValue.flatMap(Timestamp.parse),
            let expires = object["expires"]?.stringValue.flatMap(Timestamp.parse)
        else { throw refuse("its payload needs created and expires times (YYYY-MM-DDTHH:MM:SSZ)") }
        self.created = created
        self.expires = expires
        policy = try TrustPolicyDocument(
            object: object,
            extraFields: ["_type", "created", "expires"],
            source: source,
            code: .badRotation
        )
    }

    /// Key ids among `keys` whose signature verifies over the signed bytes.
    public func signers(among keys: [TrustedKey]) -> [String] {
        let signed = envelope.signedBytes
        let byID = Dictionary(
            envelope.signatures.map { ($0.keyID, $0.signature) },
            uniquingKeysWith: { first, _ in first }
        )
        var found: [String] = []
        for key in keys where !found.contains(key.keyID) {
            guard let signature = byID[key.keyID],
                let publicKey = try? Ed25519PublicKey(pem: Array(key.publicKey.utf8), source: key.name),
                publicKey.keyID == key.keyID, publicKey.isValidSignature(signature, for: signed)
            else { continue }
            found.append(key.keyID)
        }
        return found
    }

    /// `--expires`: a duration from `now` (7d, 12h) or a time (2026-06-01T00:00:00Z).
    public static func expiry(_ text: String, now: Int64) throws -> Int64 {
        if let time = Timestamp.parse(text) { return time }
        guard let seconds = DurationText.seconds(text), seconds > 0 else {
            throw UsageError(
                BundleErrorCode.badExpiry,
                "--expires '\(text)': use a duration such as 7d, 12h or 2w, or a time such as 2026-06-01T00:00:00Z"
            )
        }
        let (sum, overflow) = now.addingReportingOverflow(seconds)
        guard !overflow, sum < 253_402_300_800 else {
            throw UsageError(BundleErrorCode.badExpiry, "--expires '\(text)': too far in the future")
        }
        return sum
    }
}

/// What `trust rotate --policy ... --out` wrote.
public struct RotationSigned: Sendable, Encodable {
    public var file: String
    public var version: Int
    public var threshold: Int
    public var keys: [String]
    public var signers: [String]
    public var expires: String
    /// How many of the new policy's keys signed, against its threshold: a store refuses the file
    /// unless this reaches it.
    public var newKeysSigned: Int
}

/// What `trust rotate ROTATION` changed in the store.
public struct RotationApplied: Sendable, Encodable {
    public var file: String
    public var previousVersion: Int
    public var version: Int
    public var threshold: Int
    public var keys: [String]
    public var added: [String]
    public var removed: [String]
    /// Current keys whose signature verified, then new keys whose signature verified.
    public var currentSigners: [String]
    public var newSigners: [String]
}

extension TrustRotation {
    /// Outside: reads NEW.json, signs it with each key and writes the rotation to `output`
    /// (atomically, never over an existing file).
    public static func sign(
        policy policyPath: String,
        keyPaths: [String],
        passphrase: KeyPassphrase,
        expires: String?,
        allowExpired: Bool,
        output: String,
        now: Int64 = Timestamp.nowEpochSeconds()
    ) throws -> RotationSigned {
        guard !keyPaths.isEmpty else {
            throw UsageError(BundleErrorCode.noKey, "trust rotate --policy needs at least one --key to sign with")
        }
        let policy = try TrustPolicyDocument.read(policyPath)
        let expiry = try expiry(expires ?? "\(defaultExpiry / 86400)d", now: now)
        guard expiry > now || allowExpired else {
            throw UsageError(
                BundleErrorCode.badExpiry,
                "--expires '\(expires ?? "")': \(Timestamp.format(epochSeconds: expiry)) has passed; give a later time"
            )
        }
        guard !FileSystem.exists(output) else {
            throw UsageError(CoreErrorCode.file, "\(output): already exists; pick another --out")
        }
        var signers: [(key: Ed25519PrivateKey, id: String)] = []
        for path in keyPaths {
            let key = try KeyFiles.loadPrivateKey(path, passphrase: passphrase)
            let id = try key.publicKey.keyID
            guard !signers.contains(where: { $0.id == id }) else {
                throw UsageError(BundleErrorCode.duplicateKey, "\(path): the same key was given twice")
            }
            signers.append((key, id))
        }
        let bytes = try envelope(for: policy, created: now, expires: expiry, signers: signers)
        try FileSystem.writeAtomically(output, bytes, mode: 0o644, exclusive: true)
        let newIDs = Set(policy.keys.map(\.keyID))
        return RotationSigned(
            file: output,
            version: policy.version,
            threshold: policy.threshold,
            keys: policy.keys.map(\.keyID),
            signers: signers.map(\.id).sorted(),
            expires: Timestamp.format(epochSeconds: expiry),
            newKeysSigned: signers.filter { newIDs.contains($0.id) }.count
        )
    }

    /// Inside: checks the rotation at `path` against the store's policy and, if it passes, makes
    /// its policy the store's, in one transaction.
    public static func apply(_ path: String, to index: StoreIndex, now: Int64 = Timestamp.nowEpochSeconds()) throws
        -> RotationApplied
    {
        guard FileSystem.kind(of: path) == .regular else {
            throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such rotation file")
        }
        let rotation = try TrustRotation(parsing: FileSystem.readFile(path, limit: 1 << 20), source: path)
        let policy = rotation.policy
        var outcome: RotationApplied? = nil
        try index.replaceTrust(keys: policy.keys, threshold: policy.threshold, version: policy.version) { current in
            outcome = try rotation.check(against: current, file: path, now: now)
        }
        guard let outcome else { preconditionFailure("replaceTrust returned without running its check") }
        return outcome
    }

    /// Every rule a rotation must pass against the store's `current` policy, in the order a
    /// reader would ask: who signed, is it newer, is it still valid.
    func check(against current: StoreIndex.TrustSnapshot, file: String, now: Int64) throws -> RotationApplied {
        guard !current.keys.isEmpty else {
            throw CheckFailure(
                BundleErrorCode.noTrustedKeys,
                "\(file): the store trusts no key yet, so no rotation can be checked; trust the first keys with `airlock trust add`"
            )
        }
        let currentSigners = signers(among: current.keys)
        guard currentSigners.count >= current.threshold else {
            throw CheckFailure(
                BundleErrorCode.rotationThreshold,
                "\(file): signed by \(currentSigners.count) of the store's \(current.keys.count) trusted key(s); "
                    + "a rotation needs the current threshold, \(current.threshold)"
            )
        }
        let newSigners = signers(among: policy.keys)
        guard newSigners.count >= policy.threshold else {
            throw CheckFailure(
                BundleErrorCode.rotationThreshold,
                "\(file): signed by \(newSigners.count) of the new policy's \(policy.keys.count) key(s); "
                    + "its threshold, \(policy.threshold), must sign too, so the new keys prove they are held"
            )
        }
        guard policy.version > current.version else {
            throw CheckFailure(
                BundleErrorCode.rotationRollback,
                "\(file): version \(policy.version) is not above the store's trust policy version \(current.version): "
                    + "a replay or a rollback, refused"
            )
        }
        guard now < expires else {
            throw CheckFailure(
                BundleErrorCode.rotationExpired,
                "\(file): the rotation expired at \(Timestamp.format(epochSeconds: expires)); sign it again with a later --expires"
            )
        }
        let before = Set(current.keys.map(\.keyID))
        let after = policy.keys.map(\.keyID)
        return RotationApplied(
            file: file,
            previousVersion: current.version,
            version: policy.version,
            threshold: policy.threshold,
            keys: after,
            added: after.filter { !before.contains($0) },
            removed: current.keys.map(\.keyID).filter { !after.contains($0) },
            currentSigners: currentSigners,
            newSigners: newSigners
        )
    }
}
