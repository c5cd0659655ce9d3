// What changed from one inventory to the next. Packages are matched by ecosystem, kind and name, so
// a new version of a wheel is one change with both versions, not a removal and an addition;
// artifacts by name, changed when their bytes are. Signers and channel changes are said too: an
// auditor asks who signed this week's bundle that did not sign last week's.

import AirlockCore

public struct AuditDiff: Codable, Sendable, Equatable {
    public struct PackageRef: Codable, Sendable, Equatable {
        public var ecosystem: String
        public var kind: String
        public var name: String
        public var versions: [String]
        public var purls: [String]
    }

    public struct PackageChange: Codable, Sendable, Equatable {
        public var ecosystem: String
        public var kind: String
        public var name: String
        public var from: [String]
        public var to: [String]
    }

    public struct ArtifactChange: Codable, Sendable, Equatable {
        public var name: String
        public var kind: String
        public var from: String?
        public var to: String?
    }

    public var added: [PackageRef]
    public var removed: [PackageRef]
    public var changed: [PackageChange]
    public var artifacts: [ArtifactChange]
    public var signersAdded: [String]
    public var signersRemoved: [String]
    /// Set when the channel differs: `[old, new]`.
    public var channel: [String]?

    public var isEmpty: Bool {
        added.isEmpty && removed.isEmpty && changed.isEmpty && artifacts.isEmpty && signersAdded.isEmpty && signersRemoved.isEmpty
            && channel == nil
    }

    public init(from old: AuditInventory, to new: AuditInventory) {
        struct Key: Hashable, Comparable {
            var ecosystem, kind, name: String
            static func < (a: Key, b: Key) -> Bool { (a.ecosystem, a.kind, a.name) < (b.ecosystem, b.kind, b.name) }
        }
        func group(_ inventory: AuditInventory) -> [Key: [AuditInventory.Package]] {
            Dictionary(grouping: inventory.packages) { Key(ecosystem: $0.ecosystem, kind: $0.kind, name: $0.name) }
        }
        func versions(_ list: [AuditInventory.Package]) -> [String] { Array(Set(list.map(\.version))).sorted() }
        func ref(_ key: Key, _ list: [AuditInventory.Package]) -> PackageRef {
            PackageRef(ecosystem: key.ecosystem, kind: key.kind, name: key.name, versions: versions(list), purls: Array(Set(list.map(\.purl))).sorted())
        }
        let before = group(old)
        let after = group(new)
        added = after.keys.filter { before[$0] == nil }.sorted().map { ref($0, after[$0] ?? []) }
        removed = before.keys.filter { after[$0] == nil }.sorted().map { ref($0, before[$0] ?? []) }
        changed = after.keys.sorted().compactMap { key in
            guard let was = before[key], let now = after[key] else { return nil }
            let (from, to) = (versions(was), versions(now))
            // Same versions but other bytes (a rebuilt wheel) count as a change too.
            let sameBytes = Set(was.map { $0.sha256?.hex ?? $0.purl }) == Set(now.map { $0.sha256?.hex ?? $0.purl })
            guard from != to || !sameBytes else { return nil }
            return PackageChange(ecosystem: key.ecosystem, kind: key.kind, name: key.name, from: from, to: to)
        }
        let oldArtifacts = Dictionary(old.artifacts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newArtifacts = Dictionary(new.artifacts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        artifacts = Set(oldArtifacts.keys).union(newArtifacts.keys).sorted().compactMap { name in
            let (a, b) = (oldArtifacts[name], newArtifacts[name])
            guard a?.sha256 != b?.sha256 else { return nil }
            return ArtifactChange(name: name, kind: (b ?? a)?.kind ?? "", from: a?.sha256.description, to: b?.sha256.description)
        }
        let oldSigners = Set(old.subject.signers.map(\.keyID))
        let newSigners = Set(new.subject.signers.map(\.keyID))
        signersAdded = newSigners.subtracting(oldSigners).sorted()
        signersRemoved = oldSigners.subtracting(newSigners).sorted()
        if let a = old.subject.channel, let b = new.subject.channel, a != b { channel = [a, b] } else { channel = nil }
    }
}
