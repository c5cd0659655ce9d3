import AirlockCore
import Foundation
import Testing

@Suite struct KeyTests {
    @Test("key generate writes a 0600 private key and a public key whose id is the sha256 of its DER SPKI")
    func generateWritesKeyPairAndPrintsOpenSSLKeyID() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let result = try await CLI.run(["key", "generate", "--out", "keys/team"], in: dir.path)
        try #require(result.status == 0, "\(result)")
        let printed = try #require(result.stdoutLines.last)
        #expect(printed.count == 64 && printed.allSatisfy(\.isHexDigit), "key id '\(printed)'")

        let keyAttributes = try FileManager.default.attributesOfItem(atPath: dir.file("keys/team.key"))
        let mode = try #require(keyAttributes[.posixPermissions] as? Int)
        #expect(mode & 0o777 == 0o600, "mode \(String(mode, radix: 8))")
        let pub = try String(contentsOfFile: dir.file("keys/team.pub"), encoding: .utf8)
        #expect(pub.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        let key = try String(contentsOfFile: dir.file("keys/team.key"), encoding: .utf8)
        #expect(key.hasPrefix("-----BEGIN PRIVATE KEY-----"))

        let openssl = try await Shell.run("openssl pkey -pubin -in keys/team.pub -outform DER | sha256sum", in: dir.path)
        try #require(openssl.status == 0, "\(openssl)")
        #expect(openssl.stdout.split(separator: " ").first.map(String.init) == printed)

        // The private key is a plain PKCS#8 Ed25519 key that stock OpenSSL reads back to the same public key.
        let derived = try await Shell.run("openssl pkey -in keys/team.key -pubout | cmp - keys/team.pub", in: dir.path)
        #expect(derived.status == 0, "\(derived)")
    }

    @Test("key generate refuses to overwrite an existing key and exits 2")
    func generateOverExistingKeyExitsTwo() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try #require(try await CLI.run(["key", "generate", "--out", "team"], in: dir.path).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.file("team.key")))
        let again = try await CLI.run(["key", "generate", "--out", "team", "--json"], in: dir.path)
        #expect(again.status == 2, "\(again)")
        #expect(errorCode(again) == CoreErrorCode.keyExists.code.rawValue, "\(again)")
        #expect(again.stderr.contains("team.key"), "the message names the key file: \(again)")
        let after = try Data(contentsOf: URL(fileURLWithPath: dir.file("team.key")))
        #expect(before == after, "the existing key was changed")
    }

    @Test("seal with a group-readable key exits 2 with core.key-permissions, naming the key")
    func sealWithLooseKeyPermissionsExitsTwo() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key.key)
        try Fixture.write(dir.file("a.bin"), count: 1000, seed: 1)
        let result = try await CLI.run(
            ["seal", "--out", "b.airlock", "--key", key.key, "--store", "s", "--json", "a.bin"],
            in: dir.path
        )
        #expect(result.status == 2, "\(result)")
        #expect(errorCode(result) == CoreErrorCode.keyPermissions.code.rawValue, "\(result)")
        let line = try #require(result.stderrLines.first { $0.hasPrefix("airlock: ") }, "\(result)")
        #expect(line.contains(key.key))
        #expect(!FileManager.default.fileExists(atPath: dir.file("b.airlock")))

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key.key)
        let fixed = try await CLI.run(
            ["seal", "--out", "b.airlock", "--key", key.key, "--store", "s", "a.bin"],
            in: dir.path
        )
        #expect(fixed.status == 0, "\(fixed)")
    }
}
