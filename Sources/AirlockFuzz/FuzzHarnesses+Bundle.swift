// The bundle harness: BundleScanner over a tar or tar.zst, trusting one fixed key, so that a
// signature can pass only for a corpus bundle sealed with it (`make fuzz-corpus`) and the scan
// reaches SHA256SUMS and the blobs instead of stopping at the signature.

import AirlockBundle
import AirlockCore
import Foundation

extension FuzzHarnesses {
    /// The fuzz signing key: Ed25519 from a fixed seed (PKCS#8 is a fixed prefix and the seed),
    /// so the corpus writer and the harness agree without a key file in the repository. A test key,
    /// trusted by nothing but this harness.
    package static func signingKeyPEM() -> [UInt8] {
        let prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        let seed = SHA256Hasher.hash(Array("airlock fuzz key, trusted by the fuzz harness only".utf8)).bytes
        let body = Data(prefix + seed).base64EncodedString()
        return Array("-----BEGIN PRIVATE KEY-----\n\(body)\n-----END PRIVATE KEY-----\n".utf8)
    }

    static let trustPolicy: TrustPolicy? = {
        guard let key = try? Ed25519PrivateKey(pem: signingKeyPEM(), source: "fuzz key"), let publicKey = try? key.publicKey
        else { return nil }
        return TrustPolicy(keys: [TrustPolicy.Key(publicKey: publicKey, name: "fuzz", channels: [])], threshold: 1)
    }()

    /// The time the scan believes it is; corpus bundles are sealed valid at it.
    package static let scanTime: Int64 = 1_790_000_000

    /// A bundle (tar, or tar.zst by its magic), verified: signatures, SHA256SUMS, every blob.
    public static func bundle(_ bytes: [UInt8]) {
        guard let policy = trustPolicy else { violated("bundle", "the fuzz key does not load") }
        FuzzScratch.withFile(bytes, named: "input.airlock") { path, _ in
            let options = ScanOptions(policy: policy, now: scanTime, allowExpired: false, strict: false)
            _ = try? BundleScanner(paths: [path], options: options).scan()
        }
    }
}
