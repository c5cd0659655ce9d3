// PEP440VersionTests.swift — parsing, normalization and ordering of PEP 440 versions,
// checked against PEP 440's text and against packaging.version (PEP440Fixture.swift).

@testable import AirlockAudit
import Testing

@Suite struct PEP440VersionTests {
    private func v(_ text: String) throws -> PEP440Version {
        try #require(PEP440Version(text), "should parse: \(text)")
    }

    /// The ordering example of PEP 440 / packaging's test suite, strictly increasing.
    @Test func canonicalOrdering() throws {
        let ordered = [
            "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456",
            "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1", "1.0",
            "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15",
            "1.1.dev1",
            "1.2+123abc", "1.2+123abc456", "1.2+abc", "1.2+abc123", "1.2+abc123def", "1.2+1234.abc",
            "1.2+123456", "1.2.r32+123456", "1.2.rev33+123456",
            "1!1.0.dev456", "1!1.0a1", "1!1.0", "1!1.0.post1",
        ]
        let versions = try ordered.map(v)
        for (index, lower) in versions.enumerated() {
            for higher in versions[(index + 1)...] {
                #expect(lower < higher, "\(lower) < \(higher)")
                #expect(!(higher < lower))
                #expect(lower != higher)
            }
        }
        #expect(versions.shuffled().sorted() == versions)
    }

    @Test func devPreReleasePostRules() throws {
        #expect(try v("1.0.dev0") < v("1.0a1"))          // a release's dev before its pre-releases
        #expect(try v("1.0a1.dev1") < v("1.0a1"))
        #expect(try v("1.0.post1.dev1") < v("1.0.post1"))
        #expect(try v("1.0.post1.dev1") > v("1.0"))
        #expect(try v("1.0rc9") < v("1.0"))
        #expect(try v("1.0") < v("1.0.post0"))
        #expect(try v("1.0.dev1") < v("1.0.dev2"))
        #expect(try v("1.0a1") < v("1.0b1"))
        #expect(try v("1.0b1") < v("1.0rc1"))
        #expect(try v("0!9.0") < v("1!0.1"))
    }

    @Test func localVersionOrdering() throws {
        #expect(try v("1.0") < v("1.0+0"))
        #expect(try v("1.0+abc") < v("1.0+abc.1"))      // longer wins when prefix-equal
        #expect(try v("1.0+abc.1") < v("1.0+1"))        // numeric segment above alphanumeric
        #expect(try v("1.0+9") < v("1.0+10"))           // numeric segments numerically
        #expect(try v("1.0+abd") > v("1.0+abc"))        // alphanumeric lexicographically
        #expect(try v("1.0+1.2") < v("1.0+1.10"))
        #expect(try v("1.0+local") < v("1.0.post1"))
    }

    @Test func normalizationEqualities() throws {
        let groups: [[String]] = [
            ["1.0", "1.0.0", "v1.0", "1.0.0.0", " 1.0\n", "V1.0", "0!1.0", "01.00"],
            ["1.0-1", "1.0.post1", "1.0post1", "1.0-post1", "1.0_post_1", "1.0.rev1", "1.0r1", "1.0-r-1"],
            ["1.0ALPHA1", "1.0a1", "1.0alpha1", "1.0.a.1", "1.0-a-1", "1.0_alpha_1", "1.0A1"],
            ["1.0b2", "1.0beta2", "1.0-beta.2"],
            ["1.0rc3", "1.0c3", "1.0pre3", "1.0preview3", "1.0-PREVIEW-3"],
            ["1.0.post", "1.0.post0", "1.0-r", "1.0rev"],
            ["1.0.dev", "1.0.dev0", "1.0-dev", "1.0dev0"],
            ["1.0a", "1.0a0"],
            ["1.0+abc.5", "1.0+ABC-5", "1.0+abc_05"],
        ]
        for group in groups {
            let versions = try group.map(v)
            for other in versions.dropFirst() {
                #expect(other == versions[0], "\(other) == \(versions[0])")
                #expect(other.hashValue == versions[0].hashValue)
            }
            #expect(Set(versions).count == 1)
        }
        #expect(try v("1.0-1").description == "1.0.post1")
        #expect(try v("1!01.02A3-4.DEV5+Ubuntu-06").description == "1!1.2a3.post4.dev5+ubuntu.6")
        #expect(try v("1.0.0").description == "1.0.0")
    }

    @Test func invalidStringsRejected() {
        for text in ["", " ", "v", "1.0.", ".1", "1..0", "1.0+", "1.0+a.", "1.0+a+b", "1!", "1.0-",
                     "-1.0", "1.0 a1", "v 1.0", "1.0x", "1.0a1b2", "1.0.dev1.dev2", "1.0-1-1",
                     "1.0.post1.post2", "vv1.0", "1.0é", "\u{663}.0", "one", "1.0+_a", "latest"] {
            #expect(PEP440Version(text) == nil, "should reject: \(text.debugDescription)")
        }
    }

    @Test func isPrerelease() throws {
        #expect(try v("1.0a1").isPrerelease)
        #expect(try v("1.0.dev1").isPrerelease)
        #expect(try v("1.0.post1.dev1").isPrerelease)
        #expect(try !v("1.0").isPrerelease)
        #expect(try !v("1.0.post1").isPrerelease)
        #expect(try !v("1.0+local").isPrerelease)
    }

    @Test func hugeNumbersDoNotOverflow() throws {
        #expect(try v("18446744073709551615.1") < v("18446744073709551616.1"))
        #expect(try v("99999999999999999999998") < v("99999999999999999999999"))
        #expect(try v("000000000000000000000001") == v("1"))
        #expect(try v("9999999999999999999") < v("10000000000000000000"))
    }

    /// Every fixture row: same validity and normalized form as packaging, and for every pair
    /// of valid rows the same ordering (ranks come from packaging's sort).
    @Test func matchesPackagingReference() {
        var parsed: [(PEP440Version, Int)] = []
        for row in pep440Fixture {
            let version = PEP440Version(row.input)
            #expect(version?.description == row.normalized, "input \(row.input.debugDescription)")
            if let version, row.rank >= 0 { parsed.append((version, row.rank)) }
        }
        #expect(parsed.count > 500)
        var mismatches = 0
        for (a, rankA) in parsed {
            for (b, rankB) in parsed where (a < b) != (rankA < rankB) || (a == b) != (rankA == rankB) {
                mismatches += 1
                if mismatches <= 10 { Issue.record("ordering differs: \(a) vs \(b) (ranks \(rankA), \(rankB))") }
            }
        }
        #expect(mismatches == 0)
    }
}
