// Fixtures shared by the in-process test targets: private temp directories, a shell runner for the
// stock tools (tar, openssl, sha256sum) that auditors use, deterministic pseudo-random bytes, and a
// hand-made ustar writer for archives Airlock's own writer never makes (hostile bundles and layers).

public import AirlockCore
import Foundation

/// A fresh 0700 directory per test, removed when the value goes away.
public final class TemporaryDirectory {
    public let path: String

    public init() throws { path = try FileSystem.makeTemporaryDirectory(prefix: "airlock-test") }
    deinit { FileSystem.removeTree(path) }

    /// Writes a file (and its parent directories) below the temp dir; returns its path.
    @discardableResult
    public func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path + "/" + name
        try FileSystem.makeDirectory(FileSystem.parentPath(p))
        try FileSystem.writeAtomically(p, bytes)
        return p
    }

    @discardableResult
    public func file(_ name: String, _ text: String) throws -> String { try file(name, Array(text.utf8)) }
}

/// Runs `command` with /bin/sh through Airlock's one process runner; returns its status and
/// combined output (stdout, then stderr). The test's task suspends while it runs; a hang guard of
/// 10 minutes kills it.
public func shell(_ command: String, in directory: String? = nil, environment: [String: String]? = nil) async throws -> (
    Int32, String
) {
    let child = ChildProcess(
        executable: "/bin/sh", arguments: ["-c", command], environment: environment ?? ChildProcess.inheritedEnvironment(),
        workingDirectory: directory, timeLimit: .seconds(600), captureOutput: 64 << 20, captureError: 64 << 20
    )
    let result = try await child.run()
    return (result.timedOut ? 124 : result.status, result.outputText + result.errorText)
}

/// Deterministic pseudo-random bytes (a 64-bit LCG): fixtures that compress badly and repeat exactly.
public func pseudoRandom(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

/// One member of a hand-made tar: any name, type and header size, whatever the data.
public struct RawMember: Sendable {
    public var name: String
    public var type: UInt8
    public var data: [UInt8]
    public var headerSize: Int?
    public var linkName: String
    public var mode: Int
    /// Device numbers, for character and block device members.
    public var device: (major: Int, minor: Int)

    public init(name: String, type: UInt8 = UInt8(ascii: "0"), data: [UInt8] = [], headerSize: Int? = nil, linkName: String = "", mode: Int = 0o644, device: (major: Int, minor: Int) = (0, 0)) {
        self.name = name
        self.type = type
        self.data = data
        self.headerSize = headerSize
        self.linkName = linkName
        self.mode = mode
        self.device = device
    }
}

/// Writes ustar by hand (not through libarchive), so tests can build archives our writer never would.
public enum RawTar {
    public static func build(_ members: [RawMember], endMarker: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        for m in members {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int, width: Int) {
                for (i, b) in text.utf8.prefix(width).enumerated() { header[offset + i] = b }
            }
            func octal(_ value: Int, at offset: Int, width: Int) {
                let s = String(value, radix: 8)
                put(String(repeating: "0", count: max(0, width - 1 - s.count)) + s, at: offset, width: width - 1)
            }
            var name = m.name
            var prefix = ""
            if name.utf8.count > 100, let slash = name.lastIndex(of: "/") {
                prefix = String(name[..<slash])
                name = String(name[name.index(after: slash)...])
            }
            put(name, at: 0, width: 100)
            octal(m.mode, at: 100, width: 8)
            octal(0, at: 108, width: 8)
            octal(0, at: 116, width: 8)
            octal(m.headerSize ?? m.data.count, at: 124, width: 12)
            octal(1_700_000_000, at: 136, width: 12)
            header[156] = m.type
            put(m.linkName, at: 157, width: 100)
            put("ustar", at: 257, width: 6)
            put("00", at: 263, width: 2)
            if m.device != (0, 0) {
                octal(m.device.major, at: 329, width: 8)
                octal(m.device.minor, at: 337, width: 8)
            }
            put(prefix, at: 345, width: 155)
            for i in 148..<156 { header[i] = 32 }
            let sum = header.reduce(0) { $0 + Int($1) }
            octal(sum, at: 148, width: 7)
            header[155] = 32
            out += header
            out += m.data
            let pad = (512 - m.data.count % 512) % 512
            out += [UInt8](repeating: 0, count: pad)
        }
        if endMarker { out += [UInt8](repeating: 0, count: 1024) }
        return out
    }

    /// The members of an existing (plain) tar, in order.
    public static func members(of path: String) async throws -> [RawMember] {
        let reader = try ArchiveReader(paths: [path])
        var members: [RawMember] = []
        while let entry = try reader.next() {
            members.append(RawMember(name: entry.path ?? "", data: try reader.readAll(limit: 1 << 30)))
        }
        return members
    }
}

/// A small image made from the host's own Python (the system `python3`, e.g. Debian bookworm's
/// 3.11: its standard library without tests and GUI modules, and the libraries the interpreter
/// links, and bash and sleep), for tests that need a real interpreter or shell in a store image without the network. The
/// docker-archive is written once per test process.
public enum HostPythonImage {
    /// The host's `python3` minor version (`3.11`).
    public static let version: String = {
        // Debian's /usr/bin/python3 is a symlink to python3.N: read, not run (no process in an initializer).
        let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/usr/bin/python3")) ?? ""
        let name = FileSystem.baseName(target)
        guard name.hasPrefix("python3."), name.dropFirst(7).allSatisfy(\.isNumber) else { return "3.11" }
        return String(name.dropFirst(6))
    }()
    public static var reference: String { "host-python:\(version)" }
    static let libraries = ["libc.so.6", "libm.so.6", "libz.so.1", "libexpat.so.1", "libffi.so.8", "libtinfo.so.6"]
    static var skipped: Set<String> {
        [
            "__pycache__", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data",
            "site-packages", "dist-packages",
        ]
    }

    private static let made: Result<String, any Error> = Result { try write() }

    /// The docker-archive's path (named `reference`).
    public static func archive() throws -> String { try made.get() }

    /// The same image with Functions extension bundles of these versions under
    /// /FuncExtensionBundles/Microsoft.Azure.Functions.ExtensionBundle/, as the Functions base
    /// images ship them; named `bundlesReference`.
    public static func archive(extensionBundles versions: [String]) throws -> String {
        try write(bundles: versions)
    }

    public static var bundlesReference: String { "host-python-bundles:\(version)" }

    private static func write(bundles: [String] = []) throws -> String {
        let reference = bundles.isEmpty ? reference : bundlesReference
        let dir = try FileSystem.makeTemporaryDirectory(prefix: "airlock-host-python")
        let python = "python" + version
        let multiarch = "x86_64-linux-gnu"
        var members: [RawMember] = []
        func directory(_ name: String) { members.append(RawMember(name: name + "/", type: UInt8(ascii: "5"), mode: 0o755)) }
        func symlink(_ name: String, _ target: String) {
            members.append(RawMember(name: name, type: UInt8(ascii: "2"), linkName: target, mode: 0o777))
        }
        func file(_ name: String, from host: String, mode: Int = 0o644) throws {
            members.append(RawMember(name: name, data: try FileSystem.readFile(host, limit: 64 << 20), mode: mode))
        }
        for name in ["usr", "usr/bin", "usr/lib", "usr/lib/" + multiarch, "usr/lib64", "tmp", "home", "etc"] { directory(name) }
        symlink("bin", "usr/bin")
        symlink("lib", "usr/lib")
        symlink("lib64", "usr/lib64")
        try file("usr/bin/" + python, from: "/usr/bin/" + python, mode: 0o755)
        symlink("usr/bin/python3", python)
        try file("usr/lib64/ld-linux-x86-64.so.2", from: "/lib64/ld-linux-x86-64.so.2", mode: 0o755)
        // bash and sleep: a shell for the steps that need one (a Go handler's smoke test).
        try file("usr/bin/bash", from: "/usr/bin/bash", mode: 0o755)
        try file("usr/bin/sleep", from: "/usr/bin/sleep", mode: 0o755)
        for library in libraries where FileSystem.exists("/usr/lib/\(multiarch)/" + library) {
            try file("usr/lib/\(multiarch)/" + library, from: "/usr/lib/\(multiarch)/" + library)
        }
        func walk(_ relative: String) throws {
            directory(relative)
            for name in try FileSystem.list("/" + relative).sorted() where !skipped.contains(name) && !name.hasPrefix("config-") {
                let path = relative + "/" + name
                switch FileSystem.kind(of: "/" + path) {
                case .directory?: try walk(path)
                case .regular?: try file(path, from: "/" + path)
                default: continue
                }
            }
        }
        try walk("usr/lib/" + python)
        if !bundles.isEmpty {
            let root = "FuncExtensionBundles/Microsoft.Azure.Functions.ExtensionBundle"
            directory("FuncExtensionBundles")
            directory(root)
            for version in bundles {
                directory(root + "/" + version)
                members.append(RawMember(name: root + "/\(version)/bundle.json", data: Array("{\"version\": \"\(version)\"}\n".utf8)))
            }
        }
        let layer = RawTar.build(members)
        let diffID = SHA256Hasher.hash(layer)
        let config = Array(
            """
            {"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin"]},\
            "rootfs":{"type":"layers","diff_ids":["\(diffID)"]}}
            """.utf8
        )
        let configDigest = SHA256Hasher.hash(config)
        let path = dir + "/host-python.tar"
        let writer = try TarWriter(output: try FileArchiveOutput(path: path), name: path, compression: .none)
        try writer.addFile(path: "\(diffID.hex)/layer.tar", bytes: layer, mtime: 1_700_000_000)
        try writer.addFile(path: "\(configDigest.hex).json", bytes: config, mtime: 1_700_000_000)
        let manifest = "[{\"Config\":\"\(configDigest.hex).json\",\"RepoTags\":[\"\(reference)\"],\"Layers\":[\"\(diffID.hex)/layer.tar\"]}]"
        try writer.addFile(path: "manifest.json", bytes: Array(manifest.utf8), mtime: 1_700_000_000)
        try writer.close()
        return path
    }
}
