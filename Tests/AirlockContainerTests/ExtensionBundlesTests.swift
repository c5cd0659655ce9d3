@testable import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct ExtensionBundlesTests {
    @Test(arguments: [
        ("[4.*, 5.0.0)", ["3.20.0", "4.0.0", "4.25.1", "5.0.0"], "4.25.1"),
        ("[4.*, 5.0.0)", ["3.20.0", "5.0.0"], nil),
        ("[3.3.0, 4.0.0)", ["3.2.9", "3.3.0", "4.0.0"], "3.3.0"),
        ("(3.3.0, 4.0.0]", ["3.3.0", "4.0.0"], "4.0.0"),
        ("[4.10.0]", ["4.10.0", "4.11.0"], "4.10.0"),
        ("4.10.0", ["4.9.9", "4.10.0", "5.1.0"], "5.1.0"),
        ("[4.*, )", ["3.9.0", "6.0.0"], "6.0.0"),
        ("[2.*, 3.0.0)", ["2.0.0-preview", "not-a-version"], "2.0.0-preview"),
    ] as [(String, [String], String?)])
    func theHighestShippedVersionInTheRangeIsChosen(range: String, versions: [String], expected: String?) throws {
        #expect(try ExtensionBundles.best(of: versions, in: range, path: "host.json") == expected)
    }

    @Test(arguments: ["[4.*, 5.0.0", "4.x", "[,]", "(4.0.0)", ""])
    func aRangeThatIsNotNuGetNotationIsRefused(range: String) {
        #expect(throws: ImageError.self) { try ExtensionBundles.best(of: ["4.0.0"], in: range, path: "host.json") }
    }

    @Test func hostJSONNamesTheBundleOrNothingAndTheRootfsSaysWhatItShips() throws {
        let dir = try TemporaryDirectory()
        let bundles = "FuncExtensionBundles/Microsoft.Azure.Functions.ExtensionBundle/"
        try dir.file(bundles + "4.25.1/bundle.json", "{}")
        try dir.file(bundles + "3.20.0/bundle.json", "{}")
        try dir.file(bundles + "README", "not a version directory")
        let host = #"{"version": "2.0", "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}}"#
        let asked = try #require(try ExtensionBundles.requested(hostJSON: Array(host.utf8), path: "host.json"))
        #expect(asked.id == "Microsoft.Azure.Functions.ExtensionBundle" && asked.range == "[4.*, 5.0.0)")
        #expect(try ExtensionBundles.shipped(id: asked.id, rootfs: dir.path) == ["3.20.0", "4.25.1"])
        #expect(try ExtensionBundles.shipped(id: "Other.Bundle", rootfs: dir.path) == [])
        let empty = try TemporaryDirectory()
        #expect(try ExtensionBundles.shipped(id: asked.id, rootfs: empty.path) == nil)
        #expect(try ExtensionBundles.requested(hostJSON: Array(#"{"version": "2.0"}"#.utf8), path: "host.json") == nil)
        #expect(throws: ImageError.self) {
            try ExtensionBundles.requested(hostJSON: Array(#"{"extensionBundle": {"id": 4}}"#.utf8), path: "host.json")
        }
        #expect(throws: ImageError.self) { try ExtensionBundles.requested(hostJSON: Array("[]".utf8), path: "host.json") }
    }
}
