// Airlock's own binary: what it needs from its host, and that `seal --self` carries only a binary
// that needs nothing (the static release). The whole round trip with the release binary (seal
// --self, import, export, the stock-tool check, self verify) runs in scripts/release-test.sh.

import AirlockCore
import Foundation
import Testing

@Suite struct SelfTests {
    @Test func selfAuditNamesWhatTheTestBuildNeedsFromItsHost() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let audit = try await CLI.run(["self", "audit", "--json"], in: dir.path)
        try #require(audit.status == 0, "\(audit)")
        let report = try #require(try parseJSON(audit) as? [String: Any])
        #expect((report["needed"] as? [String])?.contains("libc.so.6") == true)
        #expect(report["interpreter"] as? String != nil && report["highestGlibc"] as? String != nil)
    }

    @Test func sealSelfRefusesABinaryThatNeedsSharedLibraries() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try Fixture.write(dir.file("a.bin"), count: 100, seed: 1)
        let seal = try await CLI.run(["seal", "--self", "--key", key.key, "--out", "b.airlock", "--store", "s", "--json", "a.bin"], in: dir.path)
        #expect(seal.status == 2 && errorCode(seal) == CoreErrorCode.notSelfContained.code.rawValue, "\(seal)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("b.airlock")))
        let deb = try await CLI.run(["seal", "--self-deb", "x.deb", "--key", key.key, "--out", "b.airlock", "--store", "s", "a.bin"], in: dir.path)
        #expect(deb.status == 2, "\(deb)")
    }
}
