import AirlockBundle
import AirlockCore
import Foundation
import Testing

/// The operator's side: trust a key, import a bundle, read the history, export an artifact.
@Suite struct ImportTests {
    /// A key, an `app.zip` input and a bundle sealed from it in a separate outside store.
    private struct Sealed {
        var dir: TempDir
        var key: (key: String, pub: String, id: String)
        var input: Data
        var seal: [String: Any]
    }

    private func sealApp(
        _ dir: TempDir,
        channel: String = "prod",
        sequence: Int = 5,
        expires: String = "30d",
        environment: [String: String] = [:],
        extra: [String] = []
    ) async throws -> Sealed {
        let key = try await Fixture.key(dir)
        let input = try Fixture.write(dir.file("app.zip"), count: 120_000, seed: 77)
        let seal = try await CLI.run(
            [
                "seal", "--out", "app.airlock", "--key", key.key, "--store", "outside", "--channel", channel,
                "--sequence",
                String(sequence), "--expires", expires, "--json", "app.zip",
            ] + extra,
            in: dir.path,
            environment: environment
        )
        try #require(seal.status == 0, "\(seal)")
        let result = try #require(try parseJSON(seal) as? [String: Any], "\(seal)")
        return Sealed(dir: dir, key: key, input: input, seal: result)
    }

    private func trust(_ sealed: Sealed, store: String = "inside") async throws {
        let trust = try await CLI.run(["trust", "add", sealed.key.pub, "--store", store], in: sealed.dir.path)
        try #require(trust.status == 0, "\(trust)")
        #expect(trust.stdoutLines == [sealed.key.id], "\(trust)")
    }

    @Test("import records one history entry with bundle, channel, sequence, manifest sha256 and signers")
    func importRecordsHistory() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sealed = try await sealApp(dir)
        try await trust(sealed)
        let imported = try await CLI.run(["import", "app.airlock", "--store", "inside"], in: dir.path)
        try #require(imported.status == 0, "\(imported)")

        let history = try await CLI.run(["history", "--json", "--store", "inside"], in: dir.path)
        try #require(history.status == 0, "\(history)")
        let records = try #require(try parseJSON(history) as? [[String: Any]], "\(history)")
        try #require(records.count == 1, "\(history)")
        let record = records[0]
        let bundleID = try #require(sealed.seal["bundle"] as? String)
        #expect(record["bundle"] as? String == bundleID)
        #expect(record["channel"] as? String == "prod")
        #expect(record["sequence"] as? Int == 5)
        #expect(record["signers"] as? [String] == [sealed.key.id])

        // manifestSHA256 is the sha256 of manifest.json exactly as it sits in the bundle.
        let manifest = try await Shell.run("tar -xOf app.airlock manifest.json | sha256sum", in: dir.path)
        let manifestDigest = try #require(manifest.stdout.split(separator: " ").first.map(String.init))
        #expect(record["manifestSHA256"] as? String == manifestDigest)
        #expect(sealed.seal["manifestSHA256"] as? String == manifestDigest)
    }

    @Test("importing the same bundle again is refused as a rollback (1) unless --allow-rollback")
    func reimportIsRollback() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sealed = try await sealApp(dir)
        try await trust(sealed)
        try #require(try await CLI.run(["import", "app.airlock", "--store", "inside"], in: dir.path).status == 0)

        let again = try await CLI.run(["import", "app.airlock", "--store", "inside", "--json"], in: dir.path)
        #expect(again.status == 1, "\(again)")
        #expect(errorCode(again) == BundleErrorCode.rollback.code.rawValue, "\(again)")
        #expect(hasNoStackTrace(again))
        #expect(listing(dir.file("inside/tmp")).isEmpty)

        let allowed = try await CLI.run(["import", "app.airlock", "--allow-rollback", "--store", "inside"], in: dir.path)
        #expect(allowed.status == 0, "\(allowed)")
        let history = try await CLI.run(["history", "--json", "--store", "inside"], in: dir.path)
        let records = try #require(try parseJSON(history) as? [[String: Any]], "\(history)")
        #expect(records.count == 2)

        // An older sequence on the same channel is a rollback too; a newer one is not.
        let older = try await CLI.run(
            [
                "seal", "--out", "older.airlock", "--key", sealed.key.key, "--store", "outside", "--channel", "prod",
                "--sequence", "4", "app.zip",
            ],
            in: dir.path
        )
        try #require(older.status == 0, "\(older)")
        let refused = try await CLI.run(["import", "older.airlock", "--store", "inside", "--json"], in: dir.path)
        #expect(refused.status == 1, "\(refused)")
        #expect(errorCode(refused) == BundleErrorCode.rollback.code.rawValue, "\(refused)")
        let newer = try await CLI.run(
            [
                "seal", "--out", "newer.airlock", "--key", sealed.key.key, "--store", "outside", "--channel", "prod",
                "--sequence", "6", "app.zip",
            ],
            in: dir.path
        )
        try #require(newer.status == 0, "\(newer)")
        let accepted = try await CLI.run(["import", "newer.airlock", "--store", "inside"], in: dir.path)
        #expect(accepted.status == 0, "\(accepted)")
    }

    @Test("a bundle from an untrusted key is refused with 1 and nothing is imported")
    func untrustedBundleIsRefused() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sealed = try await sealApp(dir)
        let other = try await Fixture.key(dir, name: "other")
        try #require(try await CLI.run(["trust", "add", other.pub, "--store", "inside"], in: dir.path).status == 0)
        let imported = try await CLI.run(["import", "app.airlock", "--store", "inside", "--json"], in: dir.path)
        #expect(imported.status == 1, "\(imported)")
        #expect(errorCode(imported) == BundleErrorCode.unknownSigner.code.rawValue, "\(imported)")
        #expect(listing(dir.file("inside/blobs/sha256")).isEmpty)
        let history = try await CLI.run(["history", "--json", "--store", "inside"], in: dir.path)
        #expect((try parseJSON(history) as? [Any])?.isEmpty == true, "\(history)")
        _ = sealed
    }

    @Test("export writes the imported artifact under its file name, byte-identical to the input")
    func exportIsByteIdentical() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sealed = try await sealApp(dir)
        try await trust(sealed)
        try #require(try await CLI.run(["import", "app.airlock", "--store", "inside"], in: dir.path).status == 0)
        let export = try await CLI.run(["export", "app.zip", "--out", "out", "--store", "inside"], in: dir.path)
        #expect(export.status == 0, "\(export)")
        #expect(export.stdoutLines == ["out/app.zip"], "\(export)")
        let exported = try Data(contentsOf: URL(fileURLWithPath: dir.file("out/app.zip")))
        #expect(exported == sealed.input)

        let unknown = try await CLI.run(
            ["export", "nothing.zip", "--out", "out", "--store", "inside", "--json"],
            in: dir.path
        )
        #expect(unknown.status == 2, "\(unknown)")
        #expect(errorCode(unknown) == CoreErrorCode.notInStore.code.rawValue, "\(unknown)")
    }

    @Test("an expired bundle is refused with 1 and bundle.expired, and imports with --allow-expired")
    func expiredBundleIsRefused() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let dayAgo = String(Int(Date().timeIntervalSince1970) - 86_400)
        // seal itself refuses a bundle that is born expired, unless told that is the point.
        let early = try await Fixture.key(dir, name: "early")
        _ = try Fixture.write(dir.file("early.zip"), count: 1000, seed: 7)
        let born = try await CLI.run(
            ["seal", "--out", "app.airlock", "--key", early.key, "--store", "outside", "--expires", "1s", "--json", "early.zip"],
            in: dir.path, environment: ["SOURCE_DATE_EPOCH": dayAgo]
        )
        #expect(born.status == 2, "\(born)")
        #expect(errorCode(born) == BundleErrorCode.badExpiry.code.rawValue, "\(born)")
        #expect(born.stderr.contains("SOURCE_DATE_EPOCH=\(dayAgo)"), "\(born)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("app.airlock")))

        let sealed = try await sealApp(dir, sequence: 1, expires: "1s", environment: ["SOURCE_DATE_EPOCH": dayAgo], extra: ["--allow-expired"])
        try await trust(sealed)

        let verify = try await CLI.run(["verify", "app.airlock", "--trust", sealed.key.pub, "--json"], in: dir.path)
        #expect(verify.status == 1, "\(verify)")
        #expect(errorCode(verify) == BundleErrorCode.expired.code.rawValue, "\(verify)")

        let refused = try await CLI.run(["import", "app.airlock", "--store", "inside", "--json"], in: dir.path)
        #expect(refused.status == 1, "\(refused)")
        #expect(errorCode(refused) == BundleErrorCode.expired.code.rawValue, "\(refused)")
        #expect(listing(dir.file("inside/blobs/sha256")).isEmpty)

        let accepted = try await CLI.run(["import", "app.airlock", "--allow-expired", "--store", "inside"], in: dir.path)
        #expect(accepted.status == 0, "\(accepted)")
        let history = try await CLI.run(["history", "--json", "--store", "inside"], in: dir.path)
        let records = try #require(try parseJSON(history) as? [[String: Any]], "\(history)")
        #expect(records.count == 1)
    }

    @Test("a key trusted only for another channel cannot sign this one")
    func channelRestrictedKeyIsRefused() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let sealed = try await sealApp(dir, channel: "prod")
        let trust = try await CLI.run(
            ["trust", "add", sealed.key.pub, "--channels", "staging", "--store", "inside"],
            in: dir.path
        )
        try #require(trust.status == 0, "\(trust)")
        let refused = try await CLI.run(["import", "app.airlock", "--store", "inside", "--json"], in: dir.path)
        #expect(refused.status == 1, "\(refused)")
        #expect(errorCode(refused) == BundleErrorCode.channelNotAllowed.code.rawValue, "\(refused)")
    }
}
