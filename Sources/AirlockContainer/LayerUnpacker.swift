// Applies one OCI layer (a tar, plain, gzip or zstd) on top of a rootfs being built. Rules, since a
// layer is hostile input:
// - names: no absolute paths, no `..` (LayerPath); parents are walked one component at a time
//   without following symlinks, and a parent that is a symlink (or a file) refuses the member, so
//   `a -> /etc` then `a/passwd` cannot write outside the rootfs;
// - kinds: regular files, directories, symlinks (text kept as is, never followed) and hard links
//   to a regular file already unpacked; device nodes, FIFOs and sockets are refused;
// - whiteouts: `dir/.wh.name` removes `dir/name` of lower layers; `dir/.wh..wh..opq` removes
//   everything lower layers put in `dir` (whatever order the markers come in, entries of this
//   layer survive);
// - modes: permission bits kept, setuid and setgid dropped; directories always owner-rwx so later
//   layers and `image rm` can change them; owners are the running user's.

import AirlockCore

struct LayerUnpacker {
    private static let whiteoutPrefix = ".wh."
    private static let opaqueMarker = ".wh..wh..opq"

    let root: LayerDirectory
    /// For messages: which layer this is.
    let name: String

    /// Paths this layer wrote, with every ancestor, so whiteouts spare them.
    private var touched: Set<String> = [""]
    private var cachedParent: (key: String, directory: LayerDirectory)? = nil

    init(root: LayerDirectory, name: String) {
        self.root = root
        self.name = name
    }

    mutating func apply(layerAt path: String) throws {
        let reader = try ArchiveReader(paths: [path], format: .layer)
        while let entry = try reader.next() {
            try apply(entry, from: reader)
        }
    }

    private func refuse(_ member: String, _ why: String) -> ImageError {
        ImageError.check(.hostileLayer, "layer \(name): member '\(member)' \(why); refused")
    }

    private mutating func apply(_ entry: TarEntry, from reader: ArchiveReader) throws {
        guard let raw = entry.path else { throw ImageError.check(.hostileLayer, "layer \(name): a member has no name") }
        let parts = try LayerPath.components(raw, in: "layer \(name)")
        guard let last = parts.last else {
            // The root itself (`./`): nothing to create.
            return try reader.skipData()
        }
        let parentParts = Array(parts.dropLast())
        let parentKey = parentParts.joined(separator: "/")
        let key = parts.joined(separator: "/")

        if last.hasPrefix(Self.whiteoutPrefix) {
            try reader.skipData()
            let parent = try directory(parentParts, member: raw, create: true)
            markTouched(parentKey)
            if last == Self.opaqueMarker {
                try clearLower(parent, key: parentKey)
            } else if last.hasPrefix(Self.whiteoutPrefix + Self.whiteoutPrefix) {
                // Other aufs metadata (`.wh..wh.plnk`, ...): not part of the image.
            } else {
                let target = String(last.dropFirst(Self.whiteoutPrefix.count))
                let targetKey = parentKey.isEmpty ? target : parentKey + "/" + target
                if !touched.contains(targetKey) {
                    try parent.remove(target)
                    cachedParent = nil
                }
            }
            return
        }

        switch entry.kind {
        case .other(let what):
            throw refuse(raw, "is a \(what)")
        case .directory:
            let parent = try directory(parentParts, member: raw, create: true)
            if let existing = try parent.kind(of: last), existing != .directory {
                try parent.remove(last)
                cachedParent = nil
            }
            if try parent.kind(of: last) == nil { try parent.makeDirectory(last, mode: 0o700) }
            guard let dir = try? parent.openChild(last) else { throw refuse(raw, "cannot be opened as a directory") }
            try dir.setMode(Self.directoryMode(entry.mode))
            try reader.skipData()
        case .regular:
            let parent = try directory(parentParts, member: raw, create: true)
            try replace(last, in: parent)
            try parent.createFile(last, mode: Self.fileMode(entry.mode)) { write in
                try reader.readData { try write($0) }
            }
        case .symlink:
            guard let target = entry.linkTarget, !target.isEmpty else { throw refuse(raw, "is a symlink to nothing") }
            let parent = try directory(parentParts, member: raw, create: true)
            try replace(last, in: parent)
            try parent.makeSymlink(last, target: target)
            try reader.skipData()
        case .hardlink:
            guard let target = entry.linkTarget else { throw refuse(raw, "is a hard link to nothing") }
            let targetParts = try LayerPath.components(target, in: "layer \(name)")
            guard let targetName = targetParts.last else { throw refuse(raw, "is a hard link to the root") }
            if targetParts == parts { return try reader.skipData() }
            let targetParent: LayerDirectory
            do {
                targetParent = try directory(Array(targetParts.dropLast()), member: target, create: false)
            } catch {
                throw refuse(raw, "links to '\(target)', which is not inside the rootfs")
            }
            guard try targetParent.kind(of: targetName) == .regular else {
                throw refuse(raw, "links to '\(target)', which is not a regular file unpacked before it")
            }
            let parent = try directory(parentParts, member: raw, create: true)
            try replace(last, in: parent)
            try parent.makeHardLink(last, to: targetName, in: targetParent)
            try reader.skipData()
        }
        markTouched(key)
    }

    /// Setuid and setgid never survive; the sticky bit and permission bits do.
    static func fileMode(_ mode: UInt32) -> UInt32 { mode & 0o1777 }
    static func directoryMode(_ mode: UInt32) -> UInt32 { (mode & 0o1777) | 0o700 }

    /// Removes what a lower layer (or an earlier member) left at `name`, so the new member replaces it.
    private mutating func replace(_ name: String, in parent: LayerDirectory) throws {
        if let kind = try parent.kind(of: name) {
            try parent.remove(name)
            if kind == .directory { cachedParent = nil }
        }
    }

    private mutating func markTouched(_ key: String) {
        var path = Substring(key)
        while !path.isEmpty, touched.insert(String(path)).inserted {
            guard let slash = path.lastIndex(of: "/") else { break }
            path = path[..<slash]
        }
    }

    /// Opens the directory at `parts` below the root, one component at a time, never following a
    /// symlink; with `create`, makes missing ones (mode 0755).
    private mutating func directory(_ parts: [String], member: String, create: Bool) throws -> LayerDirectory {
        let key = parts.joined(separator: "/")
        if let cached = cachedParent, cached.key == key { return cached.directory }
        var current = root
        for part in parts {
            let next: LayerDirectory?
            do {
                next = try current.openChild(part)
            } catch {
                let kind = try? current.kind(of: part)
                throw refuse(
                    member,
                    kind == .symlink
                        ? "has a symlink ('\(part)') in its parent path"
                        : "has a non-directory ('\(part)') in its parent path"
                )
            }
            if let next {
                current = next
            } else if create {
                try current.makeDirectory(part, mode: 0o755)
                guard let made = try current.openChild(part) else { throw refuse(member, "lost its parent '\(part)'") }
                current = made
            } else {
                throw refuse(member, "has a missing parent '\(part)'")
            }
        }
        cachedParent = (key, current)
        return current
    }

    /// Removes everything in `directory` this layer did not write (opaque whiteout).
    private mutating func clearLower(_ directory: LayerDirectory, key: String) throws {
        for child in try directory.names() {
            let childKey = key.isEmpty ? child : key + "/" + child
            if !touched.contains(childKey) {
                try directory.remove(child)
                cachedParent = nil
            } else if try directory.kind(of: child) == .directory, let sub = try directory.openChild(child) {
                try clearLower(sub, key: childKey)
            }
        }
    }
}

extension ImageRootfs {
    /// Applies the layers at `paths`, in order, to the existing directory `root`: the unpack above
    /// without the store and its cache, a `package` seam for the fuzz harness of the layer reader.
    package static func apply(layersAt paths: [String], to root: String) throws {
        let directory = try LayerDirectory.open(root)
        for path in paths {
            var unpacker = LayerUnpacker(root: directory, name: FileSystem.baseName(path))
            try unpacker.apply(layerAt: path)
        }
    }
}
