// The signed manifest of a bundle: canonical JSON (RFC 8785) naming every artifact and every blob by
// sha256 and size, plus the sha256 of the bundle's SHA256SUMS, so one signature covers every byte.
// Parsing refuses anything but the canonical form, so the bytes that were signed have exactly one
// meaning. The schema is documented in manifests/manifest.schema.json.
//
// Schema 1 is a full bundle: every blob is a member. Schema 2 is a delta (`seal --delta`): a blob
// may be left out as expected in the receiving store (`"expected": "store"`, re-hashed there before
// the import commits) or carried as a recipe (`"recipe": "<hex>"`, the digest of a carried blob
// that says how to reassemble it from other blobs of the manifest), and `delta.inventory` names the
// inventory it was cut against. An Airlock that knows only schema 1 refuses a delta by its schema.

/// One artifact a bundle carries: a blob with a name and a file name to export it under.
public struct ManifestArtifact: Sendable, Equatable {
    public var name: String
    /// Relative path the artifact is exported as (its file name is the last component).
    public var path: String
    public var kind: String
    public var sha256: SHA256Digest
    public var size: Int
    public var mediaType: String
    /// How it was made (inputs, builder image, toolchain, SOURCE_DATE_EPOCH); free-form, signed.
    public var provenance: JSONValue?

    public init(name: String, path: String, kind: String, sha256: SHA256Digest, size: Int, mediaType: String, provenance: JSONValue? = nil) {
        self.name = name
        self.path = path
        self.kind = kind
        self.sha256 = sha256
        self.size = size
        self.mediaType = mediaType
        self.provenance = provenance
    }
}

/// One blob a bundle names: carried at `blobs/sha256/<hex>`, or, in a delta, expected in the
/// receiving store or reassembled there from a recipe.
public struct ManifestBlob: Sendable, Equatable {
    /// How a blob reaches the receiving store.
    public enum Delivery: Sendable, Equatable, Hashable {
        /// A member of the bundle.
        case carried
        /// Left out: the receiving store holds it already (its inventory said so).
        case store
        /// Left out: the carried recipe blob of this digest rebuilds it from other blobs.
        case recipe(SHA256Digest)
    }

    public var sha256: SHA256Digest
    public var size: Int
    public var kind: String
    public var delivery: Delivery

    public init(sha256: SHA256Digest, size: Int, kind: String, delivery: Delivery = .carried) {
        self.sha256 = sha256
        self.size = size
        self.kind = kind
        self.delivery = delivery
    }

    public var memberPath: String { "blobs/sha256/" + sha256.hex }
    public var isCarried: Bool { delivery == .carried }
}

/// What a delta bundle was cut against.
public struct ManifestDelta: Sendable, Equatable {
    /// The sha256 of the inventory file (`airlock inventory --out`) the seal left blobs out by.
    public var inventory: SHA256Digest

    public init(inventory: SHA256Digest) { self.inventory = inventory }
}

public struct Manifest: Sendable, Equatable {
    public static let schemaVersion: Int64 = 1
    /// A delta's schema: blobs may be expected in the store or carried as recipes.
    public static let deltaSchemaVersion: Int64 = 2
    /// Largest manifest.json Airlock reads: bounds memory before a signature is checked (TUF's
    /// endless-data attack). 256 MiB holds about 900,000 blobs; a bundle's manifest is read as its
    /// bytes arrive, so a header that claims more than the bundle holds costs nothing.
    public static let maximumSize = 256 << 20

    public var bundle: String
    public var channel: String
    public var sequence: Int
    public var created: String
    public var expires: String
    public var target: JSONValue?
    public var artifacts: [ManifestArtifact]
    public var blobs: [ManifestBlob]
    public var sha256sums: SHA256Digest
    /// Set for a delta bundle (schema 2).
    public var delta: ManifestDelta?

    public init(bundle: String, channel: String, sequence: Int, created: String, expires: String, target: JSONValue? = nil, artifacts: [ManifestArtifact], blobs: [ManifestBlob], sha256sums: SHA256Digest, delta: ManifestDelta? = nil) {
        self.bundle = bundle
        self.channel = channel
        self.sequence = sequence
        self.created = created
        self.expires = expires
        self.target = target
        self.artifacts = artifacts
        self.blobs = blobs
        self.sha256sums = sha256sums
        self.delta = delta
    }

    /// The blobs that are members of the bundle.
    public var carriedBlobs: [ManifestBlob] { blobs.filter(\.isCarried) }

    public var json: JSONValue {
        var top: [String: JSONValue] = [
            "schema": .int(delta == nil ? Self.schemaVersion : Self.deltaSchemaVersion),
            "bundle": .string(bundle),
            "channel": .string(channel),
            "sequence": .int(Int64(sequence)),
            "created": .string(created),
            "expires": .string(expires),
            "sha256sums": .string(sha256sums.hex),
            "artifacts": .array(
                artifacts.map { a in
                    var o: [String: JSONValue] = [
                        "name": .string(a.name), "path": .string(a.path), "kind": .string(a.kind),
                        "sha256": .string(a.sha256.hex), "size": .int(Int64(a.size)), "mediaType": .string(a.mediaType),
                    ]
                    if let p = a.provenance { o["provenance"] = p }
                    return .object(o)
                }
            ),
            "blobs": .array(
                blobs.map { blob in
                    var o: [String: JSONValue] = [
                        "sha256": .string(blob.sha256.hex), "size": .int(Int64(blob.size)), "kind": .string(blob.kind),
                    ]
                    switch blob.delivery {
                    case .carried: break
                    case .store: o["expected"] = .string("store")
                    case .recipe(let recipe): o["recipe"] = .string(recipe.hex)
                    }
                    return .object(o)
                }
            ),
        ]
        if let target { top["target"] = target }
        if let delta { top["delta"] = .object(["inventory": .string(delta.inventory.hex)]) }
        return .object(top)
    }

    /// The signed form (written directly, not through `json`: see Manifest+Coding.swift).
    public var canonicalBytes: [UInt8] { writeCanonical() }

    /// Parses signed manifest bytes; anything but a valid, canonical schema-1 or 2 manifest is refused.
    public init(canonicalBytes bytes: [UInt8]) throws(ManifestError) {
        // What seal writes takes the fast reader; anything it refuses is read again through a
        // JSONValue tree, which names the reason (or, if the fast reader was stricter, accepts it).
        if let manifest = Self.readCanonical(bytes) {
            self = manifest
            return
        }
        try self.init(tree: bytes)
    }

    /// The reference reading: the whole document as a JSONValue tree, re-encoded for the canonical
    /// check, then every field checked with its reason.
    init(tree bytes: [UInt8]) throws(ManifestError) {
        let top = try Self.topLevel(bytes)
        let fields = ManifestFields(top, "manifest")
        bundle = try fields.string("bundle")
        guard Self.isValidBundleID(bundle) else { throw ManifestError("bundle id \"\(bundle.prefix(80))\" is not a lowercase UUID") }
        channel = try fields.string("channel")
        guard Self.isValidChannel(channel) else { throw ManifestError("channel \"\(channel)\" is not a valid channel name") }
        sequence = try fields.int("sequence")
        created = try fields.string("created")
        expires = try fields.string("expires")
        guard Timestamp.parse(created) != nil, Timestamp.parse(expires) != nil else {
            throw ManifestError("created and expires must be RFC 3339 UTC times (YYYY-MM-DDTHH:MM:SSZ)")
        }
        target = top["target"]
        sha256sums = try fields.digest("sha256sums")
        let isDelta = top["schema"]?.intValue == Self.deltaSchemaVersion
        if isDelta {
            guard let o = top["delta"]?.objectValue, Set(o.keys) == ["inventory"] else {
                throw ManifestError("a schema-2 manifest needs \"delta\" with exactly \"inventory\"")
            }
            delta = ManifestDelta(inventory: try ManifestFields(o, "delta").digest("inventory"))
        } else {
            guard top["delta"] == nil else { throw ManifestError("\"delta\" belongs to schema 2") }
            delta = nil
        }
        guard let blobValues = top["blobs"]?.arrayValue else { throw ManifestError("\"blobs\" must be an array") }
        blobs = try Self.blobs(blobValues, delta: isDelta)
        guard let artifactValues = top["artifacts"]?.arrayValue else { throw ManifestError("\"artifacts\" must be an array") }
        artifacts = try Self.artifacts(artifactValues, blobs: blobs)
    }

    /// The top-level object of canonical, schema-1 manifest bytes with no field it does not know.
    private static func topLevel(_ bytes: [UInt8]) throws(ManifestError) -> [String: JSONValue] {
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes) } catch { throw ManifestError("\(error)") }
        guard value.canonicalBytes == bytes else {
            throw ManifestError("not in canonical form (RFC 8785): it was not written by `airlock seal`")
        }
        guard let top = value.objectValue else { throw ManifestError("not a JSON object") }
        let known: Set<String> = [
            "schema", "bundle", "channel", "sequence", "created", "expires", "target", "artifacts", "blobs", "sha256sums", "delta",
        ]
        if let extra = top.keys.first(where: { !known.contains($0) }) { throw ManifestError("unknown field \"\(extra)\"") }
        guard let schema = top["schema"]?.intValue, schema == Self.schemaVersion || schema == Self.deltaSchemaVersion else {
            throw ManifestError("schema \(top["schema"].map { String(decoding: $0.canonicalBytes, as: UTF8.self) } ?? "missing") is not 1 or 2")
        }
        return top
    }

    /// `blobs`: each exactly sha256, size and kind (in a delta, also at most one of `expected:
    /// "store"` and `recipe`); no digest twice; a recipe names a carried blob of the list, other
    /// than the blob itself.
    private static func blobs(_ values: [JSONValue], delta: Bool) throws(ManifestError) -> [ManifestBlob] {
        var blobs: [ManifestBlob] = []
        var seen = Set<SHA256Digest>()
        for (i, v) in values.enumerated() {
            let what = "blobs[\(i)]"
            guard let o = v.objectValue else { throw ManifestError("\(what) must be an object") }
            let keys = Set(o.keys)
            let required: Set<String> = ["sha256", "size", "kind"]
            guard keys == required || (delta && (keys == required.union(["expected"]) || keys == required.union(["recipe"]))) else {
                throw ManifestError(
                    delta
                        ? "\(what) must have exactly sha256, size and kind, and at most one of expected and recipe"
                        : "\(what) must have exactly sha256, size and kind"
                )
            }
            let fields = ManifestFields(o, what)
            var delivery = ManifestBlob.Delivery.carried
            if keys.contains("expected") {
                guard try fields.string("expected") == "store" else { throw ManifestError("\(what): \"expected\" must be \"store\"") }
                delivery = .store
            } else if keys.contains("recipe") {
                delivery = .recipe(try fields.digest("recipe"))
            }
            let blob = ManifestBlob(
                sha256: try fields.digest("sha256"),
                size: try fields.int("size"),
                kind: try fields.string("kind"),
                delivery: delivery
            )
            guard seen.insert(blob.sha256).inserted else { throw ManifestError("blob \(blob.sha256.hex) is listed twice") }
            blobs.append(blob)
        }
        let carried = Set(blobs.filter(\.isCarried).map(\.sha256))
        for blob in blobs {
            if case .recipe(let recipe) = blob.delivery, !carried.contains(recipe) {
                throw ManifestError("blob \(blob.sha256.hex): its recipe \(recipe.hex) is not a carried blob of the manifest")
            }
        }
        return blobs
    }

    /// `artifacts`: known fields only, safe paths, unique names, each naming a listed blob by
    /// digest and size.
    private static func artifacts(
        _ values: [JSONValue],
        blobs: [ManifestBlob]
    ) throws(ManifestError) -> [ManifestArtifact] {
        let sizes = Dictionary(uniqueKeysWithValues: blobs.map { ($0.sha256, $0.size) })
        var artifacts: [ManifestArtifact] = []
        var names = Set<String>()
        for (i, v) in values.enumerated() {
            let what = "artifacts[\(i)]"
            guard let o = v.objectValue else { throw ManifestError("\(what) must be an object") }
            let allowed: Set<String> = ["name", "path", "kind", "sha256", "size", "mediaType", "provenance"]
            if let extra = o.keys.first(where: { !allowed.contains($0) }) { throw ManifestError("\(what): unknown field \"\(extra)\"") }
            let fields = ManifestFields(o, what)
            let a = ManifestArtifact(
                name: try fields.string("name"),
                path: try fields.string("path"),
                kind: try fields.string("kind"),
                sha256: try fields.digest("sha256"),
                size: try fields.int("size"),
                mediaType: try fields.string("mediaType"),
                provenance: o["provenance"]
            )
            guard RelativePath.isSafe(a.path) else { throw ManifestError("\(what): path \"\(a.path)\" is not a safe relative path") }
            guard names.insert(a.name).inserted else { throw ManifestError("artifact name \"\(a.name)\" is used twice") }
            guard sizes[a.sha256] == a.size else {
                throw ManifestError("\(what) (\(a.name)) names blob \(a.sha256.hex) with size \(a.size), which the blob list does not carry")
            }
            artifacts.append(a)
        }
        return artifacts
    }

    /// Bundle ids: a lowercase UUID, 8-4-4-4-12 hex digits.
    public static func isValidBundleID(_ id: String) -> Bool {
        let u = Array(id.utf8)
        guard u.count == 36 else { return false }
        for (i, c) in u.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard c == UInt8(ascii: "-") else { return false }
            } else {
                guard (c >= 48 && c <= 57) || (c >= 97 && c <= 102) else { return false }
            }
        }
        return true
    }

    /// Channel names: 1-64 of letters, digits, `.`, `_`, `-`, not starting with `.` or `-`.
    public static func isValidChannel(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 64, let first = name.utf8.first, first != UInt8(ascii: "."),
            first != UInt8(ascii: "-")
        else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 45
        }
    }
}

/// Typed reads of one object's fields, each refusal naming the object (`blobs[2]: "size" must be ...`).
private struct ManifestFields {
    let object: [String: JSONValue]
    let what: String

    init(_ object: [String: JSONValue], _ what: String) {
        self.object = object
        self.what = what
    }

    func string(_ key: String) throws(ManifestError) -> String {
        guard let s = object[key]?.stringValue else { throw ManifestError("\(what): \"\(key)\" must be a string") }
        return s
    }

    func int(_ key: String) throws(ManifestError) -> Int {
        guard let i = object[key]?.intValue, i >= 0, i <= Int64(Int.max) else {
            throw ManifestError("\(what): \"\(key)\" must be a non-negative integer")
        }
        return Int(i)
    }

    func digest(_ key: String) throws(ManifestError) -> SHA256Digest {
        let s = try string(key)
        guard s.utf8.count == 64, let d = SHA256Digest(s) else {
            throw ManifestError("\(what): \"\(key)\" must be 64 lowercase hex digits")
        }
        return d
    }
}

public struct ManifestError: AirlockError {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "manifest.json: \(reason)" }
    public var status: ExitStatus { .checkFailed }
    public var code: ErrorCode { CoreErrorCode.badManifest.code }
}

/// Relative paths that are safe to create under a directory.
public enum RelativePath {
    /// Non-empty, relative, no `.`/`..`/empty components, no NUL or backslash, at most 1024 bytes.
    public static func isSafe(_ path: String) -> Bool {
        // One pass over the bytes (a bundle of 100,000 files checks 100,000 paths before its blobs).
        let utf8 = path.utf8
        guard !utf8.isEmpty, utf8.count <= 1024 else { return false }
        var componentLength = 0
        var dots = 0
        for byte in utf8 {
            switch byte {
            case 0, UInt8(ascii: "\\"): return false
            case UInt8(ascii: "/"):
                // An empty, "." or ".." component (a leading "/" is an empty first one).
                if componentLength == dots, dots <= 2 { return false }
                componentLength = 0
                dots = 0
            default:
                if byte == UInt8(ascii: "."), componentLength == dots { dots += 1 }
                componentLength += 1
            }
        }
        return !(componentLength == dots && dots <= 2)
    }
}
