// A zip central-directory reader, written by hand because the build copies entries out of wheels
// without inflating them (same compressed bytes, CRC and sizes), which libarchive cannot give.
// Every size, offset and count is bounds-checked against the file: wheels are hostile input.
// Decompressed content is read through libarchive (`ArchiveReader(zipAt:)` in Archive.swift).

public struct ZipEntry: Sendable, Equatable {
    public let name: String
    public let method: UInt16
    public let flags: UInt16
    public let crc32: UInt32
    public let compressedSize: Int
    public let uncompressedSize: Int
    public let localHeaderOffset: Int
    public let externalAttributes: UInt32
    public let versionMadeBy: UInt16
    /// The entry's modification time as the central directory stores it: MS-DOS date in the high
    /// 16 bits, time (2-second steps) in the low 16.
    public let dosDateTime: UInt32

    /// Unix mode bits when the entry was made on Unix.
    public var unixMode: UInt32? { versionMadeBy >> 8 == 3 ? externalAttributes >> 16 : nil }
    public var isDirectory: Bool { name.hasSuffix("/") }
    public var isSymlink: Bool { ((unixMode ?? 0) & 0o170000) == 0o120000 }
    /// Anything but a regular file or directory by its Unix mode (device, FIFO, socket, link).
    public var isSpecial: Bool {
        guard let mode = unixMode, mode & 0o170000 != 0 else { return false }
        let type = mode & 0o170000
        return type != 0o100000 && type != 0o040000
    }
    public var isExecutable: Bool { ((unixMode ?? 0) & 0o111) != 0 }
    public var isEncrypted: Bool { flags & 1 != 0 }
}

/// A zip that cannot be read (`core.bad-zip`) or written as asked (`core.cannot-write-zip`).
public struct ZipError: AirlockError {
    public let path: String
    public let reason: String
    public let code: ErrorCode
    public init(path: String, reason: String, code: CoreErrorCode = .badZip) {
        self.path = path
        self.reason = reason
        self.code = code.code
    }
    public var description: String { "\(path): \(reason)" }
    public var status: ExitStatus { .badInput }
}

public final class ZipReader {
    public let path: String
    public let entries: [ZipEntry]
    private let file: FileDescriptor
    private let fileSize: Int
    /// Where the central directory starts: no entry's data may reach past it.
    private let centralDirectoryOffset: Int
    public static let maximumEntries = 1_000_000
    public static let maximumCentralDirectory = 256 << 20

    public init(path: String) throws {
        self.path = path
        file = try FileDescriptor.open(path)
        fileSize = try file.size
        let directory = try Self.locateCentralDirectory(file, fileSize: fileSize, path: path)
        centralDirectoryOffset = directory.offset
        let cd = try Self.read(file, at: directory.offset, count: directory.size, path: path)
        var entries: [ZipEntry] = []
        entries.reserveCapacity(directory.count)
        var p = 0
        for n in 0..<directory.count {
            let (entry, end) = try Self.parseEntry(cd, at: p, index: n, fileSize: fileSize, directory: directory, path: path)
            entries.append(entry)
            p = end
        }
        self.entries = entries
    }

    /// Where the central directory is, how large, and how many entries it claims.
    private struct CentralDirectory {
        var count: Int
        var size: Int
        var offset: Int
    }

    /// Finds the end record (and the zip64 one when a field is all ones) and checks what it says
    /// against the file and Airlock's limits.
    private static func locateCentralDirectory(
        _ file: FileDescriptor,
        fileSize: Int,
        path: String
    ) throws -> CentralDirectory {
        func fail(_ reason: String) -> ZipError { ZipError(path: path, reason: reason) }
        // The end-of-central-directory record: 22 bytes plus a comment of at most 65535.
        let tailSize = min(fileSize, 22 + 65535)
        guard tailSize >= 22 else { throw fail("not a zip file (too short)") }
        let tail = try Self.read(file, at: fileSize - tailSize, count: tailSize, path: path)
        var eocd = -1
        var i = tailSize - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4b, tail[i + 2] == 0x05, tail[i + 3] == 0x06 {
                let commentLength = Int(Self.u16(tail, i + 20))
                if i + 22 + commentLength == tailSize {
                    eocd = i
                    break
                }
            }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("not a zip file (no end of central directory)") }
        var directory = CentralDirectory(
            count: Int(Self.u16(tail, eocd + 10)),
            size: Int(Self.u32(tail, eocd + 12)),
            offset: Int(Self.u32(tail, eocd + 16))
        )
        let diskNumber = Self.u16(tail, eocd + 4)
        guard diskNumber == 0 || diskNumber == 0xFFFF else { throw fail("multi-disk zip files are not supported") }
        if directory.count == 0xFFFF || directory.size == 0xFFFF_FFFF || directory.offset == 0xFFFF_FFFF {
            directory = try zip64Directory(file, locatorAt: fileSize - tailSize + eocd - 20, fileSize: fileSize, path: path)
        }
        guard directory.count <= Self.maximumEntries else { throw fail("more than \(Self.maximumEntries) entries") }
        guard directory.size <= Self.maximumCentralDirectory, directory.offset <= fileSize,
            directory.size <= fileSize - directory.offset
        else {
            throw fail("central directory out of range")
        }
        return directory
    }

    /// Zip64: a locator sits just before the end record and points at the zip64 end record.
    private static func zip64Directory(
        _ file: FileDescriptor,
        locatorAt: Int,
        fileSize: Int,
        path: String
    ) throws -> CentralDirectory {
        func fail(_ reason: String) -> ZipError { ZipError(path: path, reason: reason) }
        guard locatorAt >= 0 else { throw fail("zip64 locator missing") }
        let locator = try Self.read(file, at: locatorAt, count: 20, path: path)
        guard Self.u32(locator, 0) == 0x0706_4b50 else { throw fail("zip64 locator missing") }
        let recordAt = Self.u64(locator, 8)
        guard recordAt <= UInt64(locatorAt), recordAt + 56 <= UInt64(locatorAt) else {
            throw fail("zip64 record out of range")
        }
        let record = try Self.read(file, at: Int(recordAt), count: 56, path: path)
        guard Self.u32(record, 0) == 0x0606_4b50 else { throw fail("bad zip64 end of central directory") }
        let c64 = Self.u64(record, 32)
        let s64 = Self.u64(record, 40)
        let o64 = Self.u64(record, 48)
        guard c64 <= UInt64(Self.maximumEntries), s64 <= UInt64(fileSize), o64 <= UInt64(fileSize) else {
            throw fail("zip64 sizes out of range")
        }
        return CentralDirectory(count: Int(c64), size: Int(s64), offset: Int(o64))
    }

    /// The central directory entry `n` at `p` in `cd`, and where the next one starts.
    private static func parseEntry(
        _ cd: [UInt8],
        at p: Int,
        index n: Int,
        fileSize: Int,
        directory: CentralDirectory,
        path: String
    ) throws -> (ZipEntry, end: Int) {
        func fail(_ reason: String) -> ZipError { ZipError(path: path, reason: reason) }
        guard p + 46 <= cd.count, Self.u32(cd, p) == 0x0201_4b50 else { throw fail("central directory entry \(n) is damaged") }
        let nameLength = Int(Self.u16(cd, p + 28))
        let extraLength = Int(Self.u16(cd, p + 30))
        let commentLength = Int(Self.u16(cd, p + 32))
        let end = p + 46 + nameLength + extraLength + commentLength
        guard end <= cd.count else { throw fail("central directory entry \(n) runs past its end") }
        guard let name = String(validating: cd[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self) else {
            throw fail("entry \(n) has a name that is not UTF-8")
        }
        var compressed = UInt64(Self.u32(cd, p + 20))
        var uncompressed = UInt64(Self.u32(cd, p + 24))
        var offset = UInt64(Self.u32(cd, p + 42))
        // Zip64 extended information (header id 1) replaces the fields that are all ones, in order.
        var e = p + 46 + nameLength
        let extraEnd = e + extraLength
        while e + 4 <= extraEnd {
            let id = Self.u16(cd, e)
            let size = Int(Self.u16(cd, e + 2))
            guard e + 4 + size <= extraEnd else { throw fail("\(name): damaged extra field") }
            if id == 1 {
                var q = e + 4
                func next() throws -> UInt64 {
                    guard q + 8 <= e + 4 + size else { throw fail("\(name): short zip64 extra field") }
                    defer { q += 8 }
                    return Self.u64(cd, q)
                }
                if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                if compressed == 0xFFFF_FFFF { compressed = try next() }
                if offset == 0xFFFF_FFFF { offset = try next() }
            }
            e += 4 + size
        }
        guard compressed <= UInt64(fileSize), offset <= UInt64(directory.offset), uncompressed <= UInt64(Int.max / 2)
        else {
            throw fail("\(name): sizes or offset out of range")
        }
        let entry = ZipEntry(
            name: name, method: Self.u16(cd, p + 10), flags: Self.u16(cd, p + 8), crc32: Self.u32(cd, p + 16),
            compressedSize: Int(compressed), uncompressedSize: Int(uncompressed), localHeaderOffset: Int(offset),
            externalAttributes: Self.u32(cd, p + 38), versionMadeBy: Self.u16(cd, p + 4),
            dosDateTime: UInt32(Self.u16(cd, p + 14)) << 16 | UInt32(Self.u16(cd, p + 12))
        )
        return (entry, end)
    }

    /// Where an entry's compressed bytes are, checked against the file and the central directory.
    public func dataRange(of entry: ZipEntry) throws -> Range<Int> {
        let header = try Self.read(file, at: entry.localHeaderOffset, count: 30, path: path)
        guard Self.u32(header, 0) == 0x0403_4b50 else {
            throw ZipError(path: path, reason: "\(entry.name): local header missing")
        }
        let start = entry.localHeaderOffset + 30 + Int(Self.u16(header, 26)) + Int(Self.u16(header, 28))
        guard start <= centralDirectoryOffset, entry.compressedSize <= centralDirectoryOffset - start else {
            throw ZipError(path: path, reason: "\(entry.name): data runs into the central directory")
        }
        return start..<(start + entry.compressedSize)
    }

    /// Streams an entry's compressed bytes (as stored in the zip) to `body`.
    public func copyCompressed(_ entry: ZipEntry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let range = try dataRange(of: entry)
        var offset = range.lowerBound
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: min(chunk, max(1, range.count)))
        while offset < range.upperBound {
            let n = min(buffer.count, range.upperBound - offset)
            let got = try buffer.withUnsafeMutableBytes { try file.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<n])) }
            guard got == n else { throw ZipError(path: path, reason: "\(entry.name): truncated") }
            try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            offset += n
        }
    }

    private static func read(_ file: FileDescriptor, at offset: Int, count: Int, path: String) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let got = try out.withUnsafeMutableBytes { try file.read(at: offset, into: $0) }
        guard got == count else { throw ZipError(path: path, reason: "truncated zip file") }
        return out
    }

    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
    static func u64(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(u32(b, i)) | UInt64(u32(b, i + 4)) << 32 }
}
