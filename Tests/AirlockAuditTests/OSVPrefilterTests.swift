// The prefilter `audit --vulns` decodes through: it may only skip a document that certainly names
// none of the audited packages. Names differently spelled (case, `_` for `-`) still match; an
// escape in a key or a name, a malformed document or an array is always decoded; and over the
// matcher's fixtures plus a crowd of unrelated advisories, the findings with the prefilter are the
// findings without it.

@testable import AirlockAudit
import AirlockCore
import Foundation
import Testing

@Suite struct OSVPrefilterTests {
    static let names: Set<String> = ["requests", "typing-extensions", "golang-org/x/net", "stdlib"]

    @Test(arguments: [
        (#"{"id":"A","affected":[{"package":{"ecosystem":"PyPI","name":"Requests"}}]}"#, true),
        (#"{"id":"A","affected":[{"package":{"name" : "typing_extensions","ecosystem":"PyPI"}}]}"#, true),
        (#"{"id":"A","affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/net"}}]}"#, true),
        (#"{"id":"A","affected":[{"package":{"ecosystem":"Go","name":"stdlib"}}]}"#, true),
        (#"{"id":"A","affected":[{"package":{"ecosystem":"PyPI","name":"django"}}],"details":"\"name\": \"requests\" in a string"}"#, false),
        (#"{"id":"A","affected":[{"package":{"ecosystem":"PyPI","name":"requests-oauthlib"}}]}"#, false),
        // Escapes could hide a name: decoded.
        (#"{"id":"A","affected":[{"package":{"ecosystem":"PyPI","na\u006de":"requests"}}]}"#, true),
        (#"{"id":"A","affected":[{"package":{"ecosystem":"PyPI","name":"r\u0065quests"}}]}"#, true),
        // Malformed or not one object: decoded, so the decoder refuses or reads it.
        (#"{"id": "#, true),
        (#"{"id":"A","summary":"unterminated}"#, true),
        (#"[{"id":"A"}]"#, true),
        (#"{"id":"A"}{"id":"B"}"#, true),
        (#"{"id":"A"}}"#, true),
        ("", true),
    ])
    func aDocumentIsSkippedOnlyWhenItCertainlyNamesNoneOfThePackages(document: String, decoded: Bool) {
        #expect(OSVPrefilter.mayName(Array(document.utf8), names: Self.names) == decoded, "\(document)")
    }

    @Test func withThePrefilterTheFindingsAreTheFindingsWithoutIt() throws {
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "osv-prefilter")
        defer { FileSystem.removeTree(dir) }
        var documents = VulnerabilityMatchTests.advisories
        for i in 0..<500 {
            documents.append(VulnerabilityMatchTests.advisory("OTHER-\(i)", ecosystem: i % 2 == 0 ? "PyPI" : "Go", name: "pkg-\(i)", events: [["introduced": "0"]]))
        }
        for (i, document) in documents.enumerated() {
            try FileSystem.writeAtomically(dir + "/\(i).json", Array(try JSONSerialization.data(withJSONObject: document)))
        }
        let inventory = VulnerabilityMatchTests.inventory()
        let all = try OSVExport.load([dir])
        let filtered = try OSVExport.load([dir], naming: VulnerabilityMatcher.names(inventory))
        #expect(all.count == documents.count && filtered.documents == documents.count)
        #expect(filtered.advisories.count == VulnerabilityMatchTests.advisories.count, "only the fixtures' advisories name a package of the inventory")
        #expect(
            VulnerabilityMatcher.findings(inventory, index: OSVIndex(filtered.advisories))
                == VulnerabilityMatcher.findings(inventory, index: OSVIndex(all))
        )
    }
}
