import AirlockBundle
import AirlockCore
import Foundation
import Testing

/// Airlock's exit codes are part of its interface: 0 ok, 1 a failed check, 2 bad usage or input.
@Suite struct ExitCodeTests {
    @Test(
        "an unknown flag exits 2, not argument-parser's 64, and names the flag",
        arguments: [
            ["--frobnicate"],
            ["store", "ls", "--frobnicate"],
            ["seal", "--frobnicate", "--out", "x.airlock", "--key", "k.key", "f"],
            ["verify", "b.airlock", "--frobnicate"],
        ]
    )
    func unknownFlagExitsTwo(arguments: [String]) async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let result = try await CLI.run(arguments + ["--json"], in: dir.path)
        #expect(result.status == 2, "\(result)")
        #expect(errorCode(result) == CoreErrorCode.usage.code.rawValue, "\(result)")
        #expect(result.stderr.contains("--frobnicate"), "the message names the flag: \(result)")
        #expect(hasNoStackTrace(result), "\(result)")
    }

    @Test("--help exits 0 and prints the subcommands on standard output", arguments: [["--help"], ["seal", "--help"]])
    func helpExitsZero(arguments: [String]) async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let result = try await CLI.run(arguments, in: dir.path)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("USAGE"), "\(result)")
        if arguments == ["--help"] {
            for sub in ["seal", "verify", "import", "store", "trust", "key"] {
                #expect(result.stdout.contains(sub), "help does not mention \(sub)")
            }
        } else {
            #expect(result.stdout.contains("--max-volume-size"))
        }
    }

    @Test("seal of a missing input file exits 2 and names the file")
    func sealMissingInputExitsTwo() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        let result = try await CLI.run(
            ["seal", "--out", "out.airlock", "--key", key.key, "--store", "store", "--json", "no-such-input.txt"],
            in: dir.path
        )
        #expect(result.status == 2, "\(result)")
        #expect(errorCode(result) == CoreErrorCode.noSuchFile.code.rawValue, "\(result)")
        let line = try #require(result.stderrLines.first { $0.hasPrefix("airlock: ") }, "\(result)")
        #expect(line.contains("no-such-input.txt"))
        #expect(hasNoStackTrace(result))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.airlock")), "a failed seal left a bundle behind")
    }

    @Test("verify of a file that is not a tar exits 2, not 1")
    func verifyOfRandomBytesExitsTwo() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try Fixture.write(dir.file("noise.airlock"), count: 20_000, seed: 7)
        let result = try await CLI.run(["verify", "noise.airlock", "--trust", key.pub, "--json"], in: dir.path)
        #expect(result.status == 2, "\(result)")
        #expect(errorCode(result) == BundleErrorCode.notABundle.code.rawValue, "\(result)")
        let line = try #require(result.stderrLines.first { $0.hasPrefix("airlock: ") }, "\(result)")
        #expect(line.contains("noise.airlock"))
        #expect(hasNoStackTrace(result))
    }

    @Test("a bundle with one byte of a blob flipped fails verify and import with 1, naming the blob")
    func flippedBlobByteExitsOne() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        let payload = try Fixture.write(dir.file("payload.bin"), count: 40_000, seed: 11)
        let digest = try await Shell.sha256(of: dir.file("payload.bin"))
        let seal = try await CLI.run(
            ["seal", "--out", "b.airlock", "--key", key.key, "--store", "outside", "payload.bin"],
            in: dir.path
        )
        try #require(seal.status == 0, "\(seal)")

        // Flip one byte in the middle of the blob's data inside the tar.
        var bundle = try Data(contentsOf: URL(fileURLWithPath: dir.file("b.airlock")))
        let range = try #require(bundle.range(of: payload), "the blob's bytes are not stored verbatim in the bundle")
        let offset = range.lowerBound + payload.count / 2
        bundle[offset] ^= 0x01
        try bundle.write(to: URL(fileURLWithPath: dir.file("b.airlock")))

        let verify = try await CLI.run(["verify", "b.airlock", "--trust", key.pub, "--json"], in: dir.path)
        #expect(verify.status == 1, "\(verify)")
        #expect(errorCode(verify) == BundleErrorCode.hashMismatch.code.rawValue, "\(verify)")
        let line = try #require(verify.stderrLines.first { $0.hasPrefix("airlock: ") }, "\(verify)")
        #expect(line.contains("blobs/sha256/\(digest)"), "\(verify)")
        #expect(hasNoStackTrace(verify))

        let trust = try await CLI.run(["trust", "add", key.pub, "--store", "inside"], in: dir.path)
        try #require(trust.status == 0, "\(trust)")
        let imported = try await CLI.run(["import", "b.airlock", "--store", "inside", "--json"], in: dir.path)
        #expect(imported.status == 1, "\(imported)")
        #expect(errorCode(imported) == BundleErrorCode.hashMismatch.code.rawValue, "\(imported)")
        #expect(imported.stderr.contains("blobs/sha256/\(digest)"), "\(imported)")
        #expect(listing(dir.file("inside/blobs/sha256")).isEmpty, "a failed import wrote blobs")
        #expect(listing(dir.file("inside/tmp")).isEmpty, "a failed import left staged files")
    }
}
