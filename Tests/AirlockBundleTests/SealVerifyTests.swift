import AirlockBundle
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct SealTests {
    @Test func bundleStartsWithManifestThenSignaturesSumsGuideAndBlobsInDigestOrder() async throws {
        let f = try Fixture()
        let bundle = try await f.seal()
        let names = try await RawTar.members(of: bundle).map(\.name)
        let blobs = names.filter { $0.hasPrefix("blobs/") }
        #expect(names.prefix(4) == ["manifest.json", "signatures/\(f.publicKey.keyID).sig", "SHA256SUMS", "VERIFY.md"])
        #expect(blobs.count == 2 && blobs == blobs.sorted())
        let (status, listing) = try await shell("tar tvf '\(bundle)'")
        #expect(status == 0)
        #expect(listing.split(separator: "\n").allSatisfy { $0.hasPrefix("-rw-r--r-- 0/0") })
    }

    @Test func sameInputsKeysAndEpochGiveAByteIdenticalBundleInAnotherDirectory() async throws {
        let f = try Fixture()
        let one = try await f.seal(to: "one/b.airlock", epoch: 1_790_000_000)
        // The same files copied elsewhere, sealed later: same bytes.
        let other = try TemporaryDirectory()
        var copies: [String] = []
        for input in f.inputs { copies.append(try other.file("in/" + FileSystem.baseName(input), try FileSystem.readFile(input))) }
        let two = try await f.seal(to: "two/b.airlock", epoch: 1_790_000_000, inputs: copies)
        #expect(try FileSystem.readFile(one) == FileSystem.readFile(two))
        let zstdOne = try await f.seal(to: "z1/b.airlock", epoch: 1_790_000_000, compression: .zstd)
        let zstdTwo = try await f.seal(to: "z2/b.airlock", epoch: 1_790_000_000, compression: .zstd, inputs: copies)
        #expect(try FileSystem.readFile(zstdOne) == FileSystem.readFile(zstdTwo))
    }

    @Test func anOldSourceDateEpochThatWouldGiveAnExpiredBundleIsRefusedBeforeAnythingIsWritten() async throws {
        let f = try Fixture()
        let out = f.dir.path + "/old.airlock"
        let options = SealOptions(output: out, keyPaths: [f.keyPath], sourceDateEpoch: 315_532_800)
        let refused = await #expect(throws: UsageError.self) {
            _ = try await Sealer.seal(try SealInput.expand(f.inputs), options: options, store: nil)
        }
        #expect(refused?.code == BundleErrorCode.badExpiry.code)
        #expect(refused?.description.contains("1980-01-31T00:00:00Z") == true)
        #expect(!FileSystem.exists(out))
        // Long enough to reach past today, the same epoch seals.
        var longer = options
        longer.expiresIn = Timestamp.nowEpochSeconds() - 315_532_800 + 86_400
        _ = try await Sealer.seal(try SealInput.expand(f.inputs), options: longer, store: nil)
        #expect(try f.verify(out).created == "1980-01-01T00:00:00Z")
    }

    @Test func aBundleChecksOutWithStockTarOpenSSLAndSha256sum() async throws {
        let f = try Fixture()
        let bundle = try await f.seal(compression: .zstd)
        let id = f.publicKey.keyID
        let script = """
            set -e
            mkdir x && cd x && tar --zstd -xf '\(bundle)'
            openssl pkeyutl -verify -pubin -inkey '\(f.dir.path)/keys/alice.pub' -rawin -in manifest.json -sigfile signatures/\(id).sig
            want=$(grep -o '"sha256sums":"[0-9a-f]*"' manifest.json | cut -d'"' -f4)
            [ "$want" = "$(sha256sum SHA256SUMS | cut -d' ' -f1)" ]
            sha256sum -c SHA256SUMS
            grep -q '\(id)' VERIFY.md
            """
        let (status, output) = try await shell(script, in: f.dir.path)
        #expect(status == 0, "\(output)")
        #expect(output.contains("VERIFY.md: OK"))
    }

    @Test func directoriesBecomeArtifactsNamedByRelativePath() throws {
        let dir = try TemporaryDirectory()
        try dir.file("app/x/y.txt", "y")
        try dir.file("app/z.txt", "z")
        let inputs = try SealInput.expand([dir.path + "/app/"])
        #expect(inputs.map(\.name) == ["app/x/y.txt", "app/z.txt"])
        try dir.file("other/z.txt", "z2")
        let twice = #expect(throws: UsageError.self) {
            try SealInput.expand([dir.path + "/app/z.txt", dir.path + "/other/z.txt"])
        }
        #expect(twice?.code == BundleErrorCode.duplicateName.code)
        let missing = #expect(throws: UsageError.self) { try SealInput.expand([dir.path + "/missing"]) }
        #expect(missing?.code == CoreErrorCode.noSuchFile.code)
    }
}

@Suite struct VerifyTests {
    @Test func aGoodBundleVerifiesWithEveryCount() async throws {
        let f = try Fixture()
        let report = try f.verify(try await f.seal())
        #expect(report.isValid, "\(report.problems)")
        #expect(report.signers == [f.publicKey.keyID])
        #expect(report.blobs == 2 && report.artifacts == 2 && report.bytes == 200_006)
    }

    @Test func anUntrustedKeyIsRefused() async throws {
        let f = try Fixture()
        let other = try KeyFiles.generate(prefix: f.dir.path + "/keys/mallory")
        let bundle = try await f.seal(keys: [f.dir.path + "/keys/mallory.key"])
        let report = try f.verify(bundle)
        #expect(!report.isValid)
        #expect(report.problemCodes == [BundleErrorCode.unknownSigner.code])
        #expect(report.problems.first?.contains(other.keyID) == true, "the problem names the signer")
    }

    @Test func belowThresholdIsRefusedAndTwoDistinctSignersPass() async throws {
        let f = try Fixture()
        let bob = try KeyFiles.generate(prefix: f.dir.path + "/keys/bob")
        let single = try await f.seal(to: "single.airlock")
        let below = try f.verify(single, policy: f.policy(threshold: 2, extra: [bob]))
        #expect(below.problemCodes == [BundleErrorCode.thresholdNotMet.code])
        let both = try await f.seal(to: "both.airlock", keys: [f.keyPath, f.dir.path + "/keys/bob.key"])
        let report = try f.verify(both, policy: f.policy(threshold: 2, extra: [bob]))
        #expect(report.isValid, "\(report.problems)")
        #expect(report.signers.count == 2)
    }

    @Test func aKeyMayOnlySignItsChannels() async throws {
        let f = try Fixture()
        let bundle = try await f.seal(channel: "staging")
        let report = try f.verify(bundle, policy: f.policy(channels: ["prod"]))
        #expect(report.problemCodes.contains(BundleErrorCode.channelNotAllowed.code))
        #expect(try f.verify(bundle, policy: f.policy(channels: ["prod", "staging"])).isValid)
    }

    @Test func expiryIsRefusedUnlessAllowed() async throws {
        let f = try Fixture()
        let bundle = try await f.seal(expiresIn: 60, epoch: Timestamp.nowEpochSeconds() - 86400)
        #expect(try f.verify(bundle).problemCodes == [BundleErrorCode.expired.code])
        #expect(try f.verify(bundle, allowExpired: true).isValid)
    }

    @Test func verifyReportsEveryProblemInOnePass() async throws {
        let f = try Fixture(files: [("a", Array("aaaa".utf8)), ("b", Array("bbbb".utf8)), ("c", Array("cccc".utf8))])
        let bundle = try await f.seal()
        var members = try await RawTar.members(of: bundle)
        for i in members.indices where members[i].name.hasPrefix("blobs/") && members[i].name != members.last?.name {
            members[i].data[0] ^= 1
        }
        let tampered = try f.dir.file("t.airlock", RawTar.build(members))
        let report = try f.verify(tampered)
        #expect(report.problemCodes == [BundleErrorCode.hashMismatch.code, BundleErrorCode.hashMismatch.code])
        #expect(report.problems.count == report.problemCodes.count)
    }

    @Test func verifyWritesNothing() async throws {
        let f = try Fixture()
        let bundle = try await f.seal()
        let before = try snapshot(f.dir.path)
        _ = try f.verify(bundle)
        #expect(try snapshot(f.dir.path) == before)
    }
}
