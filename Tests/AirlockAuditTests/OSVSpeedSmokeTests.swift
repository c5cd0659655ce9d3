// SpeedSmokeTests.swift — 10,000 generated advisories, 300 lookups. Asserts only the match
// counts (time targets are checked elsewhere) and prints the measured times; run it in
// release with `swift test -c release --filter SpeedSmoke`.

@testable import AirlockAudit
import Testing

@Suite struct SpeedSmokeTests {
    /// Package `p` (0..<2000) has 5 advisories, `j` = 0..<5, affecting `[j.0, j.5)` plus the
    /// listed version `j.9`. Even packages are PyPI, odd ones Go modules.
    private static func record(_ number: Int) -> String {
        let package = number % 2000
        let j = number / 2000
        let isGo = package % 2 == 1
        let name = isGo ? "example.com/mod\(package)" : "Pkg_\(package)"
        let suffix = isGo ? ".0" : ""
        let rangeType = isGo ? "SEMVER" : "ECOSYSTEM"
        return #"""
        {"id": "TEST-\#(number)", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-\#(number)"],
         "summary": "generated advisory \#(number)",
         "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
         "affected": [{"package": {"ecosystem": "\#(isGo ? "Go" : "PyPI")", "name": "\#(name)"},
           "ranges": [{"type": "\#(rangeType)", "events": [{"introduced": "\#(j).0\#(suffix)"}, {"fixed": "\#(j).5\#(suffix)"}]}],
           "versions": ["\#(j).9\#(suffix)"]}],
         "references": [{"type": "WEB", "url": "https://example.invalid/\#(number)"}]}
        """#
    }

    @Test func tenThousandAdvisories() throws {
        let clock = ContinuousClock()
        let documents = (0..<10_000).map { Array(Self.record($0).utf8) }

        var advisories: [OSVAdvisory] = []
        let parseTime = try clock.measure {
            advisories = try documents.map { try OSVAdvisory.parse($0) }
        }

        var index = OSVIndex([])
        let indexTime = clock.measure { index = OSVIndex(advisories) }

        // 300 queries over 300 different packages, alternating PyPI and Go:
        // k % 3 == 0 → inside the j = 2 range; 1 → listed j = 3 version; 2 → unaffected.
        var total = 0
        var perKind = [0, 0, 0]
        let matchTime = clock.measure {
            for k in 0..<300 {
                let package = k * 6 + (k % 2)
                let isGo = package % 2 == 1
                let base = ["2.1", "3.9", "9.0"][k % 3]
                let version = isGo ? "v\(base).0" : base
                let name = isGo ? "example.com/mod\(package)" : "pkg-\(package)"
                let found = index.matches(ecosystem: isGo ? "Go" : "PyPI", name: name, version: version)
                total += found.count
                perKind[k % 3] += found.count
            }
        }

        #expect(index.count == 10_000)
        #expect(total == 200)
        #expect(perKind == [100, 100, 0])
        let sample = index.matches(ecosystem: "PyPI", name: "pkg-0", version: "2.1")
        #expect(sample.map(\.advisoryID) == ["TEST-4000"])
        #expect(sample.first?.affectedRange == ">=2.0, <2.5")
        #expect(sample.first?.severity == .medium)
        print("OSV speed smoke: parse 10,000 = \(parseTime), index 10,000 = \(indexTime), "
              + "300 matches = \(matchTime), index+match = \(indexTime + matchTime)")
    }
}
