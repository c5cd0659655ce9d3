import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

@Suite struct WheelMetadataIndexerTests {
    @Test func aStoredWheelsMetadataAndRequiresPythonAreRecordedOnceAndOtherFilesAreSkipped() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let (made, output) = try await shell(
            """
            python3 -c 'import zipfile, sys
            with zipfile.ZipFile(sys.argv[1], "w") as z:
                z.writestr("demo-2.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: demo\\nVersion: 2.0\\nRequires-Python: >=3.9\\n\\nRequires-Python: not a header\\n")
                z.writestr("demo/__init__.py", "")' demo-2.0-py3-none-any.whl
            printf 'not a zip' > broken-1.0-py3-none-any.whl
            """,
            in: dir.path
        )
        try #require(made == 0, "\(output)")
        var entries: [BlobEntry] = []
        for name in ["demo-2.0-py3-none-any.whl", "broken-1.0-py3-none-any.whl"] {
            let put = try store.put(path: dir.path + "/" + name)
            try store.commit([(put.digest, put.temporaryPath)])
            entries.append(BlobEntry(digest: put.digest, size: put.size, kind: "artifact", name: name, filename: name))
        }
        try store.index.record(entries)
        WheelMetadataIndexer().index(entries, in: store)

        let record = try #require(try store.index.wheelMetadata(of: entries[0].digest))
        #expect(record.requiresPython == ">=3.9", "the header, not the body's line")
        #expect(String(decoding: record.metadata, as: UTF8.self).hasPrefix("Metadata-Version: 2.1\nName: demo\n"))
        #expect(try store.index.wheelMetadata(of: entries[1].digest) == nil, "a broken wheel is skipped, not an error")
        #expect(try store.index.wheelMetadataDigests() == [entries[0].digest])
    }
}
