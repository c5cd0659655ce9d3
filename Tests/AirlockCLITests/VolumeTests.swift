import Foundation
import Testing

/// Bundles cut into NAME.001, NAME.002, ... for media that carry them across the gap.
@Suite struct VolumeTests {
    private func contents(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    private func volumes(in directory: String, base: String) -> [String] {
        listing(directory).filter { name in
            guard name.hasPrefix(base + "."), name.count == base.count + 4 else { return false }
            return name.suffix(3).allSatisfy(\.isNumber)
        }
    }

    @Test(
        "seal --max-volume-size cuts the same bytes a single-file seal writes, in capped volumes",
        .timeLimit(.minutes(5))
    )
    func volumesConcatenateToSingleFileSeal() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try Fixture.write(dir.file("input.bin"), count: 300 * 1024, seed: 5)
        try dir.directory("vol")
        try dir.directory("single")
        // Same name (VERIFY.md names the bundle), same epoch, sequence, channel and key: same bytes.
        let env = ["SOURCE_DATE_EPOCH": Fixture.recentEpoch]
        let common = ["--key", key.key, "--sequence", "1", "--expires", "30d", "--store", "outside", "input.bin"]
        let split = try await CLI.run(
            ["seal", "--out", "vol/app.airlock", "--max-volume-size", "64KiB"] + common,
            in: dir.path,
            environment: env
        )
        try #require(split.status == 0, "\(split)")
        let single = try await CLI.run(["seal", "--out", "single/app.airlock"] + common, in: dir.path, environment: env)
        try #require(single.status == 0, "\(single)")

        let names = volumes(in: dir.file("vol"), base: "app.airlock")
        #expect(names.count >= 5, "\(names)")
        #expect(names == (1...names.count).map { String(format: "app.airlock.%03d", $0) }, "\(names)")
        #expect(split.stdoutLines == names.map { "vol/" + $0 }, "\(split)")
        #expect(listing(dir.file("vol")) == names, "stray files beside the volumes: \(listing(dir.file("vol")))")
        var joined = Data()
        for (i, name) in names.enumerated() {
            let volume = try contents(dir.file("vol/" + name))
            #expect(volume.count <= 65_536, "\(name): \(volume.count) bytes")
            if i < names.count - 1 { #expect(volume.count == 65_536, "\(name) is not full") }
            joined.append(volume)
        }
        let whole = try contents(dir.file("single/app.airlock"))
        #expect(joined == whole, "the volumes (\(joined.count) bytes) are not the single bundle (\(whole.count) bytes)")

        // Stock tools read the joined set too.
        let cat = try await Shell.run("cat vol/app.airlock.0* | cmp - single/app.airlock", in: dir.path)
        #expect(cat.status == 0, "\(cat)")

        // Any volume names the whole set.
        for named in ["vol/app.airlock.002", "vol/app.airlock.001", "vol/app.airlock"] {
            let verify = try await CLI.run(["verify", named, "--trust", key.pub], in: dir.path)
            #expect(verify.status == 0, "\(named): \(verify)")
        }
    }

    @Test("verify of a volume set without its last volume exits 1")
    func missingLastVolumeFailsVerify() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        // 300 KiB of blob: the last 64 KiB volume holds the blob's tail, not just tar padding.
        try Fixture.write(dir.file("input.bin"), count: 300 * 1024, seed: 6)
        let seal = try await CLI.run(
            [
                "seal", "--out", "app.airlock", "--max-volume-size", "64KiB", "--key", key.key, "--store", "s",
                "input.bin",
            ],
            in: dir.path
        )
        try #require(seal.status == 0, "\(seal)")
        let names = volumes(in: dir.path, base: "app.airlock")
        try #require(names.count >= 2, "\(names)")
        let last = try #require(names.last)
        let lastSize = try contents(dir.file(last)).count
        // The tar ends with two 512-byte zero records; a last volume bigger than that cuts into the blob.
        try #require(lastSize > 1024, "last volume has only \(lastSize) bytes; pick another input size")

        try FileManager.default.removeItem(atPath: dir.file(last))
        let verify = try await CLI.run(["verify", "app.airlock.001", "--trust", key.pub], in: dir.path)
        #expect(verify.status == 1, "\(verify)")
        #expect(verify.stderrLines.contains { $0.hasPrefix("airlock: ") }, "\(verify)")
        #expect(hasNoStackTrace(verify))

        let trust = try await CLI.run(["trust", "add", key.pub, "--store", "inside"], in: dir.path)
        try #require(trust.status == 0)
        let imported = try await CLI.run(["import", "app.airlock.001", "--store", "inside"], in: dir.path)
        #expect(imported.status == 1, "\(imported)")
        #expect(listing(dir.file("inside/blobs/sha256")).isEmpty)
    }

    @Test("verify of a volume set with a middle volume missing exits with a failure, never 0")
    func missingMiddleVolumeFailsVerify() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try Fixture.write(dir.file("input.bin"), count: 200 * 1024, seed: 8)
        let seal = try await CLI.run(
            [
                "seal", "--out", "app.airlock", "--max-volume-size", "64KiB", "--key", key.key, "--store", "s",
                "input.bin",
            ],
            in: dir.path
        )
        try #require(seal.status == 0, "\(seal)")
        try FileManager.default.removeItem(atPath: dir.file("app.airlock.002"))
        let verify = try await CLI.run(["verify", "app.airlock.001", "--trust", key.pub], in: dir.path)
        #expect(verify.status != 0, "\(verify)")
        let named = try await CLI.run(["verify", "app.airlock.003", "--trust", key.pub], in: dir.path)
        #expect(named.status != 0, "\(named)")
    }

    @Test("airlock split cuts an existing bundle into capped volumes that concatenate back to it")
    func splitConcatenatesToOriginal() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try Fixture.write(dir.file("input.bin"), count: 250_000, seed: 9)
        let seal = try await CLI.run(
            ["seal", "--out", "app.airlock", "--key", key.key, "--store", "s", "input.bin"],
            in: dir.path
        )
        try #require(seal.status == 0, "\(seal)")
        let original = try contents(dir.file("app.airlock"))

        let split = try await CLI.run(["split", "app.airlock", "--max-volume-size", "100KB"], in: dir.path)
        try #require(split.status == 0, "\(split)")
        let names = volumes(in: dir.path, base: "app.airlock")
        #expect(names.count == (original.count + 99_999) / 100_000, "\(names) for \(original.count) bytes")
        #expect(split.stdoutLines == names, "\(split)")
        var joined = Data()
        for name in names {
            let volume = try contents(dir.file(name))
            #expect(volume.count <= 100_000, "\(name): \(volume.count) bytes")
            joined.append(volume)
        }
        #expect(joined == original)
        #expect(try contents(dir.file("app.airlock")) == original, "split changed the bundle it read")

        // The set verifies on its own once the single file is gone.
        try FileManager.default.removeItem(atPath: dir.file("app.airlock"))
        let verify = try await CLI.run(["verify", "app.airlock.002", "--trust", key.pub], in: dir.path)
        #expect(verify.status == 0, "\(verify)")

        let missing = try await CLI.run(["split", "nothing.airlock", "--max-volume-size", "1MiB"], in: dir.path)
        #expect(missing.status == 2, "\(missing)")
    }
}
