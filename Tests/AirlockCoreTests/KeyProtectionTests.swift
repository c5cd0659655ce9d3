// Keys at rest: encrypted PKCS#8 private keys that stock openssl reads and writes (passphrase from a
// file's first line, as `-passin file:` takes it), loose file modes refused, and keys that are not
// Ed25519 refused by type, private and public alike. The openssl binary is the independent side.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct KeyProtectionTests {
    @Test func anEncryptedKeyIsPBES2WithAES256AndOpenSSLReadsItWithTheSamePassphraseFile() async throws {
        let dir = try TemporaryDirectory()
        let pass = try dir.file("pass", "correct horse battery staple\nnot this line\n")
        let pub = try KeyFiles.generate(prefix: dir.path + "/k", passphrase: .file(pass))
        #expect(try FileSystem.mode(of: dir.path + "/k.key") == 0o600)
        let pem = String(decoding: try FileSystem.readFile(dir.path + "/k.key"), as: UTF8.self)
        #expect(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        #expect(!pem.contains("BEGIN PRIVATE KEY"))

        let (status, out) = try await shell(
            "openssl pkey -in k.key -passin file:pass -pubout | cmp - k.pub",
            in: dir.path
        )
        #expect(status == 0, "\(out)")
        let (parsed, structure) = try await shell("openssl asn1parse -in k.key", in: dir.path)
        #expect(parsed == 0)
        for part in ["PBES2", "PBKDF2", "hmacWithSHA256", "aes-256-cbc"] {
            #expect(structure.contains(part), "\(structure)")
        }
        let (wrong, _) = try await shell("openssl pkey -in k.key -passin pass:nope -noout", in: dir.path)
        #expect(wrong != 0, "openssl opened the key with the wrong passphrase")

        let key = try KeyFiles.loadPrivateKey(dir.path + "/k.key", passphrase: .file(pass))
        let message = Array("rotation".utf8)
        #expect(pub.isValidSignature(try key.signature(for: message), for: message))
    }

    @Test func aKeyEncryptedByOpenSSLGenpkeyLoadsWithTheFirstLineOfTheFile() async throws {
        let dir = try TemporaryDirectory()
        // openssl keeps a carriage return (it cuts at the newline only); so does Airlock.
        let pass = try dir.file("pass", "s3cret with spaces\r\nsecond line\n")
        let (status, out) = try await shell(
            "openssl genpkey -algorithm ed25519 -aes256 -pass file:pass -out k.key && openssl pkey -in k.key -passin file:pass -pubout -out k.pub",
            in: dir.path
        )
        try #require(status == 0, "\(out)")
        let key = try KeyFiles.loadPrivateKey(dir.path + "/k.key", passphrase: .file(pass))
        let pub = try KeyFiles.loadPublicKey(dir.path + "/k.pub")
        #expect(try key.publicKey.keyID == pub.keyID)

        let withoutCR = try dir.file("pass2", "s3cret with spaces\n")
        let error = #expect(throws: CryptoError.self) {
            try KeyFiles.loadPrivateKey(dir.path + "/k.key", passphrase: .file(withoutCR))
        }
        #expect(error?.code == CoreErrorCode.badPassphrase.code)
    }

    @Test func aWrongPassphraseIsBadInputNamingTheKeyFile() throws {
        let dir = try TemporaryDirectory()
        let pass = try dir.file("pass", "right\n")
        let wrong = try dir.file("wrong", "wrong\n")
        _ = try KeyFiles.generate(prefix: dir.path + "/k", passphrase: .file(pass))
        let error = #expect(throws: CryptoError.self) {
            try KeyFiles.loadPrivateKey(dir.path + "/k.key", passphrase: .file(wrong))
        }
        #expect(error?.code == CoreErrorCode.badPassphrase.code)
        #expect(error?.status == .badInput)
        #expect(error?.description.contains(dir.path + "/k.key") == true, "\(String(describing: error))")
        #expect(error?.description.contains("wrong passphrase") == true)
    }

    @Test(arguments: ["", "\n", "\nsecond line\n"])
    func anEmptyPassphraseFileIsRefusedAndNothingIsWritten(_ content: String) throws {
        let dir = try TemporaryDirectory()
        let pass = try dir.file("pass", content)
        let error = #expect(throws: UsageError.self) {
            try KeyFiles.generate(prefix: dir.path + "/k", passphrase: .file(pass))
        }
        #expect(error?.code == CoreErrorCode.noPassphrase.code)
        #expect(error?.description.contains(pass) == true)
        #expect(!FileSystem.exists(dir.path + "/k.key") && !FileSystem.exists(dir.path + "/k.pub"))
    }

    @Test func aMissingPassphraseFileIsNamed() throws {
        let dir = try TemporaryDirectory()
        let pass = try dir.file("pass", "right\n")
        _ = try KeyFiles.generate(prefix: dir.path + "/k", passphrase: .file(pass))
        let error = #expect(throws: UsageError.self) {
            try KeyFiles.loadPrivateKey(dir.path + "/k.key", passphrase: .file(dir.path + "/missing"))
        }
        #expect(error?.code == CoreErrorCode.noSuchFile.code)
        #expect(error?.description.contains("passphrase file") == true)
    }

    @Test func aPlainKeyNeverReadsThePassphraseFile() throws {
        let dir = try TemporaryDirectory()
        _ = try KeyFiles.generate(prefix: dir.path + "/k")
        _ = try KeyFiles.loadPrivateKey(dir.path + "/k.key", passphrase: .file(dir.path + "/missing"))
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660, 0o700])
    func aPrivateKeyOthersCanReachIsRefusedEncryptedOrNot(_ mode: Int) throws {
        let dir = try TemporaryDirectory()
        let pass = try dir.file("pass", "right\n")
        _ = try KeyFiles.generate(prefix: dir.path + "/plain")
        _ = try KeyFiles.generate(prefix: dir.path + "/enc", passphrase: .file(pass))
        for name in ["plain", "enc"] {
            let path = dir.path + "/\(name).key"
            chmod(path, mode_t(mode))
            if mode & 0o077 == 0 {
                _ = try KeyFiles.loadPrivateKey(path, passphrase: .file(pass))
                continue
            }
            let error = #expect(throws: UsageError.self) { try KeyFiles.loadPrivateKey(path, passphrase: .file(pass)) }
            #expect(error?.code == CoreErrorCode.keyPermissions.code)
            #expect(error?.description.contains("chmod 600 \(path)") == true, "\(String(describing: error))")
            #expect(
                error?.description.contains("mode 0" + String(mode, radix: 8)) == true,
                "\(String(describing: error))"
            )
        }
    }

    @Test(arguments: [
        ("RSA", "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.key"),
        ("EC", "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.key"),
        ("ED448", "openssl genpkey -algorithm ed448 -out k.key"),
    ])
    func aKeyThatIsNotEd25519IsRefusedByType(_ type: String, _ command: String) async throws {
        let dir = try TemporaryDirectory()
        let (status, out) = try await shell(
            command + " && chmod 600 k.key && openssl pkey -in k.key -pubout -out k.pub",
            in: dir.path
        )
        try #require(status == 0, "\(out)")
        let privateError = #expect(throws: CryptoError.self) { try KeyFiles.loadPrivateKey(dir.path + "/k.key") }
        #expect(privateError?.code == CoreErrorCode.badKey.code)
        #expect(privateError?.status == .badInput)
        let privateText = privateError?.description ?? ""
        #expect(
            privateText.contains(dir.path + "/k.key") && privateText.contains(type)
                && privateText.contains("not Ed25519"),
            "\(privateText)"
        )

        let publicError = #expect(throws: CryptoError.self) { try KeyFiles.loadPublicKey(dir.path + "/k.pub") }
        #expect(publicError?.code == CoreErrorCode.badKey.code)
        let publicText = publicError?.description ?? ""
        #expect(
            publicText.contains(dir.path + "/k.pub") && publicText.contains(type) && publicText.contains("not Ed25519"),
            "\(publicText)"
        )
    }

    @Test func aPrivateKeyGivenAsAPublicOneIsToldSo() throws {
        let dir = try TemporaryDirectory()
        _ = try KeyFiles.generate(prefix: dir.path + "/k")
        let error = #expect(throws: CryptoError.self) { try KeyFiles.loadPublicKey(dir.path + "/k.key") }
        #expect(error?.description.contains("a private key, not a public key") == true, "\(String(describing: error))")
    }
}
