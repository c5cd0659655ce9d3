// GoSemverTests.swift — Go module version parsing (x/mod/semver rules), SemVer 2.0 precedence,
// pseudo-versions and +incompatible.

@testable import AirlockAudit
import Testing

@Suite struct GoSemverTests {
    private func v(_ text: String) throws -> GoSemver {
        try #require(GoSemver(text), "should parse: \(text)")
    }

    /// SemVer 2.0 §11's example chain plus numeric edge cases, strictly increasing.
    @Test func semverPrecedence() throws {
        let ordered = [
            "v0.0.0-20191109021931-daa7c04131f5", "v0.0.0", "v0.0.1", "v0.1.0",
            "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
            "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0-0",
            "2.0.0-1", "2.0.0-9", "2.0.0-10", "2.0.0-a", "2.0.0-a-b", "2.0.0-b", "2.0.0",
            "v2.0.1+incompatible", "10.0.0",
        ]
        let versions = try ordered.map(v)
        for (index, lower) in versions.enumerated() {
            for higher in versions[(index + 1)...] {
                #expect(lower < higher, "\(lower) < \(higher)")
                #expect(!(higher < lower))
            }
        }
    }

    @Test func leadingVOptionalAndShorthands() throws {
        #expect(try v("1.2.3") == v("v1.2.3"))
        #expect(try v("v1") == v("v1.0.0"))
        #expect(try v("v1.2") == v("v1.2.0"))
        #expect(try v("v1.2").description == "v1.2.0")
        #expect(try v("1.2.3-rc.1+build.5").description == "v1.2.3-rc.1+build.5")
    }

    @Test func buildMetadataIgnoredForOrdering() throws {
        let incompatible = try v("v2.0.0+incompatible")
        #expect(incompatible.build == "incompatible")
        #expect(try incompatible == v("v2.0.0"))
        #expect(try incompatible.hashValue == v("v2.0.0").hashValue)
        #expect(try v("v2.1.0+incompatible") > v("v2.0.9+incompatible"))
        #expect(try v("v2.0.0-rc.1+incompatible") < incompatible)
        #expect(try v("1.0.0+a") == v("1.0.0+b"))
    }

    @Test func invalidRejected() {
        for text in ["", "v", "vv1.0.0", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "v1-pre", "v1.2-pre",
                     "v1+build", "1.2.3-", "1.2.3+", "1.2.3-01", "1.2.3-a..b", "1.2.3-a_b", "1.2.3+a..b",
                     "1.2.3 4", "x1.2.3", "1.2.3-é", "latest", "-1.0.0", "1.2.3-+b"] {
            #expect(GoSemver(text) == nil, "should reject: \(text.debugDescription)")
        }
        #expect(GoSemver("1.2.3-0a") != nil)      // alphanumeric, so a leading zero is fine
        #expect(GoSemver("1.2.3-0") != nil)
        #expect(GoSemver("1.2.3+001") != nil)     // build identifiers may have leading zeros
    }

    @Test func pseudoVersionsOrderAsPrereleases() throws {
        // vX.Y.(Z+1)-0.timestamp-hash sits between vX.Y.Z and vX.Y.(Z+1).
        let pseudo = try v("v1.2.4-0.20200101120000-abcdef123456")
        #expect(pseudo.isPseudoVersion)
        #expect(try v("v1.2.3") < pseudo)
        #expect(try pseudo < v("v1.2.4"))
        #expect(try v("v1.2.4-0.20190101120000-abcdef123456") < pseudo)
        // vX.Y.Z-pre.0.timestamp-hash sits after vX.Y.Z-pre.
        let prePseudo = try v("v1.3.0-rc.1.0.20200101120000-abcdef123456")
        #expect(prePseudo.isPseudoVersion)
        #expect(try v("v1.3.0-rc.1") < prePseudo)
        #expect(try prePseudo < v("v1.3.0-rc.2"))
        // vX.0.0-timestamp-hash, with no base version.
        let basePseudo = try v("v0.0.0-20191109021931-daa7c04131f5")
        #expect(basePseudo.isPseudoVersion)
        #expect(try basePseudo < v("v0.0.0-20200101000000-000000000000"))
        #expect(try basePseudo < v("v0.0.1"))
        #expect(try v("2.0.0-20191109021931-daa7c04131f5+incompatible").isPseudoVersion)
    }

    @Test func notPseudoVersions() throws {
        for text in ["v1.2.3", "v1.2.3-rc.1", "v1.2.3-20191109021931-daa7c04131f5" /* needs X.0.0 */,
                     "v1.2.4-1.20200101120000-abcdef123456", "v0.0.0-2019110902193-daa7c04131f5",
                     "v1.2.4-0.20200101120000", "v1.2.4-x0.20200101120000-abc", "v0.0.0-20191109021931-"] {
            #expect(try !v(text).isPseudoVersion, "\(text)")
        }
    }

    @Test func hugeComponents() throws {
        #expect(try v("1.0.99999999999999999999") < v("1.0.100000000000000000000"))
        #expect(try v("1.0.0-99999999999999999999") < v("1.0.0-100000000000000000000"))
    }
}
