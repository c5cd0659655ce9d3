// The check every Go custom handler gets before it is packaged: will the Functions host start it?
// Done by Airlock's own ELF reader, not by `file` or `ldd`: the class, byte order and machine must
// be the target's, and nothing may be left to the host's dynamic loader (no PT_INTERP, no
// DT_NEEDED). A finding is said the way `file` and `ldd` would say it, so the fix is plain
// (`CGO_ENABLED=0`, the right `GOARCH`).

import AirlockCore

/// A build target: `linux/amd64` or `linux/arm64`.
public struct GoPlatform: Sendable, Hashable, CustomStringConvertible {
    public let os: String
    public let arch: String

    public static let linuxAMD64 = GoPlatform(os: "linux", arch: "amd64")
    public static let linuxARM64 = GoPlatform(os: "linux", arch: "arm64")
    public static let supported = [linuxAMD64, linuxARM64]

    private init(os: String, arch: String) {
        self.os = os
        self.arch = arch
    }

    /// `linux/amd64` or `linux/arm64`; anything else is refused naming what is supported.
    public init(parsing text: String) throws {
        guard let found = Self.supported.first(where: { $0.description == text }) else {
            throw UsageError(
                CoreErrorCode.usage,
                "--target '\(text)': Azure Functions runs Linux handlers on \(Self.supported.map(\.description).joined(separator: " or "))"
            )
        }
        self = found
    }

    public var description: String { os + "/" + arch }

    var machine: ELFFile.Machine { arch == "arm64" ? .aarch64 : .x86_64 }
}

/// What the check found in one file.
public struct HandlerELFReport: Sendable, Codable, Equatable {
    public let path: String
    /// `ELF 64-bit LSB executable, x86-64, statically linked`, as `file` would put it.
    public let summary: String
    /// Empty when the host can start it.
    public let findings: [String]
    public var isOK: Bool { findings.isEmpty }
}

public enum HandlerELFCheck {
    /// Checks the file at `path` for `target`; a file that cannot be read as ELF is a finding too.
    public static func check(_ path: String, target: GoPlatform) throws -> HandlerELFReport {
        guard FileSystem.exists(path) else { throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such file") }
        let elf: ELFFile
        do {
            elf = try ELFFile(contentsOf: path)
        } catch let error as ELFError {
            let summary = error.isUnsupported ? "ELF, big-endian (MSB)" : "not an ELF executable"
            return HandlerELFReport(
                path: path,
                summary: summary,
                findings: ["\(summary): \(error.reason); the host runs little-endian \(target) ELF executables"]
            )
        }
        var findings: [String] = []
        if elf.elfClass != .elf64 {
            findings.append("32-bit ELF; \(target) needs a 64-bit executable (GOARCH=\(target.arch))")
        }
        if elf.machine != target.machine {
            findings.append(
                "built for \(machineName(elf.machine)), not \(machineName(target.machine)) (build with GOARCH=\(target.arch))"
            )
        }
        // ET_DYN is how a position-independent executable (Go's -buildmode=pie) is typed.
        if elf.type != .executable && elf.type != .sharedObject {
            findings.append("a \(typeName(elf.type)), not an executable")
        }
        if elf.interpreter != nil || !elf.needed.isEmpty {
            var parts = ["dynamically linked"]
            if let interpreter = elf.interpreter { parts.append("interpreter \(interpreter)") }
            if !elf.needed.isEmpty { parts.append("needs " + elf.needed.joined(separator: ", ")) }
            findings.append(
                parts.joined(separator: ", ")
                    + " (build with CGO_ENABLED=0; the Functions host may not have those libraries)"
            )
        }
        return HandlerELFReport(path: path, summary: summary(elf), findings: findings)
    }

    /// `ELF 64-bit LSB executable, x86-64, statically linked`.
    static func summary(_ elf: ELFFile) -> String {
        let bits = elf.elfClass == .elf64 ? "64-bit" : "32-bit"
        let kind = elf.type == .sharedObject ? "pie executable" : typeName(elf.type)
        let linking = elf.interpreter == nil && elf.needed.isEmpty ? "statically linked" : "dynamically linked"
        return "ELF \(bits) LSB \(kind), \(machineName(elf.machine)), \(linking)"
    }

    /// `file`'s words for an ELF type.
    static func typeName(_ type: ELFFile.FileType) -> String {
        switch type {
        case .executable: "executable"
        case .sharedObject: "shared object"
        case .relocatable: "relocatable"
        case .core: "core file"
        default: "\(type)"
        }
    }

    /// `file`'s names for the machines a handler may be built for.
    static func machineName(_ machine: ELFFile.Machine) -> String {
        switch machine {
        case .x86_64: "x86-64"
        case .aarch64: "ARM aarch64"
        case .i386: "Intel 80386"
        case .arm: "ARM"
        default: machine.name
        }
    }
}
