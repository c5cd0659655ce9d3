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

    @Test func vulnsMatchesTheBundlesWheelsAgainstAnOSVExportAndFailOnSetsTheExitStatus() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (key, pub, _) = try await Fixture.key(dir)
        let alpha = try await wheel(dir, "alpha", "1.0")
        let beta = try await wheel(dir, "beta", "2.0")
        let sealed = try await CLI.run(["seal", "--key", key, "--out", "b.airlock", "--store", "outside", alpha, beta], in: dir.path)
        try #require(sealed.status == 0, "\(sealed)")
        let osv = """
            [{"id": "GHSA-alpha", "summary": "alpha before 1.1", "database_specific": {"severity": "HIGH"},
              "affected": [{"package": {"ecosystem": "PyPI", "name": "Alpha"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1"}]}]}]},
             {"id": "PYSEC-beta", "affected": [{"package": {"ecosystem": "PyPI", "name": "beta"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.1"}]}]}]},
             {"id": "PYSEC-gone", "withdrawn": "2026-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "beta"}, "versions": ["2.0"]}]}]
            """
        try Data(osv.utf8).write(to: URL(fileURLWithPath: dir.file("pypi.json")))

        let table = try await CLI.run(["audit", "--trust", pub, "b.airlock", "--vulns", "pypi.json"], in: dir.path)
        #expect(table.status == 0, "\(table)")
        let line = table.stdoutLines.first { $0.hasPrefix("GHSA-alpha") }
        #expect(line?.contains("high") == true && line?.contains("alpha") == true && line?.contains("1.1") == true, "\(table)")
        #expect(!table.stdout.contains("PYSEC-beta") && !table.stdout.contains("PYSEC-gone"), "\(table)")
        #expect(table.stdout.contains("1 match(es) in 1 package(s), against 3 advisories"), "\(table)")

        let failing = try await CLI.run(["audit", "--trust", pub, "b.airlock", "--vulns", "pypi.json", "--fail-on", "high", "--json"], in: dir.path)
        #expect(failing.status == 1, "\(failing)")
        #expect(errorCode(failing) == "audit.vulnerable", "\(failing)")
        #expect(failing.stderr.contains("GHSA-alpha (alpha 1.0)"), "\(failing)")
        let passing = try await CLI.run(["audit", "--trust", pub, "b.airlock", "--vulns", "pypi.json", "--fail-on", "critical", "--json"], in: dir.path)
        #expect(passing.status == 0, "\(passing)")
        let json = try #require(try parseJSON(passing) as? [String: Any])
        let findings = (json["vulnerabilities"] as? [String: Any])?["findings"] as? [[String: Any]]
        #expect(findings?.map { $0["advisory"] as? String } == ["GHSA-alpha"], "\(passing)")

        let bad = try await CLI.run(["audit", "--trust", pub, "b.airlock", "--vulns", "pypi.json", "--fail-on", "severe"], in: dir.path)
        #expect(bad.status == 2 && bad.stderr.contains("--fail-on 'severe'"), "\(bad)")
        let alone = try await CLI.run(["audit", "--trust", pub, "b.airlock", "--fail-on", "high"], in: dir.path)
        #expect(alone.status == 2 && alone.stderr.contains("--vulns"), "\(alone)")
        try Data("not json".utf8).write(to: URL(fileURLWithPath: dir.file("broken.json")))
        let broken = try await CLI.run(["audit", "--trust", pub, "b.airlock", "--vulns", "broken.json"], in: dir.path)
        #expect(broken.status == 2 && broken.stderr.contains("broken.json"), "\(broken)")
    }

    @Test(.enabled(if: ChildProcess.locate("chromium") != nil, "needs Debian's chromium (scripts/install-deps.sh --test)"))
    func theHTMLReportIsOneSelfContainedPageThatChromiumRendersWithEverySection() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (key, pub, keyID) = try await Fixture.key(dir)
        let beta = try await wheel(dir, "beta", "2.0")
        let beta21 = try await wheel(dir, "beta", "2.1")
        let gamma = try await wheel(dir, "gamma", "0.1")
        for (bundle, wheels, sequence) in [("week1.airlock", [beta], "1"), ("week2.airlock", [beta21, gamma], "2")] {
            let sealed = try await CLI.run(
                ["seal", "--key", key, "--channel", "weekly", "--sequence", sequence, "--out", bundle, "--store", "outside"] + wheels, in: dir.path
            )
            try #require(sealed.status == 0, "\(sealed)")
        }
        let osv = #"[{"id": "GHSA-gamma-0001", "summary": "gamma <b>leaks</b>", "database_specific": {"severity": "CRITICAL"}, "affected": [{"package": {"ecosystem": "PyPI", "name": "gamma"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.2"}]}]}]}]"#
        try Data(osv.utf8).write(to: URL(fileURLWithPath: dir.file("osv.json")))
        let written = try await CLI.run(
            ["audit", "--trust", pub, "week2.airlock", "--against", "week1.airlock", "--vulns", "osv.json", "--html", "report.html"], in: dir.path
        )
        #expect(written.status == 0 && written.stdoutLines == ["report.html"], "\(written)")
        let page = try String(contentsOfFile: dir.file("report.html"), encoding: .utf8)
        #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("href="), "no script and no external asset")
        #expect(page.contains("gamma &lt;b&gt;leaks&lt;/b&gt;"), "an advisory's text is escaped")
        // The same inputs give the same page.
        let again = try await CLI.run(
            ["audit", "--trust", pub, "week2.airlock", "--against", "week1.airlock", "--vulns", "osv.json", "--html", "again.html"], in: dir.path
        )
        let second = try String(contentsOfFile: dir.file("again.html"), encoding: .utf8)
        #expect(again.status == 0 && second == page)

        let chromium = try #require(ChildProcess.locate("chromium"))
        let flags = "--headless --no-sandbox --disable-gpu --no-first-run --user-data-dir='\(dir.file("chromium"))'"
        let url = "file://" + dir.file("report.html")
        let shot = try await Shell.run("'\(chromium)' \(flags) --window-size=1200,1600 --screenshot='\(dir.file("report.png"))' '\(url)' 2>&1", in: dir.path)
        #expect(shot.status == 0, "\(shot)")
        let png = try FileSystem.readFile(dir.file("report.png"))
        #expect(png.count > 10_000 && Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47], "a real PNG: \(png.count) bytes")
        let dumped = try await Shell.run("'\(chromium)' \(flags) --dump-dom '\(url)' 2>/dev/null", in: dir.path)
        #expect(dumped.status == 0)
        let dom = dumped.stdout
        for text in [
            "Airlock audit: Bundle", "Signers and trust", keyID, "Artifacts and their provenance", "Software bill of materials (2 packages)",
            "pkg:pypi/gamma@0.1", "Changes", "<td>changed</td><td>beta</td><td>pypi</td><td>2.0</td><td>2.1</td>",
            "<td>added</td><td>gamma</td>", "Known vulnerabilities", "<td>GHSA-gamma-0001</td><td>critical</td><td>gamma</td><td>0.1</td>",
            "openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in manifest.json -sigfile signatures/\(keyID).sig", "sha256sum -c SHA256SUMS",
        ] {
            #expect(dom.contains(text), "the page shows \(text)")
        }
    }
}
