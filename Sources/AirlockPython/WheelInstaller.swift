// Installing a wheel, per the binary distribution format spec, as `pip install --target` lays it out,
// but into a plan of zip entries rather than onto disk: files copied unchanged keep the wheel's
// compressed bytes (ZipWriter copies them), and only RECORD, INSTALLER and scripts are generated.
//
// One streaming pass over the inflated members (libarchive) checks every file against the wheel's
// RECORD (sha256 and size), keeps the few files that are rewritten or audited (ELF objects), and,
// with a tree directory, writes the files out. Member names are hostile input: absolute paths, `..`,
// backslashes, links, devices, encrypted members and duplicates are refused by name.
//
// Layout for `--target` (pip's home scheme, moved into the target): purelib, platlib and the root
// go to site-packages itself; `.data/scripts/X` to `bin/X` (with `#!python` rewritten to
// `#!/usr/bin/env python3`); `.data/headers/X` to `include/python/<dist>/X`; `.data/data/X` to `X`.
// Console and GUI scripts from entry_points.txt become `bin/<name>` wrappers. No direct_url.json,
// and nothing records a path of this machine.

public import AirlockCore
import Foundation

/// One file of the installed tree, relative to site-packages.
public struct InstalledFile: Sendable {
    public enum Source: Sendable {
        /// Copied unchanged from the wheel (compressed bytes reused).
        case wheel(ZipEntry)
        /// Made by the installer.
        case generated([UInt8])
    }

    public let path: String
    public let source: Source
    public let executable: Bool
    /// `sha256=<urlsafe base64, no padding>` of the installed content, as RECORD lists it.
    public let recordHash: String
    public let size: Int
}

/// A wheel planned for installation.
public struct InstalledWheel: Sendable {
    public let name: WheelName
    public let wheelPath: String
    public let files: [InstalledFile]
    /// ELF objects found in the wheel (path relative to site-packages, content), for the glibc audit.
    public let elfObjects: [(path: String, bytes: [UInt8])]
}

public enum WheelInstaller {
    /// Plans the installation of the wheel at `path` (whose original file name is `fileName`).
    /// With `treeRoot`, also writes the installed files under it.
    public static func plan(wheelAt path: String, fileName: String, ranking: TagRanking, target: PythonTarget, treeRoot: String? = nil) throws -> InstalledWheel {
        let name = try WheelName(fileName)
        guard ranking.bestRank(of: name.tags) != nil else {
            let best = ranking.tags.prefix(3).map(\.description).joined(separator: ", ")
            throw WheelError(
                .tagsDoNotFit,
                "\(fileName): refused: its tags (\(name.tags.map(\.description).joined(separator: ", "))) fit no tag the target accepts (\(target.description); best accepted: \(best), ...)"
            )
        }
        let fail = { (code: WheelErrorCode, reason: String) in WheelError(code, "\(fileName): \(reason)") }
        let zip = try ZipReader(path: path)
        let layout = try WheelLayout(zip, name: name, fail: fail)
        let treeFiles = try treeRoot.map { root -> TreeWriter in try TreeWriter(root: root) }
        let content = try inflate(path, layout: layout, name: name, into: treeFiles, fail: fail)
        try checkRecord(content, layout: layout, fail: fail)
        guard let wheelMeta = content.kept[layout.distInfo + "/WHEEL"] else {
            throw fail(.badMetadata, "\(layout.distInfo)/WHEEL missing")
        }
        let headers = EmailHeaders.parse(String(decoding: wheelMeta, as: UTF8.self))
        guard let version = headers["wheel-version"]?.first, version.split(separator: ".").first == "1" else {
            throw fail(.badMetadata, "Wheel-Version \(headers["wheel-version"]?.first ?? "missing") is not 1.x")
        }
        let files = try installedFiles(zip, layout: layout, content: content, name: name, into: treeFiles, fail: fail)
        return InstalledWheel(name: name, wheelPath: path, files: files, elfObjects: content.elf)
    }

    /// The wheel's members by name (each checked: no escaping path, link, device, encryption or
    /// duplicate), its one `.dist-info` directory and its `.data` directory.
    struct WheelLayout {
        var byName: [String: ZipEntry] = [:]
        let distInfo: String
        let dataDir: String
        /// Read whole: rewritten or parsed.
        let keepWhole: Set<String>
        /// RECORD and its signatures: in the wheel but not listed in RECORD.
        let unrecorded: Set<String>

        init(_ zip: ZipReader, name: WheelName, fail: (WheelErrorCode, String) -> WheelError) throws {
            var topLevel = Set<String>()
            for entry in zip.entries {
                let bare = entry.isDirectory ? String(entry.name.dropLast()) : entry.name
                guard RelativePath.isSafe(bare) else {
                    throw fail(.badMember, "member '\(entry.name)' would land outside the target directory")
                }
                guard !entry.isSymlink else { throw fail(.badMember, "member '\(entry.name)' is a symbolic link") }
                guard !entry.isSpecial else {
                    throw fail(.badMember, "member '\(entry.name)' is a device, FIFO or socket")
                }
                guard !entry.isEncrypted else { throw fail(.badMember, "member '\(entry.name)' is encrypted") }
                guard byName[entry.name] == nil else {
                    throw fail(.duplicateMember, "member '\(entry.name)' appears twice")
                }
                byName[entry.name] = entry
                if let first = bare.split(separator: "/").first { topLevel.insert(String(first)) }
            }
            let distInfos = topLevel.filter { [byName] in $0.hasSuffix(".dist-info") && byName[$0 + "/RECORD"] != nil }
            guard distInfos.count == 1, let distInfo = distInfos.first else {
                throw fail(.badLayout, "needs exactly one .dist-info directory with a RECORD, found \(distInfos.count)")
            }
            guard WheelName.normalize(String(distInfo.dropLast(".dist-info".count))).hasPrefix(WheelName.normalize(name.distribution)) else {
                throw fail(
                    .badLayout,
                    "its .dist-info directory '\(distInfo)' does not match the distribution \(name.distribution)"
                )
            }
            self.distInfo = distInfo
            dataDir = String(distInfo.dropLast(".dist-info".count)) + ".data"
            keepWhole = [distInfo + "/RECORD", distInfo + "/WHEEL", distInfo + "/entry_points.txt", distInfo + "/METADATA"]
            unrecorded = [distInfo + "/RECORD", distInfo + "/RECORD.jws", distInfo + "/RECORD.p7s"]
        }
    }

    /// What one pass over the inflated members found: each file's RECORD-style hash and size, the
    /// members read whole, and the ELF objects (by installed path) for the glibc audit.
    struct WheelContent {
        var seen: [String: (hash: String, size: Int)] = [:]
        var kept: [String: [UInt8]] = [:]
        var elf: [(path: String, bytes: [UInt8])] = []
    }

    /// One streaming pass over the inflated content (libarchive): hash every file, keep what is
    /// rewritten or audited, and write the tree when asked.
    static func inflate(
        _ path: String,
        layout: WheelLayout,
        name: WheelName,
        into treeFiles: TreeWriter?,
        fail: (WheelErrorCode, String) -> WheelError
    ) throws -> WheelContent {
        var content = WheelContent()
        // libarchive walks the central directory's entries in the order of their local headers, and
        // in the C locale gives no name for a non-ASCII one: member N is the central directory's
        // entry N in that order, its name checked against libarchive's where it gives one.
        let ordered = layout.byName.values.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        var index = 0
        let reader = try ArchiveReader(paths: [path], format: .zip)
        while let entry = try reader.next() {
            guard index < ordered.count else { throw fail(.badMember, "libarchive finds more members than the central directory lists") }
            let zipEntry = ordered[index]
            index += 1
            let memberName = zipEntry.name
            if let seen = entry.path, seen != memberName {
                throw fail(.badMember, "member '\(seen)' is not the central directory's '\(memberName)' at that place")
            }
            if entry.kind == .directory || memberName.hasSuffix("/") {
                try reader.skipData()
                continue
            }
            guard entry.kind == .regular else {
                throw fail(.badMember, "member '\(memberName)' is not a regular file listed in the central directory")
            }
            let hasher = SHA256Hasher()
            var size = 0
            var head: [UInt8] = []
            var whole: [UInt8]? = layout.keepWhole.contains(memberName) || memberName.hasPrefix(layout.dataDir + "/scripts/") ? [] : nil
            var isELF = false
            let installPath = try installedPath(
                of: memberName, distInfo: layout.distInfo, dataDir: layout.dataDir, distribution: name.distribution, fail: fail
            )
            let sink = try installPath.flatMap { p in try treeFiles?.open(p, executable: zipEntry.isExecutable) }
            try reader.readData { chunk in
                hasher.update(chunk)
                size += chunk.count
                if head.count < 4 {
                    head += chunk.prefix(4 - head.count)
                    if head.count == 4, head == [0x7f, 0x45, 0x4c, 0x46] {
                        isELF = true
                        whole = whole ?? []
                    }
                }
                if whole != nil {
                    guard (whole?.count ?? 0) + chunk.count <= 512 << 20 else {
                        throw fail(.badMember, "member '\(memberName)' is over 512 MiB")
                    }
                    whole?.append(contentsOf: chunk)
                }
                try sink?.write(chunk)
            }
            try sink?.close()
            guard size == zipEntry.uncompressedSize else {
                throw fail(
                    .badMember,
                    "member '\(memberName)' inflates to \(size) bytes, not \(zipEntry.uncompressedSize)"
                )
            }
            content.seen[memberName] = ("sha256=" + Base64URL.encode(hasher.finalize().bytes), size)
            if let whole {
                content.kept[memberName] = whole
                if isELF, let installPath { content.elf.append((installPath, whole)) }
            }
        }
        guard index == ordered.count else { throw fail(.badMember, "member '\(ordered[index].name)' could not be read") }
        return content
    }

    /// RECORD: every file (but RECORD and its signatures) must be listed, with a matching sha256.
    static func checkRecord(_ content: WheelContent, layout: WheelLayout, fail: (WheelErrorCode, String) -> WheelError)
        throws
    {
        guard let recordBytes = content.kept[layout.distInfo + "/RECORD"] else {
            throw fail(.badRecord, "RECORD missing")
        }
        var recorded: [String: (hash: String, size: String)] = [:]
        for row in CSV.parse(String(decoding: recordBytes, as: UTF8.self)) where !row.isEmpty && !(row.count == 1 && row[0].isEmpty) {
            guard row.count >= 3 else {
                throw fail(.badRecord, "RECORD has a malformed line: \(row.joined(separator: ","))")
            }
            recorded[row[0]] = (row[1], row[2])
        }
        for (member, s) in content.seen where !layout.unrecorded.contains(member) {
            guard let r = recorded[member] else {
                throw fail(.notInRecord, "member '\(member)' is not listed in RECORD")
            }
            guard r.hash.hasPrefix("sha256=") else {
                throw fail(
                    .badRecord,
                    "RECORD lists '\(member)' with \(r.hash.isEmpty ? "no hash" : "hash '\(r.hash.prefix(12))...'"); Airlock checks sha256"
                )
            }
            guard r.hash == s.hash else {
                throw fail(.recordMismatch, "member '\(member)' does not match its RECORD hash")
            }
            if !r.size.isEmpty, Int(r.size) != s.size {
                throw fail(.recordMismatch, "member '\(member)' is \(s.size) bytes, RECORD says \(r.size)")
            }
        }
    }

    /// The installed files: each member where it lands, scripts with their shebang rewritten,
    /// INSTALLER, console-script wrappers, and a RECORD rewritten for what was installed.
    static func installedFiles(
        _ zip: ZipReader, layout: WheelLayout, content: WheelContent, name: WheelName, into treeFiles: TreeWriter?,
        fail: (WheelErrorCode, String) -> WheelError
    ) throws -> [InstalledFile] {
        let distInfo = layout.distInfo
        var files: [InstalledFile] = []
        var paths = Set<String>()
        func add(_ file: InstalledFile) throws {
            guard paths.insert(file.path).inserted else {
                throw fail(.duplicateFile, "two members install to '\(file.path)'")
            }
            files.append(file)
        }
        func generated(_ path: String, _ bytes: [UInt8], executable: Bool) throws {
            try add(InstalledFile(path: path, source: .generated(bytes), executable: executable, recordHash: Base64URL.recordHash(bytes), size: bytes.count))
        }
        for entry in zip.entries where !entry.isDirectory {
            let member = entry.name
            if layout.unrecorded.contains(member) || member == distInfo + "/INSTALLER" || member == distInfo + "/direct_url.json" {
                continue
            }
            guard let target = try installedPath(of: member, distInfo: distInfo, dataDir: layout.dataDir, distribution: name.distribution, fail: fail),
                let s = content.seen[member]
            else { continue }
            if member.hasPrefix(layout.dataDir + "/scripts/"), let original = content.kept[member] {
                let rewritten = Scripts.rewriteShebang(original)
                try generated(target, rewritten, executable: true)
                if rewritten != original { try treeFiles?.write(target, rewritten, executable: true) }
            } else {
                try add(InstalledFile(path: target, source: .wheel(entry), executable: entry.isExecutable, recordHash: s.hash, size: s.size))
            }
        }
        let installer = Array("airlock\n".utf8)
        try generated(distInfo + "/INSTALLER", installer, executable: false)
        try treeFiles?.write(distInfo + "/INSTALLER", installer, executable: false)
        if let entryPoints = content.kept[distInfo + "/entry_points.txt"] {
            for script in try Scripts.wrappers(entryPoints: String(decoding: entryPoints, as: UTF8.self), fail: fail) {
                try generated("bin/" + script.name, script.content, executable: true)
                try treeFiles?.write("bin/" + script.name, script.content, executable: true)
            }
        }
        var lines = files.map { CSV.row([$0.path, $0.recordHash, String($0.size)]) }
        lines.append(CSV.row([distInfo + "/RECORD", "", ""]))
        lines.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let record = Array(lines.map { $0 + "\n" }.joined().utf8)
        try generated(distInfo + "/RECORD", record, executable: false)
        try treeFiles?.write(distInfo + "/RECORD", record, executable: false)
        return files
    }

    /// Where a wheel member lands, relative to site-packages; nil for members not installed.
    static func installedPath(
        of member: String,
        distInfo: String,
        dataDir: String,
        distribution: String,
        fail: (WheelErrorCode, String) -> WheelError
    ) throws -> String? {
        guard member.hasPrefix(dataDir + "/") else { return member }
        let rest = member.dropFirst(dataDir.count + 1)
        guard let slash = rest.firstIndex(of: "/") else {
            throw fail(.badMember, "member '\(member)' is not inside a .data scheme directory")
        }
        let scheme = rest[..<slash]
        let path = String(rest[rest.index(after: slash)...])
        switch scheme {
        case "purelib", "platlib": return path
        case "scripts": return "bin/" + path
        case "headers": return "include/python/\(distribution)/" + path
        case "data": return path
        default: throw fail(.badMember, "member '\(member)' uses the unknown .data scheme '\(scheme)'")
        }
    }
}

/// Writes an installed tree to disk (for `--tree`), refusing to follow anything out of the root.
final class TreeWriter {
    let root: String

    init(root: String) throws {
        self.root = root
        try FileSystem.makeDirectory(root)
    }

    final class Sink {
        let fd: FileDescriptor
        init(_ fd: FileDescriptor) { self.fd = fd }
        func write(_ chunk: UnsafeRawBufferPointer) throws { try fd.write(chunk) }
        func close() throws {}
    }

    func open(_ relative: String, executable: Bool) throws -> Sink {
        let path = root + "/" + relative
        try FileSystem.makeDirectory(FileSystem.parentPath(path))
        try FileSystem.remove(path)
        return Sink(try FileDescriptor.open(path, writing: true, create: true, exclusive: true, mode: executable ? 0o755 : 0o644))
    }

    func write(_ relative: String, _ bytes: [UInt8], executable: Bool) throws {
        let sink = try open(relative, executable: executable)
        try bytes.withUnsafeBytes { try sink.write($0) }
    }
}

/// Script handling: shebang rewriting and entry-point wrappers, as pip (distlib) writes them.
enum Scripts {
    static let shebang = Array("#!/usr/bin/env python3".utf8)

    /// `#!python...` on the first line becomes `#!/usr/bin/env python3`.
    static func rewriteShebang(_ content: [UInt8]) -> [UInt8] {
        let marker = Array("#!python".utf8)
        guard content.starts(with: marker) else { return content }
        let lineEnd = content.firstIndex(of: 0x0A) ?? content.count
        var rest = Array(content[marker.count..<lineEnd])
        if rest.first == UInt8(ascii: "w") { rest.removeFirst() }  // pythonw: no window on Linux
        return shebang + rest + content[lineEnd...]
    }

    struct Wrapper {
        let name: String
        let content: [UInt8]
    }

    /// Wrappers for `[console_scripts]` and `[gui_scripts]`.
    static func wrappers(entryPoints: String, fail: (WheelErrorCode, String) -> WheelError) throws -> [Wrapper] {
        var section = ""
        var out: [Wrapper] = []
        for raw in entryPoints.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard section == "console_scripts" || section == "gui_scripts" else { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw fail(.badMetadata, "entry_points.txt: malformed line '\(line)'")
            }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces)
            var spec = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if let bracket = spec.firstIndex(of: "[") { spec = spec[..<bracket].trimmingCharacters(in: .whitespaces) }  // extras
            let parts = spec.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            // Each side a dotted name: no empty part, so `a:.` or `a..b:c` is refused, not indexed.
            guard parts.count == 2, !name.isEmpty, !name.contains("/"), name != "." && name != "..",
                parts.allSatisfy({ part in
                    part.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { component in
                        !component.isEmpty && component.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
                    }
                })
            else { throw fail(.badMetadata, "entry_points.txt: '\(line)' is not `name = module:attribute`") }
            let module = parts[0]
            let attrs = parts[1].split(separator: ".").map(String.init)
            let text = """
                #!/usr/bin/env python3
                # -*- coding: utf-8 -*-
                import re
                import sys
                from \(module) import \(attrs[0])
                if __name__ == "__main__":
                    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
                    sys.exit(\(attrs.joined(separator: "."))())

                """
            out.append(Wrapper(name: name, content: Array(text.utf8)))
        }
        return out
    }
}

/// RFC 4648 §5 base64 without padding, as RECORD writes hashes.
enum Base64URL {
    static func encode(_ bytes: [UInt8]) -> String {
        var s = Data(bytes).base64EncodedString()
        s = s.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while s.hasSuffix("=") { s.removeLast() }
        return s
    }

    static func recordHash(_ bytes: [UInt8]) -> String { "sha256=" + encode(SHA256Hasher.hash(bytes).bytes) }
}

/// The CSV dialect of RECORD (Python's csv module defaults).
enum CSV {
    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        field.append("\"")
                        chars.removeFirst()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" && field.isEmpty {
                quoted = true
            } else if c == "," {
                row.append(field)
                field = ""
            } else if c == "\n" || c == "\r\n" || c == "\r" {
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            } else {
                field.append(c)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }

    static func row(_ fields: [String]) -> String {
        fields.map { f in
            f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",")
    }
}

/// `Key: value` headers of WHEEL and METADATA files (keys lowercased).
enum EmailHeaders {
    static func parse(_ text: String) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            if line.isEmpty { break }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            out[key, default: []].append(value)
        }
        return out
    }
}
