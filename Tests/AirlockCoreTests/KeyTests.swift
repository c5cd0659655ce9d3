import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct KeyTests {
    @Test func generatedKeyFilesHaveTheRightModesAndOpenSSLKeyID() async throws {
        let dir = try TemporaryDirectory()
        let key = try KeyFiles.generate(prefix: dir.path + "/keys/alice")
        #expect(try FileSystem.mode(of: dir.path + "/keys/alice.key") == 0o600)
        let pem = String(decoding: try FileSystem.readFile(dir.path + "/keys/alice.key"), as: UTF8.self)
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let pub = String(decoding: try FileSystem.readFile(dir.path + "/keys/alice.pub"), as: UTF8.self)
        #expect(pub.hasPrefix("-----BEGIN PUBLIC KEY-----"))
        #expect(key.der.count == 44)
        let (status, out) = try await shell("openssl pkey -pubin -in keys/alice.pub -outform DER | sha256sum", in: dir.path)
        #expect(status == 0)
        #expect(out.hasPrefix(key.keyID + " "))
    }

    @Test func anExistingKeyIsNeverOverwritten() throws {
        let dir = try TemporaryDirectory()
        _ = try KeyFiles.generate(prefix: dir.path + "/k")
        let before = try FileSystem.readFile(dir.path + "/k.key")
        let error = #expect(throws: UsageError.self) { try KeyFiles.generate(prefix: dir.path + "/k") }
        #expect(error?.code == CoreErrorCode.keyExists.code)
        #expect(try FileSystem.readFile(dir.path + "/k.key") == before)
    }

    @Test func aKeyReadableByOthersIsRefusedWithTheFix() throws {
        let dir = try TemporaryDirectory()
        _ = try KeyFiles.generate(prefix: dir.path + "/k")
        chmod(dir.path + "/k.key", 0o640)
        let error = #expect(throws: UsageError.self) { try KeyFiles.loadPrivateKey(dir.path + "/k.key") }
        #expect(error?.code == CoreErrorCode.keyPermissions.code)
        #expect(error?.status == .badInput)
        #expect(error?.description.contains("\(dir.path)/k.key") == true, "the message names the key file")
    }

    @Test func signaturesVerifyAndMatchStockOpenSSL() async throws {
        let dir = try TemporaryDirectory()
        let pub = try KeyFiles.generate(prefix: dir.path + "/k")
        let key = try KeyFiles.loadPrivateKey(dir.path + "/k.key")
        let message = Array("{\"schema\":1}".utf8)
        let signature = try key.signature(for: message)
        #expect(signature.count == 64)
        #expect(pub.isValidSignature(signature, for: message))
        #expect(!pub.isValidSignature(signature, for: message + [0]))
        _ = try dir.file("m.json", message)
        _ = try dir.file("m.sig", signature)
        let (status, _) = try await shell("openssl pkeyutl -verify -pubin -inkey k.pub -rawin -in m.json -sigfile m.sig", in: dir.path)
        #expect(status == 0)
        // And OpenSSL's own signature is the same bytes (Ed25519 is deterministic).
        let (signStatus, _) = try await shell("openssl pkeyutl -sign -inkey k.key -rawin -in m.json -out o.sig", in: dir.path)
        #expect(signStatus == 0)
        #expect(try FileSystem.readFile(dir.path + "/o.sig") == signature)
    }

    @Test func garbageIsNotAKey() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.file("bad.pub", Array("not a key".utf8))
        let error = #expect(throws: CryptoError.self) { try KeyFiles.loadPublicKey(path) }
        #expect(error?.code == CoreErrorCode.badKey.code)
    }
}
