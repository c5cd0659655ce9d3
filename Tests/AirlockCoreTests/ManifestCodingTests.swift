// The fast manifest coding (Manifest+Coding.swift) against the tree-based reference it shortcuts:
// the direct writer must give `json.canonicalBytes` byte for byte, and the fast reader must accept
// only what the reference accepts, decoding it to the same Manifest, on every kind of manifest and
// on thousands of one-byte mutations of them.

@testable import AirlockCore
import Foundation
import Testing

@Suite struct ManifestCodingTests {
    static func digest(_ n: Int) -> SHA256Digest { SHA256Hasher.hash(Array("blob \(n)".utf8)) }

    static var samples: [Manifest] {
        let provenance: JSONValue = .object([
            "builder": .string("python:3.11 \"slim\"\n\t\u{01}é☃\u{1F600}\\"),
            "inputs": .array([.int(-9_223_372_036_854_775_808), .int(0), .bool(true), .null, .object([:]), .array([])]),
            "Ünicode": .string(""), "a": .object(["z": .int(1), "B": .int(2), "é": .int(3), "\u{1F600}": .int(4), "\u{FFFF}": .int(5)]),
        ])
        let full = Manifest(
            bundle: "0f8fad5b-d9cb-469f-a165-70867728950e", channel: "prod", sequence: 42,
            created: "2026-12-01T00:00:00Z", expires: "2026-12-31T00:00:00Z",
            target: .object(["python": .string("3.11"), "platform": .string("linux/amd64")]),
            artifacts: [
                ManifestArtifact(name: "app.zip", path: "dist/app.zip", kind: "artifact", sha256: digest(1), size: 10, mediaType: "application/zip", provenance: provenance),
                ManifestArtifact(name: "w-1.0-py3-none-any.whl", path: "w-1.0-py3-none-any.whl", kind: "wheel", sha256: digest(2), size: 20, mediaType: "application/zip"),
            ],
            blobs: [ManifestBlob(sha256: digest(1), size: 10, kind: "artifact"), ManifestBlob(sha256: digest(2), size: 20, kind: "wheel")],
            sha256sums: digest(99)
        )
        var delta = full
        delta.delta = ManifestDelta(inventory: digest(7))
        delta.target = nil
        delta.blobs = [
            ManifestBlob(sha256: digest(1), size: 10, kind: "artifact", delivery: .recipe(digest(3))),
            ManifestBlob(sha256: digest(2), size: 20, kind: "wheel", delivery: .store),
            ManifestBlob(sha256: digest(3), size: 5, kind: "recipe"),
        ]
        let empty = Manifest(
            bundle: "0f8fad5b-d9cb-469f-a165-70867728950e", channel: "c", sequence: 0,
            created: "2026-12-01T00:00:00Z", expires: "2026-12-31T00:00:00Z", artifacts: [], blobs: [], sha256sums: digest(0)
        )
        return [full, delta, empty]
    }

    @Test func theDirectWriterGivesTheCanonicalBytesOfTheTree() {
        for m in Self.samples { #expect(m.writeCanonical() == m.json.canonicalBytes) }
    }

    @Test func theFastReaderDecodesWhatTheReferenceDecodes() throws {
        for m in Self.samples {
            let bytes = m.json.canonicalBytes
            #expect(Manifest.readCanonical(bytes) == m)
            #expect(try Manifest(tree: bytes) == m)
            #expect(try Manifest(canonicalBytes: bytes) == m)
        }
    }

    @Test func whatTheWriterWouldNotWriteTheFastReaderRefuses() throws {
        let bytes = Self.samples[0].json.canonicalBytes
        let text = String(decoding: bytes, as: UTF8.self)
        let variants = [
            text.replacingOccurrences(of: "\"channel\":", with: "\"channel\": "),
            text.replacingOccurrences(of: "\"sequence\":42", with: "\"sequence\":042"),
            text.replacingOccurrences(of: "\"inputs\":[", with: "\"inputs\":[-0,"),
            text.replacingOccurrences(of: "dist/app.zip", with: "dist\\/app.zip"),
            text.replacingOccurrences(of: "python:3.11", with: "\\u0070ython:3.11"),
            text.replacingOccurrences(of: "\\u0001", with: "\\u0001".uppercased()),
            text.replacingOccurrences(of: "\\n", with: "\\u000a"),
            text.replacingOccurrences(of: "{\"B\":2,", with: "{\"B\":2,\"B\":2,"),
            text.replacingOccurrences(of: "\"z\":1", with: "\"A\":1"),
            text + " ",
        ]
        for variant in variants {
            #expect(variant != text)
            #expect(Manifest.readCanonical(Array(variant.utf8)) == nil, "\(variant.prefix(120))")
            #expect(throws: ManifestError.self) { try Manifest(canonicalBytes: Array(variant.utf8)) }
        }
    }

    @Test func everyOneByteMutationTheFastReaderTakesTheReferenceTakesToo() {
        var generator = SystemRandomNumberGenerator()
        let replacements = Array("{}[]\",:\\0123456789-aeflnrstu \n".utf8) + [0x00, 0x1f, 0x7f, 0xc3, 0xff]
        var accepted = 0
        for m in Self.samples {
            let bytes = m.json.canonicalBytes
            for _ in 0..<3000 {
                var mutated = bytes
                let i = Int.random(in: 0..<mutated.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: mutated[i] = replacements.randomElement(using: &generator)!
                case 1: mutated.remove(at: i)
                default: mutated.insert(replacements.randomElement(using: &generator)!, at: i)
                }
                guard let fast = Manifest.readCanonical(mutated) else { continue }
                accepted += 1
                #expect((try? Manifest(tree: mutated)) == fast, "\(String(decoding: mutated, as: UTF8.self))")
            }
        }
        // Mutations inside a string value can stay valid: some must have been accepted and compared.
        #expect(accepted > 0)
    }
}
