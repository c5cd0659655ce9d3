// `airlock audit` as an auditor meets it: wheels sealed by `airlock seal` into two weekly bundles,
// the table on the terminal, --json with the diff's packages under added, removed and changed,
// an SBOM file, the inside store after `import`, and the exit codes: 1 for a bundle that does not
// verify, 2 for bad usage, each with one message and its code.

import AirlockCore
import Foundation
import Testing

@Suite(.timeLimit(.minutes(10))) struct AuditCLITests {
    /// A wheel with a METADATA naming `requires`, written with Python's zipfile.
    func wheel(_ dir: TempDir, _ name: String, _ version: String, requires: [String] = []) async throws -> String {
        let path = "wheels/\(name)-\(version)-py3-none-any.whl"
        let metadata = (["Metadata-Version: 2.1", "Name: \(name)", "Version: \(version)", "License-Expression: MIT"]
            + requires.map { "Requires-Dist: " + $0 }).joined(separator: "\\n")
        let result = try await Shell.run(
            """
            mkdir -p wheels && python3 -c 'import zipfile, sys
            z = zipfile.ZipFile(sys.argv[1], "w")
            z.writestr("\(name)/__init__.py", "")
            z.writestr("\(name)-\(version).dist-info/METADATA", "\(metadata)\\n\\n")
            z.writestr("\(name)-\(version).dist-info/WHEEL", "Wheel-Version: 1.0\\n")
            z.writestr("\(name)-\(version).dist-info/RECORD", "")
            z.close()' \(path)
            """,
            in: dir.path
        )
        try #require(result.status == 0, "\(result)")
        return path
    }

    @Test func anAuditorSeesContentsTheWeeksDiffAnSBOMAndTheInsideStore() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (key, pub, _) = try await Fixture.key(dir)
        let alpha = try await wheel(dir, "alpha", "1.0", requires: ["beta"])
        let beta = try await wheel(dir, "beta", "2.0")
        let beta21 = try await wheel(dir, "beta", "2.1")
        let gamma = try await wheel(dir, "gamma", "0.1")
        for (bundle, wheels, sequence) in [("week1.airlock", [alpha, beta], "1"), ("week2.airlock", [beta21, gamma], "2")] {
            let sealed = try await CLI.run(
                ["seal", "--key", key, "--channel", "weekly", "--sequence", sequence, "--out", bundle, "--store", "outside"] + wheels, in: dir.path
            )
            try #require(sealed.status == 0, "\(sealed)")
        }

        let table = try await CLI.run(["audit", "--trust", pub, "week1.airlock"], in: dir.path)
        #expect(table.status == 0, "\(table)")
        #expect(table.stdout.contains("channel weekly, sequence 1") && table.stdout.contains("signed by: team.pub"), "\(table)")
        let alphaLine = table.stdoutLines.first { $0.hasPrefix("alpha ") }
        #expect(alphaLine?.contains("1.0") == true && alphaLine?.contains("pypi") == true && alphaLine?.contains("MIT") == true, "\(table)")

        let diff = try await CLI.run(["audit", "--trust", pub, "week2.airlock", "--against", "week1.airlock", "--json"], in: dir.path)
        #expect(diff.status == 0, "\(diff)")
        let json = try #require(try parseJSON(diff) as? [String: Any])
        let changes = try #require(json["diff"] as? [String: Any], "\(diff)")
        #expect((changes["added"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["gamma"])
        #expect((changes["removed"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["alpha"])
        let changed = try #require((changes["changed"] as? [[String: Any]])?.first, "\(changes)")
        #expect(changed["name"] as? String == "beta" && changed["from"] as? [String] == ["2.0"] && changed["to"] as? [String] == ["2.1"])
        let packages = try #require(json["packages"] as? [[String: Any]])
        #expect(Set(packages.compactMap { $0["purl"] as? String }) == ["pkg:pypi/beta@2.1", "pkg:pypi/gamma@0.1"])

        let sbom = try await CLI.run(["audit", "--trust", pub, "week1.airlock", "--sbom", "cyclonedx", "--out", "week1.cdx.json"], in: dir.path)
        #expect(sbom.status == 0 && sbom.stdout == "week1.cdx.json\n", "\(sbom)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("week1.cdx.json")))) as? [String: Any])
        #expect(document["specVersion"] as? String == "1.6" && (document["components"] as? [Any])?.count == 2, "the two wheels")

        // Inside: the store the bundles were imported into, by --store and by path.
        let trusted = try await CLI.run(["trust", "add", pub, "--store", "inside"], in: dir.path)
        try #require(trusted.status == 0, "\(trusted)")
        for bundle in ["week1.airlock", "week2.airlock"] {
            let imported = try await CLI.run(["import", "--store", "inside", bundle], in: dir.path)
            try #require(imported.status == 0, "\(imported)")
        }
        let inside = try await CLI.run(["audit", "--store", "inside", "--json"], in: dir.path)
        #expect(inside.status == 0, "\(inside)")
        let store = try #require(try parseJSON(inside) as? [String: Any])
        let names = Set((store["packages"] as? [[String: Any]] ?? []).compactMap { $0["purl"] as? String })
        #expect(names == ["pkg:pypi/alpha@1.0", "pkg:pypi/beta@2.0", "pkg:pypi/beta@2.1", "pkg:pypi/gamma@0.1"], "\(names)")
        let byPath = try await CLI.run(["audit", "inside"], in: dir.path)
        #expect(byPath.status == 0 && byPath.stdout.contains("2 bundle(s) imported"), "\(byPath)")
    }

    @Test func sealSBOMCarriesTheSBOMSignedWithTheBundleCycloneDXByDefault() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (key, pub, _) = try await Fixture.key(dir)
        let alpha = try await wheel(dir, "alpha", "1.0")
        for (bundle, flags, file, marker) in [
            ("a.airlock", ["--sbom"], "sbom.cdx.json", "\"specVersion\" : \"1.6\""),
            ("b.airlock", ["--sbom", "spdx"], "sbom.spdx.json", "\"spdxVersion\" : \"SPDX-2.3\""),
        ] {
            let sealed = try await CLI.run(["seal", "--key", key, "--out", bundle, "--store", "outside"] + flags + [alpha], in: dir.path)
            try #require(sealed.status == 0, "\(sealed)")
            let verified = try await CLI.run(["verify", "--trust", pub, bundle], in: dir.path)
            #expect(verified.status == 0, "\(verified)")
            let manifest = try Manifest(canonicalBytes: Array(try await Shell.run("tar -xOf \(bundle) manifest.json", in: dir.path).stdoutData))
            let sbom = try #require(manifest.artifacts.first { $0.kind == "sbom" }, "\(manifest.artifacts.map(\.name))")
            #expect(sbom.name == file)
            let text = try await Shell.run("tar -xOf \(bundle) blobs/sha256/\(sbom.sha256.hex)", in: dir.path).stdout
            #expect(text.contains(marker) && text.contains("pkg:pypi/alpha@1.0"), "\(text.prefix(400))")
        }
        let refused = try await CLI.run(["seal", "--key", key, "--out", "c.airlock", "--sbom", "swid", alpha, "--json"], in: dir.path)
        #expect(refused.status == 2 && errorCode(refused) == "audit.bad-sbom-format", "\(refused)")
    }

    @Test func aBundleThatDoesNotVerifyExitsOneAndBadUsageExitsTwo() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (key, _, _) = try await Fixture.key(dir)
        let (_, otherPub, _) = try await Fixture.key(dir, name: "other")
        let alpha = try await wheel(dir, "alpha", "1.0")
        let sealed = try await CLI.run(["seal", "--key", key, "--out", "b.airlock", "--store", "outside", alpha], in: dir.path)
        try #require(sealed.status == 0, "\(sealed)")

        let untrusted = try await CLI.run(["audit", "--trust", otherPub, "b.airlock", "--json"], in: dir.path)
        #expect(untrusted.status == 1 && errorCode(untrusted) == "bundle.unknown-signer", "\(untrusted)")
        #expect(hasNoStackTrace(untrusted))
        for (arguments, code) in [
            (["audit", "--trust", otherPub, "b.airlock", "--sbom", "swid", "--out", "x.json", "--json"], "audit.bad-sbom-format"),
            (["audit", "--trust", otherPub, "b.airlock", "--sbom", "spdx", "--json"], "audit.sbom-needs-out"),
            (["audit", "keys", "--json"], "audit.not-auditable"),
        ] {
            let result = try await CLI.run(arguments, in: dir.path)
            #expect(result.status == 2 && errorCode(result) == code, "\(arguments): \(result)")
        }
        #expect(!FileSystem.exists(dir.file("x.json")))
    }
}
