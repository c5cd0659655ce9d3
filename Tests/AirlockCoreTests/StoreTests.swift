import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct StoreTests {
    @Test func putStoresContentUnderItsDigestAndReadsBack() throws {
        let dir = try TemporaryDirectory()
        let data = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let input = try dir.file("in.bin", data)
        let store = try Store.open(at: dir.path + "/store")
        let (digest, size, tmp) = try store.put(path: input)
        #expect(size == data.count)
        #expect(digest == SHA256Hasher.hash(data))
        #expect(FileSystem.exists(tmp))
        #expect(!store.contains(digest))  // not visible until committed
        try store.commit([(digest, tmp)])
        #expect(store.contains(digest))
        #expect(!FileSystem.exists(tmp))
        #expect(try FileSystem.readFile(store.blobPath(digest)) == data)
        #expect(try FileSystem.list(store.temporaryDirectory).isEmpty)
    }

    @Test(arguments: [20 << 20, (20 << 20) + 123, (8 << 20) + 4097])
    func largeBlobsTakeTheDirectIOPathAndKeepEveryByte(_ size: Int) throws {
        let dir = try TemporaryDirectory()
        var data = [UInt8](repeating: 0, count: size)
        for i in stride(from: 0, to: size, by: 4093) { data[i] = UInt8(truncatingIfNeeded: i / 4093) }
        let input = try dir.file("big.bin", data)
        let store = try Store.open(at: dir.path + "/store")
        let (digest, written, tmp) = try store.put(path: input)
        try store.commit([(digest, tmp)])
        #expect(written == size)
        #expect(digest == SHA256Hasher.hash(data))
        #expect(try Store.hashFile(store.blobPath(digest)) == (digest, size))
    }

    @Test func leftoversOfACrashedWriterAreRemovedByTheNextWriter() throws {
        let dir = try TemporaryDirectory()
        _ = try Store.open(at: dir.path + "/store")
        _ = try dir.file("store/tmp/123-456.part", Array(repeating: 1, count: 1000))
        let store = try Store.open(at: dir.path + "/store")
        #expect(try FileSystem.list(store.temporaryDirectory).isEmpty)
    }

    @Test func verifyNamesEachCorruptBlob() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        var digests: [SHA256Digest] = []
        for i in 0..<5 {
            let (d, size, tmp) = try store.put(path: try dir.file("f\(i)", Array(repeating: UInt8(i), count: 1000 + i)))
            try store.commit([(d, tmp)])
            try store.index.record([BlobEntry(digest: d, size: size, kind: "file", name: "f\(i)")])
            digests.append(d)
        }
        #expect(try await store.verify(jobs: 2).isEmpty)
        let fd = try FileDescriptor.open(store.blobPath(digests[2]), writing: true)
        try fd.write([0xff])
        let problems = try await store.verify(jobs: 2)
        #expect(problems.count == 1)
        #expect(problems.first?.contains(digests[2].hex) == true)
    }

    @Test func gcKeepsRootsAndArtifactsAndRemovesTheRest() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        func add(_ name: String, kind: String, root: Bool) throws -> SHA256Digest {
            let (d, size, tmp) = try store.put(path: try dir.file(name, Array(name.utf8)))
            try store.commit([(d, tmp)])
            try store.index.record([BlobEntry(digest: d, size: size, kind: kind, name: name)], roots: root ? [(d, "test")] : [])
            return d
        }
        let rooted = try add("rooted", kind: "file", root: true)
        let artifact = try add("artifact", kind: "artifact", root: false)
        let garbage = try add("garbage", kind: "file", root: false)
        let dry = try store.collectGarbage(dryRun: true)
        #expect(dry.map(\.digest) == [garbage])
        #expect(store.contains(garbage))
        let removed = try store.collectGarbage(dryRun: false)
        #expect(removed.map(\.digest) == [garbage])
        #expect(!store.contains(garbage) && store.contains(rooted) && store.contains(artifact))
        #expect(try store.index.entries(digest: garbage).isEmpty)
    }

    @Test func freeSpaceCheckRefusesWithItsOwnCode() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let error = #expect(throws: UsageError.self) { try store.requireFreeSpace(Int.max / 4, for: "a test") }
        #expect(error?.code == CoreErrorCode.noSpace.code)
        try store.requireFreeSpace(1024, for: "a test")
    }

    @Test func indexRecordsTrustHistoryAndRollbackInsideTheTransaction() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        try store.index.setThreshold(2)
        #expect(try store.index.threshold() == 2)
        let record = BundleRecord(bundle: "b1", channel: "prod", sequence: 3, manifestSHA256: String(repeating: "0", count: 64), signers: ["k1", "k2"])
        try store.index.commitImport(record, entries: [], references: [], allowRollback: false)
        #expect(try store.index.imports() == [record])
        #expect(try store.index.lastImportedSequence(channel: "prod") == 3)
        let rollback = #expect(throws: RollbackRefused.self) {
            try store.index.commitImport(record, entries: [], references: [], allowRollback: false)
        }
        #expect(rollback?.status == .checkFailed && rollback?.lastImported == 3)
        #expect(try store.index.imports().count == 1)
    }
}
