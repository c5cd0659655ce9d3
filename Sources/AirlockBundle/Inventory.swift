// What an enclave's store holds, by digest: `airlock inventory --out INV.json` inside, carried out to
// the connected host, where `airlock seal --delta INV.json` leaves out every blob it lists. The
// inventory is a hint, not a trust anchor: it travels unsigned, and a wrong one can only make a
// delta that the enclave refuses (the import re-hashes every blob the delta relies on). Canonical
// JSON, so the same store gives the same bytes and the delta's manifest can name them by sha256:
//   {"blobs":[{"sha256":HEX,"size":N},...],"channels":{"NAME":LAST-IMPORTED-SEQUENCE},
//    "created":TIME,"kind":"airlock-inventory","schema":1}

public import AirlockCore

public struct StoreInventory: Sendable, Equatable {
    public static let kind = "airlock-inventory"
    /// Largest inventory read: 4 million blobs' worth, far above any store measured, bounded all the same.
    public static let maximumSize = 512 << 20

    public var created: String
    /// Every blob the store holds, by digest, with its size.
    public var blobs: [SHA256Digest: Int]
    /// The last sequence imported on each channel (for the seal to warn of a rollback).
    public var channels: [String: Int]

    public init(created: String, blobs: [SHA256Digest: Int], channels: [String: Int]) {
        self.created = created
        self.blobs = blobs
        self.channels = channels
    }

    /// The inventory of `store`: every blob its index lists and its blob directory holds.
    public static func of(_ store: Store, now: Int64 = Timestamp.nowEpochSeconds()) throws -> StoreInventory {
        var blobs: [SHA256Digest: Int] = [:]
        for (digest, size) in try store.index.blobSizes() where store.contains(digest) { blobs[digest] = size }
        var channels: [String: Int] = [:]
        for record in try store.index.imports() { channels[record.channel] = max(channels[record.channel] ?? 0, record.sequence) }
        return StoreInventory(created: Timestamp.format(epochSeconds: now), blobs: blobs, channels: channels)
    }

    public var json: JSONValue {
        .object([
            "schema": .int(1),
            "kind": .string(Self.kind),
            "created": .string(created),
            "blobs": .array(
                blobs.keys.sorted().map { .object(["sha256": .string($0.hex), "size": .int(Int64(blobs[$0] ?? 0))]) }
            ),
            "channels": .object(channels.mapValues { .int(Int64($0)) }),
        ])
    }

    public var canonicalBytes: [UInt8] { json.canonicalBytes }

    /// Reads an inventory file; anything else is refused naming the file.
    public static func read(_ path: String) throws -> (inventory: StoreInventory, sha256: SHA256Digest) {
        let bytes = try FileSystem.readFile(path, limit: maximumSize)
        func bad(_ reason: String) -> UsageError {
            UsageError(BundleErrorCode.badInventory, "\(path): \(reason)")
        }
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes) } catch { throw bad("not JSON (\(error))") }
        guard let top = value.objectValue, top["kind"]?.stringValue == kind else {
            throw bad("not an Airlock inventory (make one inside with `airlock inventory --out FILE`)")
        }
        guard top["schema"]?.intValue == 1 else { throw bad("inventory schema is not 1") }
        guard let created = top["created"]?.stringValue, Timestamp.parse(created) != nil else {
            throw bad("\"created\" must be an RFC 3339 UTC time")
        }
        var blobs: [SHA256Digest: Int] = [:]
        for (i, item) in (top["blobs"]?.arrayValue ?? []).enumerated() {
            guard let o = item.objectValue, let hex = o["sha256"]?.stringValue, hex.utf8.count == 64, let digest = SHA256Digest(hex),
                let size = o["size"]?.intValue, size >= 0, size <= Int64(Int.max)
            else { throw bad("blobs[\(i)] must be {\"sha256\": 64 lowercase hex digits, \"size\": a non-negative integer}") }
            blobs[digest] = Int(size)
        }
        var channels: [String: Int] = [:]
        for (name, sequence) in top["channels"]?.objectValue ?? [:] {
            guard Manifest.isValidChannel(name), let n = sequence.intValue, n >= 0, n <= Int64(Int.max) else {
                throw bad("channels: \"\(name.prefix(64))\" must be a channel name with a sequence number")
            }
            channels[name] = Int(n)
        }
        return (StoreInventory(created: created, blobs: blobs, channels: channels), SHA256Hasher.hash(bytes))
    }

    /// Zips this (connected-host) store built that the inventory says the receiving store holds:
    /// earlier builds a delta's recipes may copy from, by digest, with their paths here.
    public func earlierBuilds(in store: Store) throws -> [SHA256Digest: String] {
        var found: [SHA256Digest: String] = [:]
        for entry in try store.index.entries(kind: "artifact")
        where (entry.filename ?? "").hasSuffix(".zip") && blobs[entry.digest] == entry.size && store.contains(entry.digest) {
            found[entry.digest] = store.blobPath(entry.digest)
        }
        return found
    }
}
