// Airlock's own deflate (RFC 1951) compressor. Zip entries and gzip layers that Airlock writes must
// be byte-identical on every host, in bwrap, docker or podman alike, and deflate output is not fixed
// by the format: each zlib build (distributions patch it, zlib-ng and Chromium's fork choose matches
// and blocks differently) gives different bytes for the same input. So the bytes come from this
// file alone: the same input gives the same output here, whatever the host's zlib, and a change to
// this file is a change to every artifact's digest (the tests pin the output). It serves the app
// zip (sources, .pyc, RECORD), gzip OCI layers (Gzip.swift) and, later, Go module zips.
//
// The method is zlib's level 6 ("deflate_slow"): LZ77 over a 32 KiB window with hash chains (a
// 3-byte multiplicative hash, chains cut at 128 candidates, 32 when the previous match is already
// 8 bytes or longer, search stops at a 128-byte match), lazy matching (a match shorter than 16 bytes
// is held back one byte to see whether the next position starts a longer one), and length-3
// matches farther than 4 KiB dropped as not worth their distance code. Symbols are buffered and cut
// into blocks of 16383; each block goes out as whichever of dynamic Huffman (package-merge lengths
// limited to 15 bits, 7 for the code-length code), fixed Huffman or stored is smallest.
//
// Chunk independence: a position is only coded while at least 262 bytes follow it in the window (a
// full match and the next hash), or at the end; so how the input is split across `write` calls does
// not change the output. Hot loops work on pointers into buffers allocated once per Deflater
// (reusable with `reset()`) and copy the cursor into locals, so no Swift array bounds, uniqueness or
// exclusivity checks run per byte.

/// One-shot raw deflate (RFC 1951, no zlib or gzip wrapper).
public enum Deflate {
    /// Compresses `bytes` into a complete raw deflate stream.
    public static func compress(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        let deflater = Deflater()
        return deflater.compressWhole(bytes)
    }

    /// Compresses `bytes` into a complete raw deflate stream.
    public static func compress(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        if let result = bytes.withContiguousStorageIfAvailable({ compress(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(bytes).withUnsafeBytes { compress($0) }
    }
}

/// A streaming raw deflate compressor with deterministic output.
///
/// Feed it with `write(_:to:)` and end the stream with `finish(to:)`; compressed bytes are handed
/// to the sink as whole blocks are ready, in pieces of any size. After `finish`, `reset()` starts a
/// new stream and keeps the buffers (about 330 KiB). Not thread-safe: one stream, one thread.
public final class Deflater {
    static let windowSize = 32768
    static let windowMask = windowSize - 1
    static let minMatch = 3
    static let maxMatch = 258
    /// Bytes that must follow a position before it is coded: a longest match and the next hash.
    static let minLookahead = maxMatch + minMatch + 1
    static let maxDistance = windowSize - minLookahead
    static let hashBits = 15
    static let hashSize = 1 << hashBits
    static let symbolLimit = 16383
    static let goodLength = 8
    static let maxLazy = 16
    static let niceLength = 128
    static let maxChain = 128
    static let tooFar = 4096
    /// Room after the window for 8-byte loads past the last valid byte.
    static let padding = 512
    /// A block spanning more input than this is never smaller stored (a symbol costs at most 48
    /// bits, 6 bytes), so its raw bytes are not kept once they leave the window.
    static let storedLimit = 8 * symbolLimit + 4096
    /// Output pending past this is handed to the sink during `write`.
    static let drainThreshold = 256 << 10

    private struct Cursor {
        var strstart = 0
        var lookahead = 0
        var matchLength = minMatch - 1
        var matchStart = 0
        var prevLength = minMatch - 1
        var prevMatch = 0
        var matchAvailable = false
        var symbolCount = 0
        /// Window position just past the last byte a symbol covers; may go below 0 after slides.
        var emittedUpTo = 0
        /// Window position where the current block's bytes start; may go below 0 after slides.
        var blockStart = 0
    }

    private var cursor = Cursor()
    private var hasSlid = false
    private var isFinished = false
    /// Bytes of the current block that slid out of the window (for a stored block).
    private var blockRaw: [UInt8] = []
    private var blockRawLost = false

    private let window: UnsafeMutablePointer<UInt8>
    private let head: UnsafeMutablePointer<UInt16>
    private let prev: UnsafeMutablePointer<UInt16>
    private let symbols: UnsafeMutablePointer<UInt32>
    private let literalFrequencies: UnsafeMutablePointer<UInt32>
    private let distanceFrequencies: UnsafeMutablePointer<UInt32>
    private let tables: UnsafeMutablePointer<UInt16>
    private let codeScratch: UnsafeMutablePointer<UInt16>
    private let lengthScratch: UnsafeMutablePointer<UInt8>

    private var output: UnsafeMutablePointer<UInt8>
    private var outputCapacity: Int
    private var outputCount = 0
    private var bitBuffer: UInt64 = 0
    private var bitCount = 0

    // Offsets into `tables` (UInt16 each): the fixed RFC 1951 tables, built once per Deflater.
    private static let lengthCodeAt = 0  // 256: match length - 3 -> length code 0..<29
    private static let distanceCodeAt = 256  // 512: see distanceCode(_:)
    private static let lengthBaseAt = 768  // 29: first length - 3 of each length code
    private static let lengthExtraAt = 797  // 29
    private static let distanceBaseAt = 826  // 30: first distance - 1 of each distance code
    private static let distanceExtraAt = 856  // 30
    private static let tableCount = 886

    // Offsets into `lengthScratch` and `codeScratch`.
    private static let literalAt = 0  // 288
    private static let distanceAt = 288  // 32
    private static let codeLengthAt = 320  // 19
    private static let fixedLiteralAt = 339  // 288 (lengths only)
    private static let fixedDistanceAt = 627  // 30 (lengths only)
    private static let scratchCount = 657

    public init() {
        window = .allocate(capacity: 2 * Self.windowSize + Self.padding)
        window.initialize(repeating: 0, count: 2 * Self.windowSize + Self.padding)
        head = .allocate(capacity: Self.hashSize)
        head.initialize(repeating: 0, count: Self.hashSize)
        prev = .allocate(capacity: Self.windowSize)
        prev.initialize(repeating: 0, count: Self.windowSize)
        symbols = .allocate(capacity: Self.symbolLimit)
        symbols.initialize(repeating: 0, count: Self.symbolLimit)
        literalFrequencies = .allocate(capacity: 288)
        literalFrequencies.initialize(repeating: 0, count: 288)
        distanceFrequencies = .allocate(capacity: 32)
        distanceFrequencies.initialize(repeating: 0, count: 32)
        tables = .allocate(capacity: Self.tableCount)
        tables.initialize(repeating: 0, count: Self.tableCount)
        codeScratch = .allocate(capacity: Self.scratchCount)
        codeScratch.initialize(repeating: 0, count: Self.scratchCount)
        lengthScratch = .allocate(capacity: Self.scratchCount)
        lengthScratch.initialize(repeating: 0, count: Self.scratchCount)
        outputCapacity = 64 << 10
        output = .allocate(capacity: outputCapacity)
        Self.buildTables(tables, codes: codeScratch, lengths: lengthScratch)
    }

    deinit {
        window.deallocate()
        head.deallocate()
        prev.deallocate()
        symbols.deallocate()
        literalFrequencies.deallocate()
        distanceFrequencies.deallocate()
        tables.deallocate()
        codeScratch.deallocate()
        lengthScratch.deallocate()
        output.deallocate()
    }

    /// Compresses more input; hands finished compressed bytes to `sink`.
    public func write(_ bytes: UnsafeRawBufferPointer, to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        precondition(!isFinished, "Deflater.write after finish; call reset() first")
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            offset += fill(base + offset, count: bytes.count - offset)
            compress(finishing: false)
            if outputCount >= Self.drainThreshold { try drain(to: sink) }
        }
    }

    /// Ends the stream (a final block, padded to a byte) and hands the rest to `sink`.
    public func finish(to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        precondition(!isFinished, "Deflater.finish called twice; call reset() first")
        finishStream()
        try drain(to: sink)
    }

    /// Starts a new stream, keeping the buffers.
    public func reset() {
        let end = cursor.strstart + cursor.lookahead
        if !hasSlid, end <= Self.hashSize / 4 {
            // A small stream touched few hash heads: clear those instead of the whole table.
            var position = 0
            while position + Self.minMatch <= end {
                head[hash(at: position)] = 0
                position += 1
            }
        } else {
            head.update(repeating: 0, count: Self.hashSize)
        }
        for i in 0..<286 { literalFrequencies[i] = 0 }
        for i in 0..<30 { distanceFrequencies[i] = 0 }
        cursor = Cursor()
        hasSlid = false
        isFinished = false
        blockRaw.removeAll(keepingCapacity: true)
        blockRawLost = false
        outputCount = 0
        bitBuffer = 0
        bitCount = 0
    }

    /// Compresses `bytes` as one whole stream and returns it (the caller resets before reuse).
    func compressWhole(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        precondition(!isFinished, "Deflater.compressWhole after finish; call reset() first")
        if let base = bytes.baseAddress {
            var offset = 0
            while offset < bytes.count {
                offset += fill(base + offset, count: bytes.count - offset)
                compress(finishing: false)
            }
        }
        finishStream()
        return [UInt8](UnsafeBufferPointer(start: output, count: outputCount))
    }

    private func finishStream() {
        compress(finishing: true)
        flushBlock(final: true)
        alignToByte()
        isFinished = true
    }

    private func drain(to sink: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard outputCount > 0 else { return }
        let count = outputCount
        outputCount = 0
        try sink(UnsafeRawBufferPointer(start: output, count: count))
    }

    // MARK: LZ77

    /// Copies as much input as the window takes (sliding it first when needed); returns the count.
    private func fill(_ source: UnsafeRawPointer, count: Int) -> Int {
        if cursor.strstart >= Self.windowSize + Self.maxDistance { slide() }
        let end = cursor.strstart + cursor.lookahead
        let n = min(count, 2 * Self.windowSize - end)
        UnsafeMutableRawPointer(window + end).copyMemory(from: source, byteCount: n)
        cursor.lookahead += n
        return n
    }

    /// Moves the upper half of the window down; positions that fall off become "no match" (0).
    private func slide() {
        let size = Self.windowSize
        var c = cursor
        if c.blockStart < size, !blockRawLost {
            let from = max(c.blockStart, 0)
            if blockRaw.count + (size - from) <= Self.storedLimit {
                blockRaw.append(contentsOf: UnsafeBufferPointer(start: window + from, count: size - from))
            } else {
                blockRawLost = true
            }
        }
        window.update(from: window + size, count: size)
        c.strstart -= size
        c.matchStart -= size
        c.prevMatch -= size
        c.emittedUpTo -= size
        c.blockStart -= size
        cursor = c
        for i in 0..<Self.hashSize {
            let v = head[i]
            head[i] = v >= UInt16(size) ? v &- UInt16(size) : 0
        }
        for i in 0..<size {
            let v = prev[i]
            prev[i] = v >= UInt16(size) ? v &- UInt16(size) : 0
        }
        hasSlid = true
    }

    @inline(__always)
    private func hash(at position: Int) -> Int {
        let word = UInt32(littleEndian: UnsafeRawPointer(window + position).loadUnaligned(as: UInt32.self))
        return Int(((word & 0xFF_FFFF) &* 0x9E37_79B1) >> UInt32(32 - Self.hashBits))
    }

    /// Links `position` into its hash chain; returns the previous head (0 for none).
    @inline(__always)
    private func insert(_ position: Int) -> Int {
        let h = hash(at: position)
        let old = head[h]
        prev[position & Self.windowMask] = old
        head[h] = UInt16(truncatingIfNeeded: position)
        return Int(old)
    }

    /// The longest match at `strstart` along the chain from `candidate` that beats `prevLength`;
    /// returns (length, start), the length capped at `lookahead`, start -1 when nothing beat it.
    @inline(__always)
    private func longestMatch(
        candidate: Int,
        strstart: Int,
        prevLength: Int,
        lookahead: Int
    ) -> (length: Int, start: Int) {
        var chain = prevLength >= Self.goodLength ? Self.maxChain >> 2 : Self.maxChain
        let nice = min(Self.niceLength, lookahead)
        let limit = strstart > Self.maxDistance ? strstart - Self.maxDistance : 0
        let scan = UnsafeRawPointer(window + strstart)
        let scanStart = scan.loadUnaligned(as: UInt16.self)
        var best = prevLength
        var bestStart = -1
        var scanEnd = scan.loadUnaligned(fromByteOffset: best - 1, as: UInt16.self)
        var current = candidate
        repeat {
            let match = UnsafeRawPointer(window + current)
            if match.loadUnaligned(fromByteOffset: best - 1, as: UInt16.self) == scanEnd,
                match.loadUnaligned(as: UInt16.self) == scanStart
            {
                var length = 2
                while length < Self.maxMatch {
                    let a = UInt64(littleEndian: scan.loadUnaligned(fromByteOffset: length, as: UInt64.self))
                    let b = UInt64(littleEndian: match.loadUnaligned(fromByteOffset: length, as: UInt64.self))
                    let x = a ^ b
                    if x != 0 {
                        length += x.trailingZeroBitCount >> 3
                        break
                    }
                    length += 8
                }
                if length > Self.maxMatch { length = Self.maxMatch }
                if length > best {
                    best = length
                    bestStart = current
                    if length >= nice { break }
                    scanEnd = scan.loadUnaligned(fromByteOffset: best - 1, as: UInt16.self)
                }
            }
            current = Int(prev[current & Self.windowMask])
            chain -= 1
        } while current > limit && chain != 0
        return (min(best, lookahead), bestStart)
    }

    /// Codes positions while enough lookahead remains (all of it when `finishing`).
    private func compress(finishing: Bool) {
        // Kept whole: the hot match loop keeps cursor and tables in locals, which a split would reload per call.
        var c = cursor
        let window = self.window
        let symbols = self.symbols
        let literalFrequencies = self.literalFrequencies
        let distanceFrequencies = self.distanceFrequencies
        let lengthCodes = tables + Self.lengthCodeAt
        let distanceCodes = tables + Self.distanceCodeAt

        @inline(__always)
        func tallyLiteral(_ byte: UInt8) {
            symbols[c.symbolCount] = UInt32(byte)
            c.symbolCount += 1
            literalFrequencies[Int(byte)] += 1
        }
        @inline(__always)
        func tallyMatch(distance: Int, length: Int) {
            symbols[c.symbolCount] = UInt32(truncatingIfNeeded: distance << 16 | (length - Self.minMatch))
            c.symbolCount += 1
            literalFrequencies[257 + Int(lengthCodes[length - Self.minMatch])] += 1
            let d = distance - 1
            distanceFrequencies[Int(d < 256 ? distanceCodes[d] : distanceCodes[256 + d >> 7])] += 1
        }
        @inline(__always)
        func flushIfFull() {
            guard c.symbolCount == Self.symbolLimit else { return }
            cursor = c
            flushBlock(final: false)
            c = cursor
        }

        while c.lookahead >= Self.minLookahead || (finishing && c.lookahead > 0) {
            var hashHead = 0
            if c.lookahead >= Self.minMatch { hashHead = insert(c.strstart) }
            c.prevLength = c.matchLength
            c.prevMatch = c.matchStart
            c.matchLength = Self.minMatch - 1
            if hashHead != 0, c.prevLength < Self.maxLazy, c.prevLength < c.lookahead,
                c.strstart - hashHead <= Self.maxDistance
            {
                let found = longestMatch(
                    candidate: hashHead,
                    strstart: c.strstart,
                    prevLength: c.prevLength,
                    lookahead: c.lookahead
                )
                if found.start >= 0 {
                    c.matchLength = found.length
                    c.matchStart = found.start
                    if c.matchLength == Self.minMatch && c.strstart - c.matchStart > Self.tooFar {
                        c.matchLength = Self.minMatch - 1
                    }
                }
            }
            if c.prevLength >= Self.minMatch && c.matchLength <= c.prevLength {
                // The match held back at strstart - 1 is at least as long: emit it.
                let maxInsert = c.strstart + c.lookahead - Self.minMatch
                let start = c.strstart - 1
                tallyMatch(distance: start - c.prevMatch, length: c.prevLength)
                c.emittedUpTo = start + c.prevLength
                c.lookahead -= c.prevLength - 1
                var remaining = c.prevLength - 2
                repeat {
                    c.strstart += 1
                    if c.strstart <= maxInsert { _ = insert(c.strstart) }
                    remaining -= 1
                } while remaining != 0
                c.matchAvailable = false
                c.matchLength = Self.minMatch - 1
                c.strstart += 1
                flushIfFull()
            } else if c.matchAvailable {
                tallyLiteral(window[c.strstart - 1])
                c.emittedUpTo = c.strstart
                flushIfFull()
                c.strstart += 1
                c.lookahead -= 1
            } else {
                c.matchAvailable = true
                c.strstart += 1
                c.lookahead -= 1
            }
        }
        if finishing && c.matchAvailable {
            tallyLiteral(window[c.strstart - 1])
            c.emittedUpTo = c.strstart
            c.matchAvailable = false
            flushIfFull()
        }
        cursor = c
    }

    // MARK: Blocks

    /// Codes the buffered symbols as one block (dynamic, fixed or stored, whichever is smallest).
    private func flushBlock(final: Bool) {
        // Kept whole: lengths, run-length codes, the three sizes and the writer share per-block scratch tables.
        let c = cursor
        literalFrequencies[256] = 1
        let literalLengths = lengthScratch + Self.literalAt
        let distanceLengths = lengthScratch + Self.distanceAt
        let codeLengthLengths = lengthScratch + Self.codeLengthAt
        Huffman.lengths(frequencies: literalFrequencies, count: 286, limit: 15, into: literalLengths)
        Huffman.lengths(frequencies: distanceFrequencies, count: 30, limit: 15, into: distanceLengths)

        // The code lengths, run-length coded (RFC 1951 3.2.7) as one sequence over both trees.
        var literalCount = 286
        while literalCount > 257 && literalLengths[literalCount - 1] == 0 { literalCount -= 1 }
        var distanceCount = 30
        while distanceCount > 1 && distanceLengths[distanceCount - 1] == 0 { distanceCount -= 1 }
        var sequence = [UInt8](repeating: 0, count: literalCount + distanceCount)
        for i in 0..<literalCount { sequence[i] = literalLengths[i] }
        for i in 0..<distanceCount { sequence[literalCount + i] = distanceLengths[i] }
        var runSymbols: [UInt8] = []
        var runExtras: [UInt8] = []
        runSymbols.reserveCapacity(sequence.count)
        runExtras.reserveCapacity(sequence.count)
        var i = 0
        while i < sequence.count {
            let value = sequence[i]
            var run = 1
            while i + run < sequence.count && sequence[i + run] == value { run += 1 }
            i += run
            if value == 0 {
                while run >= 11 {
                    let n = min(run, 138)
                    runSymbols.append(18)
                    runExtras.append(UInt8(n - 11))
                    run -= n
                }
                if run >= 3 {
                    runSymbols.append(17)
                    runExtras.append(UInt8(run - 3))
                    run = 0
                }
            } else {
                runSymbols.append(value)
                runExtras.append(0)
                run -= 1
                while run >= 3 {
                    let n = min(run, 6)
                    runSymbols.append(16)
                    runExtras.append(UInt8(n - 3))
                    run -= n
                }
            }
            for _ in 0..<run {
                runSymbols.append(value)
                runExtras.append(0)
            }
        }
        var codeLengthFrequencies = [UInt32](repeating: 0, count: 19)
        for symbol in runSymbols { codeLengthFrequencies[Int(symbol)] += 1 }
        codeLengthFrequencies.withUnsafeBufferPointer { frequencies in
            if let base = frequencies.baseAddress {
                Huffman.lengths(frequencies: base, count: 19, limit: 7, into: codeLengthLengths)
            }
        }
        var codeLengthCount = 19
        while codeLengthCount > 4 && codeLengthLengths[Int(Self.codeLengthOrder[codeLengthCount - 1])] == 0 {
            codeLengthCount -= 1
        }

        // Sizes in bits of the three ways to send the block.
        var extraBits = 0
        for code in 0..<29 {
            extraBits += Int(literalFrequencies[257 + code]) * Int(tables[Self.lengthExtraAt + code])
        }
        for code in 0..<30 {
            extraBits += Int(distanceFrequencies[code]) * Int(tables[Self.distanceExtraAt + code])
        }
        var headerBits = 5 + 5 + 4 + 3 * codeLengthCount
        for symbol in 0..<19 {
            headerBits += Int(codeLengthFrequencies[symbol]) * Int(codeLengthLengths[symbol])
        }
        headerBits += Int(codeLengthFrequencies[16]) * 2 + Int(codeLengthFrequencies[17]) * 3
        headerBits += Int(codeLengthFrequencies[18]) * 7
        var dynamicBits = 3 + headerBits + extraBits
        var fixedBits = 3 + extraBits
        let fixedLiteralLengths = lengthScratch + Self.fixedLiteralAt
        let fixedDistanceLengths = lengthScratch + Self.fixedDistanceAt
        for symbol in 0..<286 {
            let frequency = Int(literalFrequencies[symbol])
            dynamicBits += frequency * Int(literalLengths[symbol])
            fixedBits += frequency * Int(fixedLiteralLengths[symbol])
        }
        for code in 0..<30 {
            let frequency = Int(distanceFrequencies[code])
            dynamicBits += frequency * Int(distanceLengths[code])
            fixedBits += frequency * Int(fixedDistanceLengths[code])
        }
        let rawCount = c.emittedUpTo - c.blockStart
        var storedBits = Int.max
        if !blockRawLost && rawCount <= Self.storedLimit {
            let pieces = max(1, (rawCount + 65534) / 65535)
            let firstPad = (8 - (bitCount + 3) % 8) % 8
            storedBits = 3 + firstPad + (pieces - 1) * 8 + pieces * 32 + rawCount * 8
        }

        reserveOutput(max(c.symbolCount * 6, rawCount + 5 * (rawCount / 65535 + 1)) + 1024)
        if storedBits < min(dynamicBits, fixedBits) {
            writeStored(final: final, rawCount: rawCount)
        } else if fixedBits <= dynamicBits {
            putBits(UInt64(final ? 1 : 0) | 1 << 1, 3)
            writeSymbols(
                literalCodes: codeScratch + Self.fixedLiteralAt,
                literalLengths: fixedLiteralLengths,
                distanceCodes: codeScratch + Self.fixedDistanceAt,
                distanceLengths: fixedDistanceLengths
            )
        } else {
            let literalCodes = codeScratch + Self.literalAt
            let distanceCodes = codeScratch + Self.distanceAt
            let codeLengthCodes = codeScratch + Self.codeLengthAt
            Huffman.codes(lengths: literalLengths, count: 286, into: literalCodes)
            Huffman.codes(lengths: distanceLengths, count: 30, into: distanceCodes)
            Huffman.codes(lengths: codeLengthLengths, count: 19, into: codeLengthCodes)
            putBits(UInt64(final ? 1 : 0) | 2 << 1, 3)
            putBits(UInt64(literalCount - 257), 5)
            putBits(UInt64(distanceCount - 1), 5)
            putBits(UInt64(codeLengthCount - 4), 4)
            for k in 0..<codeLengthCount {
                putBits(UInt64(codeLengthLengths[Int(Self.codeLengthOrder[k])]), 3)
            }
            for (symbol, extra) in zip(runSymbols, runExtras) {
                putBits(UInt64(codeLengthCodes[Int(symbol)]), Int(codeLengthLengths[Int(symbol)]))
                switch symbol {
                case 16: putBits(UInt64(extra), 2)
                case 17: putBits(UInt64(extra), 3)
                case 18: putBits(UInt64(extra), 7)
                default: break
                }
            }
            writeSymbols(
                literalCodes: literalCodes,
                literalLengths: literalLengths,
                distanceCodes: distanceCodes,
                distanceLengths: distanceLengths
            )
        }

        for k in 0..<286 { literalFrequencies[k] = 0 }
        for k in 0..<30 { distanceFrequencies[k] = 0 }
        var next = cursor
        next.symbolCount = 0
        next.blockStart = next.emittedUpTo
        cursor = next
        blockRaw.removeAll(keepingCapacity: true)
        blockRawLost = false
    }

    private static let codeLengthOrder: [UInt8] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Writes the buffered symbols and the end-of-block code with the given code.
    private func writeSymbols(
        literalCodes: UnsafePointer<UInt16>,
        literalLengths: UnsafePointer<UInt8>,
        distanceCodes: UnsafePointer<UInt16>,
        distanceLengths: UnsafePointer<UInt8>
    ) {
        let lengthCodes = UnsafePointer(tables + Self.lengthCodeAt)
        let distanceCodeTable = UnsafePointer(tables + Self.distanceCodeAt)
        let lengthBases = UnsafePointer(tables + Self.lengthBaseAt)
        let lengthExtras = UnsafePointer(tables + Self.lengthExtraAt)
        let distanceBases = UnsafePointer(tables + Self.distanceBaseAt)
        let distanceExtras = UnsafePointer(tables + Self.distanceExtraAt)
        let out = UnsafeMutableRawPointer(output)
        var bits = bitBuffer
        var count = bitCount
        var at = outputCount

        @inline(__always)
        func put(_ value: UInt64, _ n: Int) {
            bits |= value << UInt64(count)
            count += n
            if count >= 32 {
                out.storeBytes(of: UInt32(truncatingIfNeeded: bits).littleEndian, toByteOffset: at, as: UInt32.self)
                at += 4
                bits >>= 32
                count -= 32
            }
        }

        for k in 0..<cursor.symbolCount {
            let symbol = symbols[k]
            let distance = Int(symbol >> 16)
            if distance == 0 {
                let literal = Int(symbol)
                put(UInt64(literalCodes[literal]), Int(literalLengths[literal]))
                continue
            }
            let lengthOffset = Int(symbol & 0xFFFF)
            let code = Int(lengthCodes[lengthOffset])
            var value = UInt64(literalCodes[257 + code])
            var n = Int(literalLengths[257 + code])
            let lengthExtra = Int(lengthExtras[code])
            value |= UInt64(lengthOffset - Int(lengthBases[code])) << UInt64(n)
            n += lengthExtra
            put(value, n)
            let d = distance - 1
            let distanceCode = Int(d < 256 ? distanceCodeTable[d] : distanceCodeTable[256 + d >> 7])
            value = UInt64(distanceCodes[distanceCode])
            n = Int(distanceLengths[distanceCode])
            value |= UInt64(d - Int(distanceBases[distanceCode])) << UInt64(n)
            n += Int(distanceExtras[distanceCode])
            put(value, n)
        }
        put(UInt64(literalCodes[256]), Int(literalLengths[256]))
        bitBuffer = bits
        bitCount = count
        outputCount = at
    }

    /// Writes the block's bytes as stored blocks of at most 65,535 bytes each.
    private func writeStored(final: Bool, rawCount: Int) {
        let c = cursor
        if !blockRaw.isEmpty {
            let from = max(c.blockStart, 0)
            blockRaw.append(contentsOf: UnsafeBufferPointer(start: window + from, count: c.emittedUpTo - from))
        }
        precondition(blockRaw.isEmpty || blockRaw.count == rawCount, "Deflater: stored block bytes lost")
        let copy = { (source: UnsafePointer<UInt8>) in
            var offset = 0
            repeat {
                let n = min(rawCount - offset, 65535)
                let isLast = offset + n == rawCount
                self.putBits(UInt64(final && isLast ? 1 : 0), 3)
                self.alignToByte()
                let length = UInt16(n)
                let header: [UInt8] = [
                    UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8),
                ]
                for byte in header { self.appendByte(byte) }
                (self.output + self.outputCount).update(from: source + offset, count: n)
                self.outputCount += n
                offset += n
            } while offset < rawCount
        }
        if blockRaw.isEmpty {
            copy(window + c.blockStart)
        } else {
            blockRaw.withUnsafeBufferPointer { buffer in
                if let base = buffer.baseAddress { copy(base) }
            }
        }
    }

    // MARK: Bits

    private func reserveOutput(_ extra: Int) {
        guard outputCount + extra + 16 > outputCapacity else { return }
        let capacity = max(2 * outputCapacity, outputCount + extra + 16)
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        grown.update(from: output, count: outputCount)
        output.deallocate()
        output = grown
        outputCapacity = capacity
    }

    private func putBits(_ value: UInt64, _ n: Int) {
        bitBuffer |= value << UInt64(bitCount)
        bitCount += n
        while bitCount >= 8 {
            appendByte(UInt8(truncatingIfNeeded: bitBuffer))
            bitBuffer >>= 8
            bitCount -= 8
        }
    }

    private func appendByte(_ byte: UInt8) {
        output[outputCount] = byte
        outputCount += 1
    }

    /// Sends the pending bits, padding the last byte with zeros.
    private func alignToByte() {
        while bitCount > 0 {
            appendByte(UInt8(truncatingIfNeeded: bitBuffer))
            bitBuffer >>= 8
            bitCount = max(0, bitCount - 8)
        }
        bitBuffer = 0
    }

    // MARK: Tables

    private static func buildTables(
        _ tables: UnsafeMutablePointer<UInt16>,
        codes: UnsafeMutablePointer<UInt16>,
        lengths: UnsafeMutablePointer<UInt8>
    ) {
        let lengthExtra: [UInt16] = [
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
        ]
        let distanceExtra: [UInt16] = [
            0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
        ]
        var base = 0
        for code in 0..<28 {
            tables[lengthBaseAt + code] = UInt16(base)
            tables[lengthExtraAt + code] = lengthExtra[code]
            for _ in 0..<(1 << Int(lengthExtra[code])) {
                tables[lengthCodeAt + base] = UInt16(code)
                base += 1
            }
        }
        // Length 258 has its own code (285), not the last slot of code 284.
        tables[lengthBaseAt + 28] = 255
        tables[lengthExtraAt + 28] = 0
        tables[lengthCodeAt + 255] = 28
        var distance = 0
        for code in 0..<30 {
            tables[distanceBaseAt + code] = UInt16(distance)
            tables[distanceExtraAt + code] = distanceExtra[code]
            for _ in 0..<(1 << Int(distanceExtra[code])) {
                // Distances - 1 below 256 index directly, the rest by (distance - 1) >> 7.
                if distance < 256 {
                    tables[distanceCodeAt + distance] = UInt16(code)
                } else if distance & 127 == 0 {
                    tables[distanceCodeAt + 256 + distance >> 7] = UInt16(code)
                }
                distance += 1
            }
        }
        // The fixed Huffman code (RFC 1951 3.2.6).
        for symbol in 0..<288 {
            lengths[fixedLiteralAt + symbol] = symbol < 144 ? 8 : symbol < 256 ? 9 : symbol < 280 ? 7 : 8
        }
        Huffman.codes(lengths: lengths + fixedLiteralAt, count: 288, into: codes + fixedLiteralAt)
        for code in 0..<30 { lengths[fixedDistanceAt + code] = 5 }
        Huffman.codes(lengths: lengths + fixedDistanceAt, count: 30, into: codes + fixedDistanceAt)
    }
}
