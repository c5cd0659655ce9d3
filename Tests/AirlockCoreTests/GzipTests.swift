import AirlockCore
import AirlockTestSupport
import Testing

/// An in-memory `ArchiveOutput`.
final class MemoryOutput: ArchiveOutput {
    var bytes: [UInt8] = []
    var isClosed = false
    func write(_ chunk: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: chunk) }
    func close() throws { isClosed = true }
}

@Suite struct GzipTests {
    @Test(arguments: [DeflateFixture.empty, .oneByte, .random200KiB, .pycLike, .mixed5MiB])
    func gzipMembersAreFixedAndStockGzipAcceptsThem(_ fixture: DeflateFixture) async throws {
        let dir = try TemporaryDirectory()
        let input = fixture.bytes
        let member = Gzip.compress(input)
        #expect(Array(member.prefix(10)) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])
        let streamed = MemoryOutput()
        let writer = GzipWriter(output: streamed)
        try input.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = min(70_001, buffer.count - offset)
                try writer.write(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + n)]))
                offset += n
            }
        }
        try writer.close()
        #expect(streamed.isClosed)
        #expect(streamed.bytes == member)
        #expect(writer.compressedSize == member.count && writer.uncompressedSize == input.count)
        try dir.file("in.bin", input)
        try dir.file("in.bin.gz", member)
        let (tested, testOutput) = try await shell("gzip -t in.bin.gz && gunzip -c in.bin.gz | cmp - in.bin", in: dir.path)
        #expect(tested == 0, "\(testOutput)")
        let script = "import gzip; assert gzip.decompress(open('in.bin.gz','rb').read()) == open('in.bin','rb').read()"
        let (python, pythonOutput) = try await shell("python3 -c \"\(script)\"", in: dir.path)
        #expect(python == 0, "\(pythonOutput)")
    }

    @Test func aTarLayerStreamedThroughGzipReadsBackThroughLibarchive() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/layer.tar.gz"
        let files: [(String, [UInt8])] = [
            ("app/main.pyc", DeflateFixture.pycBytes), ("app/noise.bin", pseudoRandom(300_000, seed: 5)),
            ("app/empty", []), ("app/text.txt", DeflateFixture.repeatedText.bytes),
        ]
        for round in 0..<2 {
            let tar = try TarWriter(
                output: GzipWriter(output: try FileArchiveOutput(path: path + "\(round)")),
                name: path,
                compression: .none
            )
            for (name, bytes) in files { try tar.addFile(path: name, bytes: bytes, mtime: 0) }
            try tar.close()
        }
        #expect(try FileSystem.readFile(path + "0") == FileSystem.readFile(path + "1"))
        let reader = try ArchiveReader(paths: [path + "0"], format: .layer)
        var read: [(String, [UInt8])] = []
        while let entry = try reader.next() { read.append((entry.path ?? "", try reader.readAll(limit: 1 << 24))) }
        #expect(reader.compressionName == "gzip")
        #expect(read.map(\.0) == files.map(\.0))
        #expect(read.map(\.1) == files.map(\.1))
    }
}
