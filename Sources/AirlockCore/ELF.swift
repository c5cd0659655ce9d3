// Reads the few facts Airlock needs from an ELF file: class, type, machine, the interpreter, the
// DT_NEEDED libraries and SONAME, and the symbol versions each needed library must provide
// (`.gnu.version_r`). The Python build audits every shared object of a deployment with it and the Go
// build checks its handler is static.
//
// Why it is written this way: the input is hostile. Any wheel can carry any bytes under a `.so`
// name, so every offset, size, count and string index read from the file is checked (with
// overflow-checked arithmetic) before it is used, every loop is bounded by the bytes that remain,
// and a malformed file is an `ELFError` naming the file and the reason, never a trap. Data is read
// on demand (headers, tables, the strings actually named), not by loading the whole file, so a
// 1 GiB library costs a few kilobytes of reads. Only little-endian files are read; big-endian ones
// are refused with an error of their own.

/// An ELF file Airlock cannot read: malformed (truncated, out-of-range offsets or indexes) or
/// unsupported (big-endian).
public struct ELFError: AirlockError {
    public let path: String
    public let reason: String
    /// True for a well-formed file Airlock does not read (big-endian), false for a malformed one.
    public let isUnsupported: Bool

    public init(path: String, reason: String, isUnsupported: Bool = false) {
        self.path = path
        self.reason = reason
        self.isUnsupported = isUnsupported
    }

    public var status: ExitStatus { .checkFailed }
    public var code: ErrorCode { (isUnsupported ? CoreErrorCode.unsupportedELF : .badELF).code }
    public var description: String {
        "\(path): \(isUnsupported ? "unsupported" : "malformed") ELF file: \(reason)"
    }
}

/// What Airlock knows about one ELF file after parsing it.
public struct ELFFile: Sendable, Equatable {
    public enum Class: Sendable, Equatable { case elf32, elf64 }

    /// `e_type`.
    public struct FileType: RawRepresentable, Sendable, Equatable, CustomStringConvertible {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let relocatable = FileType(rawValue: 1)
        public static let executable = FileType(rawValue: 2)
        public static let sharedObject = FileType(rawValue: 3)
        public static let core = FileType(rawValue: 4)
        public var description: String {
            switch rawValue {
            case 1: "ET_REL"
            case 2: "ET_EXEC"
            case 3: "ET_DYN"
            case 4: "ET_CORE"
            default: "type \(rawValue)"
            }
        }
    }

    /// `e_machine`, named the way `uname -m` and wheel platform tags name it.
    public struct Machine: RawRepresentable, Sendable, Equatable, CustomStringConvertible {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }
        public static let i386 = Machine(rawValue: 3)
        public static let arm = Machine(rawValue: 40)
        public static let x86_64 = Machine(rawValue: 62)
        public static let aarch64 = Machine(rawValue: 183)

        /// "x86_64", "aarch64", "i386", "arm", …, or "machine N" for one Airlock has no name for.
        public var name: String {
            switch rawValue {
            case 3: "i386"
            case 8: "mips"
            case 20: "ppc"
            case 21: "ppc64"
            case 22: "s390x"
            case 40: "arm"
            case 62: "x86_64"
            case 183: "aarch64"
            case 243: "riscv"
            case 258: "loongarch"
            default: "machine \(rawValue)"
            }
        }
        public var description: String { name }
    }

    /// The symbol versions one needed file must define, in file order (`readelf -V`).
    public struct VersionNeed: Sendable, Equatable {
        public let file: String
        public let versions: [String]
        public init(file: String, versions: [String]) {
            self.file = file
            self.versions = versions
        }
    }

    public let elfClass: Class
    public let type: FileType
    public let machine: Machine
    /// The PT_INTERP path (the dynamic loader), nil when there is none.
    public let interpreter: String?
    /// Whether a PT_DYNAMIC segment exists.
    public let hasDynamicSegment: Bool
    /// DT_NEEDED entries in order.
    public let needed: [String]
    public let soname: String?
    public let versionNeeds: [VersionNeed]

    /// No loader and no needed libraries: what `file` calls "statically linked".
    public var isStaticallyLinked: Bool { interpreter == nil && needed.isEmpty }

    public static let magic: [UInt8] = [0x7f, 0x45, 0x4c, 0x46]

    /// Whether bytes start with the ELF magic; four bytes are enough.
    public static func isELF(prefix: some Collection<UInt8>) -> Bool {
        prefix.count >= 4 && prefix.prefix(4).elementsEqual(magic)
    }

    /// Parses an ELF file held in memory; `path` only names it in errors.
    public init(bytes: [UInt8], path: String) throws {
        self = try ELFParser(source: ArraySource(bytes: bytes), path: path).parse()
    }

    /// Parses an ELF file on disk, reading only the parts it needs. `displayPath` names it in errors.
    public init(contentsOf path: String, displayPath: String? = nil) throws {
        let fd = try FileDescriptor.open(path)
        let source = try FileSource(fd: fd, size: fd.size)
        self = try ELFParser(source: source, path: displayPath ?? path).parse()
    }

    fileprivate init(
        elfClass: Class,
        type: FileType,
        machine: Machine,
        interpreter: String?,
        hasDynamicSegment: Bool,
        needed: [String],
        soname: String?,
        versionNeeds: [VersionNeed]
    ) {
        self.elfClass = elfClass
        self.type = type
        self.machine = machine
        self.interpreter = interpreter
        self.hasDynamicSegment = hasDynamicSegment
        self.needed = needed
        self.soname = soname
        self.versionNeeds = versionNeeds
    }
}

// MARK: - Byte sources

/// A read outside the bytes a structure was given; the parser turns it into an `ELFError`.
private struct ELFRangeError: Error {}

/// Random access to the file's bytes. `read` returns exactly `count` bytes or throws.
private protocol ByteSource {
    var size: Int { get }
    func read(offset: Int, count: Int) throws -> [UInt8]
}

private struct ArraySource: ByteSource {
    let bytes: [UInt8]
    var size: Int { bytes.count }
    func read(offset: Int, count: Int) throws -> [UInt8] {
        // The parser checked the range; this is the last line of defence against a trap.
        guard offset >= 0, count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw ELFRangeError()
        }
        return Array(bytes[offset..<(offset + count)])
    }
}

private struct FileSource: ByteSource {
    let fd: FileDescriptor
    let size: Int
    func read(offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw ELFRangeError()
        }
        try fd.seek(to: offset)
        var out = [UInt8](repeating: 0, count: count)
        let n = try out.withUnsafeMutableBytes { try fd.readFully(into: $0) }
        // The file shrank under us: report it as the truncation it now is.
        guard n == count else { throw ELFRangeError() }
        return out
    }
}

/// Little-endian fields of one structure read from the file.
private struct Fields {
    let bytes: [UInt8]

    func u8(_ at: Int) throws -> UInt8 {
        guard at >= 0, at < bytes.count else { throw ELFRangeError() }
        return bytes[at]
    }

    func u16(_ at: Int) throws -> UInt16 {
        guard at >= 0, at <= bytes.count - 2 else { throw ELFRangeError() }
        return UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
    }

    func u32(_ at: Int) throws -> UInt32 {
        guard at >= 0, at <= bytes.count - 4 else { throw ELFRangeError() }
        var value: UInt32 = 0
        for i in (0..<4).reversed() { value = value << 8 | UInt32(bytes[at + i]) }
        return value
    }

    func u64(_ at: Int) throws -> UInt64 {
        guard at >= 0, at <= bytes.count - 8 else { throw ELFRangeError() }
        var value: UInt64 = 0
        for i in (0..<8).reversed() { value = value << 8 | UInt64(bytes[at + i]) }
        return value
    }

    /// An address-sized field: 8 bytes in ELF64, 4 in ELF32.
    func word(_ at: Int, wide: Bool) throws -> UInt64 { wide ? try u64(at) : UInt64(try u32(at)) }
}

// MARK: - Parser

private struct ELFParser<Source: ByteSource> {
    // ELF constants (System V gABI; GNU extensions from glibc's elf.h).
    static var ptLoad: UInt32 { 1 }
    static var ptDynamic: UInt32 { 2 }
    static var ptInterp: UInt32 { 3 }
    static var shtStrtab: UInt32 { 3 }
    static var shtDynamic: UInt32 { 6 }
    static var shtNobits: UInt32 { 8 }
    static var shtGnuVerneed: UInt32 { 0x6fff_fffe }
    static var dtNull: UInt64 { 0 }
    static var dtNeeded: UInt64 { 1 }
    static var dtStrtab: UInt64 { 5 }
    static var dtStrsz: UInt64 { 10 }
    static var dtSoname: UInt64 { 14 }
    static var dtVerneed: UInt64 { 0x6fff_fffe }
    static var dtVerneednum: UInt64 { 0x6fff_ffff }

    /// Tables (section headers, program headers, the dynamic table) larger than this are refused:
    /// a real one is kilobytes, and the cap bounds what a hostile header can make Airlock read.
    static var tableLimit: Int { 16 << 20 }
    /// NEEDED, SONAME, interpreter and version names are short; longer ones are refused.
    static var stringLimit: Int { 4096 }
    /// Real files need tens of libraries and versions; these caps bound the string reads a hostile
    /// table of millions of entries could ask for.
    static var neededLimit: Int { 1024 }
    static var versionNameLimit: Int { 16384 }

    let source: Source
    let path: String

    /// A range of the file, already checked to lie inside it.
    struct Region {
        let offset: Int
        let size: Int
        var end: Int { offset + size }
    }

    struct Section {
        let type: UInt32
        let offset: UInt64
        let size: UInt64
        let link: UInt32
        let info: UInt32
    }

    struct Segment {
        let type: UInt32
        let offset: UInt64
        let vaddr: UInt64
        let filesz: UInt64
    }

    func fail(_ reason: String) -> ELFError { ELFError(path: path, reason: reason) }

    /// Reads `count` bytes at `offset`, mapping any range problem to an error naming `what`.
    func read(_ offset: Int, _ count: Int, _ what: String) throws -> Fields {
        do {
            return Fields(bytes: try source.read(offset: offset, count: count))
        } catch is ELFRangeError {
            throw fail("\(what) at offset \(offset) (\(count) bytes) lies outside the file (\(source.size) bytes)")
        }
    }

    /// Runs a field read, mapping a range problem to an error naming `what`.
    func field<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch is ELFRangeError { throw fail("\(what) is cut short") }
    }

    /// Checks that `count` items of `entrySize` bytes at `offset` lie inside the file.
    func region(offset: UInt64, count: UInt64, entrySize: Int, _ what: String) throws -> Region {
        let (total, overflow) = count.multipliedReportingOverflow(by: UInt64(entrySize))
        guard !overflow else {
            throw fail("\(what): \(count) entries of \(entrySize) bytes overflow a 64-bit size")
        }
        return try region(offset: offset, size: total, what)
    }

    /// Checks that `size` bytes at `offset` lie inside the file.
    func region(offset: UInt64, size: UInt64, _ what: String) throws -> Region {
        let fileSize = UInt64(source.size)
        guard offset <= fileSize, size <= fileSize - offset else {
            throw fail("\(what) (offset \(offset), \(size) bytes) lies outside the file (\(fileSize) bytes)")
        }
        // Both fit in the file size, which is an Int.
        return Region(offset: Int(offset), size: Int(size))
    }

    func parse() throws -> ELFFile {
        // Kept whole: a single pass over hostile bytes; every bounds check stays beside the read it guards.
        guard source.size >= 16 else {
            throw fail("\(source.size) bytes is too short for an ELF identification (16 bytes)")
        }
        let ident = try read(0, 16, "identification")
        guard ident.bytes.prefix(4).elementsEqual(ELFFile.magic) else { throw fail("no ELF magic number") }
        let elfClass: ELFFile.Class
        switch ident.bytes[4] {
        case 1: elfClass = .elf32
        case 2: elfClass = .elf64
        case let other: throw fail("unknown ELF class \(other)")
        }
        switch ident.bytes[5] {
        case 1: break
        case 2: throw ELFError(path: path, reason: "big-endian ELF files are not supported", isUnsupported: true)
        case let other: throw fail("unknown data encoding \(other)")
        }
        guard ident.bytes[6] == 1 else { throw fail("unknown ELF version \(ident.bytes[6])") }
        let wide = elfClass == .elf64

        // The file header (ELF32: 52 bytes, ELF64: 64).
        let headerSize = wide ? 64 : 52
        guard source.size >= headerSize else {
            throw fail("\(source.size) bytes is too short for an ELF header (\(headerSize) bytes)")
        }
        let header = try read(0, headerSize, "ELF header")
        let (type, machine, phoff, shoff, phentsize, phnumField, shentsize, shnumField) = try field("ELF header") {
            (
                try header.u16(16), try header.u16(18),
                try header.word(wide ? 32 : 28, wide: wide), try header.word(wide ? 40 : 32, wide: wide),
                Int(try header.u16(wide ? 54 : 42)), try header.u16(wide ? 56 : 44),
                Int(try header.u16(wide ? 58 : 46)), try header.u16(wide ? 60 : 48)
            )
        }

        let sections = try readSections(
            shoff: shoff,
            shnumField: shnumField,
            shentsize: shentsize,
            wide: wide
        )
        // PN_XNUM: the real program header count lives in section 0's sh_info.
        var phnum = UInt64(phnumField)
        if phnumField == 0xffff {
            guard let first = sections.first else {
                throw fail("e_phnum is PN_XNUM but there is no section 0 to hold the real count")
            }
            phnum = UInt64(first.info)
        }
        let segments = try readSegments(phoff: phoff, phnum: phnum, phentsize: phentsize, wide: wide)

        var interpreter: String?
        if let interp = segments.first(where: { $0.type == Self.ptInterp }) {
            let r = try region(offset: interp.offset, size: interp.filesz, "PT_INTERP segment")
            guard r.size <= Self.stringLimit else {
                throw fail("interpreter path of \(r.size) bytes is longer than \(Self.stringLimit)")
            }
            let bytes = try read(r.offset, r.size, "PT_INTERP segment").bytes
            interpreter = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        let dynamicSegment = segments.first(where: { $0.type == Self.ptDynamic })

        // The dynamic table: from the SHT_DYNAMIC section when section headers exist, else from the
        // PT_DYNAMIC segment (what the loader itself reads).
        var dynamicRegion: Region?
        var dynamicStrings: Region?
        if let section = sections.first(where: { $0.type == Self.shtDynamic }) {
            dynamicRegion = try contents(of: section, "SHT_DYNAMIC section")
            dynamicStrings = try stringTable(linkedFrom: section, sections: sections, "SHT_DYNAMIC section")
        } else if let segment = dynamicSegment {
            dynamicRegion = try region(offset: segment.offset, size: segment.filesz, "PT_DYNAMIC segment")
        }

        var neededIndexes: [UInt64] = []
        var sonameIndex: UInt64?
        var strtabAddress: UInt64?
        var strtabSize: UInt64?
        var verneedAddress: UInt64?
        var verneedCount: UInt64?
        if let dynamic = dynamicRegion {
            let entrySize = wide ? 16 : 8
            guard dynamic.size <= Self.tableLimit else {
                throw fail("dynamic table of \(dynamic.size) bytes is larger than \(Self.tableLimit)")
            }
            let table = try read(dynamic.offset, dynamic.size - dynamic.size % entrySize, "dynamic table")
            for i in 0..<(dynamic.size / entrySize) {
                let (tag, value) = try field("dynamic entry \(i)") {
                    (
                        try table.word(i * entrySize, wide: wide),
                        try table.word(i * entrySize + entrySize / 2, wide: wide)
                    )
                }
                switch tag {
                case Self.dtNull: break
                case Self.dtNeeded:
                    guard neededIndexes.count < Self.neededLimit else {
                        throw fail("more than \(Self.neededLimit) DT_NEEDED entries")
                    }
                    neededIndexes.append(value)
                case Self.dtSoname: sonameIndex = value
                case Self.dtStrtab: strtabAddress = value
                case Self.dtStrsz: strtabSize = value
                case Self.dtVerneed: verneedAddress = value
                case Self.dtVerneednum: verneedCount = value
                default: continue
                }
                if tag == Self.dtNull { break }
            }
        }

        // Without a section to name the dynamic string table, DT_STRTAB (an address) does.
        let usesDynamicStrings = !neededIndexes.isEmpty || sonameIndex != nil || verneedAddress != nil
        if dynamicStrings == nil, usesDynamicStrings {
            guard let address = strtabAddress else {
                throw fail("the dynamic table names libraries but has no DT_STRTAB")
            }
            let mapped = try map(address: address, segments: segments, "DT_STRTAB")
            if let size = strtabSize {
                dynamicStrings = try region(offset: UInt64(mapped.offset), size: size, "DT_STRTAB string table")
            } else {
                dynamicStrings = mapped
            }
        }

        var needed: [String] = []
        var soname: String?
        if let strings = dynamicStrings {
            needed = try neededIndexes.map { try string(at: $0, in: strings, "DT_NEEDED name") }
            soname = try sonameIndex.map { try string(at: $0, in: strings, "DT_SONAME") }
        }

        // Version needs: the SHT_GNU_verneed section, else DT_VERNEED/DT_VERNEEDNUM when section
        // headers are stripped.
        var versionNeeds: [ELFFile.VersionNeed] = []
        if let section = sections.first(where: { $0.type == Self.shtGnuVerneed }) {
            let body = try contents(of: section, "SHT_GNU_verneed section")
            let strings = try stringTable(linkedFrom: section, sections: sections, "SHT_GNU_verneed section")
            versionNeeds = try readVersionNeeds(in: body, count: UInt64(section.info), strings: strings)
        } else if let address = verneedAddress {
            guard let count = verneedCount else { throw fail("DT_VERNEED without DT_VERNEEDNUM") }
            guard let strings = dynamicStrings else { throw fail("DT_VERNEED without a dynamic string table") }
            let body = try map(address: address, segments: segments, "DT_VERNEED")
            versionNeeds = try readVersionNeeds(in: body, count: count, strings: strings)
        }

        return ELFFile(
            elfClass: elfClass,
            type: ELFFile.FileType(rawValue: type),
            machine: ELFFile.Machine(rawValue: machine),
            interpreter: interpreter,
            hasDynamicSegment: dynamicSegment != nil,
            needed: needed,
            soname: soname,
            versionNeeds: versionNeeds
        )
    }

    func readSections(shoff: UInt64, shnumField: UInt16, shentsize: Int, wide: Bool) throws -> [Section] {
        guard shoff != 0 else { return [] }
        let minimum = wide ? 64 : 40
        guard shentsize >= minimum else {
            throw fail("section header size \(shentsize) is smaller than \(minimum)")
        }
        var count = UInt64(shnumField)
        if count == 0 {
            // Extended numbering: section 0's sh_size holds the real count (0 if there are none).
            let first = try region(offset: shoff, count: 1, entrySize: shentsize, "section header 0")
            let zero = try read(first.offset, minimum, "section header 0")
            count = try field("section header 0") { try zero.word(wide ? 32 : 20, wide: wide) }
            if count == 0 { return [] }
        }
        let table = try region(offset: shoff, count: count, entrySize: shentsize, "section header table")
        guard table.size <= Self.tableLimit else {
            throw fail("section header table of \(count) entries is larger than \(Self.tableLimit) bytes")
        }
        let bytes = try read(table.offset, table.size, "section header table")
        return try (0..<Int(count)).map { i in
            let at = i * shentsize
            return try field("section header \(i)") {
                Section(
                    type: try bytes.u32(at + 4),
                    offset: try bytes.word(at + (wide ? 24 : 16), wide: wide),
                    size: try bytes.word(at + (wide ? 32 : 20), wide: wide),
                    link: try bytes.u32(at + (wide ? 40 : 24)),
                    info: try bytes.u32(at + (wide ? 44 : 28))
                )
            }
        }
    }

    func readSegments(phoff: UInt64, phnum: UInt64, phentsize: Int, wide: Bool) throws -> [Segment] {
        guard phnum > 0 else { return [] }
        let minimum = wide ? 56 : 32
        guard phentsize >= minimum else {
            throw fail("program header size \(phentsize) is smaller than \(minimum)")
        }
        let table = try region(offset: phoff, count: phnum, entrySize: phentsize, "program header table")
        guard table.size <= Self.tableLimit else {
            throw fail("program header table of \(phnum) entries is larger than \(Self.tableLimit) bytes")
        }
        let bytes = try read(table.offset, table.size, "program header table")
        return try (0..<Int(phnum)).map { i in
            let at = i * phentsize
            return try field("program header \(i)") {
                Segment(
                    type: try bytes.u32(at),
                    offset: try bytes.word(at + (wide ? 8 : 4), wide: wide),
                    vaddr: try bytes.word(at + (wide ? 16 : 8), wide: wide),
                    filesz: try bytes.word(at + (wide ? 32 : 16), wide: wide)
                )
            }
        }
    }

    /// The file bytes of a section; SHT_NOBITS sections have none.
    func contents(of section: Section, _ what: String) throws -> Region {
        guard section.type != Self.shtNobits else { throw fail("\(what) has no bytes in the file (SHT_NOBITS)") }
        return try region(offset: section.offset, size: section.size, what)
    }

    /// The string table a section's sh_link names.
    func stringTable(linkedFrom section: Section, sections: [Section], _ what: String) throws -> Region {
        guard Int(section.link) < sections.count else {
            throw fail("\(what) links to section \(section.link), but there are \(sections.count) sections")
        }
        let strings = sections[Int(section.link)]
        guard strings.type == Self.shtStrtab else {
            throw fail("\(what) links to section \(section.link), which is not a string table (type \(strings.type))")
        }
        return try contents(of: strings, "string table (section \(section.link))")
    }

    /// Maps a virtual address to the file bytes from there to the end of the PT_LOAD segment
    /// holding it, as the loader would see them.
    func map(address: UInt64, segments: [Segment], _ what: String) throws -> Region {
        for segment in segments where segment.type == Self.ptLoad {
            guard address >= segment.vaddr else { continue }
            let delta = address - segment.vaddr
            guard delta < segment.filesz else { continue }
            let load = try region(offset: segment.offset, size: segment.filesz, "PT_LOAD segment")
            // delta < filesz == load.size, so this stays inside the file.
            return Region(offset: load.offset + Int(delta), size: load.size - Int(delta))
        }
        throw fail("\(what) address 0x\(String(address, radix: 16)) is not in any loaded segment")
    }

    /// A NUL-terminated string at `index` in a string table.
    func string(at index: UInt64, in table: Region, _ what: String) throws -> String {
        guard index < UInt64(table.size) else {
            throw fail("\(what): string index \(index) is outside the string table (\(table.size) bytes)")
        }
        let tooLong = fail("\(what) at string index \(index) is longer than \(Self.stringLimit) bytes")
        var bytes: [UInt8] = []
        var at = table.offset + Int(index)
        while at < table.end {
            let chunk = try read(at, min(256, table.end - at), "string table").bytes
            if let nul = chunk.firstIndex(of: 0) {
                bytes += chunk[..<nul]
                guard bytes.count <= Self.stringLimit else { throw tooLong }
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes += chunk
            at += chunk.count
            guard bytes.count <= Self.stringLimit else { throw tooLong }
        }
        throw fail("\(what) at string index \(index) runs past the end of its string table")
    }

    /// Walks Elf_Verneed entries and their Elf_Vernaux chains (16 bytes each in both classes).
    /// Like glibc's loader, a chain ends at a zero `next` even before its count is reached.
    func readVersionNeeds(in body: Region, count: UInt64, strings: Region) throws -> [ELFFile.VersionNeed] {
        let entrySize = 16
        guard count <= UInt64(body.size / entrySize) else {
            throw fail("\(count) version-need entries cannot fit in \(body.size) bytes")
        }
        // One entry per needed file: no more than there may be DT_NEEDED entries.
        guard count <= UInt64(Self.neededLimit) else {
            throw fail("\(count) version-need entries is more than \(Self.neededLimit)")
        }
        var result: [ELFFile.VersionNeed] = []
        var names = 0
        var offset = body.offset
        for i in 0..<Int(count) {
            let what = "version-need entry \(i)"
            guard offset <= body.end - entrySize else { throw fail("\(what) lies outside its table") }
            let entry = try read(offset, entrySize, what)
            let (auxCount, fileIndex, auxOffset, next) = try field(what) {
                (Int(try entry.u16(2)), UInt64(try entry.u32(4)), Int(try entry.u32(8)), Int(try entry.u32(12)))
            }
            let file = try string(at: fileIndex, in: strings, "\(what) file name")

            var versions: [String] = []
            var aux = offset + auxOffset  // both < 2^33: no overflow on 64-bit Int
            for j in 0..<auxCount {
                let auxWhat = "version-need entry \(i), version \(j)"
                guard aux >= body.offset, aux <= body.end - entrySize else {
                    throw fail("\(auxWhat) lies outside its table")
                }
                let vernaux = try read(aux, entrySize, auxWhat)
                let (nameIndex, auxNext) = try field(auxWhat) { (UInt64(try vernaux.u32(8)), Int(try vernaux.u32(12))) }
                names += 1
                guard names <= Self.versionNameLimit else {
                    throw fail("more than \(Self.versionNameLimit) version-need names")
                }
                versions.append(try string(at: nameIndex, in: strings, "\(auxWhat) name"))
                if auxNext == 0 { break }
                aux += auxNext
            }
            result.append(ELFFile.VersionNeed(file: file, versions: versions))
            if next == 0 { break }
            offset += next
        }
        return result
    }
}
