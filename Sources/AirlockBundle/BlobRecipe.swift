// A recipe: how to rebuild one blob byte for byte as a list of segments, each copied from another
// blob (one the receiving store holds, or one the same bundle carries) or from the recipe's own
// literal bytes. A delta carries an app zip this way (ZipRecipePlanner finds its entries' compressed
// bytes in the wheels and earlier builds), since the zip is mostly bytes the enclave already has.
//
// The file: one line of canonical JSON, then the literal bytes.
//   {"kind":"airlock-recipe","output":{"sha256":HEX,"size":N},"schema":1,
//    "segments":[[SOURCE,OFFSET,LENGTH],...],"sources":[{"sha256":HEX,"size":N},...]}
// SOURCE is an index into `sources`, or -1 for the literal bytes (OFFSET counts from the byte after
// the newline). Byte-level on purpose: reassembly parses no zip, so the enclave's side of a recipe
// is a bounds-checked copy loop, and whatever the recipe says, the result is kept only if it hashes
// to the digest the signed manifest names.

public import AirlockCore

public struct BlobRecipe: Sendable, Equatable {
    public static let kind = "airlock-recipe"
    /// The recipe's JSON line is read whole into memory: bounded before it is parsed.
    public static let maximumHeader = 64 << 20
    public static let maximumSources = 4096

    public struct Blob: Sendable, Equatable, Hashable {
        public var sha256: SHA256Digest
        public var size: Int

        public init(sha256: SHA256Digest, size: Int) {
            self.sha256 = sha256
            self.size = size
        }
    }

    public struct Segment: Sendable, Equatable {
        /// An index into `sources`, or -1 for the literal bytes.
        public var source: Int
        public var offset: Int
        public var length: Int

        public init(source: Int, offset: Int, length: Int) {
            self.source = source
            self.offset = offset
            self.length = length
        }
    }

    public var output: Blob
    public var sources: [Blob]
    public var segments: [Segment]

    public init(output: Blob, sources: [Blob], segments: [Segment]) {
        self.output = output
        self.sources = sources
        self.segments = segments
    }

    /// The bytes of the copied segments.
    public var copiedBytes: Int { segments.reduce(0) { $0 + ($1.source >= 0 ? $1.length : 0) } }

    /// The recipe file: the JSON line, then `literal`.
    public func encoded(literal: [UInt8]) -> [UInt8] {
        func blob(_ b: Blob) -> JSONValue { .object(["sha256": .string(b.sha256.hex), "size": .int(Int64(b.size))]) }
        let header = JSONValue.object([
            "schema": .int(1),
            "kind": .string(Self.kind),
            "output": blob(output),
            "sources": .array(sources.map(blob)),
            "segments": .array(segments.map { .array([.int(Int64($0.source)), .int(Int64($0.offset)), .int(Int64($0.length))]) }),
        ])
        return header.canonicalBytes + [0x0A] + literal
    }

    /// Reads the recipe at `path` (a staged blob): its JSON line, checked to be canonical and every
    /// segment within its source and the literal bytes, the lengths adding up to the output's size.
    /// Returns the recipe and where its literal bytes start.
    public static func read(_ path: String) throws -> (recipe: BlobRecipe, literalOffset: Int) {
        let fd = try FileDescriptor.open(path)
        let fileSize = try fd.size
        var header: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        var newline: Int? = nil
        while newline == nil, offset < min(fileSize, maximumHeader + 1) {
            let n = try buffer.withUnsafeMutableBytes { try fd.read(at: offset, into: $0) }
            if n == 0 { break }
            if let i = buffer[..<n].firstIndex(of: 0x0A) {
                newline = offset + i
                header += buffer[..<i]
            } else {
                header += buffer[..<n]
            }
            offset += n
        }
        guard let newline, newline <= maximumHeader else { throw RecipeError("no recipe line within \(maximumHeader) bytes") }
        let value: JSONValue
        do { value = try JSONValue(parsing: header) } catch { throw RecipeError("not JSON (\(error))") }
        guard value.canonicalBytes == header, let top = value.objectValue,
            Set(top.keys) == ["schema", "kind", "output", "sources", "segments"], top["schema"]?.intValue == 1,
            top["kind"]?.stringValue == kind
        else { throw RecipeError("not a schema-1 Airlock recipe in canonical form") }
        func blob(_ v: JSONValue?, _ what: String) throws -> Blob {
            guard let o = v?.objectValue, Set(o.keys) == ["sha256", "size"], let hex = o["sha256"]?.stringValue, hex.utf8.count == 64,
                let digest = SHA256Digest(hex), let size = o["size"]?.intValue, size >= 0, size <= Int64(Int.max)
            else { throw RecipeError("\(what) must be {\"sha256\", \"size\"}") }
            return Blob(sha256: digest, size: Int(size))
        }
        let output = try blob(top["output"], "output")
        let sourceValues = top["sources"]?.arrayValue ?? []
        guard sourceValues.count <= maximumSources else { throw RecipeError("more than \(maximumSources) sources") }
        let sources = try sourceValues.enumerated().map { try blob($1, "sources[\($0)]") }
        guard Set(sources.map(\.sha256)).count == sources.count else { throw RecipeError("a source is listed twice") }
        let literalOffset = newline + 1
        let literalSize = fileSize - literalOffset
        var segments: [Segment] = []
        var total = 0
        for (i, item) in (top["segments"]?.arrayValue ?? []).enumerated() {
            guard let parts = item.arrayValue, parts.count == 3, let s = parts[0].intValue, let o = parts[1].intValue,
                let l = parts[2].intValue, s >= -1, s < Int64(sources.count), o >= 0, o <= Int64(Int.max), l >= 1, l <= Int64(Int.max)
            else { throw RecipeError("segments[\(i)] must be [SOURCE (-1 or a source index), OFFSET, LENGTH >= 1]") }
            let segment = Segment(source: Int(s), offset: Int(o), length: Int(l))
            let limit = segment.source < 0 ? literalSize : sources[segment.source].size
            guard segment.offset <= limit, segment.length <= limit - segment.offset else {
                throw RecipeError("segments[\(i)] reads past the end of its \(segment.source < 0 ? "literal bytes" : "source")")
            }
            let (sum, overflow) = total.addingReportingOverflow(segment.length)
            guard !overflow, sum <= output.size else { throw RecipeError("its segments make more than the output's \(output.size) bytes") }
            total = sum
            segments.append(segment)
        }
        guard total == output.size else { throw RecipeError("its segments make \(total) bytes, not the output's \(output.size)") }
        return (BlobRecipe(output: output, sources: sources, segments: segments), literalOffset)
    }

    /// Writes the output to `writer`: each segment copied from its source (`paths` holds a checked
    /// file for each) or from the recipe file's literal bytes. The caller compares the digest.
    public func assemble(recipePath: String, literalOffset: Int, paths: [SHA256Digest: String], into writer: BlobWriter) throws {
        let recipe = try FileDescriptor.open(recipePath)
        var files: [Int: FileDescriptor] = [:]
        for (i, source) in sources.enumerated() {
            guard let path = paths[source.sha256] else { throw RecipeError("source \(source.sha256.hex) is not at hand") }
            files[i] = try FileDescriptor.open(path)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobWriter.bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        for segment in segments {
            let (fd, base) = segment.source < 0 ? (recipe, literalOffset) : (files[segment.source] ?? recipe, 0)
            var done = 0
            while done < segment.length {
                let want = min(buffer.count, segment.length - done)
                let n = try fd.read(at: base + segment.offset + done, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
                guard n > 0 else { throw RecipeError("\(fd.path) ends before the recipe's segment does") }
                try writer.append(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
                done += n
            }
        }
    }
}

/// A recipe that cannot be read or followed (exit 1: a failed check of the bundle's content).
public struct RecipeError: AirlockError {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "recipe: \(reason)" }
    public var status: ExitStatus { .checkFailed }
    public var code: ErrorCode { BundleErrorCode.badRecipe.code }
}
