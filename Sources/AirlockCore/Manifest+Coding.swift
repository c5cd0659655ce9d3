// The fast way in and out of manifest bytes, for bundles of 100,000 files and more: `write` emits
// the canonical form directly (keys in their sorted order by hand) and `read` decodes it through
// CanonicalReader without building a JSONValue tree, so neither holds more than the bytes and the
// Manifest. Both must agree with the tree-based path they shortcut (`json.canonicalBytes` and the
// checks of `init(canonicalBytes:)`): `read` is at least as strict (it returns nil for anything
// the slow path must judge, and the slow path then names the reason), and ManifestCodingTests
// compares the two on every kind of manifest.

extension Manifest {
    /// The canonical bytes, written directly (equal to `json.canonicalBytes`).
    func writeCanonical() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + artifacts.count * 320 + blobs.count * 120)
        func key(_ k: String, first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(k, into: &out)
            out.append(UInt8(ascii: ":"))
        }
        func string(_ s: String) { JSONValue.writeString(s, into: &out) }
        func int(_ i: Int) { out.append(contentsOf: String(i).utf8) }
        // Sorted (UTF-16 order): artifacts, blobs, bundle, channel, created, delta, expires, schema,
        // sequence, sha256sums, target.
        out.append(UInt8(ascii: "{"))
        key("artifacts", first: true)
        out.append(UInt8(ascii: "["))
        for (i, a) in artifacts.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            // kind, mediaType, name, path, provenance, sha256, size
            out.append(UInt8(ascii: "{"))
            key("kind", first: true)
            string(a.kind)
            key("mediaType")
            string(a.mediaType)
            key("name")
            string(a.name)
            key("path")
            string(a.path)
            if let p = a.provenance {
                key("provenance")
                p.write(into: &out)
            }
            key("sha256")
            string(a.sha256.hex)
            key("size")
            int(a.size)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        key("blobs")
        out.append(UInt8(ascii: "["))
        for (i, b) in blobs.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            // expected, kind, recipe, sha256, size
            out.append(UInt8(ascii: "{"))
            var first = true
            if b.delivery == .store {
                key("expected", first: true)
                string("store")
                first = false
            }
            key("kind", first: first)
            string(b.kind)
            if case .recipe(let recipe) = b.delivery {
                key("recipe")
                string(recipe.hex)
            }
            key("sha256")
            string(b.sha256.hex)
            key("size")
            int(b.size)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        key("bundle")
        string(bundle)
        key("channel")
        string(channel)
        key("created")
        string(created)
        if let delta {
            key("delta")
            out.append(UInt8(ascii: "{"))
            key("inventory", first: true)
            string(delta.inventory.hex)
            out.append(UInt8(ascii: "}"))
        }
        key("expires")
        string(expires)
        key("schema")
        out.append(contentsOf: String(delta == nil ? Self.schemaVersion : Self.deltaSchemaVersion).utf8)
        key("sequence")
        int(sequence)
        key("sha256sums")
        string(sha256sums.hex)
        if let target {
            key("target")
            target.write(into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Decodes canonical manifest bytes that pass every check of `init(canonicalBytes:)`; nil for
    /// anything else (including what the slow path would accept but this does not know).
    static func readCanonical(_ bytes: [UInt8]) -> Manifest? {
        try? readCanonicalOrRefuse(bytes)
    }

    private struct Top {
        var artifacts: [ManifestArtifact] = []
        var blobs: [ManifestBlob] = []
        var hasArtifacts = false, hasBlobs = false
        var bundle: String?, channel: String?, created: String?, expires: String?
        var delta: ManifestDelta?
        var hasDelta = false
        var schema: Int64?
        var sequence: Int?
        var sha256sums: SHA256Digest?
        var target: JSONValue?
    }

    private static func readCanonicalOrRefuse(_ bytes: [UInt8]) throws(CanonicalReader.Refused) -> Manifest {
        typealias Refused = CanonicalReader.Refused
        var reader = CanonicalReader(bytes)
        var top = Top()
        try reader.object { (r, key) throws(Refused) in
            switch key {
            case "artifacts":
                top.hasArtifacts = true
                try r.array { (r) throws(Refused) in top.artifacts.append(try readArtifact(&r)) }
            case "blobs":
                top.hasBlobs = true
                try r.array { (r) throws(Refused) in top.blobs.append(try readBlob(&r)) }
            case "bundle": top.bundle = try r.string()
            case "channel": top.channel = try r.string()
            case "created": top.created = try r.string()
            case "delta":
                top.hasDelta = true
                var inventory: SHA256Digest?
                try r.object { (r, key) throws(Refused) in
                    guard key == "inventory" else { throw Refused() }
                    inventory = try digest(&r)
                }
                guard let inventory else { throw Refused() }
                top.delta = ManifestDelta(inventory: inventory)
            case "expires": top.expires = try r.string()
            case "schema": top.schema = try r.int()
            case "sequence": top.sequence = try count(&r)
            case "sha256sums": top.sha256sums = try digest(&r)
            case "target": top.target = try r.value(depth: 1)
            default: throw Refused()
            }
        }
        guard reader.isAtEnd, top.hasArtifacts, top.hasBlobs, let bundle = top.bundle, isValidBundleID(bundle), let channel = top.channel,
            isValidChannel(channel), let sequence = top.sequence, let created = top.created, let expires = top.expires,
            Timestamp.parse(created) != nil, Timestamp.parse(expires) != nil, let sha256sums = top.sha256sums,
            let schema = top.schema, schema == (top.hasDelta ? deltaSchemaVersion : schemaVersion)
        else { throw Refused() }
        // blobs: no digest twice, only a delta leaves any out, and a recipe is a carried blob.
        let isDelta = top.hasDelta
        var sizes: [SHA256Digest: Int] = [:]
        sizes.reserveCapacity(top.blobs.count)
        for blob in top.blobs {
            guard sizes.updateValue(blob.size, forKey: blob.sha256) == nil, isDelta || blob.isCarried else { throw Refused() }
        }
        if isDelta {
            let carried = Set(top.blobs.filter(\.isCarried).map(\.sha256))
            for blob in top.blobs {
                if case .recipe(let recipe) = blob.delivery, !carried.contains(recipe) { throw Refused() }
            }
        }
        // artifacts: safe paths, unique names, each a listed blob by digest and size.
        var names = Set<String>()
        names.reserveCapacity(top.artifacts.count)
        for a in top.artifacts {
            guard RelativePath.isSafe(a.path), names.insert(a.name).inserted, sizes[a.sha256] == a.size else { throw Refused() }
        }
        return Manifest(
            bundle: bundle, channel: channel, sequence: sequence, created: created, expires: expires, target: top.target,
            artifacts: top.artifacts, blobs: top.blobs, sha256sums: sha256sums, delta: top.delta
        )
    }

    private static func readArtifact(_ r: inout CanonicalReader) throws(CanonicalReader.Refused) -> ManifestArtifact {
        typealias Refused = CanonicalReader.Refused
        var kind: String?, mediaType: String?, name: String?, path: String?, sha256: SHA256Digest?, size: Int?
        var provenance: JSONValue?
        try r.object { (r, key) throws(Refused) in
            switch key {
            case "kind": kind = try r.string()
            case "mediaType": mediaType = try r.string()
            case "name": name = try r.string()
            case "path": path = try r.string()
            case "provenance": provenance = try r.value(depth: 3)
            case "sha256": sha256 = try digest(&r)
            case "size": size = try count(&r)
            default: throw Refused()
            }
        }
        guard let kind, let mediaType, let name, let path, let sha256, let size else { throw Refused() }
        return ManifestArtifact(name: name, path: path, kind: kind, sha256: sha256, size: size, mediaType: mediaType, provenance: provenance)
    }

    private static func readBlob(_ r: inout CanonicalReader) throws(CanonicalReader.Refused) -> ManifestBlob {
        typealias Refused = CanonicalReader.Refused
        var kind: String?, sha256: SHA256Digest?, size: Int?
        var delivery = ManifestBlob.Delivery.carried
        var extras = 0
        try r.object { (r, key) throws(Refused) in
            switch key {
            case "expected":
                guard try r.string() == "store" else { throw Refused() }
                delivery = .store
                extras += 1
            case "kind": kind = try r.string()
            case "recipe":
                delivery = .recipe(try digest(&r))
                extras += 1
            case "sha256": sha256 = try digest(&r)
            case "size": size = try count(&r)
            default: throw Refused()
            }
        }
        guard let kind, let sha256, let size, extras <= 1 else { throw Refused() }
        return ManifestBlob(sha256: sha256, size: size, kind: kind, delivery: delivery)
    }

    private static func digest(_ r: inout CanonicalReader) throws(CanonicalReader.Refused) -> SHA256Digest {
        let text = try r.string()
        guard let digest = SHA256Digest(hexBytes: text.utf8) else { throw CanonicalReader.Refused() }
        return digest
    }

    /// A non-negative integer that fits an Int.
    private static func count(_ r: inout CanonicalReader) throws(CanonicalReader.Refused) -> Int {
        let value = try r.int()
        guard value >= 0, value <= Int64(Int.max) else { throw CanonicalReader.Refused() }
        return Int(value)
    }
}
