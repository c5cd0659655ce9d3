// What differs between two zips entry by entry, for `rebuild --check` to say why a rebuilt zip is
// not the bundle's: entries only on one side, and for an entry on both the central-directory
// fields that differ (size, CRC-32, modification time, mode, method, compressed size). For a text
// entry whose content differs, the unified diff comes from the stock `diff -u` (diffutils is in
// every Debian and Ubuntu) over the two inflated members, rather than from a diff written here.

public import AirlockCore
import Foundation

/// One entry that differs.
public struct ZipEntryDifference: Codable, Sendable, Equatable {
    /// The entry as one side's central directory has it.
    public struct Side: Codable, Sendable, Equatable {
        public var size: Int
        public var compressedSize: Int
        /// 8 hex digits.
        public var crc32: String
        /// `2024-01-02 03:04:06`, the zip's (local, two-second) time.
        public var modified: String
        /// `0644`, or nil when the entry was not made on Unix.
        public var mode: String?
        public var method: Int

        init(_ entry: ZipEntry) {
            size = entry.uncompressedSize
            compressedSize = entry.compressedSize
            crc32 = String(format: "%08x", entry.crc32)
            modified = DOSTime.text(entry.dosDateTime)
            mode = entry.unixMode.map { String(format: "%04o", $0 & 0o7777) }
            method = Int(entry.method)
        }
    }

    public var name: String
    /// Only in the bundle's zip (`rebuilt` nil), only in the rebuild (`expected` nil), or in both.
    public var expected: Side?
    public var rebuilt: Side?
    /// For an entry in both: which fields differ (`size`, `crc32`, `modified`, `mode`, `method`,
    /// `compressedSize`); `order` when only the entries' order differs.
    public var fields: [String]
    /// `diff -u` of the two contents, for text entries whose content differs.
    public var textDiff: String?
}

public enum ZipDiff {
    /// Text entries larger than this get no unified diff, and at most `maximumTextDiffs` get one.
    static let textLimit = 1 << 20
    static let maximumTextDiffs = 20

    /// The entries of `expected` and `rebuilt` that differ, in name order; one `order` entry when
    /// only their order differs; empty when the entries are the same.
    public static func compare(expected: String, rebuilt: String, scratch: String) async throws -> [ZipEntryDifference] {
        let old = try ZipReader(path: expected)
        let new = try ZipReader(path: rebuilt)
        let oldByName = Dictionary(old.entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let newByName = Dictionary(new.entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var differences: [ZipEntryDifference] = []
        var textWanted: [String] = []
        for name in Set(oldByName.keys).union(newByName.keys).sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let a = oldByName[name]
            let b = newByName[name]
            guard let a, let b else {
                differences.append(
                    ZipEntryDifference(name: name, expected: a.map(ZipEntryDifference.Side.init), rebuilt: b.map(ZipEntryDifference.Side.init), fields: [])
                )
                continue
            }
            var fields: [String] = []
            if a.uncompressedSize != b.uncompressedSize { fields.append("size") }
            if a.crc32 != b.crc32 { fields.append("crc32") }
            if a.dosDateTime != b.dosDateTime { fields.append("modified") }
            if a.unixMode != b.unixMode { fields.append("mode") }
            if a.method != b.method { fields.append("method") }
            if a.compressedSize != b.compressedSize { fields.append("compressedSize") }
            guard !fields.isEmpty else { continue }
            differences.append(ZipEntryDifference(name: name, expected: .init(a), rebuilt: .init(b), fields: fields))
            let contentDiffers = a.crc32 != b.crc32 || a.uncompressedSize != b.uncompressedSize
            if contentDiffers, max(a.uncompressedSize, b.uncompressedSize) <= textLimit, textWanted.count < maximumTextDiffs {
                textWanted.append(name)
            }
        }
        if differences.isEmpty, old.entries.map(\.name) != new.entries.map(\.name) {
            differences.append(ZipEntryDifference(name: "(the entries' order)", fields: ["order"]))
        }
        guard !textWanted.isEmpty else { return differences }
        let wanted = Set(textWanted)
        let oldText = try contents(of: wanted, in: expected)
        let newText = try contents(of: wanted, in: rebuilt)
        for (i, difference) in differences.enumerated() where wanted.contains(difference.name) {
            guard let a = oldText[difference.name], let b = newText[difference.name], isText(a), isText(b) else { continue }
            differences[i].textDiff = try await unifiedDiff(a, b, name: difference.name, scratch: scratch)
        }
        return differences
    }

    /// The inflated content of the `names` members of the zip at `path` (libarchive).
    static func contents(of names: Set<String>, in path: String) throws -> [String: [UInt8]] {
        var found: [String: [UInt8]] = [:]
        let reader = try ArchiveReader(paths: [path], format: .zip)
        while let entry = try reader.next() {
            guard let name = entry.path, names.contains(name), entry.kind == .regular else {
                try reader.skipData()
                continue
            }
            found[name] = try reader.readAll(limit: textLimit)
            if found.count == names.count { break }
        }
        return found
    }

    /// UTF-8 without NUL bytes.
    static func isText(_ bytes: [UInt8]) -> Bool {
        !bytes.contains(0) && String(validating: bytes, as: UTF8.self) != nil
    }

    /// `diff -u --label bundle/NAME --label rebuilt/NAME` of the two contents.
    static func unifiedDiff(_ a: [UInt8], _ b: [UInt8], name: String, scratch: String) async throws -> String? {
        // Without diffutils the entry is still named with its fields, only without the text diff.
        guard let diff = ChildProcess.locate("diff", path: Environment.get("PATH")) else { return nil }
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "airlock-zipdiff", in: scratch)
        defer { FileSystem.removeTree(directory) }
        try FileSystem.writeAtomically(directory + "/a", a)
        try FileSystem.writeAtomically(directory + "/b", b)
        let result = try await ChildProcess(
            executable: diff, arguments: ["-u", "--label", "bundle/" + name, "--label", "rebuilt/" + name, directory + "/a", directory + "/b"],
            timeLimit: .seconds(60), captureOutput: 256 << 10
        ).run()
        // 1: the files differ (the diff is on standard output); 0 cannot happen for differing CRCs.
        guard result.status == 1 else { return nil }
        return result.outputText
    }
}

extension DOSTime {
    /// `2024-01-02 03:04:06` for a central directory's date (high 16 bits) and time (low 16).
    public static func text(_ dateTime: UInt32) -> String {
        let date = dateTime >> 16
        let time = dateTime & 0xFFFF
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", 1980 + Int(date >> 9), Int(date >> 5 & 0xF), Int(date & 0x1F), Int(time >> 11),
            Int(time >> 5 & 0x3F), Int(time & 0x1F) * 2
        )
    }
}
