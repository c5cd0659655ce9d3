import AirlockCore

/// VERIFY.md: how an auditor with no Airlock checks a bundle with stock tar, openssl and sha256sum.
/// It is listed in SHA256SUMS, so the signature covers these instructions too.
enum VerifyGuide {
    static func text(
        bundleName: String, keyIDs: [String], compressed: Bool, channel: String, sequence: Int,
        release: (name: String, sha256: SHA256Digest)? = nil, attestation: (path: String, sha256: SHA256Digest)? = nil,
        delta: (relied: Int, recipes: Int)? = nil
    ) -> String {
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
        if let delta {
            lines += [
                "This bundle is a delta (manifest schema 2): it leaves out \(delta.relied) blob(s) the receiving store",
                "holds already (`\"expected\":\"store\"` in manifest.json) and carries \(delta.recipes) as a recipe",
                "(`\"recipe\":HEX`: a carried blob that says which byte ranges of other blobs make it up).",
                "SHA256SUMS lists the carried blobs only; the signed manifest names every blob by sha256, and",
                "`airlock import` re-hashes the ones in the store and what each recipe rebuilds before it commits.",
                "",
            ]
        }
        if let release {
            lines += [
                "5. This bundle carries Airlock itself (`\(release.name)`, a static binary that needs nothing on",
                "   the host). After steps 1-4, it is the blob named by its sha256; check it and take it out:",
                "",
                "       grep -o '\"sha256\":\"\(release.sha256.hex)\"' manifest.json",
                "       echo '\(release.sha256.hex)  blobs/sha256/\(release.sha256.hex)' | sha256sum -c",
                "       install -m 0755 blobs/sha256/\(release.sha256.hex) /usr/local/bin/airlock",
                "",
                "Then `airlock import` this bundle, and `airlock self verify` checks the installed binary against it.",
                "",
            ]
        }
        if let attestation, let keyID = keyIDs.first {
            lines += [
                "\(release == nil ? 5 : 6). Each built artifact's SLSA provenance is an in-toto statement in a DSSE envelope",
                "   (an artifact at `attestations/ARTIFACT.intoto.json` in manifest.json, its blob listed in",
                "   SHA256SUMS), signed by the same keys over DSSE's pre-authentication encoding:",
                "   `DSSEv1 <len(type)> <type> <len(statement)> <statement>`. To check one with stock tools,",
                "   rebuild those bytes and verify the signature over them (this one is `\(attestation.path)`):",
                "",
                "       f=blobs/sha256/\(attestation.sha256.hex)",
                "       sed -n 's/.*\"payload\":\"\\([^\"]*\\)\".*/\\1/p' \"$f\" | base64 -d > statement.json",
                "       printf 'DSSEv1 28 application/vnd.in-toto+json %s ' \"$(wc -c < statement.json)\" > pae.bin",
                "       cat statement.json >> pae.bin",
                "       sed -n 's/.*\"keyid\":\"\(keyID)\",\"sig\":\"\\([^\"]*\\)\".*/\\1/p' \"$f\" | base64 -d > sig.bin",
                "       openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in pae.bin -sigfile sig.bin",
                "",
                "`statement.json` names the artifact by path and sha256 (`subject`) and every build input by",
                "digest (`predicate.buildDefinition.resolvedDependencies`).",
                "",
            ]
        }
        return lines.joined(separator: "\n")
    }
}
