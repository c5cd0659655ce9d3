// The unpacked-rootfs cache: `<store>/rootfs/<manifest hex>/`, made once per image digest. It is
// built in `<store>/rootfs/.partial-<pid>.XXXXXX`, synced, and renamed into place only when every
// layer has applied, so a crash never leaves a half rootfs under a final name; leftovers of dead
// processes are removed by the next unpack. Two processes unpacking one image both build it and
// the first rename wins. Nothing here lives in the store's tmp/ (Store.open empties that with
// unlink, which cannot remove directories).

public import AirlockCore

public enum ImageRootfs {
    static let partialPrefix = ".partial-"

    /// Where the unpacked rootfs of a manifest lives (present or not).
    public static func directory(for manifest: SHA256Digest, in store: Store) -> String {
        FileSystem.absolute(store.root) + "/rootfs/" + manifest.hex
    }

    /// The unpacked rootfs of `image`, unpacking its layers in order first if the cache lacks it.
    public static func unpack(image: ImageRecord, in store: Store) throws -> String {
        let final = directory(for: image.manifest, in: store)
        if FileSystem.kind(of: final) == .directory { return final }
        // Adopted from another store (`adopt`): that store's finished rootfs of the same digest.
        if FileSystem.kind(of: final) == .symlink, FileSystem.kind(of: final + "/.") == .directory { return final }
        let parent = store.root + "/rootfs"
        try FileSystem.makeDirectory(parent)
        removeStalePartials(in: parent)
        for layer in image.layers where !store.contains(layer.digest) {
            throw ImageError.check(
                .missingBlob,
                "image \(image.reference): layer \(layer.digest) is missing from the store"
            )
        }
        let partial = try FileSystem.makeTemporaryDirectory(
            prefix: partialPrefix + "\(Environment.processID)",
            in: parent
        )
        do {
            let root = try LayerDirectory.open(partial)
            try root.setMode(0o755)
            for layer in image.layers {
                var unpacker = LayerUnpacker(root: root, name: layer.digest.description)
                try unpacker.apply(layerAt: store.blobPath(layer.digest))
            }
            try FileSystem.syncFileSystem(containing: partial)
            do {
                try FileSystem.rename(partial, to: final)
            } catch {
                // Another process finished the same image first: use theirs.
                guard FileSystem.kind(of: final) == .directory else { throw error }
                try removeTree(partial)
                return final
            }
            try FileSystem.syncDirectory(parent)
            return final
        } catch {
            try? removeTree(partial)
            throw error
        }
    }

    /// Lets `store` use `base`'s finished rootfs of `manifest` instead of unpacking its own (a
    /// scratch store of `rebuild --check`, whose user's store has the image already): a symbolic
    /// link to it, which the sandbox binds read-only. Returns whether there was one to adopt.
    public static func adopt(_ manifest: SHA256Digest, from base: Store, into store: Store) throws -> Bool {
        let source = directory(for: manifest, in: base)
        let final = directory(for: manifest, in: store)
        guard FileSystem.kind(of: source) == .directory, FileSystem.kind(of: final) == nil else { return false }
        try FileSystem.makeDirectory(store.root + "/rootfs")
        try FileSystem.symlink(source, at: final)
        return true
    }

    /// Removes the unpacked rootfs of every manifest no image name points at any more (after a
    /// name moved to a newer image by import, or an image was dropped); returns their digests.
    @discardableResult
    public static func prune(in store: Store) throws -> [SHA256Digest] {
        let parent = FileSystem.absolute(store.root) + "/rootfs"
        guard FileSystem.kind(of: parent) == .directory else { return [] }
        let named = Set(try ImageCatalog.list(in: store).map(\.manifest))
        var removed: [SHA256Digest] = []
        for name in try FileSystem.list(parent).sorted() {
            guard let manifest = SHA256Digest(name), name.count == 64, !named.contains(manifest) else { continue }
            try removeCache(for: manifest, in: store)
            removed.append(manifest)
        }
        return removed
    }

    /// Removes the cached rootfs of a manifest, if any: renamed aside first, so it is never seen
    /// half-removed under its name.
    static func removeCache(for manifest: SHA256Digest, in store: Store) throws {
        let path = directory(for: manifest, in: store)
        guard FileSystem.kind(of: path) == .directory else { return }
        let aside = try FileSystem.makeTemporaryDirectory(
            prefix: partialPrefix + "\(Environment.processID)",
            in: store.root + "/rootfs"
        )
        try FileSystem.rename(path, to: aside + "/old")
        try removeTree(aside)
    }

    private static func removeTree(_ path: String) throws {
        let parent = try LayerDirectory.open(FileSystem.parentPath(path))
        try parent.remove(FileSystem.baseName(path))
    }

    /// `.partial-<pid>.XXXXXX` directories whose process is gone are a crash's leftovers.
    private static func removeStalePartials(in parent: String) {
        for name in (try? FileSystem.list(parent)) ?? [] where name.hasPrefix(partialPrefix) {
            let digits = name.dropFirst(partialPrefix.count).prefix { $0.isNumber }
            guard let pid = Int32(digits), pid != Environment.processID, !LayerDirectory.processExists(pid) else {
                continue
            }
            try? removeTree(parent + "/" + name)
        }
    }
}
