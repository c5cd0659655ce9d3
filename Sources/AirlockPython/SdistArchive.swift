// Reading an sdist as hostile input, on the host, before anything runs: its file name split where
// the project name ends, and its members checked and unpacked (one top-level `NAME-VERSION/`
// directory, no absolute paths, no `..`, no hard links, devices or FIFOs, no symbolic link that
// leaves the tree or passes through another link, no member below a link, size caps). Nothing
// written while unpacking follows a link.

import AirlockCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An sdist file name, `NAME-VERSION.tar.gz` or `NAME-VERSION.zip`, split where the name ends.
package struct SdistName: Sendable, Equatable {
    package var name: String
    package var version: String

    package static let extensions = [".tar.gz", ".zip"]

    /// With `project`, the split is where the part before it normalises to the project's name
    /// (names may hold dashes); without, at the last dash.
    package init?(_ filename: String, project: String? = nil) {
        guard let ext = Self.extensions.first(where: { filename.lowercased().hasSuffix($0) }) else { return nil }
        let stem = String(filename.dropLast(ext.count))
        let dashes = stem.indices.filter { stem[$0] == "-" }
        let split =
            project.flatMap { p in dashes.first { WheelName.normalize(String(stem[..<$0])) == WheelName.normalize(p) } }
            ?? dashes.last
        guard let split, split != stem.startIndex else { return nil }
        let version = String(stem[stem.index(after: split)...])
        guard !version.isEmpty else { return nil }
        name = String(stem[..<split])
        self.version = version
    }

    /// Equal as PEP 440 compares them, for the spellings tools produce: case, a leading `v`, `-`/`_`
    /// for `.`, leading zeros, trailing `.0`s of the release, and the long names of pre- and
    /// post-release markers. Not a full PEP 440 parser.
    package static func sameVersion(_ a: String, _ b: String) -> Bool { canonical(a) == canonical(b) }

    static func canonical(_ version: String) -> [String] {
        var text = version.lowercased().trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("v") { text.removeFirst() }
        var tokens: [String] = []
        var current = ""
        var isDigit = false
        func flush() {
            guard !current.isEmpty else { return }
            if isDigit {
                let trimmed = current.drop { $0 == "0" }
                tokens.append(trimmed.isEmpty ? "0" : String(trimmed))
            } else {
                let aliases = [
                    "alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc", "rev": "post", "r": "post",
                ]
                tokens.append(aliases[current] ?? current)
            }
            current = ""
        }
        for c in text {
            let digit = c.isASCII && c.isNumber
            let letter = c.isASCII && c.isLetter
            if !digit && !letter {
                flush()
                continue
            }
            if !current.isEmpty, digit != isDigit { flush() }
            isDigit = digit
            current.append(c)
        }
        flush()
        let releaseCount = tokens.prefix { $0.allSatisfy(\.isNumber) }.count
        var release = Array(tokens[..<releaseCount])
        while release.count > 1, release.last == "0" { release.removeLast() }
        return release + tokens[releaseCount...]
    }
}

/// What a checked sdist holds.
package struct SdistContents: Sendable {
    /// `NAME-VERSION`, the one top-level directory.
    package var topDirectory: String
    /// `NAME-VERSION/pyproject.toml`, when there is one.
    package var pyproject: [UInt8]?
    /// `NAME-VERSION/PKG-INFO` (the sdist's core metadata), when there is one.
    package var pkgInfo: [UInt8]?
    package var files: Int
    package var bytes: Int
}

/// Reads an sdist as hostile input, and unpacks it when asked.
package enum SdistArchive {
    static let maximumMembers = 100_000
    static let maximumFileBytes = 512 << 20
    static let maximumTotalBytes = 2 << 30

    /// Checks every member of the sdist at `path` (see the file's header for the rules); with
    /// `extractTo`, writes the top directory's content there (a new directory).
    package static func read(
        path: String,
        filename: String,
        name: String,
        version: String,
        extractTo: String?
    ) throws -> SdistContents {
        // Kept whole: one pass over a hostile archive whose every check reads the state built up
        // member by member (the top directory, the links seen, the running totals); split, that
        // state would travel through each piece and the order of the checks would be harder to see.
        func refuse(_ code: SdistErrorCode, _ reason: String) -> SdistError {
            SdistError(code, "\(filename): refused: \(reason)", status: .checkFailed)
        }
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader(paths: [path], format: filename.lowercased().hasSuffix(".zip") ? .zip : .layer)
        } catch {
            throw SdistError(.unreadable, "\(filename): not a readable sdist (\(error))")
        }
        if let extractTo { try FileSystem.makeDirectory(extractTo) }
        var top: String? = nil
        var seen: Set<String> = []
        var links: [String: String] = [:]
        var pyproject: [UInt8]? = nil
        var pkgInfo: [UInt8]? = nil
        var files = 0
        var total = 0
        while let entry = try reader.next() {
            guard seen.count < maximumMembers else { throw refuse(.tooLarge, "more than \(maximumMembers) members") }
            guard var member = entry.path else { throw refuse(.hostileMember, "a member has an unreadable name") }
            while member.hasPrefix("./") { member.removeFirst(2) }
            while member.hasSuffix("/") { member.removeLast() }
            guard RelativePath.isSafe(member) else {
                throw refuse(
                    .hostileMember,
                    "member '\(entry.path ?? "")' is an absolute path or has an empty, '.' or '..' component"
                )
            }
            let parts = member.split(separator: "/").map(String.init)
            if top == nil {
                top = parts[0]
                guard let split = SdistName(parts[0] + ".zip", project: name),
                    WheelName.normalize(split.name) == WheelName.normalize(name),
                    SdistName.sameVersion(split.version, version)
                else {
                    throw refuse(.badLayout, "its top-level directory '\(parts[0])' is not \(name)-\(version)")
                }
            }
            guard parts[0] == top else {
                throw refuse(.badLayout, "member '\(member)' is outside the one top-level directory '\(top ?? "")'")
            }
            guard seen.insert(member).inserted else { throw refuse(.hostileMember, "member '\(member)' appears twice") }
            for depth in 1..<parts.count where links[parts[0..<depth].joined(separator: "/")] != nil {
                throw refuse(
                    .hostileMember,
                    "member '\(member)' is below the symbolic link '\(parts[0..<depth].joined(separator: "/"))'"
                )
            }
            let relative = parts.dropFirst().joined(separator: "/")
            let destination = extractTo.map { relative.isEmpty ? $0 : $0 + "/" + relative }
            switch entry.kind {
            case .directory:
                if let destination { try FileSystem.makeDirectory(destination) }
                try reader.skipData()
            case .regular:
                guard !entry.isSparse else { throw refuse(.hostileMember, "member '\(member)' is a sparse file") }
                guard !relative.isEmpty else {
                    throw refuse(.badLayout, "the top-level '\(member)' is a file, not a directory")
                }
                guard entry.size <= maximumFileBytes else {
                    throw refuse(.tooLarge, "member '\(member)' is over \(maximumFileBytes >> 20) MiB")
                }
                let isPyproject = relative == "pyproject.toml"
                let isPkgInfo = relative == "PKG-INFO"
                var kept: [UInt8] = []
                let sink = try destination.map { d -> FileDescriptor in
                    try FileSystem.makeDirectory(FileSystem.parentPath(d))
                    return try FileDescriptor.open(
                        d,
                        writing: true,
                        create: true,
                        exclusive: true,
                        mode: entry.mode & 0o111 != 0 ? 0o755 : 0o644
                    )
                }
                var size = 0
                try reader.readData { chunk in
                    size += chunk.count
                    total += chunk.count
                    guard size <= maximumFileBytes, total <= maximumTotalBytes else {
                        throw refuse(
                            .tooLarge,
                            "it unpacks to more than \(size > maximumFileBytes ? maximumFileBytes >> 20 : maximumTotalBytes >> 20) MiB"
                        )
                    }
                    if isPyproject {
                        guard kept.count + chunk.count <= 1 << 20 else {
                            throw refuse(.tooLarge, "pyproject.toml is over 1 MiB")
                        }
                        kept.append(contentsOf: chunk)
                    } else if isPkgInfo {
                        guard kept.count + chunk.count <= 16 << 20 else {
                            throw refuse(.tooLarge, "PKG-INFO is over 16 MiB")
                        }
                        kept.append(contentsOf: chunk)
                    }
                    try sink?.write(chunk)
                }
                if isPyproject { pyproject = kept }
                if isPkgInfo { pkgInfo = kept }
                files += 1
            case .symlink:
                guard !relative.isEmpty else {
                    throw refuse(.badLayout, "the top-level '\(member)' is a symbolic link")
                }
                let target = entry.linkTarget ?? ""
                guard resolveLink(at: parts, target: target, links: links) != nil else {
                    throw refuse(
                        .hostileMember,
                        "member '\(member)' is a symbolic link to '\(target)', which leaves the source tree or passes through another link"
                    )
                }
                links[member] = target
                if let destination {
                    try FileSystem.makeDirectory(FileSystem.parentPath(destination))
                    guard symlink(target, destination) == 0 else {
                        if errno == EEXIST {
                            throw refuse(
                                .hostileMember,
                                "member '\(member)' is a symbolic link over a member already unpacked"
                            )
                        }
                        throw FileError("create symbolic link", path: destination, errno: errno)
                    }
                }
                try reader.skipData()
            case .hardlink:
                throw refuse(.hostileMember, "member '\(member)' is a hard link")
            case .other(let what):
                throw refuse(.hostileMember, "member '\(member)' is a \(what)")
            }
        }
        guard let top else { throw refuse(.badLayout, "it holds no files") }
        // Again with every link known: a link may come after the members that would be below it,
        // or after a link whose target walks through it.
        for member in seen {
            let parts = member.split(separator: "/").map(String.init)
            for depth in 1..<parts.count where links[parts[0..<depth].joined(separator: "/")] != nil {
                throw refuse(
                    .hostileMember,
                    "member '\(member)' is below the symbolic link '\(parts[0..<depth].joined(separator: "/"))'"
                )
            }
            if let target = links[member], resolveLink(at: parts, target: target, links: links) == nil {
                throw refuse(
                    .hostileMember,
                    "member '\(member)' is a symbolic link to '\(target)', which passes through another link"
                )
            }
        }
        return SdistContents(topDirectory: top, pyproject: pyproject, pkgInfo: pkgInfo, files: files, bytes: total)
    }

    /// Where a relative link target lands, lexically, as components from the top directory; nil
    /// when it is absolute, climbs above the top directory, or walks through another link (a link
    /// followed by `..` could land somewhere the lexical walk does not see).
    static func resolveLink(at parts: [String], target: String, links: [String: String]) -> [String]? {
        guard !target.isEmpty, !target.hasPrefix("/"), !target.utf8.contains(0), !target.contains("\\") else {
            return nil
        }
        var path = Array(parts.dropLast())
        let components = target.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for (i, component) in components.enumerated() {
            switch component {
            case ".": continue
            case "..":
                guard path.count > 1 else { return nil }
                path.removeLast()
            default:
                path.append(component)
                if i < components.count - 1, links[path.joined(separator: "/")] != nil { return nil }
            }
        }
        return path.count >= 1 ? path : nil
    }
}
