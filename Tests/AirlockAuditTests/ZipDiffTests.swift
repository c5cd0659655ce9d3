// The entry-by-entry diff `rebuild --check` prints, on two zips written here: a text entry whose
// content differs gets `diff -u`, an entry only on one side is named as such, a time or mode
// difference is a field, and equal entries are not listed.

@testable import AirlockAudit
import AirlockCore
import Testing

@Suite struct ZipDiffTests {
    private func zip(_ path: String, epoch: Int64, _ entries: [(String, String, Bool)]) throws {
        let output = try FileArchiveOutput(path: path)
        let writer = ZipWriter(output: output, name: FileSystem.baseName(path), epochSeconds: epoch)
        for (name, text, executable) in entries { try writer.add(path: name, bytes: Array(text.utf8), executable: executable) }
        try writer.finish()
    }

    @Test func namesEachDifferingEntryWithItsFieldsAndAUnifiedDiffForText() async throws {
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "zipdiff-test")
        defer { FileSystem.removeTree(dir) }
        try zip(dir + "/a.zip", epoch: 1_700_000_000, [
            ("function_app.py", "import azure.functions\nprint('one')\nx = 1\n", false), ("host.json", "{}\n", false),
            ("run.sh", "#!/bin/sh\n", true), ("same.txt", "same\n", false), ("gone.txt", "old\n", false),
        ])
        try zip(dir + "/b.zip", epoch: 1_700_000_000, [
            ("function_app.py", "import azure.functions\nprint('two')\nx = 1\n", false), ("host.json", "{}\n", false),
            ("run.sh", "#!/bin/sh\n", false), ("same.txt", "same\n", false), ("new.txt", "new\n", false),
        ])
        let differences = try await ZipDiff.compare(expected: dir + "/a.zip", rebuilt: dir + "/b.zip", scratch: dir)
        #expect(differences.map(\.name) == ["function_app.py", "gone.txt", "new.txt", "run.sh"])
        let app = try #require(differences.first)
        #expect(app.fields.contains("crc32") && !app.fields.contains("modified"))
        let diff = try #require(app.textDiff)
        #expect(diff.contains("--- bundle/function_app.py") && diff.contains("+++ rebuilt/function_app.py"), "\(diff)")
        #expect(diff.contains("-print('one')") && diff.contains("+print('two')"), "\(diff)")
        #expect(differences[1].rebuilt == nil && differences[1].expected != nil)
        #expect(differences[2].expected == nil && differences[2].rebuilt != nil)
        #expect(differences[3].fields == ["mode"] && differences[3].expected?.mode == "0755" && differences[3].rebuilt?.mode == "0644")
        #expect(differences[3].textDiff == nil)

        try zip(dir + "/c.zip", epoch: 1_600_000_000, [("host.json", "{}\n", false)])
        try zip(dir + "/d.zip", epoch: 1_700_000_000, [("host.json", "{}\n", false)])
        let times = try await ZipDiff.compare(expected: dir + "/c.zip", rebuilt: dir + "/d.zip", scratch: dir)
        #expect(times.count == 1 && times.first?.fields == ["modified"])
        #expect(times.first?.expected?.modified == "2020-09-13 12:26:40" && times.first?.rebuilt?.modified == "2023-11-14 22:13:20")
        #expect(try await ZipDiff.compare(expected: dir + "/d.zip", rebuilt: dir + "/d.zip", scratch: dir).isEmpty)
    }
}
