// `airlock trust rotate`, end to end through the binary: the next policy signed outside from what
// `trust ls --json` prints, applied inside only with the current threshold and the new threshold
// signing, a version above the store's and an unexpired signature; and bundles judged by the new
// policy afterwards.

import AirlockBundle
import AirlockCore
import Foundation
import Testing

@Suite struct TrustRotationTests {
    typealias Key = (key: String, pub: String, id: String)

    /// Keys named `names`, an inside store trusting the first `trusted` of them with `threshold`.
    private func world(_ dir: TempDir, keys names: [String], trusted: Int, threshold: Int) async throws -> [Key] {
        var keys: [Key] = []
        for name in names { keys.append(try await Fixture.key(dir, name: name)) }
        for key in keys.prefix(trusted) {
            let added = try await CLI.run(["trust", "add", key.pub, "--store", "inside"], in: dir.path)
            try #require(added.status == 0, "\(added)")
        }
        let set = try await CLI.run(["trust", "threshold", String(threshold), "--store", "inside"], in: dir.path)
        try #require(set.status == 0, "\(set)")
        return keys
    }

    /// `trust ls --json` of the inside store.
    private func listing(_ dir: TempDir) async throws -> [String: Any] {
        let ls = try await CLI.run(["trust", "ls", "--json", "--store", "inside"], in: dir.path)
        try #require(ls.status == 0, "\(ls)")
        return try #require(try parseJSON(ls) as? [String: Any], "\(ls)")
    }

    /// Writes NEW.json: `keys` (by their .pub), `threshold` and `version`, in `trust ls --json` shape.
    @discardableResult
    private func writePolicy(_ dir: TempDir, _ name: String, keys: [Key], threshold: Int, version: Int) throws -> String
    {
        let entries: [[String: Any]] = try keys.map { key in
            [
                "keyID": key.id, "name": FileSystem.baseName(key.pub),
                "publicKey": try String(contentsOfFile: key.pub, encoding: .utf8), "channels": [String](),
            ]
        }
        let object: [String: Any] = ["threshold": threshold, "version": version, "keys": entries]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: dir.file(name)))
        return dir.file(name)
    }

    /// `trust rotate --policy POLICY --key ... --out OUT` outside (exit 0 expected).
    private func sign(_ dir: TempDir, _ policy: String, by signers: [Key], out: String, extra: [String] = [])
        async throws -> CLIResult
    {
        let result = try await CLI.run(
            ["trust", "rotate", "--policy", policy, "--out", out] + signers.flatMap { ["--key", $0.key] } + extra,
            in: dir.path
        )
        try #require(result.status == 0, "\(result)")
        return result
    }

    private func apply(_ dir: TempDir, _ rotation: String) async throws -> CLIResult {
        try await CLI.run(["trust", "rotate", rotation, "--store", "inside", "--json"], in: dir.path)
    }

    private func seal(_ dir: TempDir, _ out: String, by signers: [Key], sequence: Int) async throws {
        if !FileManager.default.fileExists(atPath: dir.file("app.zip")) {
            try Fixture.write(dir.file("app.zip"), count: 20_000, seed: 9)
        }
        let sealed = try await CLI.run(
            [
                "seal", "--out", out, "--store", "outside", "--channel", "prod", "--sequence", String(sequence),
                "app.zip",
            ]
                + signers.flatMap { ["--key", $0.key] },
            in: dir.path
        )
        try #require(sealed.status == 0, "\(sealed)")
    }

    @Test("2 keys -> 3 keys with threshold 2: the new keys' bundles import, the removed key's are refused")
    func rotationReplacesTheTrustPolicy() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let keys = try await world(dir, keys: ["a", "b", "c", "d"], trusted: 2, threshold: 2)
        let (a, b, c, d) = (keys[0], keys[1], keys[2], keys[3])
        let before = try await listing(dir)
        #expect(before["version"] as? Int == 0)

        // NEW.json is `trust ls --json` edited: b goes, c and d come, version 1.
        var edited = before
        var entries = try #require(before["keys"] as? [[String: Any]])
        entries.removeAll { $0["keyID"] as? String == b.id }
        for key in [c, d] {
            entries.append([
                "keyID": key.id, "name": key.id == c.id ? "carol" : "dave",
                "publicKey": try String(contentsOfFile: key.pub, encoding: .utf8), "channels": ["prod"],
            ])
        }
        edited["keys"] = entries
        edited["threshold"] = 2
        edited["version"] = 1
        try JSONSerialization.data(withJSONObject: edited, options: [.prettyPrinted]).write(
            to: URL(fileURLWithPath: dir.file("next.json"))
        )

        let signed = try await sign(dir, "next.json", by: [a, b, c], out: "v1.rotation")
        #expect(signed.stdoutLines == ["v1.rotation"], "\(signed)")
        #expect(!signed.stderr.contains("warning"), "\(signed)")

        let applied = try await apply(dir, "v1.rotation")
        try #require(applied.status == 0, "\(applied)")
        let outcome = try #require(try parseJSON(applied) as? [String: Any])
        #expect(outcome["previousVersion"] as? Int == 0 && outcome["version"] as? Int == 1)
        #expect(Set(outcome["added"] as? [String] ?? []) == [c.id, d.id])
        #expect(outcome["removed"] as? [String] == [b.id])

        let after = try await listing(dir)
        #expect(after["version"] as? Int == 1)
        #expect(after["threshold"] as? Int == 2)
        let trusted = try #require(after["keys"] as? [[String: Any]])
        #expect(Set(trusted.compactMap { $0["keyID"] as? String }) == [a.id, c.id, d.id])
        #expect(trusted.first { $0["keyID"] as? String == c.id }?["channels"] as? [String] == ["prod"])
        #expect(trusted.first { $0["keyID"] as? String == c.id }?["name"] as? String == "carol")
        let text = try await CLI.run(["trust", "ls", "--store", "inside"], in: dir.path)
        #expect(text.stdoutLines.first == "version: 1", "\(text)")

        // A bundle signed by the two new keys verifies and imports; one by the removed key does not.
        try await seal(dir, "new.airlock", by: [c, d], sequence: 1)
        let verified = try await CLI.run(["verify", "new.airlock", "--store", "inside"], in: dir.path)
        #expect(verified.status == 0, "\(verified)")
        let imported = try await CLI.run(["import", "new.airlock", "--store", "inside"], in: dir.path)
        #expect(imported.status == 0, "\(imported)")

        try await seal(dir, "old.airlock", by: [b], sequence: 2)
        let refused = try await CLI.run(["import", "old.airlock", "--store", "inside", "--json"], in: dir.path)
        #expect(refused.status == 1, "\(refused)")
        #expect(errorCode(refused) == BundleErrorCode.unknownSigner.code.rawValue, "\(refused)")
        #expect(hasNoStackTrace(refused))
    }

    @Test("a rotation signed by fewer than the store's current threshold is refused with 1 and changes nothing")
    func belowTheCurrentThresholdIsRefused() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let keys = try await world(dir, keys: ["a", "b", "c"], trusted: 2, threshold: 2)
        try writePolicy(dir, "next.json", keys: [keys[0], keys[2]], threshold: 1, version: 1)
        _ = try await sign(dir, "next.json", by: [keys[0], keys[2]], out: "r.rotation")
        let before = try await listing(dir)

        let refused = try await apply(dir, "r.rotation")
        #expect(refused.status == 1, "\(refused)")
        #expect(errorCode(refused) == BundleErrorCode.rotationThreshold.code.rawValue, "\(refused)")
        #expect(refused.stderr.contains("r.rotation") && refused.stderr.contains("current threshold, 2"), "\(refused)")
        #expect(hasNoStackTrace(refused))
        let after = try await listing(dir)
        #expect(after["version"] as? Int == 0)
        #expect((after["keys"] as? [[String: Any]])?.count == (before["keys"] as? [[String: Any]])?.count)
    }

    @Test("a rotation the new keys did not sign to their threshold is refused: they must prove possession")
    func theNewKeysMustSignToo() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let keys = try await world(dir, keys: ["a", "c", "d"], trusted: 1, threshold: 1)
        let (a, c, d) = (keys[0], keys[1], keys[2])

        // Only the current key signs a policy of c alone: c never proved it is held.
        try writePolicy(dir, "only-c.json", keys: [c], threshold: 1, version: 1)
        let signed = try await sign(dir, "only-c.json", by: [a], out: "only-c.rotation")
        #expect(signed.stderr.contains("warning: only 0 of the new policy's keys signed"), "\(signed)")
        let refused = try await apply(dir, "only-c.rotation")
        #expect(refused.status == 1, "\(refused)")
        #expect(errorCode(refused) == BundleErrorCode.rotationThreshold.code.rawValue, "\(refused)")
        #expect(refused.stderr.contains("new policy"), "\(refused)")

        // a, c, d with threshold 2, signed by a alone: one of the new policy's keys, not two.
        try writePolicy(dir, "three.json", keys: [a, c, d], threshold: 2, version: 1)
        _ = try await sign(dir, "three.json", by: [a], out: "three.rotation")
        let alsoRefused = try await apply(dir, "three.rotation")
        #expect(alsoRefused.status == 1, "\(alsoRefused)")
        #expect(errorCode(alsoRefused) == BundleErrorCode.rotationThreshold.code.rawValue, "\(alsoRefused)")

        // Signed by a and c it passes.
        try FileManager.default.removeItem(atPath: dir.file("three.rotation"))
        _ = try await sign(dir, "three.json", by: [a, c], out: "three.rotation")
        let accepted = try await apply(dir, "three.rotation")
        #expect(accepted.status == 0, "\(accepted)")
    }

    @Test("an expired rotation is refused with 1; signing one already expired needs --allow-expired")
    func anExpiredRotationIsRefused() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let keys = try await world(dir, keys: ["a"], trusted: 1, threshold: 1)
        try writePolicy(dir, "next.json", keys: keys, threshold: 1, version: 1)

        let past = try await CLI.run(
            [
                "trust", "rotate", "--policy", "next.json", "--key", keys[0].key, "--expires", "2020-01-01T00:00:00Z",
                "--out", "r.rotation", "--json",
            ],
            in: dir.path
        )
        #expect(past.status == 2, "\(past)")
        #expect(errorCode(past) == BundleErrorCode.badExpiry.code.rawValue, "\(past)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("r.rotation")))

        _ = try await sign(
            dir,
            "next.json",
            by: keys,
            out: "r.rotation",
            extra: ["--expires", "2020-01-01T00:00:00Z", "--allow-expired"]
        )
        let refused = try await apply(dir, "r.rotation")
        #expect(refused.status == 1, "\(refused)")
        #expect(errorCode(refused) == BundleErrorCode.rotationExpired.code.rawValue, "\(refused)")
        #expect(refused.stderr.contains("2020-01-01T00:00:00Z"), "\(refused)")
        #expect(try await listing(dir)["version"] as? Int == 0)
    }

    @Test("applying a rotation twice, or an older version after a newer one, is refused as a rollback")
    func replayAndRollbackAreRefused() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let keys = try await world(dir, keys: ["a", "b"], trusted: 1, threshold: 1)
        try writePolicy(dir, "v1.json", keys: keys, threshold: 1, version: 1)
        try writePolicy(dir, "v2.json", keys: keys, threshold: 2, version: 2)
        _ = try await sign(dir, "v1.json", by: keys, out: "v1.rotation")
        _ = try await sign(dir, "v2.json", by: keys, out: "v2.rotation")

        try #require(try await apply(dir, "v1.rotation").status == 0)
        let replay = try await apply(dir, "v1.rotation")
        #expect(replay.status == 1, "\(replay)")
        #expect(errorCode(replay) == BundleErrorCode.rotationRollback.code.rawValue, "\(replay)")
        #expect(replay.stderr.contains("version 1 is not above"), "\(replay)")

        try #require(try await apply(dir, "v2.rotation").status == 0)
        let rollback = try await apply(dir, "v1.rotation")
        #expect(rollback.status == 1, "\(rollback)")
        #expect(errorCode(rollback) == BundleErrorCode.rotationRollback.code.rawValue, "\(rollback)")
        let after = try await listing(dir)
        #expect(after["version"] as? Int == 2 && after["threshold"] as? Int == 2, "\(after)")
    }

    @Test("a rotation whose signed policy was changed after signing is refused: no signature holds")
    func aTamperedRotationIsRefused() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let keys = try await world(dir, keys: ["a", "evil"], trusted: 1, threshold: 1)
        try writePolicy(dir, "v1.json", keys: [keys[0]], threshold: 1, version: 1)
        _ = try await sign(dir, "v1.json", by: [keys[0]], out: "v1.rotation")
        try writePolicy(dir, "evil.json", keys: [keys[1]], threshold: 1, version: 1)
        _ = try await sign(dir, "evil.json", by: [keys[1]], out: "evil.rotation")

        // evil's payload under a's signatures.
        let good = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("v1.rotation"))))
                as? [String: Any]
        )
        let evil = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("evil.rotation"))))
                as? [String: Any]
        )
        var forged = good
        forged["payload"] = evil["payload"]
        try JSONSerialization.data(withJSONObject: forged, options: [.sortedKeys]).write(
            to: URL(fileURLWithPath: dir.file("forged.rotation"))
        )

        let refused = try await apply(dir, "forged.rotation")
        #expect(refused.status == 1, "\(refused)")
        #expect(errorCode(refused) == BundleErrorCode.rotationThreshold.code.rawValue, "\(refused)")
        let garbage = try await CLI.run(["trust", "rotate", "next.json", "--store", "inside", "--json"], in: dir.path)
        #expect(garbage.status == 2, "\(garbage)")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir.file("empty.rotation")))
        let notOne = try await apply(dir, "empty.rotation")
        #expect(notOne.status == 2, "\(notOne)")
        #expect(errorCode(notOne) == BundleErrorCode.badRotation.code.rawValue, "\(notOne)")
        #expect(try await listing(dir)["version"] as? Int == 0)
    }

    /// Ways NEW.json can be wrong; each is refused with 2 and bundle.bad-policy before anything is signed.
    enum BadPolicy: String, CaseIterable, Sendable {
        case notJSON, noVersion, versionNotAnInteger, versionZero, thresholdZero, thresholdAboveKeys, keyIDMismatch
        case badChannel, unknownField, duplicateKey, noKeys, rsaKey

        func text(pem: String, id: String, rsaPEM: String) -> String {
            func key(_ fields: String = "") -> String {
                "{\"keyID\": \"\(id)\", \"publicKey\": \(quoted(pem))\(fields)}"
            }
            switch self {
            case .notJSON: return "threshold: 1"
            case .noVersion: return "{\"threshold\": 1, \"keys\": [\(key())]}"
            case .versionNotAnInteger: return "{\"version\": 1.5, \"threshold\": 1, \"keys\": [\(key())]}"
            case .versionZero: return "{\"version\": 0, \"threshold\": 1, \"keys\": [\(key())]}"
            case .thresholdZero: return "{\"version\": 1, \"threshold\": 0, \"keys\": [\(key())]}"
            case .thresholdAboveKeys: return "{\"version\": 1, \"threshold\": 2, \"keys\": [\(key())]}"
            case .keyIDMismatch:
                return
                    "{\"version\": 1, \"threshold\": 1, \"keys\": [{\"keyID\": \"\(String(repeating: "0", count: 64))\", \"publicKey\": \(quoted(pem))}]}"
            case .badChannel:
                return "{\"version\": 1, \"threshold\": 1, \"keys\": [\(key(", \"channels\": [\"-bad\"]"))]}"
            case .unknownField: return "{\"version\": 1, \"treshold\": 1, \"keys\": [\(key())]}"
            case .duplicateKey: return "{\"version\": 1, \"threshold\": 1, \"keys\": [\(key()), \(key())]}"
            case .noKeys: return "{\"version\": 1, \"threshold\": 1, \"keys\": []}"
            case .rsaKey: return "{\"version\": 1, \"threshold\": 1, \"keys\": [{\"publicKey\": \(quoted(rsaPEM))}]}"
            }
        }

        private func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\n", with: "\\n") + "\""
        }
    }

    @Test("a bad NEW.json is refused with 2 and bundle.bad-policy, naming the file", arguments: BadPolicy.allCases)
    func aBadPolicyIsRefused(_ bad: BadPolicy) async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir, name: "a")
        let rsa = try await Shell.run(
            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key 2>/dev/null && openssl pkey -in rsa.key -pubout",
            in: dir.path
        )
        try #require(rsa.status == 0, "\(rsa)")
        let pem = try String(contentsOfFile: key.pub, encoding: .utf8)
        try Data(bad.text(pem: pem, id: key.id, rsaPEM: rsa.stdout).utf8).write(
            to: URL(fileURLWithPath: dir.file("next.json"))
        )

        let result = try await CLI.run(
            ["trust", "rotate", "--policy", "next.json", "--key", key.key, "--out", "r.rotation", "--json"],
            in: dir.path
        )
        #expect(result.status == 2, "\(result)")
        #expect(errorCode(result) == BundleErrorCode.badPolicy.code.rawValue, "\(result)")
        #expect(result.stderr.contains("next.json"), "\(result)")
        #expect(hasNoStackTrace(result))
        #expect(!FileManager.default.fileExists(atPath: dir.file("r.rotation")))
        if bad == .rsaKey { #expect(result.stderr.contains("RSA"), "\(result)") }
    }

    @Test("rotate with an encrypted signing key reads its passphrase from --passphrase-file")
    func signingWithAnEncryptedKey() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try Data("rotate me\n".utf8).write(to: URL(fileURLWithPath: dir.file("pass")))
        let generated = try await CLI.run(
            ["key", "generate", "--out", "keys/a", "--passphrase-file", "pass"],
            in: dir.path
        )
        try #require(generated.status == 0, "\(generated)")
        let a: Key = (dir.file("keys/a.key"), dir.file("keys/a.pub"), try #require(generated.stdoutLines.last))
        try #require(try await CLI.run(["trust", "add", a.pub, "--store", "inside"], in: dir.path).status == 0)
        try writePolicy(dir, "next.json", keys: [a], threshold: 1, version: 3)
        _ = try await sign(dir, "next.json", by: [a], out: "r.rotation", extra: ["--passphrase-file", "pass"])
        let applied = try await apply(dir, "r.rotation")
        #expect(applied.status == 0, "\(applied)")
        #expect(try await listing(dir)["version"] as? Int == 3)
    }
}
