// SeverityTests.swift — CVSS v3.x base scores, rating bands, `--fail-on` parsing and the
// derivation of an advisory's severity.

@testable import AirlockAudit
import Testing

@Suite struct SeverityTests {
    @Test(arguments: [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
        ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", 9.8),   // temporal ignored
        ("CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N", 9.8),                  // any order
    ])
    func knownScores(vector: String, score: Double) {
        #expect(OSVSeverity.cvss3BaseScore(vector) == score)
    }

    @Test func matchesReferenceCalculator() {
        for row in cvssFixture {
            #expect(OSVSeverity.cvss3BaseScore(row.vector) == row.score, "\(row.vector)")
        }
    }

    @Test func invalidVectors() {
        for vector in ["", "CVSS:3.1", "CVSS:2.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                       "AV:N/AC:L/Au:N/C:P/I:P/A:P",
                       "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",              // A missing
                       "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",          // bad value
                       "CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",     // duplicate
                       "CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"] {
            #expect(OSVSeverity.cvss3BaseScore(vector) == nil, "\(vector)")
        }
    }

    @Test func ratingBands() {
        #expect(OSVSeverity(cvssScore: 0.0) == nil)
        #expect(OSVSeverity(cvssScore: 0.1) == .low)
        #expect(OSVSeverity(cvssScore: 3.9) == .low)
        #expect(OSVSeverity(cvssScore: 4.0) == .medium)
        #expect(OSVSeverity(cvssScore: 6.9) == .medium)
        #expect(OSVSeverity(cvssScore: 7.0) == .high)
        #expect(OSVSeverity(cvssScore: 8.9) == .high)
        #expect(OSVSeverity(cvssScore: 9.0) == .critical)
        #expect(OSVSeverity(cvssScore: 10.0) == .critical)
        #expect(OSVSeverity(cvssScore: 10.5) == nil)
    }

    @Test func parsingFlagValues() {
        #expect(OSVSeverity(parsing: "low") == .low)
        #expect(OSVSeverity(parsing: "Medium") == .medium)
        #expect(OSVSeverity(parsing: "MODERATE") == .medium)
        #expect(OSVSeverity(parsing: "high") == .high)
        #expect(OSVSeverity(parsing: "critical") == .critical)
        #expect(OSVSeverity(parsing: "severe") == nil)
        #expect(OSVSeverity.low < OSVSeverity.medium)
        #expect(OSVSeverity.medium < OSVSeverity.high)
        #expect(OSVSeverity.high < OSVSeverity.critical)
        #expect(OSVSeverity.allCases.map(\.description) == ["low", "medium", "high", "critical"])
    }

    private func advisory(_ extra: String) throws -> OSVAdvisory {
        try OSVAdvisory.parse(Array(#"{"id": "X-1", \#(extra) "modified": "2024-01-01T00:00:00Z"}"#.utf8))
    }

    @Test func derivation() throws {
        // database_specific wins over CVSS.
        #expect(try OSVSeverity.of(advisory(#"""
            "database_specific": {"severity": "MODERATE", "cwe_ids": ["CWE-79"], "nested": {"a": [1]}},
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            """#)) == .medium)
        #expect(try OSVSeverity.of(advisory(#""database_specific": {"severity": "CRITICAL"},"#)) == .critical)
        #expect(try OSVSeverity.of(advisory(#""database_specific": {"severity": "LOW"},"#)) == .low)
        // Unknown database string falls through to CVSS; the highest v3 score counts.
        #expect(try OSVSeverity.of(advisory(#"""
            "database_specific": {"severity": "UNKNOWN"},
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"},
                         {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            """#)) == .critical)
        #expect(try OSVSeverity.of(advisory(#"""
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
            """#)) == .medium)
        // database_specific.severity of another shape is ignored.
        #expect(try OSVSeverity.of(advisory(#""database_specific": {"severity": {"level": 3}},"#)) == nil)
        // CVSS v4 only: not computed, unknown.
        #expect(try OSVSeverity.of(advisory(#"""
            "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
            """#)) == nil)
        #expect(try OSVSeverity.of(advisory("")) == nil)
    }
}
