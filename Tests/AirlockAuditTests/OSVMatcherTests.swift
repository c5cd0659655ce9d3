// OSVMatcherTests.swift — OSV range evaluation through OSVIndex over small hand-written OSV
// documents: PyPI (PEP 440) and Go (semver) ECOSYSTEM ranges, SEMVER ranges, versions lists,
// limits, withdrawn records, name normalization and unparseable input.

@testable import AirlockAudit
import Testing

/// An OSV record with one affected package; `ranges` and `versions` are raw JSON.
func osvRecord(id: String, ecosystem: String, name: String, ranges: String = "[]",
               versions: String = "[]", extra: String = "") -> String {
    #"""
    {"id": "\#(id)", "modified": "2024-01-01T00:00:00Z", "summary": "summary of \#(id)",
     "aliases": ["CVE-\#(id)"], \#(extra)
     "affected": [{"package": {"ecosystem": "\#(ecosystem)", "name": "\#(name)"},
                   "ranges": \#(ranges), "versions": \#(versions)}]}
    """#
}

/// `{"type": type, "events": [...]}` from (kind, version) pairs.
func osvRange(_ type: String = "ECOSYSTEM", _ events: (String, String)...) -> String {
    let list = events.map { #"{"\#($0.0)": "\#($0.1)"}"# }.joined(separator: ", ")
    return #"{"type": "\#(type)", "events": [\#(list)]}"#
}

@Suite struct OSVMatcherTests {
    private func index(_ records: String...) throws -> OSVIndex {
        OSVIndex(try records.map { try OSVAdvisory.parse(Array($0.utf8)) })
    }

    private func ids(_ index: OSVIndex, _ ecosystem: String, _ name: String, _ version: String) -> [String] {
        index.matches(ecosystem: ecosystem, name: name, version: version).map(\.advisoryID)
    }

    @Test func introducedFixed() throws {
        let idx = try index(osvRecord(id: "A", ecosystem: "PyPI", name: "foo",
                                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "1.0"), ("fixed", "1.2.3")))]"))
        #expect(ids(idx, "PyPI", "foo", "0.9").isEmpty)
        #expect(ids(idx, "PyPI", "foo", "1.0rc1").isEmpty)            // pre-release of 1.0 is below 1.0
        #expect(ids(idx, "PyPI", "foo", "1.0") == ["A"])
        #expect(ids(idx, "PyPI", "foo", "1.0.0") == ["A"])            // PEP 440 equal to 1.0
        #expect(ids(idx, "PyPI", "foo", "1.2.3rc1") == ["A"])
        #expect(ids(idx, "PyPI", "foo", "1.2.3").isEmpty)             // fixed is exclusive
        #expect(ids(idx, "PyPI", "foo", "1.2.3.post1").isEmpty)
        let match = try #require(idx.matches(ecosystem: "PyPI", name: "foo", version: "1.1").first)
        #expect(match.affectedRange == ">=1.0, <1.2.3")
        #expect(match.fixed == ["1.2.3"])
        #expect(match.aliases == ["CVE-A"])
        #expect(match.summary == "summary of A")
        #expect(match.severity == nil)
    }

    @Test func introducedZeroAndUnfixed() throws {
        let idx = try index(
            osvRecord(id: "Z", ecosystem: "PyPI", name: "foo",
                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.0")))]"),
            osvRecord(id: "U", ecosystem: "PyPI", name: "foo",
                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0")))]"),
            osvRecord(id: "O", ecosystem: "PyPI", name: "foo",
                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "1.5")))]"))
        #expect(ids(idx, "PyPI", "foo", "0.0.dev0") == ["U", "Z"])    // "0" is below every version
        #expect(ids(idx, "PyPI", "foo", "1.9") == ["O", "U", "Z"])
        #expect(ids(idx, "PyPI", "foo", "2.0") == ["O", "U"])
        let byID = Dictionary(uniqueKeysWithValues: idx.matches(ecosystem: "PyPI", name: "foo", version: "1.9")
            .map { ($0.advisoryID, $0) })
        #expect(byID["Z"]?.affectedRange == "<2.0")
        #expect(byID["U"]?.affectedRange == "all versions")
        #expect(byID["U"]?.fixed == [])
        #expect(byID["O"]?.affectedRange == ">=1.5")
    }

    @Test func lastAffectedIsInclusive() throws {
        let idx = try index(osvRecord(id: "L", ecosystem: "PyPI", name: "foo",
                                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0"), ("last_affected", "2.1.214")))]"))
        #expect(ids(idx, "PyPI", "foo", "2.1.214") == ["L"])
        #expect(ids(idx, "PyPI", "foo", "2.1.214.post1").isEmpty)
        #expect(ids(idx, "PyPI", "foo", "2.1.215").isEmpty)
        #expect(idx.matches(ecosystem: "PyPI", name: "foo", version: "1.0").first?.affectedRange == "<=2.1.214")
    }

    @Test func multipleRangesAndUnsortedEvents() throws {
        // Events deliberately out of order: evaluation sorts them.
        let events = osvRange("ECOSYSTEM", ("fixed", "3.2.5"), ("introduced", "1.0.0"), ("introduced", "3.0.0"), ("fixed", "1.0.2"))
        let second = osvRange("ECOSYSTEM", ("introduced", "5.0"), ("fixed", "5.1"))
        let idx = try index(osvRecord(id: "M", ecosystem: "PyPI", name: "foo", ranges: "[\(events), \(second)]"))
        #expect(ids(idx, "PyPI", "foo", "1.0.1") == ["M"])
        #expect(ids(idx, "PyPI", "foo", "1.0.2").isEmpty)
        #expect(ids(idx, "PyPI", "foo", "2.9").isEmpty)
        #expect(ids(idx, "PyPI", "foo", "3.1") == ["M"])
        #expect(ids(idx, "PyPI", "foo", "3.2.5").isEmpty)
        #expect(ids(idx, "PyPI", "foo", "5.0.1") == ["M"])
        #expect(ids(idx, "PyPI", "foo", "5.1").isEmpty)
        let inSecond = try #require(idx.matches(ecosystem: "PyPI", name: "foo", version: "3.1").first)
        #expect(inSecond.affectedRange == ">=3.0.0, <3.2.5")
        #expect(inSecond.fixed == ["1.0.2", "3.2.5"])
        #expect(idx.matches(ecosystem: "PyPI", name: "foo", version: "5.0.1").first?.fixed == ["5.1"])
    }

    @Test func explicitVersionsList() throws {
        // 1.1.1 was yanked and is listed only in `versions`, outside the range.
        let idx = try index(osvRecord(id: "V", ecosystem: "PyPI", name: "foo",
                                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.0")))]",
                                      versions: #"["0.9", "1.1.1", "weird-version!"]"#))
        #expect(ids(idx, "PyPI", "foo", "1.1.1") == ["V"])
        #expect(ids(idx, "PyPI", "foo", "1.1.1.0") == ["V"])          // PEP 440-equal to a listed version
        #expect(ids(idx, "PyPI", "foo", "1.1.2").isEmpty)
        #expect(ids(idx, "PyPI", "foo", "weird-version!") == ["V"])  // exact string, unparseable
        let listed = try #require(idx.matches(ecosystem: "PyPI", name: "foo", version: "1.1.1").first)
        #expect(listed.affectedRange == "= 1.1.1 (listed)")
        #expect(listed.fixed == ["1.0"])
        // In the range and listed: the range is reported.
        #expect(idx.matches(ecosystem: "PyPI", name: "foo", version: "0.9").first?.affectedRange == "<1.0")
    }

    @Test func versionsOnlyForOtherEcosystems() throws {
        let idx = try index(osvRecord(id: "N", ecosystem: "npm", name: "left-pad",
                                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0"), ("fixed", "1.3.0")))]",
                                      versions: #"["1.2.0"]"#))
        // ECOSYSTEM ranges of unsupported ecosystems are not evaluated; `versions` still is.
        #expect(ids(idx, "npm", "left-pad", "1.2.0") == ["N"])
        #expect(ids(idx, "npm", "left-pad", "1.1.0").isEmpty)
    }

    @Test func withdrawnSkipped() throws {
        let idx = try index(
            osvRecord(id: "W", ecosystem: "PyPI", name: "foo",
                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0")))]",
                      extra: #""withdrawn": "2024-02-02T00:00:00Z","#),
            osvRecord(id: "K", ecosystem: "PyPI", name: "foo",
                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0")))]"))
        #expect(idx.count == 1)
        #expect(ids(idx, "PyPI", "foo", "1.0") == ["K"])
    }

    @Test func pypiNameNormalization() throws {
        let idx = try index(osvRecord(id: "P", ecosystem: "PyPI", name: "Foo_Bar",
                                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0")))]"))
        for name in ["foo-bar", "Foo_Bar", "FOO.BAR", "foo__bar", "foo-_.bar"] {
            #expect(ids(idx, "PyPI", name, "1.0") == ["P"], "\(name)")
        }
        #expect(ids(idx, "pypi", "foo-bar", "1.0") == ["P"])          // ecosystem case-insensitive
        #expect(ids(idx, "PyPI", "foobar", "1.0").isEmpty)
        #expect(ids(idx, "Go", "foo-bar", "1.0").isEmpty)
    }

    @Test func goModulePathsAreExact() throws {
        let idx = try index(osvRecord(id: "G", ecosystem: "Go", name: "github.com/Foo/bar",
                                      ranges: "[\(osvRange("SEMVER", ("introduced", "0")))]"))
        #expect(ids(idx, "Go", "github.com/Foo/bar", "v1.0.0") == ["G"])
        #expect(ids(idx, "Go", "github.com/foo/bar", "v1.0.0").isEmpty)
    }

    @Test func goPseudoVersions() throws {
        let idx = try index(osvRecord(id: "GO-2024-1", ecosystem: "Go", name: "golang.org/x/net",
                                      ranges: "[\(osvRange("SEMVER", ("introduced", "0"), ("fixed", "0.17.0")))]"),
                            osvRecord(id: "GO-2024-2", ecosystem: "Go", name: "golang.org/x/net",
                                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "1.2.3"), ("fixed", "1.2.4")))]"))
        // Inside: a pseudo-version based on v0.16.x, below the fix.
        #expect(ids(idx, "Go", "golang.org/x/net", "v0.16.1-0.20231001000000-abcdef123456") == ["GO-2024-1"])
        #expect(ids(idx, "Go", "golang.org/x/net", "v0.0.0-20191109021931-daa7c04131f5") == ["GO-2024-1"])
        // Outside: a pseudo-version after the fix (v0.17.1-0.… > v0.17.0).
        #expect(ids(idx, "Go", "golang.org/x/net", "v0.17.1-0.20231101000000-abcdef123456").isEmpty)
        #expect(ids(idx, "Go", "golang.org/x/net", "v0.17.0").isEmpty)
        // Between v1.2.3 and v1.2.4: the pseudo-version v1.2.4-0.… is affected, v1.2.4 is not.
        #expect(ids(idx, "Go", "golang.org/x/net", "v1.2.4-0.20200101120000-abcdef123456") == ["GO-2024-2"])
        #expect(ids(idx, "Go", "golang.org/x/net", "v1.2.3") == ["GO-2024-2"])
        #expect(ids(idx, "Go", "golang.org/x/net", "1.2.4").isEmpty)
        #expect(ids(idx, "Go", "golang.org/x/net", "v1.2.3-0.20200101120000-abcdef123456").isEmpty)
    }

    @Test func goIncompatible() throws {
        let idx = try index(osvRecord(id: "I", ecosystem: "Go", name: "github.com/docker/docker",
                                      ranges: "[\(osvRange("SEMVER", ("introduced", "0"), ("fixed", "20.10.11+incompatible")))]"))
        #expect(ids(idx, "Go", "github.com/docker/docker", "v20.10.10+incompatible") == ["I"])
        #expect(ids(idx, "Go", "github.com/docker/docker", "v20.10.11+incompatible").isEmpty)
    }

    @Test func semverRangeType() throws {
        let idx = try index(osvRecord(id: "S", ecosystem: "crates.io", name: "smallvec",
                                      ranges: "[\(osvRange("SEMVER", ("introduced", "1.0.0-alpha.1"), ("fixed", "1.6.1")))]"))
        #expect(ids(idx, "crates.io", "smallvec", "0.9.9").isEmpty)
        #expect(ids(idx, "crates.io", "smallvec", "1.0.0-alpha") .isEmpty)
        #expect(ids(idx, "crates.io", "smallvec", "1.0.0-alpha.1") == ["S"])
        #expect(ids(idx, "crates.io", "smallvec", "1.0.0-beta") == ["S"])
        #expect(ids(idx, "crates.io", "smallvec", "1.6.1-rc.1") == ["S"])
        #expect(ids(idx, "crates.io", "smallvec", "1.6.1").isEmpty)
        // SEMVER on PyPI is compared as semver, not PEP 440.
        let py = try index(osvRecord(id: "SP", ecosystem: "PyPI", name: "foo",
                                     ranges: "[\(osvRange("SEMVER", ("introduced", "0"), ("fixed", "1.0.0")))]"))
        #expect(ids(py, "PyPI", "foo", "1.0.0-rc.1") == ["SP"])
        #expect(ids(py, "PyPI", "foo", "1.0.0rc1").isEmpty)           // not semver: no range match
    }

    @Test func gitRangesIgnored() throws {
        let idx = try index(osvRecord(id: "GIT", ecosystem: "PyPI", name: "foo",
                                      ranges: "[\(osvRange("GIT", ("introduced", "0"), ("fixed", "abcdef")))]",
                                      versions: #"["1.0"]"#))
        #expect(ids(idx, "PyPI", "foo", "0.5").isEmpty)
        #expect(ids(idx, "PyPI", "foo", "1.0") == ["GIT"])
        #expect(idx.matches(ecosystem: "PyPI", name: "foo", version: "1.0").first?.fixed == [])
    }

    @Test func limitEvents() throws {
        let idx = try index(
            osvRecord(id: "LIM", ecosystem: "PyPI", name: "foo",
                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "1.0"), ("limit", "2.0")))]"),
            osvRecord(id: "STAR", ecosystem: "PyPI", name: "foo",
                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "1.0"), ("limit", "*")))]"))
        #expect(ids(idx, "PyPI", "foo", "1.5") == ["LIM", "STAR"])
        #expect(ids(idx, "PyPI", "foo", "2.0") == ["STAR"])
        #expect(ids(idx, "PyPI", "foo", "0.5").isEmpty)
        #expect(idx.matches(ecosystem: "PyPI", name: "foo", version: "1.5").first?.affectedRange == ">=1.0, <2.0")
    }

    @Test func unparseableVersions() throws {
        let idx = try index(
            osvRecord(id: "X", ecosystem: "PyPI", name: "foo",
                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0"), ("fixed", "2.0")))]",
                      versions: #"["not a version"]"#),
            osvRecord(id: "BAD", ecosystem: "PyPI", name: "foo",
                      ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "garbage"), ("fixed", "also garbage")))]"))
        #expect(ids(idx, "PyPI", "foo", "not a version") == ["X"])    // exact listed string only
        #expect(ids(idx, "PyPI", "foo", "1.0.0.0.x").isEmpty)
        #expect(ids(idx, "PyPI", "foo", "").isEmpty)
        #expect(ids(idx, "PyPI", "foo", "1.0") == ["X"])               // BAD's events are dropped
        #expect(ids(idx, "Go", "nothing", "v1").isEmpty)
    }

    @Test func severityAndThresholds() throws {
        let idx = try index(
            osvRecord(id: "H", ecosystem: "PyPI", name: "foo", ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0")))]",
                      extra: #""database_specific": {"severity": "HIGH"},"#),
            osvRecord(id: "C", ecosystem: "PyPI", name: "foo", ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0")))]",
                      extra: #""severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"#),
            osvRecord(id: "Q", ecosystem: "PyPI", name: "foo", ranges: "[\(osvRange("ECOSYSTEM", ("introduced", "0")))]"))
        let matches = idx.matches(ecosystem: "PyPI", name: "foo", version: "1.0")
        #expect(matches.map(\.advisoryID) == ["C", "H", "Q"])
        #expect(matches.map(\.severity) == [.critical, .high, nil])
        #expect(matches.filter { $0.meets(.high) }.map(\.advisoryID) == ["C", "H"])
        #expect(matches.filter { $0.meets(.critical) }.map(\.advisoryID) == ["C"])
        #expect(matches.filter { $0.meets(.low) }.map(\.advisoryID) == ["C", "H"])   // unknown never fails by default
        #expect(matches.filter { $0.meets(.medium, treatingUnknownAs: .medium) }.map(\.advisoryID) == ["C", "H", "Q"])
    }

    @Test func oneMatchPerAdvisory() throws {
        let record = #"""
        {"id": "D", "affected": [
          {"package": {"ecosystem": "PyPI", "name": "foo"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]},
          {"package": {"ecosystem": "PyPI", "name": "Foo"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}]}]},
          {"package": {"ecosystem": "PyPI", "name": "other"}, "versions": ["1.0"]}
        ]}
        """#
        let idx = try index(record)
        #expect(ids(idx, "PyPI", "foo", "1.5") == ["D"])
        #expect(ids(idx, "PyPI", "other", "1.0") == ["D"])
        #expect(ids(idx, "PyPI", "other", "1.5").isEmpty)
    }

    @Test func sameVersionIntroducedAndFixed() throws {
        let idx = try index(osvRecord(id: "T", ecosystem: "PyPI", name: "foo",
                                      ranges: "[\(osvRange("ECOSYSTEM", ("fixed", "1.0"), ("introduced", "1.0")))]"))
        #expect(ids(idx, "PyPI", "foo", "1.0").isEmpty)
    }
}
