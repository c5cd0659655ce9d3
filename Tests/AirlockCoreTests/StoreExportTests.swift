import AirlockCore
import AirlockTestSupport
import Testing

@Suite struct StoreExportTests {
    static func storeWithBlob(_ dir: TemporaryDirectory, _ data: [UInt8]) throws -> (Store, SHA256Digest) {
        let store = try Store.open(at: dir.path + "/store")
        let (digest, _, tmp) = try store.put(path: try dir.file("in.bin", data))
        try store.commit([(digest, tmp)])
        return (store, digest)
    }

    @Test func aLeftoverTempFileWithThisProcessIDDoesNotBlockTheCopy() throws {
        let dir = try TemporaryDirectory()
        let data = pseudoRandom(300_000, seed: 2)
        let (store, digest) = try Self.storeWithBlob(dir, data)
        // What a crashed export by an earlier process with this same pid would have left.
        let leftover = try dir.file("out/.app.zip.tmp-\(Environment.processID)", Array("stale".utf8))
        try store.copyBlob(digest, to: dir.path + "/out/app.zip")
        #expect(try FileSystem.readFile(dir.path + "/out/app.zip") == data)
        // The leftover is not ours to remove; no temp file of this copy is left beside it.
        #expect(try FileSystem.readFile(leftover) == Array("stale".utf8))
        #expect(
            try FileSystem.list(dir.path + "/out").sorted() == [".app.zip.tmp-\(Environment.processID)", "app.zip"]
        )
    }

    @Test func aFailedCopyLeavesNoTempFile() throws {
        let dir = try TemporaryDirectory()
        let (store, digest) = try Self.storeWithBlob(dir, pseudoRandom(10_000, seed: 3))
        try FileDescriptor.open(store.blobPath(digest), writing: true).write([0xff])
        try FileSystem.makeDirectory(dir.path + "/out")
        let error = #expect(throws: CheckFailure.self) { try store.copyBlob(digest, to: dir.path + "/out/app.zip") }
        #expect(error?.code == CoreErrorCode.corruptBlob.code)
        #expect(try FileSystem.list(dir.path + "/out").isEmpty)
    }

    @Test func twoFileOutputsForOnePathDoNotShareATempFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/layer.tar"
        _ = try dir.file(".layer.tar.tmp-\(Environment.processID)", Array("stale".utf8))
        let first = try FileArchiveOutput(path: path)
        let second = try FileArchiveOutput(path: path)
        let a = [UInt8](repeating: 0x61, count: 5000)
        let b = [UInt8](repeating: 0x62, count: 3000)
        try a.withUnsafeBytes { try first.write($0) }
        try b.withUnsafeBytes { try second.write($0) }
        try first.close()
        #expect(try FileSystem.readFile(path) == a)
        try second.close()
        #expect(try FileSystem.readFile(path) == b)
    }
}
