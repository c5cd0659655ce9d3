// The readers of what is inside blobs (METADATA, dpkg status), the licence expressions Airlock
// calls SPDX, and the package URLs, each on inputs written here.

@testable import AirlockAudit
import AirlockCore
import Testing

@Suite struct BlobFactsTests {
    @Test func licenseExpressionWinsOverLicenseAndClassifiersAndExtrasAreNotDependencies() {
        let metadata = BlobFactReader.parseMetadata(
            Array(
                """
                Metadata-Version: 2.4
                Name: Alpha_Pkg
                Version: 1.0
                License: MIT License
                License-Expression: MIT OR Apache-2.0
                Classifier: License :: OSI Approved :: MIT License
                Requires-Dist: Beta (>=2) ; python_version >= "3.8"
                Requires-Dist: gamma[socks]>=1
                Requires-Dist: delta; extra == "test"
                Requires-Dist: Epsilon.Two
                Description: first line
                  continued

                Body: not a header
                Requires-Dist: zeta
                """.utf8
            )
        )
        #expect(metadata.name == "Alpha_Pkg" && metadata.version == "1.0")
        #expect(metadata.license == "MIT OR Apache-2.0" && metadata.licenseIsSPDX)
        #expect(metadata.requires == ["beta", "epsilon-two", "gamma"])
    }

    @Test func aClassifierGivesTheSPDXIdWhenTheLicenseHeaderSaysNothingUsable() {
        let fromClassifiers = BlobFactReader.parseMetadata(
            Array("Name: b\nVersion: 2\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: Apache Software License\n".utf8)
        )
        #expect(fromClassifiers.license == "Apache-2.0" && fromClassifiers.licenseIsSPDX)
        let text = BlobFactReader.parseMetadata(Array("Name: c\nVersion: 3\nLicense: BSD-like, see LICENSE\n".utf8))
        #expect(text.license == "BSD-like, see LICENSE" && !text.licenseIsSPDX)
        let none = BlobFactReader.parseMetadata(Array("Name: d\nVersion: 4\nLicense: first\n  second line\n".utf8))
        #expect(none.license == nil, "a multi-line License is a licence text, not a name")
    }

    @Test func dpkgStatusListsInstalledPackagesWithTheirDependencies() {
        let status = BlobFactReader.parseDpkgStatus(
            Array(
                """
                Package: libc6
                Status: install ok installed
                Architecture: amd64
                Version: 2.36-9+deb12u4
                Depends: libgcc-s1
                Description: GNU C Library
                 continued line

                Package: removed-one
                Status: deinstall ok config-files
                Version: 1.0

                Package: bash
                Status: install ok installed
                Architecture: amd64
                Version: 5.2.15-2+b2
                Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6) | libncurses6:amd64
                Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)

                """.utf8
            )
        )
        #expect(status.map(\.name) == ["bash", "libc6"])
        #expect(status.first?.depends == ["base-files", "debianutils", "libc6", "libtinfo6"])
        #expect(status.last?.version == "2.36-9+deb12u4" && status.last?.architecture == "amd64")
    }

    @Test(arguments: [
        ("MIT", true), ("MIT OR Apache-2.0", true), ("(MIT AND BSD-3-Clause) OR Apache-2.0", true),
        ("Apache-2.0 WITH LLVM-exception", true), ("LicenseRef-Proprietary", true), ("GPL-2.0-or-later", true),
        ("MIT License", false), ("GPL", false), ("MIT AND", false), ("(MIT", false), ("MIT WITH Apache-2.0", false), ("", false),
    ])
    func spdxExpressions(_ text: String, _ valid: Bool) {
        #expect(SPDXLicense.isExpression(text) == valid, "\(text)")
    }

    @Test func packageURLsEncodeAsPurlSpecAsks() throws {
        #expect(PackageURL.pypi("Foo_Bar.baz", "1.0+local") == "pkg:pypi/foo-bar-baz@1.0%2Blocal")
        #expect(PackageURL.golang("github.com/Airlock/greeting", "v1.0.0") == "pkg:golang/github.com/Airlock/greeting@v1.0.0")
        #expect(PackageURL.deb("bsdutils", "1:2.38.1-5", architecture: "amd64") == "pkg:deb/debian/bsdutils@1%3A2.38.1-5?arch=amd64")
        let digest = SHA256Hasher.hash(Array("x".utf8))
        #expect(
            PackageURL.oci("team/App", digest: digest, tag: "1.0")
                == "pkg:oci/app@sha256%3A\(digest.hex)?repository_url=team%2FApp&tag=1.0"
        )
        #expect(InventoryBuilder.sdistName("my-pkg-2.0.1.tar.gz")! == ("my-pkg", "2.0.1"))
        #expect(InventoryBuilder.moduleName("github.com/a/b@v1.2.3.zip", suffix: ".zip")! == ("github.com/a/b", "v1.2.3"))
    }
}
