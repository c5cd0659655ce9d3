// The signed SLSA provenance a seal writes for each built artifact: an in-toto Statement v1 in a
// DSSE envelope, checked here by an independent implementation (securesystemslib's DSSE verifier,
// pinned in scripts/py-tools.sh) and by the stock-tool commands VERIFY.md prints (sed, base64,
// printf and openssl over the pre-authentication encoding), run as an auditor would run them.

import AirlockBundle
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

private let pyTools: String = {
    var path = #filePath
    for _ in 0..<3 { path = FileSystem.parentPath(path) }
    return path + "/.build/py-tools"
}()

@Suite(.timeLimit(.minutes(10))) struct AttestationTests {
    /// A bundle of app.zip, built (says its provenance) from dep.whl in an image, and dep.whl.
    func sealedApp(_ f: Fixture) async throws -> (bundle: String, app: SHA256Digest, dep: SHA256Digest) {
        let dep = SHA256Hasher.hash(Array("the wheel".utf8))
        let app = SHA256Hasher.hash(Array("the app".utf8))
        let image = SHA256Hasher.hash(Array("the image".utf8))
        let inputs = BuildInputs(
            kind: "python-function-app", tool: "airlock 0.1.0", target: BuildTarget(language: "python", version: "3.11", platform: "linux/amd64"),
            blobs: [BuildInputBlob(role: "wheel", name: "dep-1.0-py3-none-any.whl", sha256: dep)],
            files: [BuildInputFile(path: "function_app.py", executable: false, sha256: SHA256Hasher.hash(Array("app".utf8)))],
            image: BuildInputImage(reference: "base:1", manifest: image), sourceDateEpoch: 315_532_800
        )
        let provenance = Provenance(kind: "python-function-app", project: "app", tool: "airlock 0.1.0", inputs: inputs, output: .init(name: "app.zip", sha256: app, size: 7))
        let bundle = try await f.seal(provenance: ["app.zip": provenance.json, "dep.whl": .object(["yanked": .string("")])])
        return (bundle, app, dep)
    }

    @Test func eachBuiltArtifactGetsASignedStatementThatSecuresystemslibAndStockOpenSSLVerify() async throws {
        let f = try Fixture(files: [("app.zip", Array("the app".utf8)), ("dep.whl", Array("the wheel".utf8))])
        let (bundle, app, dep) = try await sealedApp(f)
        #expect(try f.verify(bundle).isValid)
        let (status, output) = try await shell("mkdir check && cd check && tar -xf \(bundle)", in: f.dir.path)
        try #require(status == 0, "\(output)")
        let manifest = try Manifest(canonicalBytes: try FileSystem.readFile(f.dir.path + "/check/manifest.json"))
        let attestations = manifest.artifacts.filter { $0.kind == Sealer.attestationKind }
        #expect(attestations.map(\.path) == ["attestations/app.zip.intoto.json"], "one, for the artifact with build inputs only")
        let attestation = try #require(attestations.first)
        #expect(attestation.mediaType == DSSE.envelopeMediaType)

        // An independent verifier: securesystemslib's DSSE envelope against the raw Ed25519 key.
        guard FileSystem.exists(pyTools + "/securesystemslib/dsse.py") else {
            Issue.record("securesystemslib is not installed in \(pyTools): run scripts/py-tools.sh (make test-deps does)")
            return
        }
        let script = """
            import json, sys
            from securesystemslib.dsse import Envelope
            from securesystemslib.signer import SSlibKey
            keyid, public, path = sys.argv[1], sys.argv[2], sys.argv[3]
            key = SSlibKey(keyid, "ed25519", "ed25519", {"public": public})
            envelope = Envelope.from_dict(json.load(open(path)))
            envelope.verify([key], 1)
            statement = json.loads(envelope.payload)
            build = statement["predicate"]["buildDefinition"]
            print(statement["_type"], statement["predicateType"], envelope.payload_type)
            print("subject", statement["subject"][0]["name"], statement["subject"][0]["digest"]["sha256"])
            print("kind", build["externalParameters"]["inputs"]["kind"], build["buildType"])
            for d in build["resolvedDependencies"]:
                print("dependency", d["name"], d["digest"]["sha256"])
            print("builder", statement["predicate"]["runDetails"]["builder"]["id"])
            """
        _ = try f.dir.file("dsse.py", Array(script.utf8))
        let publicHex = try await shell(
            "openssl pkey -pubin -in keys/alice.pub -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \\n'", in: f.dir.path
        ).1
        var environment = ChildProcess.inheritedEnvironment()
        environment["PYTHONPATH"] = pyTools
        let keyID = f.publicKey.keyID
        let envelopePath = "check/blobs/sha256/" + attestation.sha256.hex
        let (verified, said) = try await shell("python3 dsse.py \(keyID) \(publicHex) \(envelopePath)", in: f.dir.path, environment: environment)
        #expect(verified == 0, "\(said)")
        #expect(said.contains("https://in-toto.io/Statement/v1 https://slsa.dev/provenance/v1 application/vnd.in-toto+json"), "\(said)")
        #expect(said.contains("subject app.zip \(app.hex)") && said.contains("dependency dep-1.0-py3-none-any.whl \(dep.hex)"), "\(said)")
        #expect(said.contains("kind python-function-app urn:airlock:buildtype:python-function-app:v1") && said.contains("builder urn:airlock:builder:airlock@0.1.0"), "\(said)")

        // The same envelope with one byte of its statement changed no longer verifies.
        var envelope = try #require(try JSONValue(parsing: try FileSystem.readFile(f.dir.path + "/" + envelopePath)).objectValue)
        let payload = try #require(Data(base64Encoded: envelope["payload"]?.stringValue ?? ""))
        var changed = Array(payload)
        changed[changed.count / 2] ^= 0x01
        envelope["payload"] = .string(Data(changed).base64EncodedString())
        _ = try f.dir.file("changed.json", JSONValue.object(envelope).canonicalBytes)
        let (refused, refusal) = try await shell("python3 dsse.py \(keyID) \(publicHex) changed.json", in: f.dir.path, environment: environment)
        #expect(refused != 0 && refusal.contains("VerificationError"), "\(refusal)")

        // The stock-tool check, exactly as VERIFY.md prints it, with the public key filled in.
        let guide = String(decoding: try FileSystem.readFile(f.dir.path + "/check/VERIFY.md"), as: UTF8.self)
        let lines = guide.split(separator: "\n", omittingEmptySubsequences: false)
        let start = try #require(lines.firstIndex { $0.hasPrefix("       f=blobs/sha256/") }, "\(guide)")
        let commands = lines[start...].prefix { $0.hasPrefix("       ") }.map { $0.dropFirst(7).replacingOccurrences(of: "KEY.pub", with: "../keys/alice.pub") }
        let (stock, stockSaid) = try await shell("set -e; " + commands.joined(separator: "\n"), in: f.dir.path + "/check")
        #expect(stock == 0 && stockSaid.contains("Signature Verified Successfully"), "\(commands)\n\(stockSaid)")
    }
}
