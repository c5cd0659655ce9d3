// The boundary to the kernel's file calls: every open/read/write/fsync/rename that Airlock makes
// goes through here, retried on EINTR and turned into a `FileError` naming the path. Foundation's
// FileHandle hides partial writes and errno, and cannot fsync a directory or take an flock, all of
// which the store's crash-safety depends on.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed file operation: what was done, to which path, and the system's reason.
public struct FileError: AirlockError {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var status: ExitStatus { .badInput }
    public var code: ErrorCode { (isNotFound ? CoreErrorCode.noSuchFile : isNoSpace ? .noSpace : .file).code }
    public var isNotFound: Bool { errno == ENOENT }
    /// The file system (or the user's quota on it) is full.
    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }
    public var description: String {
        if isNoSpace {
            // What is free where it failed, so the user knows how much to make room for.
            let directory = FileSystem.parentPath(path)
            let free = (try? FileSystem.freeSpace(at: directory.isEmpty ? "." : directory)).map { ByteCount.format($0) } ?? "?"
            return "\(path): cannot \(operation): no space left on its file system (\(free) free there); free some space and run the command again"
        }
        let reason = String(cString: strerror(errno))
        return "\(path): cannot \(operation): \(reason)"
    }
}

/// An open file descriptor, closed when the last reference goes.
public final class FileDescriptor: @unchecked Sendable {
    // @unchecked: the descriptor number is immutable; callers serialise their own reads and writes.
    public let rawValue: Int32
    public let path: String
    private let owned: Bool

    private init(rawValue: Int32, path: String, owned: Bool = true) {
        self.rawValue = rawValue
        self.path = path
        self.owned = owned
    }

    deinit { if owned { close(rawValue) } }

    /// Standard input and output, never closed by Airlock.
    public static let standardInput = FileDescriptor(rawValue: 0, path: "standard input", owned: false)
    public static let standardOutput = FileDescriptor(rawValue: 1, path: "standard output", owned: false)
    public static let standardError = FileDescriptor(rawValue: 2, path: "standard error", owned: false)

    public static func open(_ path: String, writing: Bool = false, create: Bool = false, exclusive: Bool = false, truncate: Bool = false, mode: UInt32 = 0o644) throws -> FileDescriptor {
        var flags = O_CLOEXEC | (writing ? O_RDWR : O_RDONLY)
        if create { flags |= O_CREAT }
        if exclusive { flags |= O_EXCL }
        if truncate { flags |= O_TRUNC }
        while true {
            let fd = Glibc.open(path, flags, mode_t(mode))
            if fd >= 0 { return FileDescriptor(rawValue: fd, path: path) }
            if errno == EINTR { continue }
            throw FileError(create ? "create" : "open", path: path, errno: errno)
        }
    }

    /// The process's controlling terminal, `/dev/tty`, for a question only a person can answer; nil
    /// when there is none (a service, a CI job, `setsid`), so the caller fails instead of waiting.
    public static func openTerminal() -> FileDescriptor? {
        while true {
            let fd = Glibc.open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)
            if fd >= 0 {
                guard isatty(fd) == 1 else {
                    close(fd)
                    return nil
                }
                return FileDescriptor(rawValue: fd, path: "/dev/tty")
            }
            if errno == EINTR { continue }
            return nil
        }
    }

    /// Writes `prompt` to this terminal and reads one line with echo off, as ssh and openssl do;
    /// the echo comes back afterwards, and also if SIGINT or SIGTERM ends the process meanwhile.
    /// Returns the line without its newline, or nil at end of input (Ctrl-D).
    /// Blocks until the line is typed: call it off Swift's cooperative pool.
    public func readLineWithoutEcho(prompt: String, limit: Int = 1024) throws -> [UInt8]? {
        var saved = termios()
        guard tcgetattr(rawValue, &saved) == 0 else {
            throw FileError("read the settings of", path: path, errno: errno)
        }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        try write(Array(prompt.utf8))
        // TCSANOW, as openssl's prompt does: a line typed ahead (or by a pty driver) is kept.
        guard tcsetattr(rawValue, TCSANOW, &quiet) == 0 else {
            throw FileError("turn off echo on", path: path, errno: errno)
        }
        let fd = rawValue
        let original = saved
        let token = Interrupts.track(restore: {
            var settings = original
            _ = tcsetattr(fd, TCSANOW, &settings)
        })
        defer {
            _ = tcsetattr(rawValue, TCSANOW, &saved)
            Interrupts.forget(restore: token)
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = try withUnsafeMutableBytes(of: &byte) { try read(into: $0) }
            if n == 0 { return line.isEmpty ? nil : line }
            if byte == UInt8(ascii: "\n") { return line }
            guard line.count < limit else {
                throw UsageError(CoreErrorCode.usage, "\(path): the line typed is longer than \(limit) bytes")
            }
            line.append(byte)
        }
    }

    /// Opens a directory so it can be fsynced after a rename into it.
    public static func openDirectory(_ path: String) throws -> FileDescriptor {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("open directory", path: path, errno: errno) }
        return FileDescriptor(rawValue: fd, path: path)
    }

    /// Reads up to `buffer.count` bytes; 0 means end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = Glibc.read(rawValue, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw FileError("read", path: path, errno: errno)
        }
    }

    /// Reads until `buffer` is full or the file ends; returns how many bytes were read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Reads at an absolute offset (pread) until `buffer` is full or the file ends; returns the count.
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var filled = 0
        while filled < buffer.count {
            let n = pread(rawValue, base + filled, buffer.count - filled, off_t(offset + filled))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError("read", path: path, errno: errno)
            }
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let (n, failure) = WriteHooks.write(rawValue, base + offset, bytes.count - offset)
            if n < 0 {
                let code = failure ?? errno
                if code == EINTR { continue }
                throw FileError("write", path: path, errno: code)
            }
            offset += n
        }
        WriteHooks.wrote(offset)
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func sync() throws {
        guard fsync(rawValue) == 0 else { throw FileError("fsync", path: path, errno: errno) }
    }

    /// Turns direct I/O (no page cache) on or off; returns false where the file system refuses it.
    /// Direct writes need 4 KiB-aligned buffers, offsets and lengths.
    @discardableResult
    public func setDirectIO(_ enabled: Bool) -> Bool {
        #if arch(x86_64)
            let oDirect: Int32 = 0o40000
        #else
            let oDirect: Int32 = 0o200000
        #endif
        let flags = fcntl(rawValue, F_GETFL)
        guard flags >= 0 else { return false }
        return fcntl(rawValue, F_SETFL, enabled ? flags | oDirect : flags & ~oDirect) == 0
    }

    /// Starts write-back of a range without waiting, so the final fsync has little left to do.
    public func startWriteback(offset: Int, count: Int) {
        _ = linux_sync_file_range(rawValue, Int64(offset), Int64(count), 2 /* SYNC_FILE_RANGE_WRITE */)
    }

    /// Takes an flock on the file; returns false if another process holds it and `wait` is false.
    @discardableResult
    public func lock(exclusive: Bool = true, wait: Bool = true) throws -> Bool {
        let op = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)
        while true {
            if flock(rawValue, op) == 0 { return true }
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK { return false }
            throw FileError("lock", path: path, errno: errno)
        }
    }

    public var size: Int {
        get throws {
            var st = stat()
            guard fstat(rawValue, &st) == 0 else { throw FileError("stat", path: path, errno: errno) }
            return Int(st.st_size)
        }
    }

    public func seek(to offset: Int) throws {
        guard lseek(rawValue, off_t(offset), SEEK_SET) >= 0 else {
            throw FileError("seek", path: path, errno: errno)
        }
    }

    public func truncate(to size: Int) throws {
        guard ftruncate(rawValue, off_t(size)) == 0 else { throw FileError("truncate", path: path, errno: errno) }
    }
}

/// What identifies one version of a file: if any of these change, the content may have.
public struct FileIdentity: Equatable, Sendable {
    public let device: UInt64
    public let inode: UInt64
    public let size: Int
    public let modifiedSeconds: Int
    public let modifiedNanoseconds: Int

    public init(_ fd: FileDescriptor) throws {
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else { throw FileError("stat", path: fd.path, errno: errno) }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int(st.st_size)
        modifiedSeconds = Int(st.st_mtim.tv_sec)
        modifiedNanoseconds = Int(st.st_mtim.tv_nsec)
    }
}

/// File-system calls on paths.
public enum FileSystem {
    /// What `lstat` says a path is; nil when it does not exist.
    public enum Kind: Sendable { case regular, directory, symlink, other }

    public static func kind(of path: String) -> Kind? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    /// Permission bits of a path (following links).
    public static func mode(of path: String) throws -> UInt32 {
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileError("stat", path: path, errno: errno) }
        return UInt32(st.st_mode) & 0o7777
    }

    public static func size(of path: String) throws -> Int {
        var st = stat()
        guard stat(path, &st) == 0 else { throw FileError("stat", path: path, errno: errno) }
        return Int(st.st_size)
    }

    public static func exists(_ path: String) -> Bool { kind(of: path) != nil }

    /// Makes `to` a hard link to `from`; false where the file system refuses (another file
    /// system, no links, too many), so the caller can copy instead.
    public static func hardLink(_ from: String, to: String) -> Bool { link(from, to) == 0 }

    /// True when both paths name one file (the same device and inode, links not followed).
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat()
        var y = stat()
        guard lstat(a, &x) == 0, lstat(b, &y) == 0 else { return false }
        return x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    /// Creates a directory and its parents; existing ones are fine.
    public static func makeDirectory(_ path: String, mode: UInt32 = 0o755) throws {
        if kind(of: path) == .directory { return }
        let parent = parentPath(path)
        if parent != path, !parent.isEmpty { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode_t(mode)) != 0, errno != EEXIST {
            throw FileError("create directory", path: path, errno: errno)
        }
    }

    public static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw FileError("rename to \(to)", path: from, errno: errno) }
    }

    /// Makes a symbolic link at `path` that points at `target`.
    public static func symlink(_ target: String, at path: String) throws {
        guard Glibc.symlink(target, path) == 0 else { throw FileError("symlink to \(target)", path: path, errno: errno) }
    }

    /// Removes a file; a missing one is fine.
    public static func remove(_ path: String) throws {
        if unlink(path) != 0, errno != ENOENT { throw FileError("remove", path: path, errno: errno) }
    }

    /// Removes a file tree (used for temporary directories only).
    public static func removeTree(_ path: String) {
        Interrupts.forget(tree: path)
        if kind(of: path) == .directory {
            for name in (try? list(path)) ?? [] { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Names in a directory, without `.` and `..`, unsorted.
    public static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw FileError("list", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// fsyncs a directory so that a rename into it survives a crash.
    public static func syncDirectory(_ path: String) throws {
        try FileDescriptor.openDirectory(path).sync()
    }

    /// Flushes every dirty page of the file system holding `path`: one call for a batch of blobs.
    public static func syncFileSystem(containing path: String) throws {
        let fd = try FileDescriptor.openDirectory(path)
        guard linux_syncfs(fd.rawValue) == 0 else { throw FileError("sync file system", path: path, errno: errno) }
    }

    /// Bytes available to an unprivileged writer on the file system holding `path`.
    public static func freeSpace(at path: String) throws -> Int {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { throw FileError("stat file system", path: path, errno: errno) }
        return Int(st.f_bavail) &* Int(st.f_frsize)
    }

    public static func readFile(_ path: String, limit: Int = 64 << 20) throws -> [UInt8] {
        let fd = try FileDescriptor.open(path)
        let size = try fd.size
        guard size <= limit else {
            throw UsageError(
                CoreErrorCode.tooLarge,
                "\(path): \(size) bytes is larger than the \(limit)-byte limit for this file"
            )
        }
        var out = [UInt8](repeating: 0, count: size)
        let n = try out.withUnsafeMutableBytes { try fd.readFully(into: $0) }
        out.removeLast(size - n)
        return out
    }

    /// Writes a file atomically: a temp file in the same directory, fsynced, renamed into place.
    /// With `exclusive`, an existing file is an error and never replaced.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: UInt32 = 0o644, exclusive: Bool = false) throws {
        let dir = parentPath(path)
        let tmp = (dir.isEmpty ? "." : dir) + "/.\(baseName(path)).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = try FileDescriptor.open(tmp, writing: true, create: true, exclusive: true, mode: mode)
        Interrupts.track(file: tmp)
        defer { Interrupts.forget(file: tmp) }
        do {
            try fd.write(bytes)
            try fd.sync()
            if exclusive {
                // link() refuses an existing target, unlike rename().
                guard link(tmp, path) == 0 else { throw FileError("create", path: path, errno: errno) }
                try remove(tmp)
            } else {
                try rename(tmp, to: path)
            }
            try? syncDirectory(dir.isEmpty ? "." : dir)
        } catch {
            try? remove(tmp)
            throw error
        }
    }

    public static func parentPath(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func baseName(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    public static var currentDirectory: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(cString: buffer)
    }

    /// An absolute form of `path` (not resolving links).
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : currentDirectory + "/" + path
    }

    /// A fresh 0700 directory under `parent` (or $TMPDIR).
    public static func makeTemporaryDirectory(prefix: String = "airlock", in parent: String? = nil) throws -> String {
        let base = parent ?? (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
        var template = Array((base + "/\(prefix).XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> UnsafeMutablePointer<CChar>? in
            guard let base = buffer.baseAddress else { return nil }
            return mkdtemp(base)
        }
        guard let made else {
            throw FileError("create temporary directory", path: base, errno: errno)
        }
        let path = String(cString: made)
        // Removed if the command is interrupted (a caller that renames it into place leaves
        // nothing at this path for the cleanup to find).
        Interrupts.track(tree: path)
        return path
    }
}

// Glibc's module map hides these _GNU_SOURCE calls; their C signatures are plain integers.
@_silgen_name("syncfs") private func linux_syncfs(_ fd: Int32) -> Int32
@_silgen_name("sync_file_range") private func linux_sync_file_range(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32

public enum Environment {
    public static func get(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    public static var processID: Int32 { getpid() }
}
