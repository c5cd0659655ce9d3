// Go modules in the store. Each part of a module version is one blob, named in the index by the
// module path and version: its go.mod (kind `go-mod`, `v1.2.3.mod`), its `.info` (`go-info`) and,
// when it provides packages, its zip (`go-module`, `v1.2.3.zip`), whose `h1:` hash (computed in
// Swift when it was fetched, from the bytes now in the blob) is the blob's provenance document. A
// module is "in the store" for a lock only when every part the lock needs is there with the hash
// the lock (go.sum) gives: another project's go.sum may vouch for other bytes under the same name.
//
// `export` lays the locked modules out as a GOPROXY tree (`PATH/@v/list`, `VERSION.info`, `.mod`,
// `.zip`, case-escaped) for a build to read as `GOPROXY=file:///...`: hard links to the blobs where
// the tree is on the store's file system, copies elsewhere.

public import AirlockCore
import Foundation
import Glibc

public struct StoredModule: Sendable, Equatable {
    public var module: ModuleVersion
    public var goMod: SHA256Digest
    public var info: SHA256Digest?
    public var zip: SHA256Digest?
}

public enum GoModuleStore {
    public static let goModKind = "go-mod"
    public static let infoKind = "go-info"
    public static let zipKind = "go-module"

    /// The provenance document of a stored module zip.
    struct ZipRecord: Codable {
        var module: String
        var h1: String
    }

    /// What the store holds of each locked module, by `path@version`, checked against the lock's
    /// hashes; a module missing a part it needs is absent.
    public static func find(_ lock: GoLock, in store: Store) throws -> [String: StoredModule] {
        var byName: [String: [BlobEntry]] = [:]
        for kind in [goModKind, infoKind, zipKind] {
            for entry in try store.index.entries(kind: kind) where store.contains(entry.digest) {
                byName[kind + " " + entry.name + "@" + (entry.version ?? ""), default: []].append(entry)
            }
        }
        var found: [String: StoredModule] = [:]
        for locked in lock.modules {
            let key = locked.module.description
            guard
                let goMod = byName[goModKind + " " + key]?.first(where: {
                    (try? FileSystem.readFile(store.blobPath($0.digest), limit: ModuleZip.maximumGoModSize))
                        .map(Dirhash.goMod) == locked.goMod
                })
            else { continue }
            var stored = StoredModule(
                module: locked.module, goMod: goMod.digest, info: byName[infoKind + " " + key]?.first?.digest
            )
            if let h1 = locked.zip {
                guard
                    let zip = byName[zipKind + " " + key]?.first(where: {
                        guard let document = try? store.index.provenance(of: $0.digest),
                            let record = try? JSONDecoder().decode(ZipRecord.self, from: Data(document.utf8))
                        else { return false }
                        return record.h1 == h1 && record.module == key
                    })
                else { continue }
                stored.zip = zip.digest
            }
            found[key] = stored
        }
        return found
    }

    /// Every module the lock needs, from the store, or an error naming the first missing one.
    public static func require(_ lock: GoLock, in store: Store, project: String) throws -> [StoredModule] {
        let found = try find(lock, in: store)
        return try lock.modules.map { locked in
            guard let stored = found[locked.module.description] else {
                throw UsageError(
                    GoModuleErrorCode.notInStore,
                    "\(locked.module)\(locked.zip == nil ? "/go.mod" : ""): not in the store; run `airlock fetch --project \(project)` on the connected host (or import the bundle that carries it)"
                )
            }
            return stored
        }
    }

    /// Writes the GOPROXY tree of `modules` under `directory` (which must exist and be empty).
    public static func export(_ modules: [StoredModule], from store: Store, to directory: String) throws {
        var versions: [String: [String]] = [:]
        for stored in modules {
            let base = directory + "/" + stored.module.escapedPath + "/@v"
            try FileSystem.makeDirectory(base)
            let file = base + "/" + stored.module.escapedVersion
            try place(stored.goMod, at: file + ".mod", store: store)
            if let zip = stored.zip { try place(zip, at: file + ".zip", store: store) }
            if let info = stored.info {
                try place(info, at: file + ".info", store: store)
            } else {
                try FileSystem.writeAtomically(file + ".info", Array("{\"Version\":\"\(stored.module.version)\"}\n".utf8))
            }
            versions[base, default: []].append(stored.module.version)
        }
        for (base, list) in versions {
            try FileSystem.writeAtomically(base + "/list", Array((list.sorted().joined(separator: "\n") + "\n").utf8))
        }
    }

    private static func place(_ digest: SHA256Digest, at path: String, store: Store) throws {
        if FileSystem.exists(path) { return }
        try store.place(digest, at: path)
    }

    /// Records the parts of one module version as stored, with the lock's GC root.
    static func record(
        _ module: ModuleVersion, goMod: (SHA256Digest, Int), info: (SHA256Digest, Int)?, zip: (SHA256Digest, Int, String)?,
        origin: String?, root: String, store: Store
    ) throws {
        var entries = [
            BlobEntry(
                digest: goMod.0, size: goMod.1, kind: goModKind, name: module.path, version: module.version,
                filename: module.version + ".mod", mediaType: "text/plain; charset=utf-8", origin: origin
            )
        ]
        if let info {
            entries.append(
                BlobEntry(
                    digest: info.0, size: info.1, kind: infoKind, name: module.path, version: module.version,
                    filename: module.version + ".info", mediaType: "application/json", origin: origin
                )
            )
        }
        if let zip {
            entries.append(
                BlobEntry(
                    digest: zip.0, size: zip.1, kind: zipKind, name: module.path, version: module.version,
                    filename: module.version + ".zip", mediaType: "application/zip", origin: origin
                )
            )
        }
        try store.withExclusiveAccess {
            try store.index.record(entries, roots: entries.map { ($0.digest, root) })
            if let zip {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                let document = try encoder.encode(ZipRecord(module: module.description, h1: zip.2))
                try store.index.recordProvenance(String(decoding: document, as: UTF8.self), of: zip.0)
            }
        }
    }
}
