import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

// Fixtures are compiled here with the machine's gcc (Debian 12: glibc 2.36, GCC 12): a new shared
// object that calls pthread_create links `pthread_create@GLIBC_2.34`, one that waits on a
// std::condition_variable links `GLIBCXX_3.4.30`; `readelf` is the reference for what they need.

/// A C or C++ source compiled into a shared object (or, with `flags`, an executable).
private func compile(
    _ source: String,
    name: String,
    cxx: Bool = false,
    flags: String = "-shared -fPIC",
    in dir: TemporaryDirectory
) async throws -> (path: String, bytes: [UInt8]) {
    let sourcePath = try dir.file(name + (cxx ? ".cc" : ".c"), source)
    let output = dir.path + "/" + name
    let (status, log) = try await shell("\(cxx ? "g++" : "gcc") \(flags) -o '\(output)' '\(sourcePath)'")
    try #require(status == 0, "compiling \(name) failed: \(log)")
    return (output, try FileSystem.readFile(output))
}

private let oldSource = "#include <string.h>\nint f(const char *s) { return (int)strlen(s); }\n"
private let pthreadSource = """
    #include <pthread.h>
    static void *run(void *a) { return a; }
    int g(void) { pthread_t t; return pthread_create(&t, 0, run, 0); }
    """
private let cxxSource = """
    #include <condition_variable>
    #include <mutex>
    std::mutex m; std::condition_variable cv;
    void w() { std::unique_lock<std::mutex> l(m); cv.wait(l); }
    """

/// What readelf says a file needs: DT_NEEDED, DT_SONAME and the version needs.
private struct ReadelfView: Equatable {
    var needed: [String] = []
    var soname: String?
    var versionNeeds: [ELFFile.VersionNeed] = []

    init(path: String) async throws {
        let (dynamicStatus, dynamic) = try await shell("LC_ALL=C readelf -d --wide '\(path)'")
        try #require(dynamicStatus == 0, "readelf -d: \(dynamic)")
        for line in dynamic.split(separator: "\n") {
            guard let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { continue }
            let value = String(line[line.index(after: open)..<close])
            if line.contains("(NEEDED)") { needed.append(value) }
            if line.contains("(SONAME)") { soname = value }
        }
        let (versionStatus, versions) = try await shell("LC_ALL=C readelf -V --wide '\(path)'")
        try #require(versionStatus == 0, "readelf -V: \(versions)")
        var inNeeds = false
        for line in versions.split(separator: "\n") {
            if line.hasPrefix("Version needs section") { inNeeds = true; continue }
            if line.hasPrefix("Version") { inNeeds = false; continue }
            guard inNeeds else { continue }
            if let file = Self.value(after: "File: ", in: line) {
                versionNeeds.append(ELFFile.VersionNeed(file: file, versions: []))
            } else if let name = Self.value(after: "Name: ", in: line), let last = versionNeeds.popLast() {
                versionNeeds.append(ELFFile.VersionNeed(file: last.file, versions: last.versions + [name]))
            }
        }
    }

    init(_ elf: ELFFile) {
        needed = elf.needed
        soname = elf.soname
        versionNeeds = elf.versionNeeds
    }

    private static func value(after key: String, in line: Substring) -> String? {
        guard let range = line.range(of: key) else { return nil }
        return String(line[range.upperBound...].prefix { $0 != " " })
    }
}

// Little-endian field access for patching ELF64 fixtures.
private func read(_ bytes: [UInt8], _ at: Int, _ size: Int) -> UInt64 {
    (0..<size).reversed().reduce(0) { $0 << 8 | UInt64(bytes[at + $1]) }
}

private func write(_ bytes: inout [UInt8], _ at: Int, _ size: Int, _ value: UInt64) {
    for i in 0..<size { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
}

/// `bytes` with every occurrence of `old` overwritten by `new` (no longer than `old`).
private func replacing(_ old: String, with new: String, in bytes: [UInt8]) -> [UInt8] {
    let old = Array(old.utf8)
    let new = Array(new.utf8)
    var out = bytes
    var at = 0
    while at + old.count <= out.count {
        if out[at..<(at + old.count)].elementsEqual(old) {
            out.replaceSubrange(at..<(at + new.count), with: new)
            at += old.count
        } else {
            at += 1
        }
    }
    return out
}

/// Offsets of the section headers of one type in an ELF64 file.
private func sectionHeaders(_ bytes: [UInt8], type: UInt32) -> [Int] {
    let shoff = Int(read(bytes, 40, 8))
    let shentsize = Int(read(bytes, 58, 2))
    let shnum = Int(read(bytes, 60, 2))
    return (0..<shnum).map { shoff + $0 * shentsize }.filter { read(bytes, $0 + 4, 4) == UInt64(type) }
}

private func expectELFError(
    _ bytes: [UInt8],
    containing fragment: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let elf = try ELFFile(bytes: bytes, path: "fixture.so")
        Issue.record("parsed a malformed file: \(elf)", sourceLocation: sourceLocation)
    } catch let error as ELFError {
        #expect(error.path == "fixture.so", sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix("fixture.so: "), sourceLocation: sourceLocation)
        if let fragment {
            #expect(error.reason.contains(fragment), "\(error)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("threw \(type(of: error)), not ELFError: \(error)", sourceLocation: sourceLocation)
    }
}

private let python311 = Result { try GlibcAudit.Target(python: "3.11", platform: "linux/amd64", glibc: "2.31") }
private let python312 = Result { try GlibcAudit.Target(python: "3.12", platform: "linux/amd64", glibc: "2.36") }

@Suite struct ELFTests {
    @Test func isELFLooksAtTheMagicNumberOnly() {
        #expect(ELFFile.isELF(prefix: [0x7f, 0x45, 0x4c, 0x46]))
        #expect(ELFFile.isELF(prefix: [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]))
        #expect(!ELFFile.isELF(prefix: [0x7f, 0x45, 0x4c]))
        #expect(!ELFFile.isELF(prefix: Array("#!/bin/sh".utf8)))
        #expect(!ELFFile.isELF(prefix: []))
    }

    @Test(arguments: ["old", "pthread", "cxx"])
    func parserAgreesWithReadelf(_ kind: String) async throws {
        let dir = try TemporaryDirectory()
        let (path, bytes) =
            switch kind {
            case "old":
                try await compile(oldSource, name: "libold.so", flags: "-shared -fPIC -Wl,-soname,libold.so.1", in: dir)
            case "pthread": try await compile(pthreadSource, name: "new.so", in: dir)
            default: try await compile(cxxSource, name: "cxx.so", cxx: true, in: dir)
            }
        let elf = try ELFFile(bytes: bytes, path: path)
        let reference = try await ReadelfView(path: path)
        #expect(ReadelfView(elf) == reference)
        #expect(!reference.needed.isEmpty && !reference.versionNeeds.isEmpty)
        #expect(try ELFFile(contentsOf: path) == elf)
        #expect(elf.elfClass == .elf64)
        #expect(elf.type == .sharedObject)
        #expect(elf.interpreter == nil)
        #expect(elf.hasDynamicSegment)
        #if arch(x86_64)
        #expect(elf.machine == .x86_64 && elf.machine.name == "x86_64")
        #elseif arch(arm64)
        #expect(elf.machine == .aarch64 && elf.machine.name == "aarch64")
        #endif
        if kind == "old" { #expect(elf.soname == "libold.so.1") }
        if kind == "pthread" {
            #expect(elf.versionNeeds.contains { $0.file == "libc.so.6" && $0.versions.contains("GLIBC_2.34") })
        }
        if kind == "cxx" {
            #expect(elf.versionNeeds.contains { $0.file == "libstdc++.so.6" && $0.versions.contains("GLIBCXX_3.4.30") })
        }
    }

    @Test func executablesNameTheirInterpreterAndStaticOnesNeedNothing() async throws {
        let dir = try TemporaryDirectory()
        let main = "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n"
        let (path, bytes) = try await compile(main, name: "prog", flags: "", in: dir)
        let elf = try ELFFile(bytes: bytes, path: path)
        let (_, headers) = try await shell("LC_ALL=C readelf -l --wide '\(path)'")
        let interpreter = headers.split(separator: "\n").first { $0.contains("program interpreter:") }
            .flatMap { line in line.split(separator: ": ").last.map { String($0.dropLast()) } }
        #expect(elf.interpreter != nil && elf.interpreter == interpreter)
        #expect(!elf.isStaticallyLinked)
        #expect(elf.needed == ["libc.so.6"])

        // A static link needs libc.a (libc6-dev); skip that half where it is missing.
        let (status, _) = try await shell("gcc -static -o '\(dir.path)/static' '\(dir.path)/prog.c'")
        guard status == 0 else { return }
        let staticELF = try ELFFile(contentsOf: dir.path + "/static")
        #expect(staticELF.isStaticallyLinked)
        #expect(staticELF.interpreter == nil && staticELF.needed.isEmpty)
    }

    @Test func elf32FilesAreReadToo() async throws {
        // No 32-bit libc here (no multilib): link against a stand-in libc.so.6 with a version script.
        let dir = try TemporaryDirectory()
        try dir.file(
            "fake.map",
            "GLIBC_2.0 { global: old_fn; local: *; };\nGLIBC_2.34 { global: new_fn; } GLIBC_2.0;\n"
        )
        try dir.file("fake.c", "int old_fn(void) { return 1; }\nint new_fn(void) { return 2; }\n")
        try dir.file(
            "user.c",
            "extern int new_fn(void);\nextern int old_fn(void);\nint f(void) { return new_fn() + old_fn(); }\n"
        )
        let (status, log) = try await shell(
            "gcc -m32 -shared -fPIC -nostdlib -Wl,--version-script=fake.map -Wl,-soname,libc.so.6 -o libc.so.6 fake.c"
                + " && gcc -m32 -shared -fPIC -nostdlib -o user32.so user.c ./libc.so.6",
            in: dir.path
        )
        #if arch(x86_64)
        try #require(status == 0, "\(log)")
        #else
        guard status == 0 else { return }  // no -m32 on this machine
        #endif
        let path = dir.path + "/user32.so"
        let elf = try ELFFile(contentsOf: path)
        #expect(elf.elfClass == .elf32)
        #expect(elf.machine == .i386 && elf.machine.name == "i386")
        #expect(ReadelfView(elf) == (try await ReadelfView(path: path)))
        #expect(elf.versionNeeds == [ELFFile.VersionNeed(file: "libc.so.6", versions: ["GLIBC_2.34", "GLIBC_2.0"])])
        let violations = GlibcAudit(target: try python311.get()).check(
            path: "x.so",
            bytes: try FileSystem.readFile(path)
        )
        #expect(
            violations.map(\.description) == [
                "x.so is built for i386, but the target (python 3.11, linux/amd64) runs x86_64",
                "x.so needs GLIBC_2.34 (libc.so.6), but the target (python 3.11, linux/amd64) has glibc 2.31",
            ]
        )

        // The 32-bit layouts under mutation: an answer or an ELFError, never a trap.
        let bytes = try FileSystem.readFile(path)
        let noise = pseudoRandom(12_000, seed: 32)
        for round in 0..<3_000 {
            var mutant = bytes
            let span = round % 2 == 0 ? 0..<min(1024, bytes.count) : max(0, bytes.count - 1024)..<bytes.count
            for k in 0..<(1 + round % 3) {
                let r = Int(noise[(round * 4 + k) % noise.count]) << 8 | Int(noise[(round * 4 + k + 1) % noise.count])
                mutant[span.lowerBound + r % span.count] = noise[(round * 4 + k + 2) % noise.count]
            }
            do { _ = try ELFFile(bytes: mutant, path: "fixture.so") } catch is ELFError {}
        }
    }

    @Test func withoutSectionHeadersTheDynamicSegmentGivesTheSameAnswer() async throws {
        let dir = try TemporaryDirectory()
        for (source, cxx) in [(pthreadSource, false), (cxxSource, true)] {
            let (path, bytes) = try await compile(source, name: cxx ? "cxx.so" : "new.so", cxx: cxx, in: dir)
            var stripped = bytes
            write(&stripped, 40, 8, 0)  // e_shoff
            write(&stripped, 60, 2, 0)  // e_shnum
            write(&stripped, 62, 2, 0)  // e_shstrndx
            let full = try ELFFile(bytes: bytes, path: path)
            let fallback = try ELFFile(bytes: stripped, path: path)
            #expect(fallback == full)
            #expect(!fallback.versionNeeds.isEmpty)
        }
    }

    @Test func dottedVersionsCompareNumerically() throws {
        func v(_ s: String) throws -> DottedVersion { try #require(DottedVersion(s)) }
        #expect(try v("2.9") < v("2.31"))
        #expect(try v("2.2.5") < v("2.3"))
        #expect(try v("2.31") == v("2.31.0"))
        #expect(try v("3.4.30") > v("3.4.28"))
        #expect(DottedVersion("PRIVATE") == nil && DottedVersion("2..3") == nil && DottedVersion("") == nil)
    }

    // MARK: - Audit

    @Test func oldSymbolsPassForGlibc231() async throws {
        let dir = try TemporaryDirectory()
        let (_, bytes) = try await compile(oldSource, name: "old.so", in: dir)
        let audit = GlibcAudit(target: try python311.get())
        #expect(audit.check(path: "old.so", bytes: bytes).isEmpty)
    }

    @Test func pthreadCreateNeedsGlibc234() async throws {
        let dir = try TemporaryDirectory()
        let (_, bytes) = try await compile(pthreadSource, name: "new.so", in: dir)
        let path = ".python_packages/lib/site-packages/foo/_x.so"
        let report = GlibcAudit(target: try python311.get()).audit(files: [(path: path, bytes: bytes)])
        #expect(!report.isPassing)
        let error = try #require(throws: GlibcAuditError.self) { try report.check() }
        #expect(error.status == .checkFailed && error.code == GlibcErrorCode.tooNew.code)
        #expect(error.description.hasPrefix(path + " needs GLIBC_2.34 "), "\(error)")
        #expect(report.violations.map(\.problem) == [.symbolVersion("GLIBC_2.34", library: "libc.so.6")])

        let bookworm = GlibcAudit(target: try python312.get()).audit(files: [(path: path, bytes: bytes)])
        #expect(bookworm.isPassing)
        #expect(bookworm.files.map(\.path) == [path])
    }

    @Test func newLibstdcxxIsRefusedForBullseyeButNotBookworm() async throws {
        let dir = try TemporaryDirectory()
        let (_, bytes) = try await compile(cxxSource, name: "cxx.so", cxx: true, in: dir)
        let violations = GlibcAudit(target: try python311.get()).check(path: "pkg/_cxx.so", bytes: bytes)
        #expect(violations.map(\.code) == [GlibcErrorCode.cxxTooNew.code])
        #expect(violations.map(\.problem) == [.symbolVersion("GLIBCXX_3.4.30", library: "libstdc++.so.6")])
        #expect(GlibcAudit(target: try python312.get()).check(path: "pkg/_cxx.so", bytes: bytes).isEmpty)

        // A vendored libstdc++ (auditwheel renames it, e.g. libstdc++-6a8b3c.so.6) carries the versions
        // it provides, so needs on it are not checked: rename the needed file in .dynstr.
        let vendored = replacing("libstdc++.so.6", with: "libstdcxx.so.6", in: bytes)
        let elf = try ELFFile(bytes: vendored, path: "pkg/_cxx.so")
        #expect(elf.versionNeeds.contains { $0.file == "libstdcxx.so.6" && $0.versions.contains("GLIBCXX_3.4.30") })
        #expect(GlibcAudit(target: try python311.get()).check(elf, path: "pkg/_cxx.so").isEmpty)
    }

    @Test func glibcVersionsAreComparedAsNumbersAndNamedOnesByMeaning() async throws {
        let dir = try TemporaryDirectory()
        let bullseye = GlibcAudit(target: try python311.get())
        let bookworm = GlibcAudit(target: try python312.get())
        // GLIBC_2.9 is older than GLIBC_2.31, though "2.9" > "2.31" as strings.
        let (_, newBytes) = try await compile(pthreadSource, name: "new.so", in: dir)
        let older = replacing("GLIBC_2.34", with: "GLIBC_2.9\0", in: newBytes)
        #expect(try ELFFile(bytes: older, path: "x").versionNeeds.flatMap(\.versions).contains("GLIBC_2.9"))
        #expect(bullseye.check(path: "older.so", bytes: older).isEmpty)

        // Linking with -z pack-relative-relocs adds GLIBC_ABI_DT_RELR, which only glibc 2.36+ has.
        let relrSource = """
            #include <string.h>
            static int a, b, c;
            int *p[] = { &a, &b, &c, &a, &b };
            int f(const char *s) { return (int)strlen(s) + *p[0]; }
            """
        let (_, relr) = try await compile(
            relrSource,
            name: "relr.so",
            flags: "-shared -fPIC -Wl,-z,pack-relative-relocs",
            in: dir
        )
        let hasRelr = try ELFFile(bytes: relr, path: "relr.so").versionNeeds.contains {
            $0.versions.contains("GLIBC_ABI_DT_RELR")
        }
        // binutils 2.38 added the option; an older ld ignores it and the half below is skipped.
        let (_, ld) = try await shell("ld -v")
        let binutils = ld.split(separator: " ").last.flatMap {
            DottedVersion($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        if let binutils, let v238 = DottedVersion("2.38"), binutils >= v238 { #expect(hasRelr, "\(ld)") }
        if hasRelr {
            let tooOld = bullseye.check(path: "relr.so", bytes: relr)
            #expect(tooOld.map(\.code) == [GlibcErrorCode.tooNew.code])
            #expect(tooOld.map(\.problem) == [.symbolVersion("GLIBC_ABI_DT_RELR", library: "libc.so.6")])
            #expect(bookworm.check(path: "relr.so", bytes: relr).isEmpty)
            // GLIBC_PRIVATE ties a file to one glibc build: refused for every target.
            let private_ = replacing("GLIBC_ABI_DT_RELR", with: "GLIBC_PRIVATE\0", in: relr)
            let privateNeeds = bookworm.check(path: "p.so", bytes: private_)
            #expect(privateNeeds.map(\.code) == [GlibcErrorCode.privateSymbol.code])
            #expect(privateNeeds.map(\.problem) == [.symbolVersion("GLIBC_PRIVATE", library: "libc.so.6")])
        }
    }

    @Test func aWrongMachineFailsTheAudit() async throws {
        let dir = try TemporaryDirectory()
        var (_, bytes) = try await compile(oldSource, name: "old.so", in: dir)
        write(&bytes, 18, 2, 183)  // e_machine = EM_AARCH64
        let elf = try ELFFile(bytes: bytes, path: "arm.so")
        #expect(elf.machine == .aarch64)
        let violations = GlibcAudit(target: try python311.get()).check(path: "pkg/arm.so", bytes: bytes)
        #expect(violations.map(\.code) == [GlibcErrorCode.wrongMachine.code])
        #expect(violations.map(\.problem) == [.machine("aarch64")])
        let arm = try GlibcAudit.Target(python: "3.11", platform: "linux/arm64", glibc: "2.31")
        #expect(GlibcAudit(target: arm).check(path: "pkg/arm.so", bytes: bytes).isEmpty)
    }

    @Test func elfFilesAreFoundByMagicNotByNameInMemoryAndOnDisk() async throws {
        let dir = try TemporaryDirectory()
        let (_, newBytes) = try await compile(pthreadSource, name: "new.so", in: dir)
        let (_, oldBytes) = try await compile(oldSource, name: "old.so", in: dir)
        let files: [(path: String, bytes: [UInt8])] = [
            (path: "pkg/bin/helper", bytes: newBytes),
            (path: "pkg/readme.so", bytes: Array("not an ELF file".utf8)),
            (path: "pkg/_ok.cpython-311-x86_64-linux-gnu.so", bytes: oldBytes),
            (path: "pkg/__init__.py", bytes: Array("import os\n".utf8)),
            (path: "pkg/broken.so", bytes: Array(newBytes.prefix(100))),
        ]
        let audit = GlibcAudit(target: try python311.get())
        let memory = audit.audit(files: files)
        #expect(memory.files.map(\.path) == ["pkg/_ok.cpython-311-x86_64-linux-gnu.so", "pkg/bin/helper"])
        #expect(memory.violations.map(\.path) == ["pkg/bin/helper", "pkg/broken.so"])
        #expect(memory.violations.map(\.code) == [GlibcErrorCode.tooNew.code, GlibcErrorCode.unreadable.code])

        let root = dir.path + "/site"
        for file in files { _ = try dir.file("site/" + file.path, file.bytes) }
        let (linked, _) = try await shell("ln -s ../../new.so '\(root)/pkg/link.so'")
        #expect(linked == 0)
        let disk = try audit.audit(directory: root, pathPrefix: ".python_packages/lib/site-packages")
        let prefix = ".python_packages/lib/site-packages/"
        #expect(disk.files.map(\.path) == memory.files.map { prefix + $0.path })
        #expect(disk.violations.map(\.path) == memory.violations.map { prefix + $0.path })
        #expect(disk.violations.map(\.code) == memory.violations.map(\.code))
    }

    @Test func badTargetsAreUsageErrors() {
        let platform = #expect(throws: UsageError.self) {
            try GlibcAudit.Target(python: "3.11", platform: "windows/amd64", glibc: "2.31")
        }
        #expect(platform?.code == PythonErrorCode.unsupportedPlatform.code)
        let glibc = #expect(throws: UsageError.self) {
            try GlibcAudit.Target(python: "3.11", platform: "linux/amd64", glibc: "two")
        }
        #expect(glibc?.code == PythonErrorCode.badGlibc.code)
    }

    // MARK: - Hostile input

    @Test func truncatedFilesThrowTypedErrors() async throws {
        let dir = try TemporaryDirectory()
        let (_, bytes) = try await compile(pthreadSource, name: "new.so", in: dir)
        for length in [0, 3, 4, 15, 16, 40, 63, 64, 200, bytes.count / 2, bytes.count - 1] {
            expectELFError(Array(bytes.prefix(length)))
        }
        expectELFError(Array(bytes.prefix(40)), containing: "too short for an ELF header")
        // Every other length: an answer or an ELFError, never a trap.
        for length in stride(from: 0, to: bytes.count, by: 7) {
            do { _ = try ELFFile(bytes: Array(bytes.prefix(length)), path: "fixture.so") } catch is ELFError {}
        }
    }

    @Test func hugeOffsetsAreRejected() async throws {
        let dir = try TemporaryDirectory()
        let (_, bytes) = try await compile(pthreadSource, name: "new.so", in: dir)
        var program = bytes
        write(&program, 32, 8, UInt64.max - 8)  // e_phoff
        expectELFError(program, containing: "program header table")
        var section = bytes
        write(&section, 40, 8, 1 << 62)  // e_shoff
        expectELFError(section, containing: "lies outside the file")
        var dynamic = bytes
        let dynamicHeader = try #require(sectionHeaders(bytes, type: 6).first)
        write(&dynamic, dynamicHeader + 24, 8, UInt64.max)  // sh_offset of .dynamic
        expectELFError(dynamic, containing: "SHT_DYNAMIC section")
    }

    @Test func sectionCountOverflowIsRejected() async throws {
        let dir = try TemporaryDirectory()
        let (_, bytes) = try await compile(pthreadSource, name: "new.so", in: dir)
        var extended = bytes
        write(&extended, 60, 2, 0)  // e_shnum = 0: the count is section 0's sh_size
        write(&extended, Int(read(bytes, 40, 8)) + 32, 8, UInt64.max / 3)
        expectELFError(extended, containing: "overflow")
        var many = bytes
        write(&many, 60, 2, 0xffff)
        expectELFError(many, containing: "section header table")
        var small = bytes
        write(&small, 58, 2, 12)  // e_shentsize smaller than a section header
        expectELFError(small, containing: "section header size")
    }

    @Test func stringIndexOutOfRangeIsRejected() async throws {
        let dir = try TemporaryDirectory()
        let (_, bytes) = try await compile(pthreadSource, name: "new.so", in: dir)
        var patched = bytes
        let dynamicHeader = try #require(sectionHeaders(bytes, type: 6).first)
        let dynamicOffset = Int(read(bytes, dynamicHeader + 24, 8))
        let entry = try #require(
            stride(from: dynamicOffset, to: dynamicOffset + 512, by: 16).first { read(bytes, $0, 8) == 1 }
        )
        write(&patched, entry + 8, 8, 0xff_ffff)  // DT_NEEDED's string index
        expectELFError(patched, containing: "outside the string table")

        var verneed = bytes
        let verneedHeader = try #require(sectionHeaders(bytes, type: 0x6fff_fffe).first)
        write(&verneed, verneedHeader + 44, 4, 0xffff_ffff)  // sh_info: the entry count
        expectELFError(verneed, containing: "cannot fit")
    }

    @Test func bigEndianFilesAreUnsupportedNotMalformed() async throws {
        let dir = try TemporaryDirectory()
        var (_, bytes) = try await compile(oldSource, name: "old.so", in: dir)
        bytes[5] = 2
        let error = try #require(throws: ELFError.self) { try ELFFile(bytes: bytes, path: "be.so") }
        #expect(error.isUnsupported)
        #expect(error.description == "be.so: unsupported ELF file: big-endian ELF files are not supported")
    }

    @Test func randomMutationsNeverTrap() async throws {
        let dir = try TemporaryDirectory()
        let (_, bytes) = try await compile(cxxSource, name: "cxx.so", cxx: true, in: dir)
        let audit = GlibcAudit(target: try python311.get())
        let noise = pseudoRandom(60_000, seed: 42)
        // Mutate the parts the parser reads: the headers and tables at the start (through
        // .gnu.version_r), the dynamic section, and the section headers at the end; half of the
        // rounds also strip the section headers so the segment fallback is exercised.
        let dynamicHeader = try #require(sectionHeaders(bytes, type: 6).first)
        let regions = [
            0..<min(4096, bytes.count),
            Int(
                read(bytes, dynamicHeader + 24, 8)
            )..<Int(read(bytes, dynamicHeader + 24, 8) + read(bytes, dynamicHeader + 32, 8)),
            Int(read(bytes, 40, 8))..<bytes.count,
        ]
        var parsed = 0
        for round in 0..<9_000 {
            var mutant = bytes
            if round % 2 == 1 {
                write(&mutant, 40, 8, 0)
                write(&mutant, 60, 2, 0)
            }
            let region = regions[round % 3]
            for k in 0..<(1 + round % 4) {
                let r = Int(noise[(round * 6 + k) % noise.count])
                let s = Int(noise[(round * 6 + k + 1) % noise.count])
                let at = region.lowerBound + (r << 8 | s) % region.count
                mutant[at] = noise[(round * 6 + k + 2) % noise.count]
            }
            do {
                _ = try ELFFile(bytes: mutant, path: "fixture.so")
                parsed += 1
            } catch is ELFError {}
            _ = audit.check(path: "fixture.so", bytes: mutant)
            if round % 1000 == 0 {
                let path = try dir.file("mutant.so", mutant)
                do { _ = try ELFFile(contentsOf: path) } catch is ELFError {}
            }
        }
        #expect(parsed > 1000)  // many mutations leave a file that still parses
    }
}
