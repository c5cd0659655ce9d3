import AirlockBundle
import AirlockCore
import AirlockTestSupport
import Foundation
import Synchronization
import Testing

/// An indexer that keeps what it was handed, and checks the blobs are in the store by then.
final class SeenEntries: BlobIndexer {
    let entries = Mutex<[BlobEntry]>([])
    func index(_ entries: [BlobEntry], in store: Store) {
        self.entries.withLock { $0 += entries.filter { store.contains($0.digest) } }
    }
}

@Suite struct ImportTests {
    @Test func importStoresEveryBlobAndRecordsHistory() async throws {
        let f = try Fixture()
        let bundle = try await f.seal(channel: "prod", sequence: 5)
        let store = try f.trustingStore()
        let seen = SeenEntries()
        let result = try Importer.importBundle(bundle, into: store, options: ImportOptions(indexers: [seen]))
        #expect(result.record.channel == "prod" && result.record.sequence == 5)
        // The indexers ran once the import committed, over its entries.
        #expect(Set(seen.entries.withLock { $0 }.filter { $0.kind == "artifact" }.map(\.name)) == ["a.txt", "b.bin"])
        #expect(result.record.signers == [f.publicKey.keyID])
        #expect(result.newBlobs == 2)
        for input in f.inputs {
            let digest = SHA256Hasher.hash(try FileSystem.readFile(input))
            #expect(store.contains(digest))
        }
        #expect(try store.index.imports().map(\.bundle) == [result.record.bundle])
        let exported = f.dir.path + "/out/b.bin"
        try FileSystem.makeDirectory(f.dir.path + "/out")
        try store.copyBlob(try store.resolve("b.bin").digest, to: exported)
        #expect(try FileSystem.readFile(exported) == FileSystem.readFile(f.inputs[1]))
        #expect(try FileSystem.list(store.temporaryDirectory).isEmpty)
        #expect(try await store.verify(jobs: 2).isEmpty)
    }

    @Test func theSignedProvenanceOfAnArtifactIsRecordedInTheIndex() async throws {
        let f = try Fixture()
        let provenance = JSONValue.object(["functions": .array([.object(["name": .string("hello")])])])
        let bundle = try await f.seal(provenance: ["b.bin": provenance])
        let store = try f.trustingStore()
        _ = try Importer.importBundle(bundle, into: store, options: ImportOptions())
        let digest = try store.resolve("b.bin").digest
        #expect(try store.index.provenance(of: digest) == String(decoding: provenance.canonicalBytes, as: UTF8.self))
        let other = try store.resolve(FileSystem.baseName(f.inputs[0])).digest
        #expect(try store.index.provenance(of: other) == nil)
    }

    @Test func rollbackIsRefusedUnlessAllowed() async throws {
        let f = try Fixture()
        let store = try f.trustingStore()
        _ = try Importer.importBundle(try await f.seal(to: "five.airlock", sequence: 5), into: store, options: ImportOptions())
        let older = try await f.seal(to: "four.airlock", sequence: 4)
        let before = try snapshot(store.root)
        let error = #expect(throws: CheckFailure.self) { try Importer.importBundle(older, into: store, options: ImportOptions()) }
        #expect(error?.code == BundleErrorCode.rollback.code)
        #expect(try snapshot(store.root) == before)
        _ = try Importer.importBundle(older, into: store, options: ImportOptions(allowRollback: true))
        #expect(try store.index.imports().map(\.sequence) == [5, 4])
    }

    @Test func expiredBundlesAreRefusedUnlessAllowed() async throws {
        let f = try Fixture()
        let store = try f.trustingStore()
        let bundle = try await f.seal(expiresIn: 60, epoch: Timestamp.nowEpochSeconds() - 86400)
        let error = #expect(throws: CheckFailure.self) {
            try Importer.importBundle(bundle, into: store, options: ImportOptions())
        }
        #expect(error?.code == BundleErrorCode.expired.code)
        _ = try Importer.importBundle(bundle, into: store, options: ImportOptions(allowExpired: true))
    }

    @Test func aWrongChannelOrUntrustedSignerWritesNothing() async throws {
        let f = try Fixture()
        let store = try f.trustingStore(channels: ["prod"])
        let bundle = try await f.seal(channel: "dev")
        let before = try snapshot(store.root)
        let error = #expect(throws: CheckFailure.self) {
            try Importer.importBundle(bundle, into: store, options: ImportOptions())
        }
        #expect(error?.code == BundleErrorCode.channelNotAllowed.code)
        #expect(try snapshot(store.root) == before)
    }

    @Test func volumesImportWhicheverVolumeIsNamed() async throws {
        let f = try Fixture(files: [("big.bin", pseudoRandom(300_000, seed: 9))])
        let whole = try await f.seal(to: "whole/b.airlock", epoch: 1_790_000_000)
        let split = try await f.seal(to: "split/b.airlock", epoch: 1_790_000_000, volumeSize: 64 * 1024)
        let volumes = try Volumes.resolve(split + ".003")
        #expect(volumes.count == 5)
        #expect(volumes == (1...5).map { VolumeOutput.volumePath(split, $0) })
        let missing = #expect(throws: UsageError.self) { try Volumes.resolve(split + ".007") }
        #expect(missing?.code == CoreErrorCode.noSuchFile.code)
        var joined: [UInt8] = []
        for v in volumes {
            let bytes = try FileSystem.readFile(v)
            #expect(bytes.count <= 64 * 1024)
            joined += bytes
        }
        #expect(joined == (try FileSystem.readFile(whole)))
        for named in [split + ".004", split + ".001", split] {
            #expect(try f.verify(named, allowExpired: true).isValid)
        }
        let store = try f.trustingStore()
        _ = try Importer.importBundle(split + ".005", into: store, options: ImportOptions(allowExpired: true))
        // Splitting an existing bundle gives the same volumes.
        let resplit = try Volumes.split(whole, maximumSize: 64 * 1024)
        #expect(try resplit.map { try FileSystem.readFile($0) } == volumes.map { try FileSystem.readFile($0) })
    }

    @Test func aMissingLastVolumeIsATruncatedBundle() async throws {
        let f = try Fixture(files: [("big.bin", pseudoRandom(300_000, seed: 3))])
        let split = try await f.seal(to: "split/b.airlock", volumeSize: 64 * 1024)
        try FileSystem.remove(split + ".005")
        let report = try f.verify(split + ".001")
        #expect(!report.isValid)
        #expect(report.problemCodes.first == BundleErrorCode.truncated.code, "\(report.problems)")
    }
}

/// Each hostile bundle of the issue, built by hand, must be rejected whole with the store untouched.
@Suite struct HostileBundleTests {
    enum Case: String, CaseIterable, Sendable {
        case absolutePath, dotDotPath, symlinkBlob, hardLinkBlob, characterDevice, fifo, duplicateBlob, unlistedMember,
            missingBlob, truncated, oversizedMember, hugeManifest, badSums, tamperedBlob, tamperedManifest, extraSignatureFile
    }

    static func craft(_ c: Case, from members: [RawMember]) -> [UInt8] {
        var m = members
        // The largest blob, so every edit below has bytes to work on.
        let blobIndex = m.indices.filter { m[$0].name.hasPrefix("blobs/") }.max { m[$0].data.count < m[$1].data.count } ?? 0
        let blob = m[blobIndex]
        switch c {
        case .absolutePath: m.append(RawMember(name: "/tmp/airlock-evil", data: Array("x".utf8)))
        case .dotDotPath: m.append(RawMember(name: "blobs/../../airlock-evil", data: Array("x".utf8)))
        case .symlinkBlob: m[blobIndex] = RawMember(name: blob.name, type: UInt8(ascii: "2"), linkName: "/etc/passwd")
        case .hardLinkBlob: m[blobIndex] = RawMember(name: blob.name, type: UInt8(ascii: "1"), linkName: "manifest.json")
        case .characterDevice: m.append(RawMember(name: "dev-null", type: UInt8(ascii: "3")))
        case .fifo: m.append(RawMember(name: "fifo", type: UInt8(ascii: "6")))
        case .duplicateBlob: m.append(blob)
        case .unlistedMember: m.append(RawMember(name: "blobs/sha256/" + String(repeating: "ab", count: 32), data: Array("x".utf8)))
        case .missingBlob: m.remove(at: blobIndex)
        case .truncated:
            let whole = RawTar.build(m)
            return Array(whole.prefix(whole.count - 1024 - 600))
        case .oversizedMember: m[blobIndex].data += Array(repeating: 7, count: 4096)
        case .hugeManifest: m[0] = RawMember(name: "manifest.json", data: Array(repeating: 32, count: Manifest.maximumSize + 1))
        case .badSums:
            if let i = m.firstIndex(where: { $0.name == "SHA256SUMS" }) { m[i].data[0] = m[i].data[0] == 48 ? 49 : 48 }
        case .tamperedBlob: m[blobIndex].data[10] ^= 0x40
        case .tamperedManifest:
            if let i = m[0].data.firstIndex(of: UInt8(ascii: "7")) { m[0].data[i] = UInt8(ascii: "8") }
        case .extraSignatureFile: m.insert(RawMember(name: "signatures/notes.txt", data: Array("hi".utf8)), at: 2)
        }
        return RawTar.build(m)
    }

    /// The code the rejection must carry, so a case cannot pass for an unrelated reason.
    static func reason(_ c: Case) -> BundleErrorCode {
        switch c {
        case .absolutePath, .dotDotPath, .unlistedMember, .extraSignatureFile: return .unexpectedMember
        case .symlinkBlob, .hardLinkBlob, .characterDevice, .fifo: return .notARegularFile
        case .duplicateBlob: return .duplicateMember
        case .missingBlob: return .missingMember
        case .truncated: return .truncated
        case .oversizedMember: return .sizeMismatch
        case .hugeManifest: return .oversizedMember
        case .badSums, .tamperedBlob: return .hashMismatch
        case .tamperedManifest: return .badSignature
        }
    }

    @Test(arguments: Case.allCases)
    func rejectedWholeAndStoreUnchanged(_ c: Case) async throws {
        let f = try Fixture(files: [("a.txt", Array("seven 7\n".utf8)), ("b.bin", pseudoRandom(100_000, seed: 5))])
        let bundle = try await f.seal()
        let crafted = try await f.dir.file("crafted.airlock", Self.craft(c, from: try RawTar.members(of: bundle)))
        let store = try f.trustingStore()
        let before = try snapshot(store.root)
        let error = #expect(throws: (any Error).self) { try Importer.importBundle(crafted, into: store, options: ImportOptions()) }
        #expect((error as? CheckFailure)?.code == Self.reason(c).code, "\(c): \(error.map { "\($0)" } ?? "")")
        if c == .absolutePath {
            #expect("\(error.map { "\($0)" } ?? "")".contains("/tmp/airlock-evil"), "the problem names the member")
        }
        #expect(try snapshot(store.root) == before)
        #expect(!FileSystem.exists("/tmp/airlock-evil"))
        let report = try? f.verify(crafted)
        #expect(report?.isValid != true)
    }

    @Test func theSameBundleUntouchedImports() async throws {
        let f = try Fixture(files: [("a.txt", Array("seven 7\n".utf8)), ("b.bin", pseudoRandom(100_000, seed: 5))])
        let bundle = try await f.seal()
        let rebuilt = try await f.dir.file("rebuilt.airlock", RawTar.build(try RawTar.members(of: bundle)))
        _ = try Importer.importBundle(rebuilt, into: try f.trustingStore(), options: ImportOptions())
    }

    @Test func aFileThatIsNotABundleIsBadInputNotAFailedCheck() async throws {
        let f = try Fixture()
        let store = try f.trustingStore()
        let junk = try f.dir.file("junk.airlock", pseudoRandom(5000, seed: 2))
        let error = #expect(throws: (any Error).self) { try Importer.importBundle(junk, into: store, options: ImportOptions()) }
        #expect((error as? any AirlockError)?.status == .badInput)
        #expect((error as? any AirlockError)?.code == BundleErrorCode.notABundle.code)
        let plainTar = try f.dir.file("plain.tar", RawTar.build([RawMember(name: "readme.txt", data: Array("hi".utf8))]))
        let error2 = #expect(throws: (any Error).self) { try Importer.importBundle(plainTar, into: store, options: ImportOptions()) }
        #expect((error2 as? any AirlockError)?.status == .badInput)
        #expect((error2 as? any AirlockError)?.code == BundleErrorCode.notABundle.code)
    }
}
