// Plans the recipe a delta carries instead of a zip: every entry whose compressed bytes are found,
// identical, in a source zip (a wheel the build copied them from, or an earlier build of the same
// app, which holds the same bytecode) becomes a copy of that source's range; local headers, the
// central directory and whatever is new stay literal. A match is proposed by CRC-32, sizes and
// method and kept only when the bytes compare equal, so a recipe never depends on a CRC collision.

public import AirlockCore

public enum ZipRecipePlanner {
    /// Entries smaller than this are left literal: a segment costs about as much JSON.
    static let smallestCopied = 64

    public struct Planned: Sendable {
        public var recipe: BlobRecipe
        /// The recipe file (JSON line and literal bytes).
        public var bytes: [UInt8]
    }

    /// The recipe for the zip at `path` (`output` its digest and size) from `sources` (digest to a
    /// path on this host; those that are not zips are skipped), or nil when no entry is found.
    public static func plan(
        zip path: String, output: BlobRecipe.Blob, sources: [SHA256Digest: String]
    ) throws -> Planned? {
        let target = try ZipReader(path: path)
        struct Key: Hashable {
            var crc32: UInt32
            var compressed: Int
            var uncompressed: Int
            var method: UInt16
        }
        var readers: [(blob: BlobRecipe.Blob, reader: ZipReader, file: FileDescriptor)] = []
        var candidates: [Key: [(source: Int, entry: ZipEntry)]] = [:]
        for digest in sources.keys.sorted() where digest != output.sha256 {
            guard let sourcePath = sources[digest], let reader = try? ZipReader(path: sourcePath) else { continue }
            let index = readers.count
            readers.append((BlobRecipe.Blob(sha256: digest, size: try FileSystem.size(of: sourcePath)), reader, try FileDescriptor.open(sourcePath)))
            for entry in reader.entries where entry.compressedSize >= smallestCopied {
                let key = Key(crc32: entry.crc32, compressed: entry.compressedSize, uncompressed: entry.uncompressedSize, method: entry.method)
                if candidates[key]?.contains(where: { $0.source == index }) != true { candidates[key, default: []].append((index, entry)) }
            }
        }
        guard !readers.isEmpty else { return nil }

        let file = try FileDescriptor.open(path)
        var segments: [BlobRecipe.Segment] = []
        var literal: [UInt8] = []
        var used: [Int: Int] = [:]
        var cursor = 0
        func appendLiteral(upTo end: Int) throws {
            guard end > cursor else { return }
            var bytes = [UInt8](repeating: 0, count: end - cursor)
            let n = try bytes.withUnsafeMutableBytes { try file.read(at: cursor, into: $0) }
            guard n == bytes.count else { throw ZipError(path: path, reason: "truncated") }
            if let last = segments.last, last.source == -1, last.offset + last.length == literal.count {
                segments[segments.count - 1].length += bytes.count
            } else {
                segments.append(BlobRecipe.Segment(source: -1, offset: literal.count, length: bytes.count))
            }
            literal += bytes
            cursor = end
        }
        for entry in target.entries.sorted(by: { $0.localHeaderOffset < $1.localHeaderOffset }) {
            let key = Key(crc32: entry.crc32, compressed: entry.compressedSize, uncompressed: entry.uncompressedSize, method: entry.method)
            guard entry.compressedSize >= smallestCopied, let found = candidates[key] else { continue }
            let range = try target.dataRange(of: entry)
            guard range.lowerBound >= cursor else { continue }
            var match: (source: Int, range: Range<Int>)? = nil
            for candidate in found {
                let source = readers[candidate.source]
                guard let sourceRange = try? source.reader.dataRange(of: candidate.entry),
                    try sameBytes(file, range, source.file, sourceRange)
                else { continue }
                match = (candidate.source, sourceRange)
                break
            }
            guard let match else { continue }
            try appendLiteral(upTo: range.lowerBound)
            let source = used[match.source] ?? used.count
            used[match.source] = source
            if let last = segments.last, last.source == source, last.offset + last.length == match.range.lowerBound {
                segments[segments.count - 1].length += match.range.count
            } else {
                segments.append(BlobRecipe.Segment(source: source, offset: match.range.lowerBound, length: match.range.count))
            }
            cursor = range.upperBound
        }
        guard !used.isEmpty else { return nil }
        try appendLiteral(upTo: output.size)
        var sourceList = [BlobRecipe.Blob](repeating: BlobRecipe.Blob(sha256: output.sha256, size: 0), count: used.count)
        for (reader, index) in used { sourceList[index] = readers[reader].blob }
        let recipe = BlobRecipe(output: output, sources: sourceList, segments: segments)
        return Planned(recipe: recipe, bytes: recipe.encoded(literal: literal))
    }

    /// The two ranges hold the same bytes.
    private static func sameBytes(_ a: FileDescriptor, _ ra: Range<Int>, _ b: FileDescriptor, _ rb: Range<Int>) throws -> Bool {
        guard ra.count == rb.count else { return false }
        let chunk = 1 << 18
        var x = [UInt8](repeating: 0, count: min(chunk, ra.count))
        var y = x
        var done = 0
        while done < ra.count {
            let n = min(chunk, ra.count - done)
            let got1 = try x.withUnsafeMutableBytes { try a.read(at: ra.lowerBound + done, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<n])) }
            let got2 = try y.withUnsafeMutableBytes { try b.read(at: rb.lowerBound + done, into: UnsafeMutableRawBufferPointer(rebasing: $0[..<n])) }
            guard got1 == n, got2 == n, x[..<n] == y[..<n] else { return false }
            done += n
        }
        return true
    }
}
