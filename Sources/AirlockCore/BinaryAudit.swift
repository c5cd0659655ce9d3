// What an executable needs from the host it runs on, read by Airlock's own ELF parser: the dynamic
// loader, the shared libraries (DT_NEEDED) and the highest glibc symbol version. For Airlock's
// release binary the answer must be "nothing": it is what an operator checks before carrying the
// binary into an enclave whose hosts have only a base system.

public struct BinaryAudit: Codable, Sendable, Equatable {
    public var path: String
    public var machine: String
    /// PT_INTERP, nil for a static executable.
    public var interpreter: String?
    public var needed: [String]
    /// The highest `GLIBC_x.y` the file's symbol versions name, nil when it names none.
    public var highestGlibc: String?

    public var isSelfContained: Bool { interpreter == nil && needed.isEmpty }

    public init(contentsOf path: String) throws {
        let elf = try ELFFile(contentsOf: path)
        self.path = path
        machine = elf.machine.name
        interpreter = elf.interpreter
        needed = elf.needed
        let versions = elf.versionNeeds.flatMap(\.versions).compactMap(Self.glibcVersion)
        highestGlibc = versions.max { $0.lexicographicallyPrecedes($1) }.map { $0.map(String.init).joined(separator: ".") }
    }

    /// `GLIBC_2.34` as [2, 34]; nil for any other version name.
    package static func glibcVersion(_ name: String) -> [Int]? {
        guard name.hasPrefix("GLIBC_") else { return nil }
        let parts = name.dropFirst(6).split(separator: ".").map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.compactMap { $0 }
    }

    /// One line per fact, for a terminal.
    public var lines: [String] {
        [
            "\(path): \(machine)",
            "  loader:  \(interpreter ?? "none (static)")",
            "  needs:   \(needed.isEmpty ? "no shared library" : needed.joined(separator: ", "))",
            "  glibc:   \(highestGlibc.map { "GLIBC_\($0) at most" } ?? "no versioned glibc symbol")",
        ]
    }
}
