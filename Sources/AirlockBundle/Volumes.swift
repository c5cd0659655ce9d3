// Volumes: a bundle cut into `NAME.001`, `NAME.002`, ... of at most N bytes each, so it fits the
// media that carry it across the gap. The cut is a plain byte split: `cat NAME.0* > NAME` gives the
// whole bundle back, and Airlock reads the set as one stream without joining it on disk.

public import AirlockCore

/// Writes a byte stream into size-capped volumes, each through a temp file renamed into place at the
/// end, so a failed seal leaves no volumes behind.
public final class VolumeOutput: ArchiveOutput {
    public let basePath: String
    public let maximumSize: Int
    private var current: FileDescriptor? = nil
    private var currentSize = 0
    private var temporaryPaths: [String] = []
    private var committed = false
    public private(set) var bytesWritten = 0

    public init(basePath: String, maximumSize: Int) throws {
        guard maximumSize >= 1024 else {
            throw UsageError(BundleErrorCode.badVolume, "--max-volume-size must be at least 1 KiB")
        }
        self.basePath = basePath
        self.maximumSize = maximumSize
    }

    deinit {
        if !committed { for path in temporaryPaths { try? FileSystem.remove(path) } }
    }

    public static func volumePath(_ basePath: String, _ number: Int) -> String {
        let digits = String(number)
        return basePath + "." + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    public var volumePaths: [String] { (1...max(1, temporaryPaths.count)).map { Self.volumePath(basePath, $0) } }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if current == nil || currentSize == maximumSize { try startVolume() }
            guard let current else { return }
            let n = min(maximumSize - currentSize, bytes.count - offset)
            try current.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            currentSize += n
            offset += n
            bytesWritten += n
        }
    }

    private func startVolume() throws {
        try current?.sync()
        let number = temporaryPaths.count + 1
        guard number <= 999 else {
            throw UsageError(
                BundleErrorCode.badVolume,
                "\(basePath): more than 999 volumes; pick a larger --max-volume-size"
            )
        }
        let path = FileSystem.parentPath(basePath).isEmpty ? "." : FileSystem.parentPath(basePath)
        let tmp = path + "/.\(FileSystem.baseName(Self.volumePath(basePath, number))).tmp-\(Environment.processID)"
        current = try FileDescriptor.open(tmp, writing: true, create: true, truncate: true)
        temporaryPaths.append(tmp)
        currentSize = 0
    }

    public func close() throws {
        if current == nil { try startVolume() }
        try current?.sync()
        current = nil
        for (i, tmp) in temporaryPaths.enumerated() {
            try FileSystem.rename(tmp, to: Self.volumePath(basePath, i + 1))
        }
        // A stale higher-numbered volume from an earlier seal would be read as part of this set.
        var stale = temporaryPaths.count + 1
        while FileSystem.exists(Self.volumePath(basePath, stale)) {
            try FileSystem.remove(Self.volumePath(basePath, stale))
            stale += 1
        }
        committed = true
        let dir = FileSystem.parentPath(basePath)
        try? FileSystem.syncDirectory(dir.isEmpty ? "." : dir)
    }
}

public enum Volumes {
    /// The files that make up the bundle named by `path`: the file itself, or, when `path` is one
    /// volume (`X.003`) or the base name of a set (`X` with `X.001` beside it), every volume in order.
    public static func resolve(_ path: String) throws -> [String] {
        let name = FileSystem.baseName(path)
        if let dot = name.lastIndex(of: "."), name.distance(from: dot, to: name.endIndex) == 4,
            name[name.index(after: dot)...].allSatisfy(\.isNumber)
        {
            let base = String(path.dropLast(4))
            return try collect(base: base, named: path)
        }
        if FileSystem.kind(of: path) == .regular { return [path] }
        if FileSystem.kind(of: Self.first(path)) == .regular { return try collect(base: path, named: path) }
        if FileSystem.exists(path) { throw UsageError(CoreErrorCode.notAFile, "\(path): not a regular file") }
        throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such bundle")
    }

    private static func first(_ base: String) -> String { VolumeOutput.volumePath(base, 1) }

    private static func collect(base: String, named: String) throws -> [String] {
        var paths: [String] = []
        var number = 1
        while FileSystem.kind(of: VolumeOutput.volumePath(base, number)) == .regular {
            paths.append(VolumeOutput.volumePath(base, number))
            number += 1
        }
        if named != base, FileSystem.kind(of: named) != .regular {
            throw UsageError(CoreErrorCode.noSuchFile, "\(named): no such bundle volume")
        }
        guard !paths.isEmpty else {
            throw UsageError(BundleErrorCode.badVolume, "\(named): volume \(first(base)) is missing")
        }
        guard named == base || paths.contains(named) else {
            throw UsageError(
                BundleErrorCode.badVolume,
                "\(named): volumes before it are missing (the set must start at \(first(base)) with no gaps)"
            )
        }
        return paths
    }

    /// Splits an existing bundle into volumes; returns their paths.
    public static func split(_ path: String, maximumSize: Int) throws -> [String] {
        let source = try FileDescriptor.open(path)
        let output = try VolumeOutput(basePath: path, maximumSize: maximumSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            try output.write(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
        try output.close()
        return output.volumePaths
    }
}
