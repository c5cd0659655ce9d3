import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

/// Inputs for the deflater, made here: nothing is downloaded.
enum DeflateFixture: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case empty, oneByte, zeros1MiB, random200KiB, repeatedText, pycLike, mixed5MiB

    var testDescription: String { rawValue }

    var bytes: [UInt8] {
        switch self {
        case .empty: return []
        case .oneByte: return [0x41]
        case .zeros1MiB: return [UInt8](repeating: 0, count: 1 << 20)
        case .random200KiB: return pseudoRandom(200 << 10, seed: 11)
        case .repeatedText:
            return Array(String(repeating: "the quick brown fox jumps over the lazy dog\n", count: 5000).utf8)
        case .pycLike: return Self.pycBytes
        case .mixed5MiB:
            // Text, noise, runs and .pyc-like stretches in turn: every block type and window slide.
            var out: [UInt8] = []
            out.reserveCapacity(5 << 20 + 200_000)
            var seed: UInt64 = 1
            while out.count < 5 << 20 {
                out += Array("def f\(seed)(x):\n    return x * \(seed) + len('\(seed)')\n".utf8)
                out += pseudoRandom(Int(seed % 5000), seed: seed)
                out += [UInt8](repeating: UInt8(truncatingIfNeeded: seed), count: Int(seed % 700))
                out += Self.pycBytes.prefix(Int(seed * 977 % 20_000))
                seed += 1
            }
            return out
        }
    }

    /// A real .pyc made by the host's python3 from generated source (header, then marshalled code).
    static let pycBytes: [UInt8] = {
        let script = """
            import importlib.util, marshal, sys
            src = "".join(f"def func_{i}(a, b={i}):\\n    '''doc {i}'''\\n    return [a * b + {i}, 'name_{i}', {i}.5]\\n\\n"
                          f"class C{i}:\\n    attr = {{'k{i}': func_{i}}}\\n" for i in range(1500))
            code = compile(src, "generated.py", "exec")
            open(sys.argv[1], "wb").write(importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code))
            """
        // A static initializer cannot await: made once per test process, on the calling thread.
        guard let dir = try? TemporaryDirectory(), let path = try? dir.file("make.py", script),
            let made = try? ChildProcess(
                executable: ChildProcess.locate("python3") ?? "/usr/bin/python3", arguments: [path, dir.path + "/generated.pyc"],
                timeLimit: .seconds(120)
            ).runOnCurrentThread(), made.succeeded
        else { return [] }
        return (try? FileSystem.readFile(dir.path + "/generated.pyc")) ?? []
    }()
}

@Suite struct DeflateTests {
    @Test func theGeneratedPycIsReal() {
        #expect(DeflateFixture.pycBytes.count > 100_000)
    }

    @Test(arguments: DeflateFixture.allCases)
    func pythonsZlibInflatesEveryInputBackAndOurSizeIsCloseToZlibLevel6(_ fixture: DeflateFixture) async throws {
        let dir = try TemporaryDirectory()
        let input = fixture.bytes
        let compressed = Deflate.compress(input)
        try dir.file("in.bin", input)
        try dir.file("out.deflate", compressed)
        let script = """
            import zlib
            data = open("in.bin", "rb").read()
            back = zlib.decompress(open("out.deflate", "rb").read(), -15)
            assert back == data, "round trip differs"
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            print(len(c.compress(data) + c.flush()))
            """
        try dir.file("check.py", script)
        let (status, output) = try await shell("python3 check.py", in: dir.path)
        try #require(status == 0, "\(output)")
        let zlibSize = try #require(Int(output.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(Double(compressed.count) <= Double(zlibSize) * 1.10 + 8, "ours \(compressed.count), zlib-6 \(zlibSize)")
    }

    @Test(arguments: DeflateFixture.allCases)
    func theSameInputGivesTheSameBytesHoweverItIsFed(_ fixture: DeflateFixture) {
        let input = fixture.bytes
        let once = Deflate.compress(input)
        #expect(Deflate.compress(input) == once)
        // One Deflater reused across streams, fed in uneven pieces, gives the same stream.
        let deflater = Deflater()
        for round in 0..<2 {
            var streamed: [UInt8] = []
            let sizes = round == 0 ? [1, 7, 300, 262, 65_536, 100_003] : [32_768, 5]
            var offset = 0
            var turn = 0
            input.withUnsafeBytes { buffer in
                while offset < buffer.count {
                    let n = min(sizes[turn % sizes.count], buffer.count - offset)
                    deflater.write(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + n)])) {
                        streamed.append(contentsOf: $0)
                    }
                    offset += n
                    turn += 1
                }
            }
            deflater.finish { streamed.append(contentsOf: $0) }
            #expect(streamed == once)
            deflater.reset()
        }
    }

    @Test func theOutputIsPinnedSoAnyChangeToTheDeflaterIsSeen() {
        // Every zip and layer digest Airlock makes depends on these bytes: a change here must be
        // deliberate (and noted as changing artifact digests), never a side effect.
        #expect(Deflate.compress([UInt8]()) == [0x03, 0x00])
        #expect(Deflate.compress([0x41]) == [0x73, 0x04, 0x00])
        // The input is made here without python3, whose .pyc bytes vary with its version.
        var input: [UInt8] = []
        for seed in UInt64(1)...400 {
            input += Array(
                "line \(seed): value = \(seed * seed) # \(String(repeating: "ab", count: Int(seed % 9)))\n".utf8
            )
            input += pseudoRandom(Int(seed % 3000), seed: seed)
            input += [UInt8](repeating: UInt8(truncatingIfNeeded: seed), count: Int(seed * 7 % 900))
        }
        #expect(input.count > 200_000)
        #expect(
            SHA256Hasher.hash(Deflate.compress(input)).hex
                == "1a89e27e2b3933d12779ff71d492a6179b55433c35c774f7e3409ce645e33bf3"
        )
    }

    @Test func incompressibleDataBecomesStoredBlocksAndRunsShrinkAThousandfold() {
        let random = pseudoRandom(200 << 10, seed: 3)
        let packed = Deflate.compress(random)
        // A stored block costs 5 bytes, one per block of 16383 symbols (zlib's cut as well).
        #expect(packed.count <= random.count + 5 * (random.count / 16_383 + 1))
        #expect(Deflate.compress([UInt8](repeating: 7, count: 1 << 20)).count < 1100)
        #expect(Deflate.compress(DeflateFixture.repeatedText.bytes).count < 1000)
    }

    @Test func huffmanLengthsStayWithinTheLimitAndFormACompleteCode() {
        // Fibonacci frequencies make an unlimited Huffman tree as deep as there are symbols.
        var frequencies = [UInt32](repeating: 0, count: 286)
        var (a, b): (UInt32, UInt32) = (1, 1)
        for i in 0..<30 {
            frequencies[i * 9] = a
            (a, b) = (b, a &+ b)
        }
        for (limit, count) in [(15, 286), (7, 19)] {
            var lengths = [UInt8](repeating: 0, count: count)
            frequencies.withUnsafeBufferPointer { f in
                lengths.withUnsafeMutableBufferPointer { l in
                    guard let fb = f.baseAddress, let lb = l.baseAddress else { return }
                    Huffman.lengths(frequencies: fb, count: count, limit: limit, into: lb)
                }
            }
            #expect(lengths.allSatisfy { $0 <= limit })
            let kraft = lengths.reduce(0.0) { $1 == 0 ? $0 : $0 + 1 / Double(1 << Int($1)) }
            #expect(kraft == 1.0, "limit \(limit): Kraft sum \(kraft)")
            #expect(zip(lengths, frequencies.prefix(count)).allSatisfy { ($0 == 0) == ($1 == 0) })
        }
    }
}
