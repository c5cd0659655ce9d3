// OSVAdvisoryTests.swift — decoding OSV JSON records, lenient handling of optional and odd
// fields, and the typed parse errors.

@testable import AirlockAudit
import Testing

@Suite struct OSVAdvisoryTests {
    private func parse(_ json: String) throws(OSVParseError) -> OSVAdvisory {
        try OSVAdvisory.parse(Array(json.utf8))
    }

    @Test func decodesGitHubStyleRecord() throws {
        let advisory = try parse(#"""
        {
          "schema_version": "1.6.0",
          "id": "GHSA-xxxx-yyyy-zzzz",
          "modified": "2024-05-01T12:00:00Z",
          "published": "2024-04-01T12:00:00Z",
          "aliases": ["CVE-2024-0001", "PYSEC-2024-1"],
          "summary": "Bad thing in foo",
          "details": "Long **markdown**.",
          "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
          "affected": [{
            "package": {"ecosystem": "PyPI", "name": "foo", "purl": "pkg:pypi/foo"},
            "ranges": [
              {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.3"}],
               "database_specific": {"source": "x"}},
              {"type": "GIT", "repo": "https://example.invalid/foo.git",
               "events": [{"introduced": "abc"}, {"limit": "def"}, {"last_affected": "123"}]}
            ],
            "versions": ["1.0", "1.1"],
            "ecosystem_specific": {"imports": [{"path": "foo.bar"}]},
            "database_specific": {"anything": [1, 2, {"x": null}]}
          }],
          "references": [{"type": "ADVISORY", "url": "https://example.invalid/a"}, {"type": "WEB"}],
          "database_specific": {"severity": "HIGH", "github_reviewed": true, "cwe_ids": ["CWE-1"]},
          "credits": [{"name": "someone"}]
        }
        """#)
        #expect(advisory.id == "GHSA-xxxx-yyyy-zzzz")
        #expect(advisory.aliases == ["CVE-2024-0001", "PYSEC-2024-1"])
        #expect(advisory.summary == "Bad thing in foo")
        #expect(advisory.details == "Long **markdown**.")
        #expect(advisory.modified == "2024-05-01T12:00:00Z")
        #expect(advisory.published == "2024-04-01T12:00:00Z")
        #expect(advisory.withdrawn == nil)
        #expect(advisory.databaseSeverity == "HIGH")
        #expect(advisory.severity.map(\.type) == ["CVSS_V3"])
        #expect(advisory.severity.map(\.score) == ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"])
        #expect(advisory.affected.count == 1)
        let affected = try #require(advisory.affected.first)
        #expect(affected.package?.ecosystem == "PyPI")
        #expect(affected.package?.name == "foo")
        #expect(affected.package?.purl == "pkg:pypi/foo")
        #expect(affected.versions == ["1.0", "1.1"])
        #expect(affected.ranges.map(\.type) == ["ECOSYSTEM", "GIT"])
        #expect(affected.ranges[0].events == [.introduced("0"), .fixed("1.2.3")])
        #expect(affected.ranges[1].events == [.introduced("abc"), .limit("def"), .lastAffected("123")])
        #expect(advisory.references.count == 2)
        #expect(advisory.references[1].url == nil)
    }

    @Test func minimalRecordAndMissingArrays() throws {
        let advisory = try parse(#"{"id": "OSV-1"}"#)
        #expect(advisory.id == "OSV-1")
        #expect(advisory.aliases.isEmpty && advisory.affected.isEmpty && advisory.severity.isEmpty)
        #expect(advisory.references.isEmpty && advisory.summary == nil && advisory.databaseSeverity == nil)
    }

    @Test func oddFieldsAreTolerated() throws {
        let advisory = try parse(#"""
        {"id": "OSV-2", "aliases": null, "summary": 42, "withdrawn": "2024-01-01T00:00:00Z",
         "severity": [{"type": "CVSS_V3"}, {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
         "database_specific": ["not", "an", "object"],
         "affected": [
           {"ranges": [{"type": "GIT", "events": [{"introduced": "abc"}]}]},
           {"package": {"ecosystem": "Go", "name": "example.com/m"},
            "ranges": [{"events": []}, {"type": "SEMVER", "events": [{"introduced": "0"}, {"unknown": "1"}, 7, {"fixed": "1.0.0"}]}]},
           "garbage"
         ]}
        """#)
        #expect(advisory.aliases.isEmpty)
        #expect(advisory.summary == nil)
        #expect(advisory.withdrawn == "2024-01-01T00:00:00Z")
        #expect(advisory.severity.count == 1)
        #expect(advisory.databaseSeverity == nil)
        #expect(advisory.affected.count == 2)
        #expect(advisory.affected[0].package == nil)
        #expect(advisory.affected[1].ranges.count == 1)
        #expect(advisory.affected[1].ranges[0].events == [.introduced("0"), .fixed("1.0.0")])
    }

    @Test func typedErrors() {
        #expect(throws: OSVParseError.missingField("id")) { try parse(#"{"summary": "x"}"#) }
        #expect(throws: OSVParseError.notAnObject) { try parse(#"[1, 2]"#) }
        #expect(throws: OSVParseError.invalidField("id", reason: "expected String")) { try parse(#"{"id": 5}"#) }
        #expect(throws: OSVParseError.missingField("id")) { try parse(#"{"id": null}"#) }
        do {
            _ = try parse("{not json")
            Issue.record("expected an error")
        } catch {
            guard case .malformedJSON = error else { Issue.record("got \(error)"); return }
            #expect(error.description.hasPrefix("malformed JSON"))
        }
        do {
            _ = try OSVAdvisory.parse([])
            Issue.record("expected an error")
        } catch {
            guard case .malformedJSON = error else { Issue.record("got \(error)"); return }
        }
    }
}
