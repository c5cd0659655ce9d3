// Keys on shared machines, through the binary: `key generate --passphrase-file` writes a key stock
// openssl opens, `seal --passphrase-file` signs with it (and with one `openssl genpkey -aes256`
// made), a wrong or missing passphrase is exit 2 naming the key, an encrypted key with no passphrase
// file and no terminal is exit 2 at once (never a wait), and keys that are not Ed25519 are refused
// by type wherever a key is read.

import AirlockCore
import Foundation
import Testing

@Suite struct KeyProtectionTests {
    private func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    private func seal(_ dir: TempDir, key: String, _ extra: [String] = []) async throws -> CLIResult {
        if !FileManager.default.fileExists(atPath: dir.file("a.bin")) {
            try Fixture.write(dir.file("a.bin"), count: 5000, seed: 3)
        }
        return try await CLI.run(
            ["seal", "--out", "b.airlock", "--key", key, "--store", "s", "--json", "a.bin"] + extra,
            in: dir.path
        )
    }

    @Test("key generate --passphrase-file writes an encrypted 0600 key that openssl opens and seal signs with")
    func encryptedKeyGenerateAndSeal() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try write("team passphrase\n", to: dir.file("pass"))
        let generated = try await CLI.run(
            ["key", "generate", "--out", "keys/team", "--passphrase-file", "pass", "--json"],
            in: dir.path
        )
        try #require(generated.status == 0, "\(generated)")
        let report = try #require(try parseJSON(generated) as? [String: Any])
        #expect(report["encrypted"] as? Bool == true)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("keys/team.key"))
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600)
        let pem = try String(contentsOfFile: dir.file("keys/team.key"), encoding: .utf8)
        #expect(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))

        let openssl = try await Shell.run(
            "openssl pkey -in keys/team.key -passin file:pass -pubout | cmp - keys/team.pub",
            in: dir.path
        )
        #expect(openssl.status == 0, "\(openssl)")

        let sealed = try await seal(dir, key: "keys/team.key", ["--passphrase-file", "pass"])
        try #require(sealed.status == 0, "\(sealed)")
        let verified = try await CLI.run(["verify", "--trust", "keys/team.pub", "b.airlock"], in: dir.path)
        #expect(verified.status == 0, "\(verified)")
    }

    @Test("seal signs with a key openssl genpkey -aes256 encrypted, its passphrase the file's first line")
    func sealWithAnOpenSSLEncryptedKey() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try write("from openssl\nignored\n", to: dir.file("pass"))
        let made = try await Shell.run(
            "openssl genpkey -algorithm ed25519 -aes256 -pass file:pass -out k.key && openssl pkey -in k.key -passin file:pass -pubout -out k.pub",
            in: dir.path
        )
        try #require(made.status == 0, "\(made)")
        let sealed = try await seal(dir, key: "k.key", ["--passphrase-file", "pass"])
        try #require(sealed.status == 0, "\(sealed)")
        let verified = try await CLI.run(["verify", "--trust", "k.pub", "b.airlock"], in: dir.path)
        #expect(verified.status == 0, "\(verified)")
        // The auditor's check with stock openssl holds too.
        let audit = try await Shell.run(
            "mkdir x && tar -xf b.airlock -C x && openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in x/manifest.json -sigfile x/signatures/*.sig",
            in: dir.path
        )
        #expect(audit.status == 0, "\(audit)")
    }

    @Test("a wrong passphrase exits 2 with core.bad-passphrase naming the key; no bundle is written")
    func wrongPassphraseExitsTwo() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try write("right\n", to: dir.file("pass"))
        try write("wrong\n", to: dir.file("wrong"))
        try #require(
            try await CLI.run(["key", "generate", "--out", "k", "--passphrase-file", "pass"], in: dir.path).status == 0
        )
        let result = try await seal(dir, key: "k.key", ["--passphrase-file", "wrong"])
        #expect(result.status == 2, "\(result)")
        #expect(errorCode(result) == CoreErrorCode.badPassphrase.code.rawValue, "\(result)")
        #expect(result.stderr.contains("k.key") && result.stderr.contains("wrong passphrase"), "\(result)")
        #expect(hasNoStackTrace(result))
        #expect(!FileManager.default.fileExists(atPath: dir.file("b.airlock")))

        try write("", to: dir.file("empty"))
        let empty = try await seal(dir, key: "k.key", ["--passphrase-file", "empty"])
        #expect(empty.status == 2, "\(empty)")
        #expect(errorCode(empty) == CoreErrorCode.noPassphrase.code.rawValue, "\(empty)")
        #expect(empty.stderr.contains("empty"), "\(empty)")
    }

    @Test("an encrypted key with no --passphrase-file and no terminal exits 2 at once, saying what to pass")
    func noTerminalAndNoPassphraseFileExitsTwo() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try write("right\n", to: dir.file("pass"))
        try #require(
            try await CLI.run(["key", "generate", "--out", "k", "--passphrase-file", "pass"], in: dir.path).status == 0
        )
        try Fixture.write(dir.file("a.bin"), count: 5000, seed: 3)
        // setsid: a new session, so no controlling terminal; standard input is /dev/null. A command
        // that waited for a passphrase would never end: `wait` kills it at its bound and throws.
        // (No wall-clock bound of its own: under a loaded `make test` a 0.3 s command took 21 s.)
        let result = try await CLI.start(
            executable: "/usr/bin/setsid",
            ["-w", CLI.binary, "seal", "--out", "b.airlock", "--key", "k.key", "--store", "s", "--json", "a.bin"],
            in: dir.path
        ).wait(timeout: 90)
        #expect(result.status == 2, "\(result)")
        #expect(errorCode(result) == CoreErrorCode.noPassphrase.code.rawValue, "\(result)")
        #expect(result.stderr.contains("k.key") && result.stderr.contains("--passphrase-file"), "\(result)")

        let generate = try await CLI.start(
            executable: "/usr/bin/setsid",
            ["-w", CLI.binary, "key", "generate", "--out", "n", "--encrypt"],
            in: dir.path
        ).wait(timeout: 90)
        #expect(generate.status == 2, "\(generate)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("n.key")))
    }

    @Test(
        "with a terminal and no --passphrase-file, the passphrase is asked on /dev/tty: twice for a new key, once to seal"
    )
    func thePassphraseIsAskedOnTheTerminal() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            Issue.record("script(1) from util-linux is needed to give the command a terminal")
            return
        }
        let dir = try TempDir()
        defer { dir.remove() }
        // script(1) runs the command on a new pseudo-terminal and types what it reads on its standard input.
        func onTerminal(_ command: String, typing: String) async throws -> CLIResult {
            try await CLI.start(
                executable: "/usr/bin/script",
                ["-qec", "'\(CLI.binary)' " + command, "/dev/null"],
                in: dir.path,
                stdin: .bytes(Array(typing.utf8))
            ).wait(timeout: 30)
        }
        let generated = try await onTerminal("key generate --out k --encrypt", typing: "typed secret\ntyped secret\n")
        try #require(generated.status == 0, "\(generated)")
        #expect(generated.stdout.contains("Enter a passphrase for the new key k.key: "), "\(generated)")
        let opened = try await Shell.run(
            "openssl pkey -in k.key -passin 'pass:typed secret' -pubout | cmp - k.pub",
            in: dir.path
        )
        #expect(opened.status == 0, "\(opened)")

        let mismatch = try await onTerminal("key generate --out m --encrypt", typing: "one\ntwo\n")
        #expect(mismatch.status == 2, "\(mismatch)")
        #expect(mismatch.stdout.contains("differ"), "\(mismatch)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("m.key")))

        try Fixture.write(dir.file("a.bin"), count: 5000, seed: 3)
        let sealed = try await onTerminal("seal --out b.airlock --key k.key --store s a.bin", typing: "typed secret\n")
        #expect(sealed.status == 0, "\(sealed)")
        #expect(sealed.stdout.contains("Enter the passphrase for k.key: "), "\(sealed)")
        let verified = try await CLI.run(["verify", "--trust", "k.pub", "b.airlock"], in: dir.path)
        #expect(verified.status == 0, "\(verified)")
    }

    @Test(
        "RSA and EC keys are refused by type: seal --key, trust add and verify --trust all exit 2",
        arguments: ["RSA", "EC"]
    )
    func keysThatAreNotEd25519AreRefused(_ type: String) async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let option =
            type == "RSA"
            ? "-algorithm RSA -pkeyopt rsa_keygen_bits:2048" : "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"
        let made = try await Shell.run(
            "openssl genpkey \(option) -out k.key && chmod 600 k.key && openssl pkey -in k.key -pubout -out k.pub",
            in: dir.path
        )
        try #require(made.status == 0, "\(made)")

        let sealed = try await seal(dir, key: "k.key")
        #expect(sealed.status == 2, "\(sealed)")
        #expect(errorCode(sealed) == CoreErrorCode.badKey.code.rawValue, "\(sealed)")
        #expect(sealed.stderr.contains("k.key") && sealed.stderr.contains(type), "\(sealed)")

        let trusted = try await CLI.run(["trust", "add", "k.pub", "--store", "s", "--json"], in: dir.path)
        #expect(trusted.status == 2, "\(trusted)")
        #expect(errorCode(trusted) == CoreErrorCode.badKey.code.rawValue, "\(trusted)")
        #expect(
            trusted.stderr.contains("k.pub") && trusted.stderr.contains(type) && trusted.stderr.contains("not Ed25519"),
            "\(trusted)"
        )

        let good = try await Fixture.key(dir)
        try #require(try await seal(dir, key: good.key).status == 0)
        let verified = try await CLI.run(["verify", "--trust", "k.pub", "b.airlock", "--json"], in: dir.path)
        #expect(verified.status == 2, "\(verified)")
        #expect(errorCode(verified) == CoreErrorCode.badKey.code.rawValue, "\(verified)")
        #expect(hasNoStackTrace(verified))
    }

    @Test("key generate writes the private key 0600 even under a permissive umask")
    func generateIgnoresAPermissiveUmask() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let result = try await Shell.run("umask 000 && '\(CLI.binary)' key generate --out k", in: dir.path)
        try #require(result.status == 0, "\(result)")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("k.key"))
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o600)
    }
}
