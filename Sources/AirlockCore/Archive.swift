// The one Swift wrapper over libarchive: a streaming tar writer (POSIX pax-restricted, optionally
// zstd) whose bytes go to any `ArchiveOutput` (a file, or a run of size-capped volumes), and a
// streaming reader of tar (one file or a concatenated run of volumes) and of zip members' inflated
// content. No other file imports
// CArchive; callers see entries as plain values and data as scoped buffer pointers. The reader
// reports what each entry *is*; deciding what to accept (regular files only, expected paths) is
// the caller's policy, since bundles and image layers need different rules.

internal import CArchive
import Foundation
import Synchronization

/// A tar (or zip-through-libarchive) stream that cannot be read or written. Damage found while
/// reading is a failed check (exit 1); a file that is no archive at all, or a writer that cannot
/// write, is bad input (exit 2).
public struct ArchiveError: AirlockError {
    public let path: String
    public let reason: String
    public let status: ExitStatus
    public let code: ErrorCode
    public init(path: String, reason: String, status: ExitStatus = .checkFailed, code: CoreErrorCode? = nil) {
        self.path = path
        self.reason = reason
        self.status = status
        self.code = (code ?? (status == .checkFailed ? .badArchive : .notAnArchive)).code
    }
    public var description: String { "\(path): \(reason)" }
}

/// Where a tar writer's bytes go.
public protocol ArchiveOutput: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func close() throws
}

public enum ArchiveCompression: String, Sendable, CaseIterable {
    case none
    case zstd
}

/// One entry for `TarWriter.add(_:contents:)`: every header field that could vary is the caller's.
public struct TarHeader: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case regular(size: Int)
        case directory
        case symlink(target: String)
        /// A second name for a regular file written earlier in the same stream.
        case hardlink(target: String)
    }
    public var path: String
    public var kind: Kind
    /// Permission bits, with setuid, setgid and sticky (`& 0o7777`).
    public var mode: UInt32
    public var uid: Int
    public var gid: Int
    public var mtime: Int64

    public init(path: String, kind: Kind, mode: UInt32, uid: Int = 0, gid: Int = 0, mtime: Int64) {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
    }
}

/// A test seam for TarWriter's set-up: makes one step fail, and counts how often the libarchive
/// handle is freed. Frees after the first are counted but not done, so a double free shows as a
/// count of 2 instead of crashing the test process.
package final class TarWriterProbe: Sendable {
    package enum Failure: Sendable { case setUp, open }
    package let failure: Failure?
    private let frees = Mutex(0)

    package init(failing failure: Failure?) { self.failure = failure }

    package var freeCount: Int { frees.withLock { $0 } }

    /// Records a free; true when the handle should really be freed (the first time).
    fileprivate func recordFree() -> Bool {
        frees.withLock { count in
            count += 1
            return count == 1
        }
    }
}

/// Writes a deterministic tar stream: the caller fixes every header field that could vary.
public final class TarWriter {
    private let handle: OpaquePointer
    private let box: OutputBox
    private let name: String
    private let probe: TarWriterProbe?
    private var isClosed = false

    private final class OutputBox {
        let output: any ArchiveOutput
        var error: (any Error)? = nil
        init(_ output: any ArchiveOutput) { self.output = output }
    }

    public convenience init(output: any ArchiveOutput, name: String, compression: ArchiveCompression) throws {
        try self.init(output: output, name: name, compression: compression, probe: nil)
    }

    package init(
        output: any ArchiveOutput,
        name: String,
        compression: ArchiveCompression,
        probe: TarWriterProbe?
    ) throws {
        // The handle is set up and opened before any stored property is assigned: if a step
        // fails, `self` is incomplete, so deinit does not run and the one free is the one in
        // `start`. (Assigning first made every failure free the handle twice, there and in deinit.)
        let box = OutputBox(output)
        handle = try Self.start(box: box, name: name, compression: compression, probe: probe)
        self.box = box
        self.name = name
        self.probe = probe
    }

    /// A write handle set up for `compression` and opened onto `box`; freed again if a step fails.
    private static func start(
        box: OutputBox,
        name: String,
        compression: ArchiveCompression,
        probe: TarWriterProbe?
    ) throws(ArchiveError) -> OpaquePointer {
        guard let handle = archive_write_new() else {
            throw ArchiveError(path: name, reason: "out of memory", code: .outOfMemory)
        }
        var ok = archive_write_set_format_pax_restricted(handle) == ARCHIVE_OK
        if compression == .zstd {
            ok = ok && archive_write_add_filter_zstd(handle) == ARCHIVE_OK
        }
        // Pad only the last block to 512 bytes' worth of records as POSIX asks, not to 10 KiB.
        ok = ok && archive_write_set_bytes_per_block(handle, 64 * 1024) == ARCHIVE_OK
        ok = ok && archive_write_set_bytes_in_last_block(handle, 1) == ARCHIVE_OK
        if probe?.failure == .setUp { ok = false }
        guard ok else {
            let reason = Self.message(handle)
            Self.free(handle, probe: probe)
            throw ArchiveError(
                path: name,
                reason: "cannot set up the tar writer: \(reason)",
                status: .badInput,
                code: .cannotWriteArchive
            )
        }
        let context = Unmanaged.passUnretained(box).toOpaque()
        // Only a probe sets an open callback: one that fails, so libarchive's open really fails.
        var opener: (@convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Int32)? = nil
        if probe?.failure == .open { opener = { _, _ in ARCHIVE_FATAL } }
        let status = archive_write_open2(
            handle,
            context,
            opener,
            { _, context, buffer, length in
                guard let context, let buffer else { return -1 }
                let box = Unmanaged<OutputBox>.fromOpaque(context).takeUnretainedValue()
                do {
                    try box.output.write(UnsafeRawBufferPointer(start: buffer, count: length))
                    return length
                } catch {
                    box.error = error
                    return -1
                }
            },
            nil,
            nil
        )
        guard status == ARCHIVE_OK else {
            let reason = Self.message(handle)
            Self.free(handle, probe: probe)
            throw ArchiveError(
                path: name,
                reason: "cannot start the tar stream: \(reason)",
                status: .badInput,
                code: .cannotWriteArchive
            )
        }
        return handle
    }

    deinit { Self.free(handle, probe: probe) }

    /// The one place a write handle is freed.
    private static func free(_ handle: OpaquePointer, probe: TarWriterProbe?) {
        guard probe?.recordFree() ?? true else { return }
        archive_write_free(handle)
    }

    /// Adds a regular file with owner 0:0, empty user and group names, and the given mode and mtime.
    public func addFile(path: String, size: Int, mode: UInt32 = 0o644, mtime: Int64, contents: (TarWriter) throws -> Void) throws {
        try add(TarHeader(path: path, kind: .regular(size: size), mode: mode, mtime: mtime), contents: contents)
    }

    /// Adds one entry of any kind a layer or bundle may hold. User and group names stay empty (only
    /// the numbers are written), so the stream does not depend on the host's passwd and group
    /// files. For a regular file, `contents` must write exactly `size` bytes with `writeData`; a hard
    /// link carries no data and must come after the entry it links to.
    public func add(_ header: TarHeader, contents: (TarWriter) throws -> Void = { _ in }) throws {
        guard let entry = archive_entry_new() else {
            throw ArchiveError(path: name, reason: "out of memory", code: .outOfMemory)
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, header.path)
        var size = 0
        switch header.kind {
        case .regular(let length):
            archive_entry_set_filetype(entry, CArchive_AE_IFREG)
            size = length
        case .directory:
            archive_entry_set_filetype(entry, CArchive_AE_IFDIR)
        case .symlink(let target):
            archive_entry_set_filetype(entry, CArchive_AE_IFLNK)
            archive_entry_set_symlink(entry, target)
        case .hardlink(let target):
            archive_entry_set_filetype(entry, CArchive_AE_IFREG)
            archive_entry_set_hardlink(entry, target)
        }
        archive_entry_set_perm(entry, mode_t(header.mode & 0o7777))
        archive_entry_set_size(entry, la_int64_t(size))
        archive_entry_set_uid(entry, la_int64_t(header.uid))
        archive_entry_set_gid(entry, la_int64_t(header.gid))
        archive_entry_set_mtime(entry, time_t(header.mtime), 0)
        try check(archive_write_header(handle, entry), "write the header of \(header.path)")
        try contents(self)
        try check(archive_write_finish_entry(handle), "finish \(header.path)")
    }

    public func addFile(path: String, bytes: [UInt8], mode: UInt32 = 0o644, mtime: Int64) throws {
        try addFile(path: path, size: bytes.count, mode: mode, mtime: mtime) { writer in
            try bytes.withUnsafeBytes { try writer.writeData($0) }
        }
    }

    /// Appends data to the current entry.
    public func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var offset = 0
        while offset < bytes.count {
            let n = archive_write_data(handle, base + offset, bytes.count - offset)
            if n < 0 { try check(Int32(n), "write data") }
            if n == 0 {
                throw ArchiveError(
                    path: name,
                    reason: "tar writer made no progress",
                    status: .badInput,
                    code: .cannotWriteArchive
                )
            }
            offset += n
        }
    }

    /// Writes the end-of-archive marker and closes the output.
    public func close() throws {
        guard !isClosed else { return }
        isClosed = true
        try check(archive_write_close(handle), "close the tar stream")
        try box.output.close()
    }

    private func check(_ status: Int32, _ what: String) throws {
        if let error = box.error { throw error }
        guard status >= ARCHIVE_WARN else {
            throw ArchiveError(
                path: name,
                reason: "cannot \(what): \(Self.message(handle))",
                status: .badInput,
                code: .cannotWriteArchive
            )
        }
    }

    fileprivate static func message(_ handle: OpaquePointer) -> String {
        archive_error_string(handle).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}

/// What a tar entry is, as its header says.
public struct TarEntry: Sendable {
    public enum Kind: Sendable, Equatable { case regular, directory, symlink, hardlink, other(String) }
    public let path: String?
    public let kind: Kind
    public let size: Int
    public let mode: UInt32
    public let isSparse: Bool
    public let linkTarget: String?
    public let uid: Int
    public let gid: Int
    /// Modification time, whole seconds since the epoch.
    public let mtime: Int64
}

/// Reads a tar stream (plain or zstd) entry by entry, without extracting anything.
public final class ArchiveReader {
    private let handle: OpaquePointer
    /// The file (or first volume) read, for messages.
    public let name: String
    private var entryCount = 0

    /// `tar`: plain or zstd (bundles). `layer`: an OCI image layer, a tar plain or gzip- or
    /// zstd-compressed (found by magic). `zip`: through the central directory.
    public enum Format: Sendable { case tar, layer, zip }

    /// Opens one file, or a run of volumes read as one stream, in order. Tar may be zstd-compressed;
    /// zip is read through its central directory (so a member's data comes from where the directory
    /// says, as every zip consumer reads it).
    public init(paths: [String], format: Format = .tar, blockSize: Int = 1 << 20) throws {
        precondition(!paths.isEmpty)
        name = paths.count == 1 ? paths[0] : "\(paths[0]) (+\(paths.count - 1) volumes)"
        guard let handle = archive_read_new() else {
            throw ArchiveError(path: name, reason: "out of memory", code: .outOfMemory)
        }
        switch format {
        case .tar:
            archive_read_support_format_tar(handle)
            archive_read_support_filter_zstd(handle)
        case .layer:
            archive_read_support_format_tar(handle)
            archive_read_support_filter_gzip(handle)
            archive_read_support_filter_zstd(handle)
        case .zip:
            archive_read_support_format_zip_seekable(handle)
        }
        let cPaths = paths.map { strdup($0) }
        defer { cPaths.forEach { free($0) } }
        var argv: [UnsafePointer<CChar>?] = cPaths.map { UnsafePointer($0) } + [nil]
        let status = argv.withUnsafeMutableBufferPointer { archive_read_open_filenames(handle, $0.baseAddress, blockSize) }
        guard status == ARCHIVE_OK else {
            let reason = TarWriter.message(handle)
            // libarchive names the format at open; one it cannot identify is its
            // ARCHIVE_ERRNO_FILE_FORMAT (EILSEQ, or EINVAL, on Linux), any other errno is the file's.
            let error = archive_errno(handle)
            archive_read_free(handle)
            throw ArchiveError(
                path: name,
                reason: "cannot open: \(reason)",
                status: .badInput,
                code: error > 0 && error != EILSEQ && error != EINVAL ? .file : .notAnArchive
            )
        }
        self.handle = handle
    }

    deinit { archive_read_free(handle) }

    /// The next entry's header, or nil at the end of the archive.
    public func next() throws -> TarEntry? {
        var entry: OpaquePointer? = nil
        let status = archive_read_next_header(handle, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status >= ARCHIVE_WARN, let entry else {
            let reason = TarWriter.message(handle)
            // A file that is not a tar at all is bad input; damage after the first entry is tampering.
            let notAnArchive = entryCount == 0
            throw ArchiveError(
                path: name,
                reason: notAnArchive ? "not a tar bundle: \(reason)" : "damaged or truncated: \(reason)",
                status: notAnArchive ? .badInput : .checkFailed,
                code: notAnArchive ? .notAnArchive : .badArchive
            )
        }
        entryCount += 1
        let type = archive_entry_filetype(entry) & CArchive_AE_IFMT
        let hardlink = archive_entry_hardlink(entry).map { String(cString: $0) }
        let symlink = archive_entry_symlink(entry).map { String(cString: $0) }
        let kind: TarEntry.Kind
        if hardlink != nil {
            kind = .hardlink
        } else {
            switch type {
            case CArchive_AE_IFREG: kind = .regular
            case CArchive_AE_IFDIR: kind = .directory
            case CArchive_AE_IFLNK: kind = .symlink
            case CArchive_AE_IFCHR: kind = .other("character device")
            case CArchive_AE_IFBLK: kind = .other("block device")
            case CArchive_AE_IFIFO: kind = .other("FIFO")
            case CArchive_AE_IFSOCK: kind = .other("socket")
            default: kind = .other("unknown type")
            }
        }
        let size = archive_entry_size_is_set(entry) != 0 ? Int(archive_entry_size(entry)) : 0
        return TarEntry(
            path: archive_entry_pathname(entry).map { String(cString: $0) },
            kind: kind,
            size: size,
            mode: UInt32(archive_entry_perm(entry)),
            isSparse: archive_entry_sparse_count(entry) > 0,
            linkTarget: hardlink ?? symlink,
            uid: Int(archive_entry_uid(entry)),
            gid: Int(archive_entry_gid(entry)),
            mtime: Int64(archive_entry_mtime(entry))
        )
    }

    /// Streams the current entry's data to `body` in the reader's own buffers (no copy).
    public func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var expected: la_int64_t = 0
        while true {
            var buffer: UnsafeRawPointer? = nil
            var length = 0
            var offset: la_int64_t = 0
            let status = archive_read_data_block(handle, &buffer, &length, &offset)
            if status == ARCHIVE_EOF { return }
            guard status >= ARCHIVE_WARN else {
                throw ArchiveError(path: name, reason: "damaged or truncated: \(TarWriter.message(handle))")
            }
            guard offset == expected else { throw ArchiveError(path: name, reason: "entry has holes (sparse data)") }
            if length > 0, let buffer { try body(UnsafeRawBufferPointer(start: buffer, count: length)) }
            expected = offset + la_int64_t(length)
        }
    }

    /// Reads the current entry whole; refuses one larger than `limit`.
    public func readAll(limit: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        try readData { chunk in
            guard out.count + chunk.count <= limit else {
                throw ArchiveError(path: name, reason: "entry is larger than the \(limit)-byte limit", code: .tooLarge)
            }
            out.append(contentsOf: chunk)
        }
        return out
    }

    /// Skips the current entry's data.
    public func skipData() throws {
        guard archive_read_data_skip(handle) >= ARCHIVE_WARN else {
            throw ArchiveError(path: name, reason: "damaged or truncated: \(TarWriter.message(handle))")
        }
    }

    /// The filter in use ("none" or "zstd"), known after the first header.
    public var compressionName: String {
        let count = archive_filter_count(handle)
        guard count > 1, let name = archive_filter_name(handle, 0) else { return "none" }
        return String(cString: name)
    }
}

/// Writes to one file, through a temp name renamed into place on close.
public final class FileArchiveOutput: ArchiveOutput {
    private let fd: FileDescriptor
    private let temporaryPath: String
    public let path: String
    public private(set) var bytesWritten = 0
    private var committed = false

    public init(path: String) throws {
        self.path = path
        (temporaryPath, fd) = try FileSystem.createTemporaryFile(beside: path)
    }

    deinit {
        if !committed { try? FileSystem.remove(temporaryPath) }
        Interrupts.forget(file: temporaryPath)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try fd.write(bytes)
        bytesWritten += bytes.count
    }

    public func close() throws {
        try fd.sync()
        try FileSystem.rename(temporaryPath, to: path)
        committed = true
        Interrupts.forget(file: temporaryPath)
        let dir = FileSystem.parentPath(path)
        try? FileSystem.syncDirectory(dir.isEmpty ? "." : dir)
    }
}
