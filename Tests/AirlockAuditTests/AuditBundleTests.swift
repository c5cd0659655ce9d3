// Audits of real bundles sealed here: what the inventory says of wheels, the image and its Debian
// packages and the app (with the relations between them); that nothing is reported from a bundle
// whose signature or bytes do not hold; the diff of two weekly bundles; the store's view after an
// import; and both SBOMs against the official validators (cyclonedx-python-lib's JSON-schema
// validator for CycloneDX 1.6, spdx-tools' SPDX 2.3 validator), installed by scripts/py-tools.sh.
// Without those tools the SBOM tests fail naming the script; they never pass silently.

import AirlockAudit
import AirlockBundle
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

private let packageRoot: String = {
    var path = #filePath
    for _ in 0..<3 { path = FileSystem.parentPath(path) }
    return path
}()

private let pyTools = packageRoot + "/.build/py-tools"

@Suite(.timeLimit(.minutes(10))) struct AuditBundleTests {
    func weekOne(_ world: AuditWorld) async throws -> String {
        let alpha = try world.wheel("alpha", "1.0", ["License-Expression: MIT", "Requires-Dist: beta>=2", "Requires-Dist: gamma; extra == \"x\""])
        let beta = try world.wheel("beta", "2.0", ["Classifier: License :: OSI Approved :: Apache Software License"])
        return try await world.seal("week1.airlock", wheels: [alpha, beta], sequence: 1)
    }

    @Test func aBundleIsReadAsItsArtifactsPackagesImageAndDebianPackagesWithTheirRelations() async throws {
        let world = try AuditWorld()
        let bundle = try await weekOne(world)
        let inventory = try AuditReader.bundle([bundle], shownAs: bundle, policy: world.policy)

        #expect(inventory.subject.kind == "bundle" && inventory.subject.channel == "weekly" && inventory.subject.sequence == 1)
        #expect(inventory.subject.signers == [.init(keyID: world.publicKey.keyID, name: "team")])
        let byName = Dictionary(inventory.packages.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let alpha = try #require(byName["alpha"])
        let beta = try #require(byName["beta"])
        #expect(alpha.purl == "pkg:pypi/alpha@1.0" && alpha.license == "MIT" && alpha.licenseIsSPDX == true)
        #expect(beta.license == "Apache-2.0" && beta.kind == "wheel")
        #expect(alpha.dependsOn == [beta.id], "Requires-Dist among the packages present; the extra's gamma is not one")
        let libc = try #require(byName["libc6"])
        let libgcc = try #require(byName["libgcc-s1"])
        #expect(libc.purl == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64" && libc.image == world.image.reference)
        #expect(libc.dependsOn == [libgcc.id])

        let image = try #require(inventory.images.first)
        #expect(image.reference == "base:bookworm" && image.platform == "linux/amd64" && image.debPackages == 2)
        let app = try #require(inventory.artifacts.first { $0.name == "app" })
        #expect(app.buildKind == "python-function-app" && app.functions == ["hello"] && app.target == "python 3.11 linux/amd64 glibc 2.36")
        #expect(Set(app.inputs) == [alpha.id, beta.id, world.image.manifest.description])
        let imageArtifact = try #require(inventory.artifacts.first { $0.kind == ImageArtifacts.imageKind })
        #expect(Set(imageArtifact.inputs) == [libc.id, libgcc.id])

        let table = AuditTable.lines(inventory).joined(separator: "\n")
        #expect(table.contains("alpha") && table.contains("libc6") && table.contains("base:bookworm") && table.contains("team"))
    }

    @Test func nothingIsReportedFromABundleWhoseSignatureOrBytesDoNotHold() async throws {
        let world = try AuditWorld()
        let bundle = try await weekOne(world)
        let stranger = try KeyFiles.generate(prefix: world.dir.path + "/keys/stranger")
        let untrusted = TrustPolicy(keys: [TrustPolicy.Key(publicKey: stranger, name: "stranger", channels: [])], threshold: 1)
        let refused = try #require(throws: CheckFailure.self) { try AuditReader.bundle([bundle], shownAs: bundle, policy: untrusted) }
        #expect(refused.code == BundleErrorCode.unknownSigner.code && refused.status == .checkFailed)

        // One byte of the wheel's data changed inside the tar: the hash check stops the audit.
        var bytes = try FileSystem.readFile(bundle, limit: 1 << 30)
        let wheel = try Store.hashFile(world.dir.path + "/wheels/alpha-1.0-py3-none-any.whl").0
        let member = Array(("blobs/sha256/" + wheel.hex).utf8)
        let header = try #require(
            stride(from: 0, to: bytes.count - 512, by: 512).first { bytes[$0...].starts(with: member) }, "the wheel's tar header"
        )
        bytes[header + 512 + 10] ^= 0x20
        let tampered = try world.dir.file("tampered.airlock", bytes)
        let failed = try #require(throws: CheckFailure.self) { try AuditReader.bundle([tampered], shownAs: tampered, policy: world.policy) }
        #expect(failed.code == BundleErrorCode.hashMismatch.code)
    }

    @Test func theDiffOfTwoWeeksNamesWhatWasAddedRemovedAndChangedWithBothVersions() async throws {
        let world = try AuditWorld()
        let first = try AuditReader.bundle([try await weekOne(world)], shownAs: "week1", policy: world.policy)
        let beta = try world.wheel("beta", "2.1", [])
        let delta = try world.wheel("delta", "0.1", ["License: BSD"])
        let secondPath = try await world.seal("week2.airlock", wheels: [beta, delta], sequence: 2, appBytes: "app, rebuilt")
        let second = try AuditReader.bundle([secondPath], shownAs: secondPath, policy: world.policy)

        let diff = AuditDiff(from: first, to: second)
        #expect(diff.added.map(\.name) == ["delta"] && diff.added.first?.versions == ["0.1"])
        #expect(diff.removed.map(\.name) == ["alpha"])
        #expect(diff.changed.map { [$0.ecosystem, $0.kind, $0.name, $0.from.joined(), $0.to.joined()] } == [["pypi", "wheel", "beta", "2.0", "2.1"]])
        #expect(diff.artifacts.map(\.name) == ["app"], "the app's bytes changed; the image's did not")
        #expect(diff.signersAdded.isEmpty && diff.signersRemoved.isEmpty && diff.channel == nil)
        #expect(AuditDiff(from: second, to: second).isEmpty)
        let text = AuditTable.lines(diff, against: first).joined(separator: "\n")
        #expect(text.contains("+ delta 0.1") && text.contains("- alpha 1.0") && text.contains("~ beta 2.0 -> 2.1"))
    }

    @Test func aStoreThatImportedTheBundleAuditsToTheSamePackages() async throws {
        let world = try AuditWorld()
        let bundle = try await weekOne(world)
        let inside = try Store.open(at: world.dir.path + "/inside")
        try inside.index.addTrustedKey(
            TrustedKey(keyID: world.publicKey.keyID, name: "team", publicKey: String(decoding: try world.publicKey.pem(), as: UTF8.self), channels: [])
        )
        _ = try Importer.importBundle(bundle, into: inside, options: ImportOptions())
        let fromBundle = try AuditReader.bundle([bundle], shownAs: bundle, policy: world.policy)
        let fromStore = try AuditReader.store(inside)
        #expect(fromStore.packages == fromBundle.packages)
        #expect(fromStore.artifacts.map(\.name) == fromBundle.artifacts.map(\.name))
        #expect(fromStore.subject.imports?.map(\.sequence) == [1] && fromStore.subject.signers.map(\.name) == ["team"])
        #expect(AuditDiff(from: fromBundle, to: fromStore).isEmpty)
    }

    @Test(arguments: SBOMFormat.allCases)
    func theSBOMIsValidAgainstTheOfficialToolsAndTheSameBundleGivesTheSameBytes(_ format: SBOMFormat) async throws {
        let world = try AuditWorld()
        let bundle = try await weekOne(world)
        let inventory = try AuditReader.bundle([bundle], shownAs: bundle, policy: world.policy)
        let bytes = try SBOM.document(inventory, format: format, tool: "airlock 0.1.0")
        let again = try SBOM.document(try AuditReader.bundle([bundle], shownAs: bundle, policy: world.policy), format: format, tool: "airlock 0.1.0")
        #expect(bytes == again)
        let path = try world.dir.file("sbom.json", bytes)
        let script = try world.dir.file("validate.py", Array(Self.validator.utf8))

        guard FileSystem.exists(pyTools + "/cyclonedx/__init__.py"), FileSystem.exists(pyTools + "/spdx_tools/spdx/__init__.py") else {
            Issue.record("cyclonedx-python-lib and spdx-tools are not installed in \(pyTools): run scripts/py-tools.sh (make test-deps does)")
            return
        }
        var environment = ChildProcess.inheritedEnvironment()
        environment["PYTHONPATH"] = pyTools
        let (status, output) = try await shell("python3 validate.py \(format.rawValue) sbom.json", in: world.dir.path, environment: environment)
        #expect(status == 0, "\(output)")
        // What the validators read back: every package, with the purls and relations written.
        switch format {
        case .cyclonedx:
            #expect(output.contains("valid CycloneDX 1.6: 6 components"), "2 artifacts, 2 wheels, 2 Debian packages: \(output)")
            #expect(output.contains("pkg:pypi/alpha@1.0 -> pkg:pypi/beta@2.0"), "\(output)")
        case .spdx:
            #expect(output.contains("valid SPDX 2.3: 6 packages"), "\(output)")
            #expect(output.contains("alpha DEPENDS_ON beta") && output.contains("MIT"), "\(output)")
        }
        // Feeding the validator something wrong fails it: it is not a rubber stamp.
        var broken = try #require(try JSONValue(parsing: bytes).objectValue)
        if format == .cyclonedx {
            var components = try #require(broken["components"]?.arrayValue)
            var first = try #require(components.first?.objectValue)
            first["type"] = .string("spaceship")
            components[0] = .object(first)
            broken["components"] = .array(components)
        } else {
            broken["spdxVersion"] = .string("SPDX-0.9")
        }
        _ = try world.dir.file("broken.json", JSONValue.object(broken).canonicalBytes)
        let (brokenStatus, brokenOutput) = try await shell("python3 validate.py \(format.rawValue) broken.json", in: world.dir.path, environment: environment)
        #expect(brokenStatus != 0, "\(brokenOutput)")
    }

    /// Validates an SBOM with the official libraries and prints what it read back.
    static let validator = """
        import json, sys
        kind, path = sys.argv[1], sys.argv[2]
        text = open(path).read()
        if kind == "cyclonedx":
            from cyclonedx.schema import SchemaVersion
            from cyclonedx.validation.json import JsonStrictValidator
            errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
            if errors:
                print("invalid:", errors)
                sys.exit(1)
            doc = json.loads(text)
            purls = {c["bom-ref"]: c.get("purl", c["bom-ref"]) for c in doc["components"]}
            print("valid CycloneDX 1.6: %d components" % len(doc["components"]))
            for d in doc["dependencies"]:
                for o in d.get("dependsOn", []):
                    print(purls.get(d["ref"], d["ref"]), "->", purls.get(o, o))
        else:
            from spdx_tools.spdx.parser.parse_anything import parse_file
            from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
            doc = parse_file(path)
            messages = validate_full_spdx_document(doc)
            if messages:
                for m in messages:
                    print("invalid:", m.validation_message)
                sys.exit(1)
            names = {p.spdx_id: p.name for p in doc.packages}
            print("valid SPDX 2.3: %d packages" % len(doc.packages))
            for p in doc.packages:
                print(p.name, p.license_declared)
            for r in doc.relationships:
                print(names.get(r.spdx_element_id, r.spdx_element_id), r.relationship_type.name, names.get(r.related_spdx_element_id, r.related_spdx_element_id))
        """
}
