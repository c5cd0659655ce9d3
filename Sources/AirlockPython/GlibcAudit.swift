// The auditwheel-style check applied to a whole deployment: every ELF file under
// `.python_packages` (found by its magic number, not its name) must be built for the target's
// machine and need no symbol version newer than the target's glibc provides, or than the libstdc++
// shipped beside that glibc. A wheel built on a newer distribution links `GLIBC_2.33`/`GLIBC_2.34`
// symbols and fails only when the Function App imports it (AZURE-FACTS §8.2); this finds it at build
// time, naming the file, the version and the library that must provide it.

public import AirlockCore

/// A dotted version ("2.31", "3.4.30") compared numerically component by component, missing
/// components counting as zero: 2.9 < 2.31 and 2.2.5 < 2.3.
package struct DottedVersion: Comparable, Sendable, CustomStringConvertible {
    package let components: [Int]

    /// Nil unless `text` is one or more dot-separated runs of ASCII digits.
    package init?(_ text: some StringProtocol) {
        var components: [Int] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 9, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let value = Int(part)
            else { return nil }
            components.append(value)
        }
        guard !components.isEmpty else { return nil }
        self.components = components
    }

    package var description: String { components.map(String.init).joined(separator: ".") }

    package static func < (a: DottedVersion, b: DottedVersion) -> Bool {
        for i in 0..<max(a.components.count, b.components.count) {
            let x = i < a.components.count ? a.components[i] : 0
            let y = i < b.components.count ? b.components[i] : 0
            if x != y { return x < y }
        }
        return false
    }

    package static func == (a: DottedVersion, b: DottedVersion) -> Bool { !(a < b) && !(b < a) }
}

/// The C++ runtime a target with a given glibc ships, for `GLIBCXX_`/`CXXABI_` needs of
/// `libstdc++.so.6`.
///
/// Source: the Functions Python images are Debian 11 bullseye (glibc 2.31) for 3.9–3.11 and Debian 12
/// bookworm (glibc 2.36) for 3.12–3.13 (AZURE-FACTS §1). Bullseye's libstdc++6 is GCC 10.2
/// (GLIBCXX_3.4.28, CXXABI_1.3.12), bookworm's is GCC 12.2 (GLIBCXX_3.4.30, CXXABI_1.3.13): the
/// libstdc++ manual's "ABI Policy and Guidelines" versioning history (GCC 10.1.0: GLIBCXX_3.4.28,
/// CXXABI_1.3.12; GCC 12: GLIBCXX_3.4.30, CXXABI_1.3.13); bookworm's checked here with
/// `objdump -T /usr/lib/x86_64-linux-gnu/libstdc++.so.6`.
private struct CxxRuntime {
    let glibc: DottedVersion
    let distribution: String
    let glibcxx: DottedVersion
    let cxxabi: DottedVersion

    static let known: [CxxRuntime] = [
        CxxRuntime(glibc: "2.31", distribution: "Debian 11 bullseye", glibcxx: "3.4.28", cxxabi: "1.3.12"),
        CxxRuntime(glibc: "2.36", distribution: "Debian 12 bookworm", glibcxx: "3.4.30", cxxabi: "1.3.13"),
    ]

    private init(glibc: String, distribution: String, glibcxx: String, cxxabi: String) {
        // Literals above; a typo is a programming error.
        guard let g = DottedVersion(glibc), let x = DottedVersion(glibcxx), let a = DottedVersion(cxxabi) else {
            preconditionFailure("bad version literal in CxxRuntime.known")
        }
        self.glibc = g
        self.distribution = distribution
        self.glibcxx = x
        self.cxxabi = a
    }

    /// The newest known runtime whose glibc is not newer than the target's: exact for the Functions
    /// images, conservative for anything newer, nil (unchecked) for anything older.
    static func forGlibc(_ glibc: DottedVersion) -> CxxRuntime? {
        known.filter { $0.glibc <= glibc }.max { $0.glibc < $1.glibc }
    }
}

/// One reason an ELF file will not load on the target.
public struct GlibcViolation: Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Sendable, Equatable {
        /// Needs a symbol version (`GLIBC_2.34`) from a library (`libc.so.6`) the target lacks.
        case symbolVersion(String, library: String)
        /// Built for another machine (the ELF's name for it).
        case machine(String)
        /// Not a readable ELF file (the parser's reason).
        case unreadable(String)
    }

    /// The file, as the deployment names it (e.g. `.python_packages/lib/site-packages/x/_x.so`).
    public let path: String
    public let problem: Problem
    /// Which of the glibc domain's reasons this is.
    public let reason: GlibcErrorCode
    /// The one line a user sees.
    public let description: String

    public var code: ErrorCode { reason.code }
}

/// The audit failed: one line per violation. Its code is the first violation's; each violation has
/// its own.
public struct GlibcAuditError: AirlockError {
    public let violations: [GlibcViolation]
    public let code: ErrorCode
    public var status: ExitStatus { .checkFailed }
    public var description: String { violations.map(\.description).joined(separator: "\n") }

    init(_ code: GlibcErrorCode, violations: [GlibcViolation]) {
        self.code = code.code
        self.violations = violations
    }
}

/// What the audit found.
public struct GlibcAuditReport: Sendable {
    /// One ELF file and what it needs.
    public struct AuditedFile: Sendable, Equatable {
        public let path: String
        public let machine: String
        public let needed: [String]
        public let versionNeeds: [ELFFile.VersionNeed]
    }

    public let target: GlibcAudit.Target
    /// Every ELF file found, sorted by path; unreadable ones appear only among the violations.
    public let files: [AuditedFile]
    public let violations: [GlibcViolation]
    /// Needs reported for information: C++ runtime versions when no libstdc++ is known for the target.
    public let notes: [String]

    public var isPassing: Bool { violations.isEmpty }

    /// Throws a `GlibcAuditError` listing every violation, if there is one.
    public func check() throws {
        if let first = violations.first { throw GlibcAuditError(first.reason, violations: violations) }
    }
}

/// Checks ELF files against a target's machine, glibc and libstdc++.
public struct GlibcAudit: Sendable {
    /// What the deployment runs on.
    public struct Target: Sendable, Equatable {
        /// How messages name the target: "python 3.11, linux/amd64".
        public let label: String
        /// The ELF machine name the target runs: "x86_64" or "aarch64".
        public let architecture: String
        /// The target's glibc version: "2.31".
        public let glibc: String
        let glibcVersion: DottedVersion

        /// A Functions Python target: `platform` is "linux/amd64" or "linux/arm64".
        public init(python: String, platform: String, glibc: String) throws {
            guard let architecture = Self.architecture(forPlatform: platform) else {
                throw UsageError(
                    PythonErrorCode.unsupportedPlatform,
                    "unknown platform \(platform): expected linux/amd64 or linux/arm64"
                )
            }
            try self.init(label: "python \(python), \(platform)", architecture: architecture, glibc: glibc)
        }

        public init(label: String, architecture: String, glibc: String) throws {
            guard let version = DottedVersion(glibc), version.components.count >= 2 else {
                throw UsageError(PythonErrorCode.badGlibc, "glibc version \(glibc) is not of the form 2.31")
            }
            self.label = label
            self.architecture = architecture
            self.glibc = glibc
            self.glibcVersion = version
        }

        /// The ELF machine name for a Docker-style platform ("linux/amd64" → "x86_64").
        public static func architecture(forPlatform platform: String) -> String? {
            switch platform {
            case "linux/amd64", "linux/x86_64": "x86_64"
            case "linux/arm64", "linux/aarch64", "linux/arm64/v8": "aarch64"
            default: nil
            }
        }
    }

    public let target: Target

    public init(target: Target) { self.target = target }

    /// Checks one file's bytes; anything without the ELF magic passes untouched.
    public func check(path: String, bytes: [UInt8]) -> [GlibcViolation] {
        guard ELFFile.isELF(prefix: bytes) else { return [] }
        do {
            return check(try ELFFile(bytes: bytes, path: path), path: path)
        } catch {
            return [unreadable(path, error)]
        }
    }

    /// Checks one parsed ELF file.
    public func check(_ elf: ELFFile, path: String) -> [GlibcViolation] {
        var violations: [GlibcViolation] = []
        if elf.machine.name != target.architecture {
            violations.append(
                GlibcViolation(
                    path: path,
                    problem: .machine(elf.machine.name),
                    reason: .wrongMachine,
                    description:
                        "\(path) is built for \(elf.machine.name), but the target (\(target.label)) runs \(target.architecture)"
                )
            )
        }
        // The highest numeric offender per family is the one to fix; named ones are each reported.
        var highest: [String: (DottedVersion, String, String)] = [:]
        var named: [(String, String, GlibcErrorCode, String)] = []  // version, library, code, reason
        for need in elf.versionNeeds {
            for version in need.versions {
                guard let (family, number) = Self.split(version) else { continue }
                switch family {
                case "GLIBC":
                    if let number {
                        if number > target.glibcVersion { keep(&highest, family, number, version, need.file) }
                    } else if version == "GLIBC_PRIVATE" {
                        named.append(
                            (
                                version, need.file, .privateSymbol,
                                "glibc's internal interface, which no target guarantees"
                            )
                        )
                    } else if version == "GLIBC_ABI_DT_RELR" {
                        // Marks DT_RELR relocations, which glibc reads since 2.36.
                        if let v236 = DottedVersion("2.36"), v236 > target.glibcVersion {
                            named.append(
                                (
                                    version, need.file, .tooNew,
                                    "which glibc 2.36 introduced, but the target (\(target.label)) has glibc \(target.glibc)"
                                )
                            )
                        }
                    } else {
                        named.append(
                            (
                                version, need.file, .unknownVersion,
                                "a glibc version Airlock cannot compare; the target (\(target.label)) has glibc \(target.glibc)"
                            )
                        )
                    }
                case "GLIBCXX", "CXXABI":
                    // Only the system libstdc++ counts: a wheel that vendors its own (auditwheel names
                    // it libstdc++-<hash>.so.6) carries what it needs.
                    guard need.file == "libstdc++.so.6", let number else { continue }
                    guard let runtime = CxxRuntime.forGlibc(target.glibcVersion) else { continue }
                    let limit = family == "GLIBCXX" ? runtime.glibcxx : runtime.cxxabi
                    if number > limit { keep(&highest, family, number, version, need.file) }
                default:
                    continue
                }
            }
        }
        for family in ["GLIBC", "GLIBCXX", "CXXABI"] {
            guard let (_, version, library) = highest[family] else { continue }
            var line =
                "\(path) needs \(version) (\(library)), but the target (\(target.label)) has glibc \(target.glibc)"
            if family != "GLIBC", let runtime = CxxRuntime.forGlibc(target.glibcVersion) {
                let limit = family == "GLIBCXX" ? runtime.glibcxx : runtime.cxxabi
                line += ", whose libstdc++ (\(runtime.distribution)) provides up to \(family)_\(limit)"
            }
            violations.append(
                GlibcViolation(
                    path: path,
                    problem: .symbolVersion(version, library: library),
                    reason: family == "GLIBC" ? .tooNew : .cxxTooNew,
                    description: line
                )
            )
        }
        for (version, library, code, reason) in named {
            violations.append(
                GlibcViolation(
                    path: path,
                    problem: .symbolVersion(version, library: library),
                    reason: code,
                    description: "\(path) needs \(version) (\(library)), \(reason)"
                )
            )
        }
        return violations
    }

    /// Audits files held in memory, e.g. a wheel's members as the installer writes them.
    public func audit(files: some Sequence<(path: String, bytes: [UInt8])>) -> GlibcAuditReport {
        var collector = Collector(audit: self)
        for (path, bytes) in files {
            guard ELFFile.isELF(prefix: bytes) else { continue }
            collector.add(path: path) { try ELFFile(bytes: bytes, path: path) }
        }
        return collector.report()
    }

    /// Audits every regular file under `directory` (symbolic links are not followed). Paths in the
    /// report are relative to `directory`, after `pathPrefix` (e.g.
    /// ".python_packages/lib/site-packages").
    public func audit(directory: String, pathPrefix: String = "") throws -> GlibcAuditReport {
        let prefix = pathPrefix.isEmpty || pathPrefix.hasSuffix("/") ? pathPrefix : pathPrefix + "/"
        var collector = Collector(audit: self)
        var pending: [String] = [""]  // relative directories still to list
        while let relative = pending.popLast() {
            let absolute = relative.isEmpty ? directory : directory + "/" + relative
            for name in try FileSystem.list(absolute) {
                let childRelative = relative.isEmpty ? name : relative + "/" + name
                let childPath = absolute + "/" + name
                switch FileSystem.kind(of: childPath) {
                case .directory:
                    pending.append(childRelative)
                case .regular:
                    let fd = try FileDescriptor.open(childPath)
                    var head = [UInt8](repeating: 0, count: 4)
                    let n = try head.withUnsafeMutableBytes { try fd.readFully(into: $0) }
                    guard n == 4, ELFFile.isELF(prefix: head) else { continue }
                    let display = prefix + childRelative
                    collector.add(path: display) { try ELFFile(contentsOf: childPath, displayPath: display) }
                case .symlink, .other:
                    continue
                case nil:
                    // Listed but not there: a name that is not valid UTF-8 (FileSystem.list repairs
                    // it), or a file removed during the walk. Either way it was not audited.
                    collector.violations.append(
                        GlibcViolation(
                            path: prefix + childRelative,
                            problem: .unreadable("cannot be read"),
                            reason: .unreadable,
                            description:
                                "\(prefix + childRelative): cannot be read (its name is not valid UTF-8, or it vanished during the audit)"
                        )
                    )
                }
            }
        }
        return collector.report()
    }

    // MARK: - Helpers

    /// "GLIBC_2.34" → ("GLIBC", 2.34); "GLIBC_PRIVATE" → ("GLIBC", nil); "GCC_3.0" → ("GCC", 3.0).
    private static func split(_ version: String) -> (String, DottedVersion?)? {
        guard let underscore = version.firstIndex(of: "_") else { return nil }
        let family = String(version[..<underscore])
        return (family, DottedVersion(version[version.index(after: underscore)...]))
    }

    private func keep(
        _ highest: inout [String: (DottedVersion, String, String)],
        _ family: String,
        _ number: DottedVersion,
        _ version: String,
        _ library: String
    ) {
        if let current = highest[family], current.0 >= number { return }
        highest[family] = (number, version, library)
    }

    private func unreadable(_ path: String, _ error: any Error) -> GlibcViolation {
        let reason = (error as? ELFError)?.reason ?? "\(error)"
        let line = (error as? ELFError)?.description ?? "\(path): \(error)"
        return GlibcViolation(path: path, problem: .unreadable(reason), reason: .unreadable, description: line)
    }

    /// Gathers files, violations and notes, and sorts them once at the end.
    private struct Collector {
        let audit: GlibcAudit
        var files: [GlibcAuditReport.AuditedFile] = []
        var violations: [GlibcViolation] = []
        var notes: [String] = []

        mutating func add(path: String, parse: () throws -> ELFFile) {
            let elf: ELFFile
            do {
                elf = try parse()
            } catch {
                violations.append(audit.unreadable(path, error))
                return
            }
            files.append(
                GlibcAuditReport.AuditedFile(
                    path: path,
                    machine: elf.machine.name,
                    needed: elf.needed,
                    versionNeeds: elf.versionNeeds
                )
            )
            violations += audit.check(elf, path: path)
            if CxxRuntime.forGlibc(audit.target.glibcVersion) == nil {
                for need in elf.versionNeeds where need.file == "libstdc++.so.6" {
                    let cxx = need.versions.filter { $0.hasPrefix("GLIBCXX_") || $0.hasPrefix("CXXABI_") }
                    guard let newest = cxx.max(by: { Self.order($0, $1) }) else { continue }
                    notes.append(
                        "\(path) needs \(newest) (libstdc++.so.6): not checked, Airlock knows no libstdc++ for glibc \(audit.target.glibc)"
                    )
                }
            }
        }

        private static func order(_ a: String, _ b: String) -> Bool {
            switch (GlibcAudit.split(a)?.1, GlibcAudit.split(b)?.1) {
            case let (x?, y?): x < y
            default: a < b
            }
        }

        func report() -> GlibcAuditReport {
            let byPath: (String, String) -> Bool = { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            return GlibcAuditReport(
                target: audit.target,
                files: files.sorted { byPath($0.path, $1.path) },
                // Stable: a file's own violations keep their order (machine, GLIBC, GLIBCXX, CXXABI).
                violations: violations.enumerated().sorted {
                    $0.element.path == $1.element.path
                        ? $0.offset < $1.offset : byPath($0.element.path, $1.element.path)
                }.map(\.element),
                notes: notes.sorted(by: byPath)
            )
        }
    }
}
