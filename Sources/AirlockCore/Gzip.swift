// Deterministic gzip (RFC 1952) for OCI image layers: one member whose header carries nothing of
// the host or the moment (mtime 0, no file name or comment, XFL 0, OS 255 "unknown", as Go's
// compress/gzip writes it), deflated by Airlock's own Deflater so the bytes are the same on every
// host, then the CRC-32 and size trailer. GzipWriter is itself an `ArchiveOutput`, so a TarWriter
// can stream a layer through it into a file without the layer ever sitting whole in memory.

/// One-shot gzip.
public enum Gzip {
    /// The fixed 10-byte member header.
    static let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]

    /// Compresses `bytes` into one complete gzip member.
    public static func compress(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out = header
        out += Deflate.compress(bytes)
        appendTrailer(&out, crc: CRC32.update(0, bytes), size: bytes.count)
        return out
    }

    /// Compresses `bytes` into one complete gzip member.
    public static func compress(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        if let result = bytes.withContiguousStorageIfAvailable({ compress(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { compress($0) }
    }

    static func appendTrailer(_ out: inout [UInt8], crc: UInt32, size: Int) {
        // ISIZE is the input size modulo 2^32 (RFC 1952 2.3.1).
        let isize = UInt32(truncatingIfNeeded: size)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: isize >> UInt32(shift))) }
    }
}

/// Streams one deterministic gzip member to another output; `close()` writes the trailer and
/// closes that output.
public final class GzipWriter: ArchiveOutput {
    private let output: any ArchiveOutput
    private let deflater = Deflater()
    private var crc: UInt32 = 0
    private var isClosed = false
    private var hasHeader = false
    /// Bytes written into the member so far (before compression).
    public private(set) var uncompressedSize = 0
    /// Bytes handed to the output so far.
    public private(set) var compressedSize = 0

    /// Feeding the deflater at most this much at a time bounds the output it holds back.
    private static let chunkSize = 256 << 10

    public init(output: any ArchiveOutput) {
        self.output = output
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!isClosed, "GzipWriter.write after close")
        try emitHeaderOnce()
        crc = CRC32.update(crc, bytes)
        uncompressedSize += bytes.count
        var offset = 0
        while offset < bytes.count {
            let n = min(Self.chunkSize, bytes.count - offset)
            try deflater.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])) { try emit($0) }
            offset += n
        }
    }

    /// Ends the member (final deflate block, CRC-32, size) and closes the output.
    public func close() throws {
        guard !isClosed else { return }
        try emitHeaderOnce()
        isClosed = true
        try deflater.finish { try emit($0) }
        var trailer: [UInt8] = []
        Gzip.appendTrailer(&trailer, crc: crc, size: uncompressedSize)
        try emit(trailer)
        try output.close()
    }

    private func emitHeaderOnce() throws {
        guard !hasHeader else { return }
        hasHeader = true
        try emit(Gzip.header)
    }

    private func emit(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try emit($0) } }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        compressedSize += bytes.count
        try output.write(bytes)
    }
}
