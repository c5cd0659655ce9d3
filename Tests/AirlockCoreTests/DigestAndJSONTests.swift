import AirlockCore
import AirlockTestSupport
import Testing

@Suite struct SHA256Tests {
    @Test func knownVectorsMatchFIPS180() {
        #expect(SHA256Hasher.hash([]).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256Hasher.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func streamingInPiecesEqualsOneShot() {
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let hasher = SHA256Hasher()
        var offset = 0
        for size in [1, 63, 64, 65, 4096, 100_000] {
            hasher.update(Array(data[offset..<offset + size]))
            offset += size
        }
        hasher.update(Array(data[offset...]))
        #expect(hasher.finalize() == SHA256Hasher.hash(data))
    }

    @Test func digestParsingAcceptsOnlyLowercaseHex() throws {
        let hex = String(repeating: "ab", count: 32)
        #expect(SHA256Digest(hex)?.hex == hex)
        #expect(SHA256Digest("sha256:" + hex)?.hex == hex)
        #expect(SHA256Digest(hex.uppercased()) == nil)
        #expect(SHA256Digest(String(hex.dropLast())) == nil)
    }
}

@Suite struct CanonicalJSONTests {
    @Test func keysAreSortedByUTF16AndOutputHasNoWhitespace() {
        let value = JSONValue.object([
            "b": .int(2), "a": .array([.bool(true), .null, .string("x")]), "\u{00e9}": .int(1), "\u{1F600}": .int(3), "\u{FB01}": .int(4),
        ])
        // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB01 in UTF-16 order.
        #expect(String(decoding: value.canonicalBytes, as: UTF8.self) == "{\"a\":[true,null,\"x\"],\"b\":2,\"é\":1,\"😀\":3,\"ﬁ\":4}")
    }

    @Test func stringsUseOnlyTheEscapesJCSRequires() {
        let value = JSONValue.string("a/b \"q\" \\ \n\t\u{01}\u{7f}é")
        #expect(String(decoding: value.canonicalBytes, as: UTF8.self) == "\"a/b \\\"q\\\" \\\\ \\n\\t\\u0001\u{7f}é\"")
    }

    @Test func canonicalFormDoesNotDependOnInputKeyOrder() throws {
        let one = try JSONValue(parsing: Array(#"{"z":1,"a":{"y":[1,2],"b":"c"}}"#.utf8))
        let two = try JSONValue(parsing: Array(#" { "a" : { "b" : "c", "y" : [ 1 , 2 ] } , "z" : 1 } "#.utf8))
        #expect(one.canonicalBytes == two.canonicalBytes)
        #expect(String(decoding: one.canonicalBytes, as: UTF8.self) == #"{"a":{"b":"c","y":[1,2]},"z":1}"#)
    }

    @Test(arguments: [
        #"{"a":1,"a":2}"#, #"{"a":1.5}"#, #"{"a":1e3}"#, #"[1,]"#, #"{"a":1} x"#, #""\ud800""#, #"01"#, "\"a\u{01}\"",
        String(repeating: "[", count: 100) + String(repeating: "]", count: 100),
    ])
    func ambiguousOrNonIntegerDocumentsAreRefused(_ text: String) {
        let error = #expect(throws: JSONParseError.self) { try JSONValue(parsing: Array(text.utf8)) }
        #expect(error?.code == CoreErrorCode.badJSON.code)
    }

    @Test func escapesAndSurrogatePairsDecode() throws {
        let value = try JSONValue(parsing: Array(#""\u00e9\ud83d\ude00\/""#.utf8))
        #expect(value == .string("é😀/"))
    }
}

@Suite struct ManifestTests {
    static let digest = SHA256Hasher.hash(Array("blob".utf8))

    static func sample() -> Manifest {
        Manifest(
            bundle: "0c1f5f0e-7c66-4a4e-9f1e-2f9f6c1a8d10", channel: "prod", sequence: 7, created: "2026-01-02T03:04:05Z",
            expires: "2026-02-01T03:04:05Z", target: .object(["python": .string("3.11")]),
            artifacts: [ManifestArtifact(name: "app.zip", path: "app.zip", kind: "artifact", sha256: digest, size: 4, mediaType: "application/zip")],
            blobs: [ManifestBlob(sha256: digest, size: 4, kind: "artifact")], sha256sums: SHA256Hasher.hash(Array("sums".utf8))
        )
    }

    @Test func roundTripsThroughItsCanonicalBytes() throws {
        let manifest = Self.sample()
        let parsed = try Manifest(canonicalBytes: manifest.canonicalBytes)
        #expect(parsed == manifest)
        #expect(parsed.canonicalBytes == manifest.canonicalBytes)
        let text = String(decoding: manifest.canonicalBytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"artifacts":[{"kind":"artifact","mediaType":"application/zip","name":"app.zip""#))
        #expect(!text.contains(" ") && !text.contains("\n"))
    }

    @Test func nonCanonicalBytesAreRefusedEvenIfTheyMeanTheSame() throws {
        var bytes = Self.sample().canonicalBytes
        bytes.insert(UInt8(ascii: " "), at: 1)
        let error = #expect(throws: ManifestError.self) { try Manifest(canonicalBytes: bytes) }
        #expect(error?.code == CoreErrorCode.badManifest.code)
    }

    @Test func unknownFieldsUnsafePathsAndUnlistedBlobsAreRefused() throws {
        var json = Self.sample().json.objectValue ?? [:]
        json["extra"] = .int(1)
        #expect(throws: ManifestError.self) { try Manifest(canonicalBytes: JSONValue.object(json).canonicalBytes) }

        var bad = Self.sample()
        bad.artifacts[0].path = "../evil"
        #expect(throws: ManifestError.self) { try Manifest(canonicalBytes: bad.canonicalBytes) }

        bad = Self.sample()
        bad.artifacts[0].size = 5
        #expect(throws: ManifestError.self) { try Manifest(canonicalBytes: bad.canonicalBytes) }

        bad = Self.sample()
        bad.blobs.append(bad.blobs[0])
        #expect(throws: ManifestError.self) { try Manifest(canonicalBytes: bad.canonicalBytes) }
    }

    @Test(arguments: [("prod", true), ("a.b-c_d", true), ("", false), ("-x", false), (".x", false), ("a/b", false), (String(repeating: "a", count: 65), false)])
    func channelNames(_ name: String, _ valid: Bool) {
        #expect(Manifest.isValidChannel(name) == valid)
    }
}

@Suite struct UnitsTests {
    @Test func timestampsRoundTripAndMatchKnownDates() {
        #expect(Timestamp.format(epochSeconds: 0) == "1970-01-01T00:00:00Z")
        #expect(Timestamp.format(epochSeconds: 1_700_000_000) == "2023-11-14T22:13:20Z")
        #expect(Timestamp.format(epochSeconds: 951_782_400) == "2000-02-29T00:00:00Z")
        for t: Int64 in [0, 86399, 951_782_400, 1_700_000_000, 4_102_444_800] {
            #expect(Timestamp.parse(Timestamp.format(epochSeconds: t)) == t)
        }
        #expect(Timestamp.parse("2026-13-01T00:00:00Z") == nil)
    }

    @Test func sizesAndDurationsParseAsUsersWriteThem() {
        #expect(ByteCount.parse("4GiB") == 4 << 30)
        #expect(ByteCount.parse("700MB") == 700_000_000)
        #expect(ByteCount.parse("64KiB") == 65536)
        #expect(ByteCount.parse("12") == 12)
        #expect(ByteCount.parse("x") == nil)
        #expect(DurationText.seconds("30d") == Int64(30 * 86400))
        #expect(DurationText.seconds("12h") == Int64(12 * 3600))
        #expect(DurationText.seconds("3600") == Int64(3600))
        #expect(DurationText.seconds("3q") == nil)
    }
}
