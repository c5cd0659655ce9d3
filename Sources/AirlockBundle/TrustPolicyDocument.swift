// A whole trust policy as a document: what `trust ls --json` prints (the threshold and the keys,
// each with its key id, name, SPKI PEM and channels) plus the integer version a rotation raises.
// It is read strictly, since it decides who may sign what: unknown fields, a threshold out of range,
// a key id that is not its key's, a key that is not Ed25519, a duplicate key or a bad channel name
// are each refused with the field named.

public import AirlockCore

/// The next trust policy, as `trust rotate --policy NEW.json` reads it and a rotation carries it.
public struct TrustPolicyDocument: Sendable, Equatable {
    public var version: Int
    public var threshold: Int
    /// Sorted by key id; each checked against its PEM.
    public var keys: [TrustedKey]

    public init(version: Int, threshold: Int, keys: [TrustedKey]) {
        self.version = version
        self.threshold = threshold
        self.keys = keys.sorted { $0.keyID < $1.keyID }
    }

    /// The fields `trust ls --json` prints for a key; `addedAt` is read and ignored.
    static let keyFields: Set<String> = ["keyID", "name", "publicKey", "channels", "addedAt"]

    /// Reads the policy from a JSON object (`extraFields` are left to the caller); `source` names
    /// the file and `code` the error reason in every message.
    init(object: [String: JSONValue], extraFields: Set<String>, source: String, code: BundleErrorCode) throws {
        func refuse(_ reason: String) -> UsageError { UsageError(code, "\(source): \(reason)") }
        let known: Set<String> = ["version", "threshold", "keys"]
        for field in object.keys.sorted() where !known.contains(field) && !extraFields.contains(field) {
            throw refuse("unknown field \"\(field)\" (a policy has threshold, keys and version)")
        }
        guard let version = object["version"]?.intValue, version >= 1, version <= Int64(Int32.max) else {
            throw refuse(
                "needs \"version\": a whole number of at least 1, above the store's current version (`airlock trust ls` shows it)"
            )
        }
        guard let entries = object["keys"]?.arrayValue, !entries.isEmpty else {
            throw refuse("needs \"keys\": a list of at least one key")
        }
        var keys: [TrustedKey] = []
        for (index, entry) in entries.enumerated() {
            let key = try Self.key(entry, at: "keys[\(index)]", refuse: refuse)
            if keys.contains(where: { $0.keyID == key.keyID }) {
                throw refuse("keys[\(index)]: key \(key.keyID) is listed twice")
            }
            keys.append(key)
        }
        guard let threshold = object["threshold"]?.intValue, threshold >= 1, threshold <= Int64(keys.count) else {
            throw refuse("needs \"threshold\": a whole number from 1 to the number of keys (\(keys.count))")
        }
        self.init(version: Int(version), threshold: Int(threshold), keys: keys)
    }

    private static func key(_ entry: JSONValue, at place: String, refuse: (String) -> UsageError) throws -> TrustedKey {
        guard let fields = entry.objectValue else { throw refuse("\(place): not an object") }
        for field in fields.keys.sorted() where !keyFields.contains(field) {
            throw refuse("\(place): unknown field \"\(field)\" (a key has keyID, name, publicKey and channels)")
        }
        guard let pem = fields["publicKey"]?.stringValue else {
            throw refuse("\(place): needs \"publicKey\": the SPKI PEM text of an Ed25519 key")
        }
        let publicKey: Ed25519PublicKey
        do {
            publicKey = try Ed25519PublicKey(pem: Array(pem.utf8), source: place)
        } catch let error as CryptoError {
            throw refuse(error.description)
        }
        if let given = fields["keyID"] {
            guard given.stringValue == publicKey.keyID else {
                throw refuse(
                    "\(place): keyID \(given.stringValue ?? "?") is not its publicKey's id, \(publicKey.keyID)"
                )
            }
        }
        let name: String
        if let given = fields["name"] {
            guard let text = given.stringValue, !text.isEmpty, !text.contains("\n") else {
                throw refuse("\(place): \"name\" must be a non-empty one-line string")
            }
            name = text
        } else {
            name = String(publicKey.keyID.prefix(16))
        }
        var channels: [String] = []
        if let given = fields["channels"] {
            guard let list = given.arrayValue else { throw refuse("\(place): \"channels\" must be a list of names") }
            for item in list {
                guard let channel = item.stringValue, Manifest.isValidChannel(channel) else {
                    throw refuse(
                        "\(place): channel \(item.stringValue.map { "'\($0)'" } ?? "?") is not a valid channel name"
                    )
                }
                if !channels.contains(channel) { channels.append(channel) }
            }
        }
        if let added = fields["addedAt"], added.stringValue == nil {
            throw refuse("\(place): \"addedAt\" must be a string")
        }
        let text = String(decoding: try publicKey.pem(), as: UTF8.self)
        return TrustedKey(keyID: publicKey.keyID, name: name, publicKey: text, channels: channels)
    }

    /// Reads NEW.json (`trust ls --json` output, edited, with a version).
    public static func read(_ path: String) throws -> TrustPolicyDocument {
        guard FileSystem.kind(of: path) == .regular else {
            throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such policy file")
        }
        let bytes = try FileSystem.readFile(path, limit: 1 << 20)
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes) } catch {
            throw UsageError(BundleErrorCode.badPolicy, "\(path): not a policy: \(error.description)")
        }
        guard let object = value.objectValue else {
            throw UsageError(BundleErrorCode.badPolicy, "\(path): not a policy: not a JSON object")
        }
        return try TrustPolicyDocument(object: object, extraFields: [], source: path, code: .badPolicy)
    }

    /// The policy's fields as canonical JSON values (keys without `addedAt`, which is the store's).
    var json: [String: JSONValue] {
        [
            "version": .int(Int64(version)),
            "threshold": .int(Int64(threshold)),
            "keys": .array(
                keys.map { key in
                    .object([
                        "keyID": .string(key.keyID),
                        "name": .string(key.name),
                        "publicKey": .string(key.publicKey),
                        "channels": .array(key.channels.map(JSONValue.string)),
                    ])
                }
            ),
        ]
    }
}
