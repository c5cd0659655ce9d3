/// VERIFY.md: how an auditor with no Airlock checks a bundle with stock tar, openssl and sha256sum.
/// It is listed in SHA256SUMS, so the signature covers these instructions too.
enum VerifyGuide {
    static func text(bundleName: String, keyIDs: [String], compressed: Bool, channel: String, sequence: Int) -> String {
        let extract = compressed ? "tar --zstd -xf ../\(bundleName)" : "tar -xf ../\(bundleName)"
        var lines: [String] = [
            "# Verifying this bundle without Airlock",
            "",
            "Channel `\(channel)`, sequence \(sequence). Signed by these Ed25519 keys (key id = sha256 of the",
            "DER SubjectPublicKeyInfo):",
            "",
        ]
        lines += keyIDs.map { "- `\($0)`" }
        lines += [
            "",
            "1. Unpack into an empty directory (a volume set first: `cat \(bundleName).0* > \(bundleName)`):",
            "",
            "       mkdir check && cd check && \(extract)",
            "",
            "2. Check that your copy of each public key is the one named above:",
            "",
            "       openssl pkey -pubin -in KEY.pub -outform DER | sha256sum",
            "",
            "3. Check each signature over the exact bytes of manifest.json (OpenSSL 3 needs -rawin):",
            "",
        ]
        lines += keyIDs.map {
            "       openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in manifest.json -sigfile signatures/\($0).sig"
        }
        lines += [
            "",
            "4. Check that SHA256SUMS is the one the signed manifest names, then every file it lists",
            "   (the blobs and this VERIFY.md):",
            "",
            "       grep -o '\"sha256sums\":\"[0-9a-f]*\"' manifest.json",
            "       sha256sum SHA256SUMS",
            "       sha256sum -c SHA256SUMS",
            "",
            "The two hashes printed in step 4 must be equal, and every line of `sha256sum -c` must say OK.",
            "Check `expires` in manifest.json too: an expired bundle should not be imported.",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}
