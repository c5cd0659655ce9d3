// The raw file-system calls of layer unpacking, all in this file. Why by descriptor: a layer is
// hostile, and a path string re-resolves every component on every call, so a symlink planted by an
// earlier member (`a -> /etc`) would redirect a later one (`a/passwd`) out of the rootfs. Every call
// here is relative to an open directory and passes O_NOFOLLOW / AT_SYMLINK_NOFOLLOW, so no symlink
// is ever followed while unpacking; a path is walked one component at a time by `openChild`.

import AirlockCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An open directory. Closed when the last reference goes.
final class LayerDirectory {
    enum Kind { case regular, directory, symlink, other }

    private let fd: Int32
    /// For messages only: never used to reach the directory.
    let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Opens a directory the caller created (the unpack root); refuses a symlink.
    static func open(_ path: String) throws -> LayerDirectory {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("open directory", path: path, errno: errno) }
        return LayerDirectory(fd: fd, path: path)
    }

    private func child(_ name: String) -> String { path + "/" + name }

    /// What `name` is, without following a symlink; nil when it does not exist.
    func kind(of name: String) throws -> Kind? {
        var st = stat()
        guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw FileError("stat", path: child(name), errno: errno)
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// Opens the directory `name`; nil when it does not exist. A symlink or file there is an error
    /// (ELOOP / ENOTDIR), reported by the caller as a refused member.
    func openChild(_ name: String) throws -> LayerDirectory? {
        let child = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if child >= 0 { return LayerDirectory(fd: child, path: self.child(name)) }
        if errno == ENOENT { return nil }
        throw FileError("open directory", path: self.child(name), errno: errno)
    }

    func makeDirectory(_ name: String, mode: UInt32) throws {
        guard mkdirat(fd, name, mode_t(mode)) == 0 else {
            throw FileError("create directory", path: child(name), errno: errno)
        }
    }

    /// Sets the permission bits of this directory itself.
    func setMode(_ mode: UInt32) throws {
        guard fchmod(fd, mode_t(mode)) == 0 else { throw FileError("change mode", path: path, errno: errno) }
    }

    /// Removes `name` whatever it is; a directory with everything in it. A missing one is fine.
    func remove(_ name: String) throws {
        guard let kind = try kind(of: name) else { return }
        if kind == .directory {
            if let sub = try openChild(name) {
                try sub.setMode(0o700)
                for entry in try sub.names() { try sub.remove(entry) }
            }
            guard unlinkat(fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT else {
                throw FileError("remove directory", path: child(name), errno: errno)
            }
        } else {
            guard unlinkat(fd, name, 0) == 0 || errno == ENOENT else {
                throw FileError("remove", path: child(name), errno: errno)
            }
        }
    }

    /// Names in this directory, without `.` and `..`.
    func names() throws -> [String] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            throw FileError("list", path: path, errno: errno)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var out: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// Creates the regular file `name` (it must not exist), lets `fill` write its bytes, then sets
    /// its mode (after writing, so a read-only mode cannot stop the write).
    func createFile(_ name: String, mode: UInt32, fill: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws
    {
        let file = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
        guard file >= 0 else { throw FileError("create", path: child(name), errno: errno) }
        defer { close(file) }
        try fill { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let n = write(file, base + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError("write", path: child(name), errno: errno)
                }
                offset += n
            }
        }
        guard fchmod(file, mode_t(mode)) == 0 else { throw FileError("change mode", path: child(name), errno: errno) }
    }

    /// Creates a symlink whose text is `target`, as given (never resolved here).
    func makeSymlink(_ name: String, target: String) throws {
        guard symlinkat(target, fd, name) == 0 else {
            throw FileError("create symlink", path: child(name), errno: errno)
        }
    }

    /// Hard-links `name` here to `targetName` in `targetDirectory` (never through a symlink).
    func makeHardLink(_ name: String, to targetName: String, in targetDirectory: LayerDirectory) throws {
        guard linkat(targetDirectory.fd, targetName, fd, name, 0) == 0 else {
            throw FileError("create hard link", path: child(name), errno: errno)
        }
    }

    /// Whether a process with this id exists (to tell a crashed unpack's leftovers from a live one).
    static func processExists(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
