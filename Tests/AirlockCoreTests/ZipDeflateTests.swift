import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct ZipDeflateTests {
    static let entries: [(String, [UInt8], Bool)] = [
        ("app/__pycache__/main.cpython-311.pyc", DeflateFixture.pycBytes, false),
        ("app/big.bin", DeflateFixture.mixed5MiB.bytes, false),
        ("app/empty.py", [], false),
        ("app/noise.bin", pseudoRandom(200 << 10, seed: 21), false),
        ("app/one.txt", [0x41], false),
        ("app/text.py", DeflateFixture.repeatedText.bytes, false),
        ("bin/run", Array("#!/bin/sh\nexec python3 -m app \"$@\"\n".utf8), true),
    ]

    static func write(_ path: String) throws {
        let zip = ZipWriter(output: try FileArchiveOutput(path: path), name: path, epochSeconds: 1_700_000_000)
        for (name, bytes, executable) in entries { try zip.add(path: name, bytes: bytes, executable: executable) }
        try zip.finish()
    }

    @Test func addedEntriesAreDeflatedUnlessThatWouldNotShrinkThem() throws {
        let dir = try TemporaryDirectory()
        try Self.write(dir.path + "/app.zip")
        let reader = try ZipReader(path: dir.path + "/app.zip")
        let methods = Dictionary(uniqueKeysWithValues: reader.entries.map { ($0.name, $0.method) })
        #expect(methods["app/__pycache__/main.cpython-311.pyc"] == 8)
        #expect(methods["app/big.bin"] == 8)
        #expect(methods["app/text.py"] == 8)
        #expect(methods["app/noise.bin"] == 0)
        #expect(methods["app/empty.py"] == 0)
        #expect(methods["app/one.txt"] == 0)
        for entry in reader.entries {
            #expect(entry.compressedSize <= entry.uncompressedSize, "\(entry.name)")
        }
        let text = try #require(reader.entries.first { $0.name == "app/text.py" })
        #expect(text.compressedSize * 100 < text.uncompressedSize)
    }

    @Test func libarchiveReadsEveryEntryBackAndTheZipIsTheSameEachTime() throws {
        let dir = try TemporaryDirectory()
        try Self.write(dir.path + "/one.zip")
        try Self.write(dir.path + "/two.zip")
        #expect(
            try FileSystem.readFile(dir.path + "/one.zip", limit: 1 << 26)
                == FileSystem.readFile(dir.path + "/two.zip", limit: 1 << 26)
        )
        let reader = try ArchiveReader(paths: [dir.path + "/one.zip"], format: .zip)
        var read: [String: [UInt8]] = [:]
        while let entry = try reader.next() { read[entry.path ?? ""] = try reader.readAll(limit: 1 << 24) }
        #expect(read.count == Self.entries.count)
        for (name, bytes, _) in Self.entries { #expect(read[name] == bytes, "\(name)") }
    }

    @Test func unzipAndPythonsZipfileAcceptTheDeflatedZip() async throws {
        let dir = try TemporaryDirectory()
        try Self.write(dir.path + "/app.zip")
        let (unzip, unzipOutput) = try await shell("unzip -t app.zip", in: dir.path)
        #expect(unzip == 0, "\(unzipOutput)")
        #expect(unzipOutput.contains("No errors detected"))
        try dir.file(
            "check.py",
            """
            import zipfile
            z = zipfile.ZipFile("app.zip")
            assert z.testzip() is None
            for i in z.infolist():
                data = z.read(i)
                assert i.extract_version == (20 if i.compress_type == 8 else 10), i.filename
                assert len(i.extra) == 0 and i.flag_bits & 8 == 0, i.filename
                print(i.filename, i.compress_type, len(data), oct(i.external_attr >> 16))
            """
        )
        let (python, listing) = try await shell("python3 check.py", in: dir.path)
        #expect(python == 0, "\(listing)")
        #expect(listing.contains("app/text.py 8 \(DeflateFixture.repeatedText.bytes.count) 0o100644"))
        #expect(listing.contains("app/noise.bin 0 \(200 << 10) 0o100644"))
        #expect(listing.contains("bin/run 0 "))
    }
}
