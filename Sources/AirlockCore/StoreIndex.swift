// The store's SQLite index (through GRDB, WAL mode): what each blob is, the trust policy (keys,
// threshold, and the version a rotation raises), the history of sealed and imported bundles per
// channel, and GC roots. Blobs live on disk; the index
// only describes them, so a crash between a blob's rename and its index row leaves harmless garbage
// that `store gc` removes, never a row pointing at a missing blob.

import Foundation
import GRDB

/// One thing a blob is known as. A blob may be known under several names and kinds.
public struct BlobEntry: Codable, Sendable, Equatable {
    public var digest: SHA256Digest
    public var size: Int
    public var kind: String
    public var name: String
    public var version: String?
    public var filename: String?
    public var mediaType: String?
    public var origin: String?
    public var addedAt: String

    public init(digest: SHA256Digest, size: Int, kind: String, name: String, version: String? = nil, filename: String? = nil, mediaType: String? = nil, origin: String? = nil, addedAt: String = Timestamp.now()) {
        self.digest = digest
        self.size = size
        self.kind = kind
        self.name = name
        self.version = version
        self.filename = filename
        self.mediaType = mediaType
        self.origin = origin
        self.addedAt = addedAt
    }
}

/// A key the trust policy accepts, and the channels it may sign.
public struct TrustedKey: Codable, Sendable, Equatable {
    public var keyID: String
    public var name: String
    /// SPKI PEM text.
    public var publicKey: String
    /// Channels the key may sign; empty means every channel.
    public var channels: [String]
    public var addedAt: String

    public init(keyID: String, name: String, publicKey: String, channels: [String], addedAt: String = Timestamp.now()) {
        self.keyID = keyID
        self.name = name
        self.publicKey = publicKey
        self.channels = channels
        self.addedAt = addedAt
    }

    public func allows(channel: String) -> Bool { channels.isEmpty || channels.contains(channel) }
}

/// One bundle imported into (or sealed from) this store: the evidence an auditor asks for.
public struct BundleRecord: Codable, Sendable, Equatable {
    public var bundle: String
    public var channel: String
    public var sequence: Int
    public var manifestSHA256: String
    public var signers: [String]
    public var time: String

    public init(bundle: String, channel: String, sequence: Int, manifestSHA256: String, signers: [String], time: String = Timestamp.now()) {
        self.bundle = bundle
        self.channel = channel
        self.sequence = sequence
        self.manifestSHA256 = manifestSHA256
        self.signers = signers
        self.time = time
    }
}

/// A failure of the index database itself.
public struct IndexError: AirlockError {
    public let description: String
    public var status: ExitStatus { .badInput }
    public var code: ErrorCode { CoreErrorCode.storeIndex.code }
}

/// An import whose sequence is not above the last one imported on its channel, found inside the
/// index transaction. AirlockBundle rethrows it under its own code (`bundle.rollback`).
public struct RollbackRefused: AirlockError {
    public let channel: String
    public let sequence: Int
    public let lastImported: Int
    public var status: ExitStatus { .checkFailed }
    public var description: String {
        "rollback refused: sequence \(sequence) on channel '\(channel)' is not above \(lastImported), the last imported"
    }
}

public final class StoreIndex: Sendable {
    private let writer: any DatabaseWriter
    public let path: String
    /// Seconds SQLite retries a locked index before the command reports the store busy.
    static let busyTimeout: Double = 30

    /// Opens (and creates or migrates, unless `readOnly`) the index at `path`.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(Self.busyTimeout)
        config.readonly = readOnly
        config.label = "airlock-index"
        do {
            if readOnly {
                writer = try DatabaseQueue(path: path, configuration: config)
            } else {
                let pool = try DatabasePool(path: path, configuration: config)
                try Self.migrator.migrate(pool)
                writer = pool
            }
        } catch let error as DatabaseError {
            throw IndexError(description: "\(path): cannot open the store index: \(error.message ?? "\(error)")")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE blob (
                        digest TEXT PRIMARY KEY NOT NULL,
                        size INTEGER NOT NULL,
                        addedAt TEXT NOT NULL
                    );
                    CREATE TABLE entry (
                        digest TEXT NOT NULL REFERENCES blob(digest) ON DELETE CASCADE,
                        kind TEXT NOT NULL,
                        name TEXT NOT NULL,
                        version TEXT NOT NULL DEFAULT '',
                        filename TEXT,
                        mediaType TEXT,
                        origin TEXT,
                        addedAt TEXT NOT NULL,
                        PRIMARY KEY (digest, kind, name, version)
                    );
                    CREATE INDEX entryName ON entry(name);
                    CREATE TABLE root (
                        digest TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        PRIMARY KEY (digest, reason)
                    );
                    CREATE TABLE trustedKey (
                        keyID TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        publicKey TEXT NOT NULL,
                        channels TEXT NOT NULL,
                        addedAt TEXT NOT NULL
                    );
                    CREATE TABLE setting (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                    CREATE TABLE importRecord (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        bundle TEXT NOT NULL,
                        channel TEXT NOT NULL,
                        sequence INTEGER NOT NULL,
                        manifestSHA256 TEXT NOT NULL,
                        signers TEXT NOT NULL,
                        time TEXT NOT NULL
                    );
                    CREATE TABLE sealRecord (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        bundle TEXT NOT NULL,
                        channel TEXT NOT NULL,
                        sequence INTEGER NOT NULL,
                        manifestSHA256 TEXT NOT NULL,
                        signers TEXT NOT NULL,
                        time TEXT NOT NULL
                    );
                    CREATE TABLE manifestRef (
                        manifest TEXT NOT NULL,
                        digest TEXT NOT NULL,
                        PRIMARY KEY (manifest, digest)
                    );
                    """
            )
        }
        migrator.registerMigration("v2-action-cache") { db in
            try db.execute(
                sql: """
                    CREATE TABLE actionCache (
                        key TEXT PRIMARY KEY NOT NULL,
                        output TEXT NOT NULL,
                        metadata TEXT NOT NULL,
                        createdAt TEXT NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v3-provenance") { db in
            try db.execute(
                sql: """
                    CREATE TABLE provenance (
                        digest TEXT PRIMARY KEY NOT NULL,
                        document TEXT NOT NULL,
                        recordedAt TEXT NOT NULL
                    );
                    """
            )
        }
        migrator.registerMigration("v4-wheel-metadata") { db in
            try db.execute(
                sql: """
                    CREATE TABLE wheelMetadata (
                        digest TEXT PRIMARY KEY NOT NULL,
                        metadata BLOB NOT NULL,
                        requiresPython TEXT
                    );
                    """
            )
        }
        return migrator
    }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try writer.read(body) } catch let error as DatabaseError { throw wrap(error) }
    }

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try writer.write(body) } catch let error as DatabaseError { throw wrap(error) }
    }

    private func wrap(_ error: DatabaseError) -> any AirlockError {
        if error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            return UsageError(
                CoreErrorCode.storeLocked,
                "\(path): store busy: another airlock process kept the index locked for \(Self.busyTimeout) s; run the command again once it finishes"
            )
        }
        return IndexError(description: "\(path): store index: \(error.message ?? "\(error)")")
    }

    // MARK: Blobs

    /// Records blobs and their names in one transaction; `roots` pins digests against gc.
    public func record(_ entries: [BlobEntry], roots: [(SHA256Digest, String)] = []) throws {
        try write { db in try Self.insert(entries, roots: roots, in: db) }
    }

    private static func insert(_ entries: [BlobEntry], roots: [(SHA256Digest, String)], in db: Database) throws {
        for e in entries {
            try db.execute(
                sql: "INSERT OR IGNORE INTO blob (digest, size, addedAt) VALUES (?, ?, ?)",
                arguments: [e.digest.hex, e.size, e.addedAt]
            )
            try db.execute(
                sql: """
                    INSERT INTO entry (digest, kind, name, version, filename, mediaType, origin, addedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET filename = excluded.filename, mediaType = excluded.mediaType,
                        origin = excluded.origin
                    """,
                arguments: [
                    e.digest.hex, e.kind, e.name, e.version ?? "", e.filename, e.mediaType, e.origin, e.addedAt,
                ]
            )
        }
        for (digest, reason) in roots {
            try db.execute(sql: "INSERT OR IGNORE INTO root (digest, reason) VALUES (?, ?)", arguments: [digest.hex, reason])
        }
    }

    public func entries(kind: String? = nil) throws -> [BlobEntry] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT entry.*, blob.size FROM entry JOIN blob USING (digest)
                    \(kind == nil ? "" : "WHERE kind = ?") ORDER BY name, version, kind, digest
                    """,
                arguments: kind.map { [$0] } ?? []
            )
            return rows.compactMap(Self.entry(from:))
        }
    }

    /// What an imported manifest vouches for: the digests a signed, imported bundle carried.
    static let importedDigests = """
        SELECT manifestRef.digest FROM manifestRef
            JOIN importRecord ON importRecord.manifestSHA256 = manifestRef.manifest
        """

    /// The entries of `kind` named `name` whose blob an imported bundle carried, newest first.
    public func importedEntries(kind: String, name: String) throws -> [BlobEntry] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT entry.*, blob.size FROM entry JOIN blob USING (digest)
                    WHERE kind = ? AND name = ? AND digest IN (\(Self.importedDigests))
                    ORDER BY addedAt DESC, version, digest
                    """,
                arguments: [kind, name]
            ).compactMap(Self.entry(from:))
        }
    }

    /// Every entry of `kind` whose blob an imported bundle carried, by name.
    public func importedEntries(kind: String) throws -> [BlobEntry] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT entry.*, blob.size FROM entry JOIN blob USING (digest)
                    WHERE kind = ? AND digest IN (\(Self.importedDigests))
                    ORDER BY name, version, digest
                    """,
                arguments: [kind]
            ).compactMap(Self.entry(from:))
        }
    }

    /// Every entry whose blob an imported bundle carried, of every kind, by kind and name.
    public func importedEntries() throws -> [BlobEntry] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT entry.*, blob.size FROM entry JOIN blob USING (digest)
                    WHERE digest IN (\(Self.importedDigests))
                    ORDER BY kind, name, addedAt DESC, version, digest
                    """
            ).compactMap(Self.entry(from:))
        }
    }

    /// SQLite's `data_version`: it changes when another connection commits (an import, say), so a
    /// reader that keeps what it read can tell cheaply when to read again.
    public func dataVersion() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0 }
    }

    /// True when an imported bundle carried the blob.
    public func isImported(_ digest: SHA256Digest) throws -> Bool {
        try read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (\(Self.importedDigests) WHERE manifestRef.digest = ?)", arguments: [digest.hex]
            ) ?? false
        }
    }

    public func entries(digest: SHA256Digest) throws -> [BlobEntry] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT entry.*, blob.size FROM entry JOIN blob USING (digest) WHERE digest = ? ORDER BY kind, name",
                arguments: [digest.hex]
            ).compactMap(Self.entry(from:))
        }
    }

    private static func entry(from row: Row) -> BlobEntry? {
        guard let digest = SHA256Digest(row["digest"] as String) else { return nil }
        let version: String = row["version"]
        return BlobEntry(
            digest: digest,
            size: row["size"],
            kind: row["kind"],
            name: row["name"],
            version: version.isEmpty ? nil : version,
            filename: row["filename"],
            mediaType: row["mediaType"],
            origin: row["origin"],
            addedAt: row["addedAt"]
        )
    }

    /// Every digest the index knows, with its recorded size.
    public func blobSizes() throws -> [SHA256Digest: Int] {
        try read { db in
            var out: [SHA256Digest: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT digest, size FROM blob") {
                if let d = SHA256Digest(row["digest"] as String) { out[d] = row["size"] }
            }
            return out
        }
    }

    /// Digests that a root, an artifact entry or an imported manifest refers to.
    /// What GC keeps: every root (image names root each blob of their image), every artifact built
    /// here, every imported bundle's manifest with its signatures and SHA256SUMS (so the history
    /// stays verifiable), and what the manifests of `keptManifests` list (nil: of every import).
    public func liveDigests(keptManifests: Set<String>? = nil) throws -> Set<SHA256Digest> {
        try read { db in
            var hexes = try String.fetchAll(
                db,
                sql: """
                    SELECT digest FROM root
                    UNION SELECT digest FROM entry WHERE kind = 'artifact' AND (origin IS NULL OR origin NOT LIKE 'bundle:%')
                    UNION SELECT manifestSHA256 FROM importRecord
                    UNION SELECT manifestRef.digest FROM manifestRef
                        JOIN importRecord ON importRecord.manifestSHA256 = manifestRef.manifest
                        JOIN entry ON entry.digest = manifestRef.digest
                        WHERE entry.kind IN ('bundle-manifest', 'signature', 'sha256sums')
                    """
            )
            let imported = try String.fetchAll(db, sql: "SELECT DISTINCT manifestSHA256 FROM importRecord")
            for manifest in imported where keptManifests?.contains(manifest) ?? true {
                hexes += try String.fetchAll(db, sql: "SELECT digest FROM manifestRef WHERE manifest = ?", arguments: [manifest])
            }
            return Set(hexes.compactMap { SHA256Digest($0) })
        }
    }

    public func forget(_ digests: [SHA256Digest]) throws {
        try write { db in
            for d in digests {
                try db.execute(sql: "DELETE FROM entry WHERE digest = ?", arguments: [d.hex])
                try db.execute(sql: "DELETE FROM blob WHERE digest = ?", arguments: [d.hex])
                try db.execute(sql: "DELETE FROM provenance WHERE digest = ?", arguments: [d.hex])
            }
        }
    }

    // MARK: Action cache

    /// The output digest and metadata recorded for a build-input digest, if any.
    public func cachedAction(_ key: String) throws -> (output: SHA256Digest, metadata: String)? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT output, metadata FROM actionCache WHERE key = ?", arguments: [key]),
                let digest = SHA256Digest(row["output"] as String)
            else { return nil }
            return (digest, row["metadata"])
        }
    }

    public func recordAction(_ key: String, output: SHA256Digest, metadata: String) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO actionCache (key, output, metadata, createdAt) VALUES (?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET output = excluded.output, metadata = excluded.metadata
                    """,
                arguments: [key, output.hex, metadata, Timestamp.now()]
            )
        }
    }

    // MARK: Provenance

    /// The provenance document (canonical JSON) recorded for an artifact, by a build here or by
    /// the import of a bundle whose signed manifest carried it.
    public func provenance(of digest: SHA256Digest) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT document FROM provenance WHERE digest = ?", arguments: [digest.hex])
        }
    }

    /// The files whose recorded provenance says the index had yanked them (`{"yanked": REASON}`,
    /// written when a bundle carries a file its lock took although yanked), with the reason.
    public func yankedFiles() throws -> [SHA256Digest: String] {
        try read { db in
            var found: [SHA256Digest: String] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT digest, json_extract(document, '$.yanked') AS reason FROM provenance
                    WHERE json_valid(document) AND json_type(document, '$.yanked') = 'text'
                    """
            )
            while let row = try rows.next() {
                if let digest = SHA256Digest(row["digest"] as String), let reason: String = row["reason"] {
                    found[digest] = reason
                }
            }
            return found
        }
    }

    public func recordProvenance(_ document: String, of digest: SHA256Digest) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO provenance (digest, document, recordedAt) VALUES (?, ?, ?)
                    ON CONFLICT DO UPDATE SET document = excluded.document, recordedAt = excluded.recordedAt
                    """,
                arguments: [digest.hex, document, Timestamp.now()]
            )
        }
    }

    // MARK: Trust policy

    public func trustedKeys() throws -> [TrustedKey] {
        try read { db in try Self.trustSnapshot(in: db).keys }
    }

    public func addTrustedKey(_ key: TrustedKey) throws {
        try write { db in
            try db.execute(
                sql: """
                    INSERT INTO trustedKey (keyID, name, publicKey, channels, addedAt) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET name = excluded.name, channels = excluded.channels
                    """,
                arguments: [key.keyID, key.name, key.publicKey, key.channels.joined(separator: ","), key.addedAt]
            )
        }
    }

    /// Removes a key; returns false if no key had that id.
    public func removeTrustedKey(_ keyID: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM trustedKey WHERE keyID = ?", arguments: [keyID])
            return db.changesCount > 0
        }
    }

    /// How many distinct trusted keys must sign a bundle (1 until set).
    public func threshold() throws -> Int {
        try read { db in
            try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'threshold'").flatMap { Int($0) } ?? 1
        }
    }

    public func setThreshold(_ k: Int) throws {
        try write { db in try Self.setSetting("threshold", String(k), in: db) }
    }

    /// The version of the trust policy, raised by each rotation (`trust rotate`); 0 for a store
    /// whose policy was never rotated.
    public func trustVersion() throws -> Int {
        try read { db in try Self.trustVersion(in: db) }
    }

    /// The whole trust policy as one read saw it.
    public struct TrustSnapshot: Sendable, Equatable {
        public var keys: [TrustedKey]
        public var threshold: Int
        public var version: Int
    }

    public func trustSnapshot() throws -> TrustSnapshot {
        try read { db in try Self.trustSnapshot(in: db) }
    }

    /// Replaces every trusted key, the threshold and the version in one transaction, after `check`
    /// has accepted the policy as it stands inside that transaction (so a rotation is verified
    /// against exactly the policy it replaces, whatever ran meanwhile). A key already trusted keeps
    /// the time it was first added. An error thrown by `check` leaves the policy as it was.
    public func replaceTrust(
        keys: [TrustedKey],
        threshold: Int,
        version: Int,
        check: (TrustSnapshot) throws -> Void
    ) throws {
        try write { db in
            let current = try Self.trustSnapshot(in: db)
            try check(current)
            let addedAt = Dictionary(
                current.keys.map { ($0.keyID, $0.addedAt) },
                uniquingKeysWith: { first, _ in first }
            )
            try db.execute(sql: "DELETE FROM trustedKey")
            for key in keys {
                try db.execute(
                    sql: "INSERT INTO trustedKey (keyID, name, publicKey, channels, addedAt) VALUES (?, ?, ?, ?, ?)",
                    arguments: [
                        key.keyID, key.name, key.publicKey, key.channels.joined(separator: ","),
                        addedAt[key.keyID] ?? key.addedAt,
                    ]
                )
            }
            try Self.setSetting("threshold", String(threshold), in: db)
            try Self.setSetting("trustVersion", String(version), in: db)
        }
    }

    private static func setSetting(_ key: String, _ value: String, in db: Database) throws {
        try db.execute(
            sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
            arguments: [key, value]
        )
    }

    private static func trustVersion(in db: Database) throws -> Int {
        try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'trustVersion'").flatMap { Int($0) } ?? 0
    }

    private static func trustSnapshot(in db: Database) throws -> TrustSnapshot {
        let keys = try Row.fetchAll(db, sql: "SELECT * FROM trustedKey ORDER BY name, keyID").map(trustedKey(from:))
        let threshold =
            try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'threshold'").flatMap { Int($0) } ?? 1
        return TrustSnapshot(keys: keys, threshold: threshold, version: try trustVersion(in: db))
    }

    private static func trustedKey(from row: Row) -> TrustedKey {
        let channels: String = row["channels"]
        return TrustedKey(
            keyID: row["keyID"],
            name: row["name"],
            publicKey: row["publicKey"],
            channels: channels.split(separator: ",").map(String.init),
            addedAt: row["addedAt"]
        )
    }

    // MARK: Wheel metadata

    /// A wheel's `METADATA` file and its `Requires-Python`, as recorded when the wheel was stored or
    /// imported (the mirror's PEP 658 `.metadata` and `data-requires-python`).
    public struct WheelMetadataRecord: Sendable, Equatable {
        public var metadata: [UInt8]
        public var requiresPython: String?

        public init(metadata: [UInt8], requiresPython: String?) {
            self.metadata = metadata
            self.requiresPython = requiresPython
        }
    }

    public func recordWheelMetadata(_ record: WheelMetadataRecord, of digest: SHA256Digest) throws {
        try write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO wheelMetadata (digest, metadata, requiresPython) VALUES (?, ?, ?)",
                arguments: [digest.hex, Data(record.metadata), record.requiresPython]
            )
        }
    }

    public func wheelMetadata(of digest: SHA256Digest) throws -> WheelMetadataRecord? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT metadata, requiresPython FROM wheelMetadata WHERE digest = ?", arguments: [digest.hex])
                .map { WheelMetadataRecord(metadata: Array(($0["metadata"] as Data?) ?? Data()), requiresPython: $0["requiresPython"]) }
        }
    }

    /// The wheels whose metadata is recorded.
    public func wheelMetadataDigests() throws -> Set<SHA256Digest> {
        try read { db in Set(try String.fetchAll(db, sql: "SELECT digest FROM wheelMetadata").compactMap(SHA256Digest.init)) }
    }

    // MARK: History

    public func imports() throws -> [BundleRecord] { try records(table: "importRecord") }
    public func seals() throws -> [BundleRecord] { try records(table: "sealRecord") }

    private func records(table: String) throws -> [BundleRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY id").map(Self.record(from:))
        }
    }

    private static func record(from row: Row) -> BundleRecord {
        let signers: String = row["signers"]
        return BundleRecord(
            bundle: row["bundle"],
            channel: row["channel"],
            sequence: row["sequence"],
            manifestSHA256: row["manifestSHA256"],
            signers: signers.split(separator: ",").map(String.init),
            time: row["time"]
        )
    }

    /// The highest sequence imported on `channel`, if any.
    public func lastImportedSequence(channel: String) throws -> Int? {
        try read { db in try Self.lastSequence(table: "importRecord", channel: channel, in: db) }
    }

    private static func lastSequence(table: String, channel: String, in db: Database) throws -> Int? {
        try Int.fetchOne(db, sql: "SELECT MAX(sequence) FROM \(table) WHERE channel = ?", arguments: [channel])
    }

    /// Records a sealed bundle; the sequence is the caller's, or one more than the last sealed here.
    public func recordSeal(_ record: BundleRecord) throws {
        try write { db in try Self.insertRecord(record, table: "sealRecord", in: db) }
    }

    public func nextSealSequence(channel: String) throws -> Int {
        try read { db in (try Self.lastSequence(table: "sealRecord", channel: channel, in: db) ?? 0) + 1 }
    }

    private static func insertRecord(_ r: BundleRecord, table: String, in db: Database) throws {
        try db.execute(
            sql: "INSERT INTO \(table) (bundle, channel, sequence, manifestSHA256, signers, time) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [r.bundle, r.channel, r.sequence, r.manifestSHA256, r.signers.joined(separator: ","), r.time]
        )
    }

    /// Image names an import (re)points: each name's earlier entries of `kinds` and its GC root
    /// are dropped, then `roots` are added, in the import's transaction.
    public struct ImageNames: Sendable {
        public var names: [(name: String, version: String, root: String)] = []
        public var kinds: [String] = []
        public var roots: [(SHA256Digest, String)] = []
        public init() {}
    }

    /// Commits an import in one transaction: entries, manifest references and the history row.
    /// The rollback check is repeated inside the transaction, so two imports racing on one channel
    /// cannot both pass it.
    public func commitImport(
        _ record: BundleRecord, entries: [BlobEntry], references: [SHA256Digest], provenance: [(SHA256Digest, String)] = [],
        images: ImageNames = ImageNames(), allowRollback: Bool
    ) throws {
        try write { db in
            if !allowRollback, let last = try Self.lastSequence(table: "importRecord", channel: record.channel, in: db),
                record.sequence <= last
            {
                throw RollbackRefused(channel: record.channel, sequence: record.sequence, lastImported: last)
            }
            for n in images.names {
                try Self.forgetImage(name: n.name, version: n.version, kinds: images.kinds, root: n.root, in: db)
            }
            try Self.insert(entries, roots: images.roots, in: db)
            for d in references {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO manifestRef (manifest, digest) VALUES (?, ?)",
                    arguments: [record.manifestSHA256, d.hex]
                )
            }
            for (digest, document) in provenance {
                try db.execute(
                    sql: """
                        INSERT INTO provenance (digest, document, recordedAt) VALUES (?, ?, ?)
                        ON CONFLICT DO UPDATE SET document = excluded.document, recordedAt = excluded.recordedAt
                        """,
                    arguments: [digest.hex, document, Timestamp.now()]
                )
            }
            try Self.insertRecord(record, table: "importRecord", in: db)
        }
    }

    // MARK: Images

    /// Forgets one named image in one transaction: its GC roots (reason `root`) and its entries of
    /// the given kinds under `name`/`version`. The blobs stay until `store gc` finds them unreferenced.
    public func forgetImage(name: String, version: String, kinds: [String], root: String) throws {
        try write { db in try Self.forgetImage(name: name, version: version, kinds: kinds, root: root, in: db) }
    }

    /// Records images in one transaction, first dropping what each `(name, version, root)` named
    /// before: a name points at one image, as a registry tag does.
    public func replaceImages(
        _ names: [(name: String, version: String, root: String)], kinds: [String], entries: [BlobEntry],
        roots: [(SHA256Digest, String)]
    ) throws {
        try write { db in
            for n in names { try Self.forgetImage(name: n.name, version: n.version, kinds: kinds, root: n.root, in: db) }
            try Self.insert(entries, roots: roots, in: db)
        }
    }

    private static func forgetImage(name: String, version: String, kinds: [String], root: String, in db: Database) throws {
        try db.execute(sql: "DELETE FROM root WHERE reason = ?", arguments: [root])
        for kind in kinds {
            try db.execute(
                sql: "DELETE FROM entry WHERE kind = ? AND name = ? AND version = ?",
                arguments: [kind, name, version]
            )
        }
    }
}

/// RFC 3339 UTC timestamps, to the second.
public enum Timestamp {
    public static func now() -> String { format(epochSeconds: nowEpochSeconds()) }

    public static func nowEpochSeconds() -> Int64 { Int64(Date().timeIntervalSince1970.rounded(.down)) }

    /// Calendar fields of a UTC time (Howard Hinnant's civil-from-days: no locale, no TZ).
    public static func civil(epochSeconds: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let days = epochSeconds >= 0 ? epochSeconds / 86400 : (epochSeconds - 86399) / 86400
        let secs = epochSeconds - days * 86400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (Int(y), Int(m), Int(d), Int(secs / 3600), Int(secs % 3600 / 60), Int(secs % 60))
    }

    public static func format(epochSeconds: Int64) -> String {
        let c = civil(epochSeconds: epochSeconds)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year)-\(two(c.month))-\(two(c.day))T\(two(c.hour)):\(two(c.minute)):\(two(c.second))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` back to epoch seconds.
    public static func parse(_ text: String) -> Int64? {
        let u = Array(text.utf8)
        guard u.count == 20, u[4] == 45, u[7] == 45, u[10] == 84, u[13] == 58, u[16] == 58, u[19] == 90 else { return nil }
        func num(_ r: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in r {
                guard u[i] >= 48 && u[i] <= 57 else { return nil }
                v = v * 10 + Int64(u[i] - 48)
            }
            return v
        }
        guard let y = num(0..<4), let m = num(5..<7), let d = num(8..<10), let hh = num(11..<13), let mm = num(14..<16),
            let ss = num(17..<19), (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 61
        else { return nil }
        let yy = m <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return days * 86400 + hh * 3600 + mm * 60 + ss
    }
}
