import Foundation
import Testing

/// An auditor with no Airlock checks a bundle with tar, openssl and sha256sum (README, VERIFY.md).
@Suite struct StockToolTests {
    @Test("a sealed bundle verifies with stock tar, openssl pkeyutl and sha256sum -c")
    func bundleVerifiesWithStockTools() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try dir.directory("dist/sub")
        try Fixture.write(dir.file("dist/app.zip"), count: 150_000, seed: 1)
        try Fixture.write(dir.file("dist/sub/lib.so"), count: 3_000, seed: 2)
        try Data().write(to: URL(fileURLWithPath: dir.file("dist/empty.txt")))
        let seal = try await CLI.run(
            ["seal", "--out", "app.airlock", "--key", key.key, "--store", "outside", "--expires", "30d", "dist"],
            in: dir.path
        )
        try #require(seal.status == 0, "\(seal)")

        let check = try dir.directory("check")
        let untar = try await Shell.run("tar -xf ../app.airlock", in: check)
        try #require(untar.status == 0, "\(untar)")
        #expect(FileManager.default.fileExists(atPath: check + "/VERIFY.md"))

        let listing = try await Shell.run("tar -tf app.airlock", in: dir.path)
        #expect(listing.stdoutLines.first == "manifest.json", "manifest.json must be the first member: \(listing)")
        #expect(listing.stdoutLines.dropFirst().first == "signatures/\(key.id).sig", "\(listing)")

        let signature = try await Shell.run(
            "openssl pkeyutl -verify -pubin -inkey '\(key.pub)' -rawin -in manifest.json -sigfile signatures/\(key.id).sig",
            in: check
        )
        #expect(signature.status == 0, "\(signature)")
        #expect(signature.stdout.contains("Signature Verified Successfully"), "\(signature)")

        let sums = try await Shell.run("sha256sum -c SHA256SUMS", in: check)
        #expect(sums.status == 0, "\(sums)")
        // Every blob (three distinct files) plus VERIFY.md.
        #expect(sums.stdoutLines.count == 4, "\(sums)")
        #expect(sums.stdoutLines.allSatisfy { $0.hasSuffix(": OK") }, "\(sums)")

        let manifestData = try Data(contentsOf: URL(fileURLWithPath: check + "/manifest.json"))
        let manifest = try #require(try JSONSerialization.jsonObject(with: manifestData) as? [String: Any])
        let named = try #require(manifest["sha256sums"] as? String)
        #expect(try await Shell.sha256(of: check + "/SHA256SUMS") == named)

        // The artifacts' digests in the manifest are those sha256sum computes from the inputs.
        let artifacts = try #require(manifest["artifacts"] as? [[String: Any]])
        var byPath: [String: String] = [:]
        for a in artifacts { byPath[a["path"] as? String ?? "?"] = a["sha256"] as? String }
        #expect(byPath["dist/app.zip"] == (try await Shell.sha256(of: dir.file("dist/app.zip"))), "\(byPath)")
        #expect(byPath["dist/sub/lib.so"] == (try await Shell.sha256(of: dir.file("dist/sub/lib.so"))), "\(byPath)")
        #expect(byPath["dist/empty.txt"] == (try await Shell.sha256(of: dir.file("dist/empty.txt"))), "\(byPath)")
    }

    @Test("a zstd-compressed bundle verifies with airlock, imports, and unpacks with tar --zstd")
    func zstdBundleVerifiesAndUnpacks() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        // Compressible input, so the bundle is visibly smaller than what it carries.
        try Data(repeating: 0x61, count: 200_000).write(to: URL(fileURLWithPath: dir.file("a.txt")))
        let seal = try await CLI.run(
            ["seal", "--out", "b.airlock", "--compress", "zstd", "--key", key.key, "--store", "s", "a.txt"],
            in: dir.path
        )
        try #require(seal.status == 0, "\(seal)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir.file("b.airlock"))[.size] as? Int)
        #expect(size < 50_000, "a zstd bundle of 200 KB of 'a' is \(size) bytes")

        let verify = try await CLI.run(["verify", "b.airlock", "--trust", key.pub], in: dir.path)
        #expect(verify.status == 0, "\(verify)")
        let check = try dir.directory("check")
        let untar = try await Shell.run("tar --zstd -xf ../b.airlock && sha256sum -c SHA256SUMS", in: check)
        #expect(untar.status == 0, "\(untar)")
        let guide = try String(contentsOfFile: check + "/VERIFY.md", encoding: .utf8)
        #expect(guide.contains("tar --zstd -xf ../b.airlock"))
        #expect(guide.contains(key.id))

        try #require(try await CLI.run(["trust", "add", key.pub, "--store", "inside"], in: dir.path).status == 0)
        let imported = try await CLI.run(["import", "b.airlock", "--store", "inside"], in: dir.path)
        #expect(imported.status == 0, "\(imported)")
    }

    @Test("stock openssl rejects the signature once manifest.json is changed by one byte")
    func changedManifestFailsStockSignatureCheck() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try Fixture.write(dir.file("a.bin"), count: 2_000, seed: 3)
        try #require(
            try await CLI.run(["seal", "--out", "b.airlock", "--key", key.key, "--store", "s", "a.bin"], in: dir.path).status
                == 0
        )
        let check = try dir.directory("check")
        try #require(try await Shell.run("tar -xf ../b.airlock", in: check).status == 0)
        let edit = try await Shell.run(
            "sed -i 's/\"sequence\":1/\"sequence\":9/' manifest.json && grep -q '\"sequence\":9' manifest.json",
            in: check
        )
        try #require(edit.status == 0, "\(edit)")
        let signature = try await Shell.run(
            "openssl pkeyutl -verify -pubin -inkey '\(key.pub)' -rawin -in manifest.json -sigfile signatures/\(key.id).sig",
            in: check
        )
        #expect(signature.status != 0, "\(signature)")
    }
}
