// A deterministic zip writer, written by hand for two reasons: entries copied unchanged from a wheel
// must keep their compressed bytes, CRC and sizes (no inflate and deflate again, which is most of
// the time pip + zip spend), and the output must be byte-identical from run to run. libarchive's zip
// writer always adds UT/ux extra fields and data descriptors (PLATFORM-NOTES) and cannot copy
// compressed bytes. So: entries in the order given (callers sort), one fixed DOS timestamp, modes
// 0644 or 0755, "made by Unix", no extra fields, no data descriptors, no comments; zip64 records only
// when more than 65,535 entries need them. New content (app sources, .pyc files, RECORD, scripts) is
// deflated by Airlock's own Deflater (Deflate.swift), never the host's zlib, so the bytes do not
// depend on the machine; it is stored when deflate would not make it smaller (random data, tiny
// files), so an entry never grows.

public final class ZipWriter {
    private let output: any ArchiveOutput
    private var buffer: [UInt8] = []
    private var offset = 0
    private var central: [UInt8] = []
    private var count = 0
    private let time: UInt16
    private let date: UInt16
    private var names = Set<String>()
    private let name: String
    /// One deflater for every entry: its buffers are reused, not allocated per file.
    private let deflater = Deflater()

    /// What this writer cannot write as asked (a zip the format or Airlock's limits cannot hold).
    private func refusal(_ reason: String) -> ZipError { ZipError(path: name, reason: reason, code: .cannotWriteZip) }

    /// `epochSeconds` is clamped to what DOS time can hold (1980-01-01 to 2107-12-31).
    public init(output: any ArchiveOutput, name: String, epochSeconds: Int64) {
        self.output = output
        self.name = name
        (time, date) = DOSTime.from(epochSeconds: epochSeconds)
        buffer.reserveCapacity(1 << 20)
    }

    /// Adds content, deflated (method 8), or stored (method 0) when deflate is not smaller.
    public func add(path: String, bytes: [UInt8], executable: Bool = false) throws {
        let crc = CRC32.checksum(bytes)
        deflater.reset()
        let compressed = bytes.withUnsafeBytes { deflater.compressWhole($0) }
        let payload = compressed.count < bytes.count ? compressed : bytes
        try addEntry(
            path: path,
            method: compressed.count < bytes.count ? 8 : 0,
            crc: crc,
            compressedSize: payload.count,
            uncompressedSize: bytes.count,
            executable: executable
        ) { write in try payload.withUnsafeBytes { try write($0) } }
    }

    /// Adds an entry whose compressed bytes come from elsewhere (a wheel), unchanged.
    public func addCompressed(path: String, method: UInt16, crc: UInt32, compressedSize: Int, uncompressedSize: Int, executable: Bool = false, copy: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        guard method == 0 || method == 8 else {
            throw refusal("\(path): compression method \(method) is not stored or deflate")
        }
        try addEntry(path: path, method: method, crc: crc, compressedSize: compressedSize, uncompressedSize: uncompressedSize, executable: executable, copy: copy)
    }

    private func addEntry(path: String, method: UInt16, crc: UInt32, compressedSize: Int, uncompressedSize: Int, executable: Bool, copy: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        guard names.insert(path).inserted else { throw refusal("\(path): added twice") }
        guard compressedSize < 0xFFFF_FFFF, uncompressedSize < 0xFFFF_FFFF else {
            throw refusal("\(path): entries of 4 GiB or more are not supported")
        }
        let nameBytes = Array(path.utf8)
        guard nameBytes.count <= 0xFFFF else { throw refusal("\(path): name too long") }
        let flags: UInt16 = nameBytes.contains { $0 >= 0x80 } ? 0x0800 : 0  // UTF-8 names
        let version: UInt16 = method == 8 ? 20 : 10
        let headerOffset = offset
        guard headerOffset < 0xFFFF_FFFF else { throw refusal("zip larger than 4 GiB is not supported") }

        var header: [UInt8] = []
        header.reserveCapacity(30 + nameBytes.count)
        Self.put32(&header, 0x0403_4b50)
        Self.put16(&header, version)
        Self.put16(&header, flags)
        Self.put16(&header, method)
        Self.put16(&header, time)
        Self.put16(&header, date)
        Self.put32(&header, crc)
        Self.put32(&header, UInt32(compressedSize))
        Self.put32(&header, UInt32(uncompressedSize))
        Self.put16(&header, UInt16(nameBytes.count))
        Self.put16(&header, 0)
        header += nameBytes
        try emit(header)
        var copied = 0
        try copy { chunk in
            copied += chunk.count
            try self.emit(chunk)
        }
        guard copied == compressedSize else {
            throw refusal("\(path): copied \(copied) bytes, expected \(compressedSize)")
        }

        let mode: UInt32 = executable ? 0o100755 : 0o100644
        Self.put32(&central, 0x0201_4b50)
        Self.put16(&central, 3 << 8 | 20)  // made by Unix, spec 2.0
        Self.put16(&central, version)
        Self.put16(&central, flags)
        Self.put16(&central, method)
        Self.put16(&central, time)
        Self.put16(&central, date)
        Self.put32(&central, crc)
        Self.put32(&central, UInt32(compressedSize))
        Self.put32(&central, UInt32(uncompressedSize))
        Self.put16(&central, UInt16(nameBytes.count))
        Self.put16(&central, 0)  // extra
        Self.put16(&central, 0)  // comment
        Self.put16(&central, 0)  // disk
        Self.put16(&central, 0)  // internal attributes
        Self.put32(&central, mode << 16)
        Self.put32(&central, UInt32(headerOffset))
        central += nameBytes
        count += 1
    }

    /// Writes the central directory and closes the output.
    public func finish() throws {
        let cdOffset = offset
        try emit(central)
        let cdSize = central.count
        guard cdOffset < 0xFFFF_FFFF, cdSize < 0xFFFF_FFFF else {
            throw refusal("zip larger than 4 GiB is not supported")
        }
        var end: [UInt8] = []
        if count >= 0xFFFF {
            let recordOffset = offset
            Self.put32(&end, 0x0606_4b50)
            Self.put64(&end, 44)
            Self.put16(&end, 3 << 8 | 45)
            Self.put16(&end, 45)
            Self.put32(&end, 0)
            Self.put32(&end, 0)
            Self.put64(&end, UInt64(count))
            Self.put64(&end, UInt64(count))
            Self.put64(&end, UInt64(cdSize))
            Self.put64(&end, UInt64(cdOffset))
            Self.put32(&end, 0x0706_4b50)
            Self.put32(&end, 0)
            Self.put64(&end, UInt64(recordOffset))
            Self.put32(&end, 1)
        }
        Self.put32(&end, 0x0605_4b50)
        Self.put16(&end, 0)
        Self.put16(&end, 0)
        Self.put16(&end, UInt16(min(count, 0xFFFF)))
        Self.put16(&end, UInt16(min(count, 0xFFFF)))
        Self.put32(&end, UInt32(cdSize))
        Self.put32(&end, UInt32(cdOffset))
        Self.put16(&end, 0)
        try emit(end)
        try flush()
        try output.close()
    }

    private func emit(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try emit($0) } }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        offset += bytes.count
        if buffer.count + bytes.count > 1 << 20 { try flush() }
        if bytes.count >= 1 << 20 {
            try output.write(bytes)
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try output.write($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    static func put16(_ b: inout [UInt8], _ v: UInt16) { b.append(UInt8(v & 0xff)); b.append(UInt8(v >> 8)) }
    static func put32(_ b: inout [UInt8], _ v: UInt32) { for i in 0..<4 { b.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
    static func put64(_ b: inout [UInt8], _ v: UInt64) { for i in 0..<8 { b.append(UInt8((v >> (8 * UInt64(i))) & 0xff)) } }
}

/// DOS date and time fields, from UTC.
public enum DOSTime {
    /// 1980-01-01 00:00:00 UTC: the default when SOURCE_DATE_EPOCH is unset (never the clock).
    public static let defaultEpoch: Int64 = 315_532_800
    public static let latestEpoch: Int64 = 4_354_819_198  // 2107-12-31 23:59:58 UTC

    public static func clamp(_ epochSeconds: Int64) -> Int64 { min(max(epochSeconds, defaultEpoch), latestEpoch) }

    public static func from(epochSeconds: Int64) -> (time: UInt16, date: UInt16) {
        let c = Timestamp.civil(epochSeconds: clamp(epochSeconds))
        let date = UInt16((c.year - 1980) << 9 | c.month << 5 | c.day)
        let time = UInt16(c.hour << 11 | c.minute << 5 | c.second / 2)
        return (time, date)
    }
}

/// CRC-32 (IEEE 802.3, as zip uses), slicing-by-4 over a table built once.
public enum CRC32 {
    private static let tables: [[UInt32]] = {
        var t = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 4)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[0][i] = c
        }
        for i in 0..<256 {
            for k in 1..<4 { t[k][i] = (t[k - 1][i] >> 8) ^ t[0][Int(t[k - 1][i] & 0xff)] }
        }
        return t
    }()

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    /// Continues a CRC over more bytes (start with 0).
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let t0 = tables[0], t1 = tables[1], t2 = tables[2], t3 = tables[3]
        var c = ~crc
        var i = 0
        let n = bytes.count
        while i + 4 <= n {
            c ^= UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            c = t3[Int(c & 0xff)] ^ t2[Int((c >> 8) & 0xff)] ^ t1[Int((c >> 16) & 0xff)] ^ t0[Int(c >> 24)]
            i += 4
        }
        while i < n {
            c = t0[Int((c ^ UInt32(bytes[i])) & 0xff)] ^ (c >> 8)
            i += 1
        }
        return ~c
    }
}
