import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct ZipTests {
    static func write(_ path: String, epoch: Int64, entries: [(String, [UInt8], Bool)]) throws {
        let zip = ZipWriter(output: try FileArchiveOutput(path: path), name: path, epochSeconds: epoch)
        for (name, bytes, exec) in entries { try zip.add(path: name, bytes: bytes, executable: exec) }
        try zip.finish()
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
        let data = pseudoRandom(100_003, seed: 4)
        let whole = CRC32.checksum(data)
        let split = data.withUnsafeBytes { b in CRC32.update(CRC32.update(0, UnsafeRawBufferPointer(rebasing: b[..<777])), UnsafeRawBufferPointer(rebasing: b[777...])) }
        #expect(whole == split)
    }

    @Test func dosTimesAreClampedAndNeverTheClock() {
        #expect(DOSTime.from(epochSeconds: 0) == DOSTime.from(epochSeconds: DOSTime.defaultEpoch))
        let (time, date) = DOSTime.from(epochSeconds: 1_700_000_000)  // 2023-11-14 22:13:20 UTC
        #expect(date == UInt16((2023 - 1980) << 9 | 11 << 5 | 14))
        #expect(time == UInt16(22 << 11 | 13 << 5 | 10))
        #expect(DOSTime.from(epochSeconds: Int64.max).date == DOSTime.from(epochSeconds: DOSTime.latestEpoch).date)
    }

    @Test func theWriterIsDeterministicAndStockToolsAcceptIt() async throws {
        let dir = try TemporaryDirectory()
        let entries: [(String, [UInt8], Bool)] = [
            ("a/b.txt", Array("hello\n".utf8), false), ("run.sh", Array("#!/bin/sh\necho hi\n".utf8), true),
            ("data.bin", pseudoRandom(70_000, seed: 1), false), ("ünï.txt", Array("x".utf8), false),
        ]
        try Self.write(dir.path + "/one.zip", epoch: 1_700_000_000, entries: entries)
        try Self.write(dir.path + "/two.zip", epoch: 1_700_000_000, entries: entries)
        #expect(try FileSystem.readFile(dir.path + "/one.zip") == FileSystem.readFile(dir.path + "/two.zip"))
        let (py, pyOut) = try await shell("python3 -m zipfile -t one.zip", in: dir.path)
        #expect(py == 0, "\(pyOut)")
        let (uz, uzOut) = try await shell("command -v unzip >/dev/null || exit 0; unzip -t one.zip", in: dir.path)
        #expect(uz == 0, "\(uzOut)")
        let (ls, listing) = try await shell("python3 -c \"import zipfile; [print(i.filename, oct(i.external_attr >> 16), i.date_time, len(i.extra)) for i in zipfile.ZipFile('one.zip').infolist()]\"", in: dir.path)
        #expect(ls == 0)
        #expect(listing.contains("run.sh 0o100755 (2023, 11, 14, 22, 13, 20) 0"))
        #expect(listing.contains("a/b.txt 0o100644"))
    }

    @Test func theReaderListsEntriesAndCopiesCompressedBytesThatStockToolsAccept() async throws {
        let dir = try TemporaryDirectory()
        try dir.file("mk.py", """
            import zipfile
            with zipfile.ZipFile("src.zip", "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("pkg/__init__.py", "x = 1\\n" * 1000)
                z.writestr("pkg/data.bin", bytes(range(256)) * 50)
                z.writestr(zipfile.ZipInfo("pkg/"), "")
            """)
        #expect(try await shell("python3 mk.py", in: dir.path).0 == 0)
        let reader = try ZipReader(path: dir.path + "/src.zip")
        #expect(reader.entries.map(\.name) == ["pkg/__init__.py", "pkg/data.bin", "pkg/"])
        let zip = ZipWriter(output: try FileArchiveOutput(path: dir.path + "/copy.zip"), name: "copy.zip", epochSeconds: 0)
        for e in reader.entries where !e.isDirectory {
            #expect(e.method == 8 && e.compressedSize < e.uncompressedSize)
            try zip.addCompressed(path: "copied/" + e.name, method: e.method, crc: e.crc32, compressedSize: e.compressedSize, uncompressedSize: e.uncompressedSize) { write in
                try reader.copyCompressed(e, write)
            }
        }
        try zip.finish()
        let (status, out) = try await shell("python3 -c \"import zipfile; z = zipfile.ZipFile('copy.zip'); assert z.testzip() is None; print(len(z.read('copied/pkg/__init__.py')))\"", in: dir.path)
        #expect(status == 0, "\(out)")
        #expect(out.hasPrefix("6000"))
    }

    @Test(arguments: ["truncated", "badOffset", "notZip", "hugeCount"])
    func damagedZipsAreRefusedNotTrapped(_ damage: String) throws {
        let dir = try TemporaryDirectory()
        try Self.write(dir.path + "/ok.zip", epoch: 0, entries: [("a", Array("aaaa".utf8), false), ("b", Array("bb".utf8), false)])
        var bytes = try FileSystem.readFile(dir.path + "/ok.zip")
        let eocd = bytes.count - 22
        switch damage {
        case "truncated": bytes = Array(bytes.prefix(bytes.count - 30))
        case "badOffset": bytes[eocd + 16] = 0xff; bytes[eocd + 17] = 0xff
        case "notZip": bytes = pseudoRandom(500, seed: 9)
        default: bytes[eocd + 10] = 0xfe; bytes[eocd + 11] = 0xff
        }
        let path = try dir.file("bad.zip", bytes)
        let error = #expect(throws: ZipError.self) { _ = try ZipReader(path: path) }
        #expect(error?.code == CoreErrorCode.badZip.code)
    }
}
