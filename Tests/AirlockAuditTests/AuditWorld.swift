// A connected host in miniature for the audit tests: an outside store holding an image whose one
// layer carries a dpkg database, wheels written here with their METADATA, and a function app whose
// provenance names those wheels and that image as its inputs, sealed into bundles signed by a key
// made here. Every file lives in one temp dir, removed with the world.

import AirlockBundle
import AirlockCore
import AirlockTestSupport
import Foundation

struct AuditWorld {
    let dir: TemporaryDirectory
    let publicKey: Ed25519PublicKey
    let keyPath: String
    let store: Store
    let image: ImageRecord

    init() throws {
        dir = try TemporaryDirectory()
        publicKey = try KeyFiles.generate(prefix: dir.path + "/keys/team")
        keyPath = dir.path + "/keys/team.key"
        store = try Store.open(at: dir.path + "/outside")
        let status = """
            Package: libc6
            Status: install ok installed
            Architecture: amd64
            Version: 2.36-9+deb12u4
            Depends: libgcc-s1

            Package: libgcc-s1
            Status: install ok installed
            Architecture: amd64
            Version: 12.2.0-14

            """
        let layer = RawTar.build([
            RawMember(name: "./var/", type: UInt8(ascii: "5"), mode: 0o755),
            RawMember(name: "./var/lib/dpkg/status", data: Array(status.utf8)),
        ])
        image = try AppImageFixture.add(to: store, name: "base", tag: "bookworm", user: nil, layer: layer)
    }

    var policy: TrustPolicy { TrustPolicy(keys: [TrustPolicy.Key(publicKey: publicKey, name: "team", channels: [])], threshold: 1) }

    /// A wheel `NAME-VERSION-py3-none-any.whl` whose METADATA has `headers` after Name and Version.
    func wheel(_ name: String, _ version: String, _ headers: [String] = []) throws -> String {
        let file = "\(name)-\(version)-py3-none-any.whl"
        let path = dir.path + "/wheels/" + file
        try FileSystem.makeDirectory(dir.path + "/wheels")
        let zip = ZipWriter(output: try FileArchiveOutput(path: path), name: path, epochSeconds: 315_532_800)
        let distInfo = "\(name)-\(version).dist-info/"
        try zip.add(path: "\(name)/__init__.py", bytes: Array("VERSION = '\(version)'\n".utf8))
        let metadata = (["Metadata-Version: 2.4", "Name: \(name)", "Version: \(version)"] + headers).joined(separator: "\n") + "\n\n"
        try zip.add(path: distInfo + "METADATA", bytes: Array(metadata.utf8))
        try zip.add(path: distInfo + "WHEEL", bytes: Array("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n".utf8))
        try zip.add(path: distInfo + "RECORD", bytes: [])
        try zip.finish()
        return path
    }

    /// Seals `wheels` (as the lock's wheels), an app built from them in the world's image, and the
    /// image, into `name`.
    func seal(_ name: String, wheels: [String], sequence: Int, appBytes: String = "app") async throws -> String {
        var inputs: [BundleInput] = []
        var blobs: [BuildInputBlob] = []
        for path in wheels {
            let file = FileSystem.baseName(path)
            inputs.append(BundleInput(sourcePath: path, artifactPath: "wheels/" + file, name: file, kind: "wheel", mediaType: "application/zip"))
            blobs.append(BuildInputBlob(role: "wheel", name: file, sha256: try Store.hashFile(path).0))
        }
        let zip = try dir.file("dist/app.zip", Array(appBytes.utf8))
        let (zipDigest, zipSize) = try Store.hashFile(zip)
        let buildInputs = BuildInputs(
            kind: "python-function-app", tool: "airlock test", target: BuildTarget(language: "python", version: "3.11", platform: "linux/amd64", libc: "glibc 2.36"),
            blobs: blobs, image: BuildInputImage(reference: image.reference, manifest: image.manifest), script: "function_app.py", sourceDateEpoch: 315_532_800
        )
        let provenance = Provenance(
            kind: "python-function-app", project: "app", tool: "airlock test", inputs: buildInputs,
            output: .init(name: "app.zip", sha256: zipDigest, size: zipSize, mediaType: "application/zip"),
            functions: [AppFunction(name: "hello", trigger: "httpTrigger", route: "hello", bindings: [])]
        )
        inputs.append(BundleInput(sourcePath: zip, artifactPath: "app.zip", name: "app", kind: "function-app", mediaType: "application/zip", provenance: provenance.json))
        var carried: Set<SHA256Digest> = []
        inputs += try ImageArtifacts.inputs(image, store: store, carried: &carried)
        let out = dir.path + "/" + name
        let options = SealOptions(
            output: out, keyPaths: [keyPath], channel: "weekly", sequence: sequence, sourceDateEpoch: Timestamp.nowEpochSeconds() - 60
        )
        _ = try await Sealer.seal(inputs, options: options, store: store)
        return out
    }
}
