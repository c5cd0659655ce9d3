// Length-limited Huffman codes for the deflater, by package-merge (Larmore and Hirschberg, 1990):
// the optimal code lengths under a maximum length, not a heuristic repair of an unlimited tree, so
// every code is complete (Kraft sum exactly 1) and no symbol ever gets a length past the limit.
// The lengths depend only on the frequencies and the fixed tie rules below (lower frequency first,
// then lower symbol; a leaf before a package of equal weight), so the output is the same on every
// host. It runs once per block over at most 286 symbols and 15 levels, which is cheap next to the
// LZ77 search, so it works on plain arrays.

package enum Huffman {
    /// Fills `lengths[0..<count]` with code lengths of at most `limit` bits for `frequencies`.
    /// A symbol of frequency 0 gets length 0. When fewer than two symbols are used, the code is
    /// padded to two symbols of one bit each (as zlib does): a complete code, which every inflater
    /// accepts, even for an empty distance tree.
    package static func lengths(
        frequencies: UnsafePointer<UInt32>,
        count: Int,
        limit: Int,
        into lengths: UnsafeMutablePointer<UInt8>
    ) {
        var leaves: [Int] = []
        leaves.reserveCapacity(count)
        for symbol in 0..<count {
            lengths[symbol] = 0
            if frequencies[symbol] != 0 { leaves.append(symbol) }
        }
        if leaves.count < 2 {
            let used = leaves.first ?? 0
            lengths[used] = 1
            lengths[used == 0 ? 1 : 0] = 1
            return
        }
        precondition(1 << limit >= leaves.count, "Huffman: \(leaves.count) symbols cannot fit in \(limit) bits")
        leaves.sort { frequencies[$0] != frequencies[$1] ? frequencies[$0] < frequencies[$1] : $0 < $1 }
        let leafWeights = leaves.map { UInt64(frequencies[$0]) }
        let n = leaves.count

        // Level 1 (the deepest) holds the leaves alone; each higher level merges the leaves with
        // the pairs ("packages") of the level below. `isLeaf[level]` records, item by item, which
        // of the two the merged list took, which is all the counting pass below needs.
        var isLeaf: [[Bool]] = [[Bool](repeating: true, count: n)]
        var below = leafWeights
        var merged: [UInt64] = []
        merged.reserveCapacity(2 * n)
        for _ in 1..<limit {
            merged.removeAll(keepingCapacity: true)
            var flags: [Bool] = []
            flags.reserveCapacity(2 * n)
            let packages = below.count / 2
            var leaf = 0
            var pair = 0
            while leaf < n || pair < packages {
                let packageWeight = pair < packages ? below[2 * pair] + below[2 * pair + 1] : UInt64.max
                if leaf < n, leafWeights[leaf] <= packageWeight {
                    merged.append(leafWeights[leaf])
                    flags.append(true)
                    leaf += 1
                } else {
                    merged.append(packageWeight)
                    flags.append(false)
                    pair += 1
                }
            }
            isLeaf.append(flags)
            swap(&below, &merged)
        }

        // The first 2n - 2 items of the top level are the solution: each time a leaf appears in
        // it, directly or inside a chosen package, its code gets one bit longer. Leaves appear in
        // each list in sorted order, so the chosen leaves of a level are a prefix of `leaves`.
        var chosen = 2 * n - 2
        for level in stride(from: limit - 1, through: 0, by: -1) {
            let flags = isLeaf[level]
            var leafCount = 0
            for i in 0..<chosen where flags[i] { leafCount += 1 }
            for i in 0..<leafCount { lengths[leaves[i]] += 1 }
            chosen = 2 * (chosen - leafCount)
        }
    }

    /// The canonical codes for `lengths` (RFC 1951 section 3.2.2), bit-reversed, since deflate
    /// sends Huffman codes most significant bit first into an otherwise LSB-first stream.
    package static func codes(lengths: UnsafePointer<UInt8>, count: Int, into codes: UnsafeMutablePointer<UInt16>) {
        var lengthCount = [UInt16](repeating: 0, count: 16)
        for symbol in 0..<count { lengthCount[Int(lengths[symbol])] += 1 }
        lengthCount[0] = 0
        var next = [UInt16](repeating: 0, count: 16)
        var code: UInt16 = 0
        for bits in 1..<16 {
            code = (code &+ lengthCount[bits - 1]) << 1
            next[bits] = code
        }
        for symbol in 0..<count {
            let length = Int(lengths[symbol])
            guard length != 0 else {
                codes[symbol] = 0
                continue
            }
            codes[symbol] = reversed(next[length], bits: length)
            next[length] &+= 1
        }
    }

    static func reversed(_ code: UInt16, bits: Int) -> UInt16 {
        var value = code
        var result: UInt16 = 0
        for _ in 0..<bits {
            result = result << 1 | value & 1
            value >>= 1
        }
        return result
    }
}
