// A module zip from a proxy, treated as hostile: checked as the go command checks one before it
// extracts it (golang.org/x/mod/zip), and hashed (`h1:`) in the same pass, so that go.sum is
// consulted before anything of it is stored.
//
// The rules: every member under `module@version/`; each path below it clean (no empty, `.` or `..`
// element, no backslash or shell-special character, nothing a Windows or macOS file system cannot
// hold); no two names that differ only in case; regular files and directories only (no link, no
// device); the zip at most 500 MiB, its members at most 500 MiB inflated together, go.mod and
// LICENSE at most 16 MiB each; no go.mod below the root (that would be another module); every
// member's inflated size what the central directory says. Names come from the central directory
// (the zip's own index, read by ZipReader); the content from libarchive reading the same file,
// which walks the same entries in the order of their local headers: member N is matched to the
// central directory's entry N in that order, its name compared where libarchive can give one
// (in the C locale it gives none for a non-ASCII name) and its size always.

import AirlockCore

public struct ModuleZipSummary: Sendable, Equatable {
    /// The go command's `h1:` hash of the zip, as go.sum gives it.
    public let hash: String
    public let files: Int
    /// Inflated bytes, all members together.
    public let size: Int
    /// The module's own go.mod, from the zip's root (nil when it has none: a pre-modules version).
    public let goMod: [UInt8]?
}

public enum ModuleZip {
    public static let maximumZipSize = 500 << 20
    public static let maximumInflatedSize = 500 << 20
    public static let maximumGoModSize = 16 << 20
    public static let maximumLicenseSize = 16 << 20

    /// Checks the zip at `path` for `module` and returns its hash; throws `gomod.bad-module-zip`
    /// (exit 1) naming the member and the rule.
    public static func check(_ path: String, module: ModuleVersion) throws -> ModuleZipSummary {
        func bad(_ reason: String) -> CheckFailure {
            CheckFailure(GoModuleErrorCode.badModuleZip, "\(module) (\(FileSystem.baseName(path))): \(reason)")
        }
        let zipSize = try FileSystem.size(of: path)
        guard zipSize <= maximumZipSize else {
            throw bad("the zip is \(zipSize) bytes, over the go command's \(maximumZipSize)")
        }
        let entries = try ZipReader(path: path).entries
        let prefix = module.zipPrefix

        // 1. Names and declared sizes, from the central directory.
        var byName: [String: ZipEntry] = [:]
        var folded: [String: String] = [:]
        var declared = 0
        for entry in entries {
            let name = entry.name
            guard name.hasPrefix(prefix) else { throw bad("member '\(name)' is not under \(prefix)") }
            let inside = String(name.dropFirst(prefix.count))
            if entry.isSymlink || entry.isSpecial { throw bad("member '\(name)' is a link or device, not a file") }
            if entry.isEncrypted { throw bad("member '\(name)' is encrypted") }
            let isDirectory = inside.hasSuffix("/")
            let file = isDirectory ? String(inside.dropLast()) : inside
            if !file.isEmpty, let reason = filePathProblem(file) { throw bad("member '\(name)': \(reason)") }
            if let other = folded.updateValue(name, forKey: name.lowercased()) {
                throw bad(
                    other == name
                        ? "member '\(name)' appears twice" : "members '\(other)' and '\(name)' differ only in case"
                )
            }
            if !isDirectory {
                let base = file.split(separator: "/").last.map(String.init) ?? file
                if base == "go.mod", file != "go.mod" {
                    throw bad("'\(file)': a go.mod below the root is another module")
                }
                if file == "go.mod", entry.uncompressedSize > maximumGoModSize {
                    throw bad("go.mod is \(entry.uncompressedSize) bytes, over \(maximumGoModSize)")
                }
                if file == "LICENSE", entry.uncompressedSize > maximumLicenseSize {
                    throw bad("LICENSE is \(entry.uncompressedSize) bytes, over \(maximumLicenseSize)")
                }
            }
            declared += entry.uncompressedSize
            guard declared <= maximumInflatedSize else {
                throw bad("its members inflate to over \(maximumInflatedSize) bytes")
            }
            byName[name] = entry
        }

        // 2. Content: each member inflated once, hashed, its size held to the central directory's.
        var hashed: [(name: String, sha256: SHA256Digest)] = []
        hashed.reserveCapacity(entries.count)
        var goMod: [UInt8]? = nil
        var total = 0
        let ordered = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        let reader = try ArchiveReader(paths: [path], format: .zip)
        var index = 0
        while let entry = try reader.next() {
            guard index < ordered.count else {
                throw bad("libarchive finds more members than the central directory lists")
            }
            let listed = ordered[index]
            index += 1
            let name = listed.name
            if let seen = entry.path, seen != name {
                throw bad("member '\(seen)' is not the central directory's '\(name)' at that place")
            }
            byName.removeValue(forKey: name)
            guard entry.kind == .regular || entry.kind == .directory else {
                throw bad("member '\(name)' is a link or device, not a file")
            }
            let hasher = SHA256Hasher()
            var size = 0
            let keep = name == prefix + "go.mod"
            var kept: [UInt8] = []
            try reader.readData { chunk in
                size += chunk.count
                total += chunk.count
                guard size <= listed.uncompressedSize, total <= maximumInflatedSize else {
                    throw bad(
                        "member '\(name)' inflates to more than the \(listed.uncompressedSize) bytes its entry says"
                    )
                }
                hasher.update(chunk)
                if keep { kept.append(contentsOf: UnsafeRawBufferPointer(chunk)) }
            }
            guard size == listed.uncompressedSize else {
                throw bad(
                    "member '\(name)' inflates to \(size) bytes, not the \(listed.uncompressedSize) its entry says"
                )
            }
            if keep { goMod = kept }
            hashed.append((name: name, sha256: hasher.finalize()))
        }
        if let missing = byName.keys.sorted().first { throw bad("member '\(missing)' could not be read") }
        return ModuleZipSummary(hash: try Dirhash.hash1(hashed), files: hashed.count, size: total, goMod: goMod)
    }

    /// Why a path inside a module is one the go command refuses (nil when it is fine): its
    /// elements, their characters, and the names Windows reserves.
    static func filePathProblem(_ file: String) -> String? {
        guard file.utf8.count <= 4096 else { return "a path longer than 4096 bytes" }
        for element in file.split(separator: "/", omittingEmptySubsequences: false) {
            if element.isEmpty { return "an empty path element (a leading, trailing or double slash)" }
            if element == "." || element == ".." { return "a '\(element)' element" }
            if element.last == "." || element.last == " " { return "element '\(element)' ends in a dot or space" }
            for scalar in element.unicodeScalars where !fileNameScalarOK(scalar) {
                return "character \(String(scalar).debugDescription) is not allowed in a module file name"
            }
            let stem = element.split(separator: ".", maxSplits: 1).first.map { $0.uppercased() } ?? ""
            if windowsReserved.contains(stem) { return "'\(element)' is a name Windows reserves" }
        }
        return nil
    }

    /// ASCII letters and digits, the punctuation `!#$%&()+,-.=@[]^_{}~` and space, and any
    /// non-ASCII letter: no path separator, no shell-special or control character.
    static func fileNameScalarOK(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            let v = scalar.value
            if (0x30...0x39).contains(v) || (0x41...0x5a).contains(v) || (0x61...0x7a).contains(v) { return true }
            return "!#$%&()+,-.=@[]^_{}~ ".unicodeScalars.contains(scalar)
        }
        return scalar.properties.isAlphabetic
    }

    static let windowsReserved: Set<String> = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    ]
}
