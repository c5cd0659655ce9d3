// A wheel's METADATA, read from the wheel once, when it is fetched or imported, and kept in the
// store index: the mirror serves it as the PEP 658 `.metadata` file and lists its
// `Requires-Python` as `data-requires-python` without opening the wheel.

public import AirlockCore
import Foundation

public struct WheelMetadataIndexer: BlobIndexer {
    /// The largest METADATA read (a real one is a few KiB; long descriptions reach hundreds).
    public static let limit = 16 << 20

    public init() {}

    public func index(_ entries: [BlobEntry], in store: Store) {
        var done: Set<SHA256Digest> = []
        for entry in entries {
            guard let filename = entry.filename, filename.hasSuffix(".whl"), done.insert(entry.digest).inserted,
                (try? store.index.wheelMetadata(of: entry.digest)) == nil,
                let record = Self.read(wheel: store.blobPath(entry.digest), filename: filename)
            else { continue }
            try? store.index.recordWheelMetadata(record, of: entry.digest)
        }
    }

    /// `NAME-VERSION.dist-info/METADATA` of the wheel at `path`, and its `Requires-Python`; nil
    /// when the file name is not a wheel's or the wheel has no such file.
    public static func read(wheel path: String, filename: String) -> StoreIndex.WheelMetadataRecord? {
        guard let name = try? WheelName(filename) else { return nil }
        let wanted = name.distInfo + "/METADATA"
        guard let reader = try? ArchiveReader(paths: [path], format: .zip) else { return nil }
        while let entry = try? reader.next() {
            guard entry.path == wanted, entry.kind == .regular else { continue }
            guard let bytes = try? reader.readAll(limit: limit) else { return nil }
            return StoreIndex.WheelMetadataRecord(metadata: bytes, requiresPython: requiresPython(bytes))
        }
        return nil
    }

    /// The `Requires-Python` header (the headers end at the first blank line).
    static func requiresPython(_ metadata: [UInt8]) -> String? {
        for line in String(decoding: metadata, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
            if line.lowercased().hasPrefix("requires-python:") {
                return line.dropFirst("requires-python:".count).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
