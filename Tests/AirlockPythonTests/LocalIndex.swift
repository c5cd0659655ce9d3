import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation

/// A package index on 127.0.0.1 made by the test: tiny wheels (built by `WheelFixture`), an
/// sdist, a PEP 503 simple tree (`simple/<project>/index.html` with `#sha256=` links) and, for the
/// projects not in `withoutJSON`, a PEP 691 JSON page with sizes. A Python server binds port 0,
/// prints the port it got on its first line (awaited here: no sleeps), and serves the tree until
/// `stop()` or the index going away stops it.
final class LocalIndex {
    /// One file of the index.
    struct Dist {
        var fileName: String
        /// A wheel's Requires-Dist; for an sdist, those of its PKG-INFO and of its backend's metadata.
        var requires: [String] = []
        /// An sdist's PKG-INFO Metadata-Version (nil: no PKG-INFO) and the fields it lists as Dynamic.
        var metadataVersion: String? = nil
        var dynamic: [String] = []
        /// An sdist with an in-tree PEP 517 backend (`pkgbackend`, backend-path ["."]) that imports
        /// each of `buildRequires` (so they must be in the build environment), prepares its METADATA
        /// with `requires`, and builds a wheel of one module; without, a sdist of one setup.py.
        var backend = false
        var buildRequires: [String] = []
        /// Whether that backend has prepare_metadata_for_build_wheel (without: a frontend builds the wheel).
        var preparesMetadata = true
        /// Marked yanked on the index (PEP 592), with `yankedReason` when given.
        var yanked = false
        var yankedReason: String? = nil
        /// A wheel's files instead of its one module `NAME/__init__.py`.
        var members: [WheelFixture.Member] = []
    }

    let dir: TemporaryDirectory
    /// The served tree: `simple/` and `files/`.
    let root: String
    let port: Int
    private let server: BackgroundProcess

    var url: String { "http://127.0.0.1:\(port)/simple/" }
    func fileURL(_ name: String) -> String { "http://127.0.0.1:\(port)/files/\(name)" }
    func filePath(_ name: String) -> String { root + "/files/" + name }

    /// alpha 1.0 (needs beta>=2), beta 2.0 (no PEP 691 page: its size comes from HEAD), native 1.0
    /// (manylinux_2_17) and 1.1 (manylinux_2_34), and sdistonly 1.0 with no wheel at all.
    static let standard: [Dist] = [
        Dist(fileName: "alpha-1.0-py3-none-any.whl", requires: ["beta>=2"]),
        Dist(fileName: "beta-2.0-py3-none-any.whl"),
        Dist(fileName: "native-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
        Dist(fileName: "native-1.1-cp311-cp311-manylinux_2_34_x86_64.whl"),
        Dist(fileName: "sdistonly-1.0.tar.gz"),
    ]

    init(_ dists: [Dist] = LocalIndex.standard, withoutJSON: Set<String> = ["beta"]) async throws {
        dir = try TemporaryDirectory()
        root = dir.path + "/index"
        try FileSystem.makeDirectory(root + "/files")
        var projects: [String: [String]] = [:]
        for dist in dists {
            let project = WheelName.normalize(String(dist.fileName.prefix { $0 != "-" }))
            projects[project, default: []].append(dist.fileName)
            if dist.fileName.hasSuffix(".whl") {
                try await Self.makeWheel(dist, in: dir, to: root + "/files/" + dist.fileName)
            } else {
                try await Self.makeSdist(dist, project: project, in: dir, to: root + "/files/" + dist.fileName)
            }
        }
        var rootPage = "<!DOCTYPE html>\n<html><body>\n"
        for (project, files) in projects.sorted(by: { $0.key < $1.key }) {
            rootPage += "<a href=\"\(project)/\">\(project)</a>\n"
            var html = "<!DOCTYPE html>\n<html><body>\n"
            var json: [[String: Any]] = []
            for file in files.sorted() {
                let bytes = try FileSystem.readFile(root + "/files/" + file)
                let sha = SHA256Hasher.hash(bytes).hex
                let dist = dists.first { $0.fileName == file }
                let yanked = dist?.yanked == true
                let reason = dist?.yankedReason
                let mark = yanked ? " data-yanked=\"\(reason ?? "")\"" : ""
                html += "<a href=\"../../files/\(file)#sha256=\(sha)\"\(mark)>\(file)</a>\n"
                json.append([
                    "filename": file, "url": "../../files/\(file)", "hashes": ["sha256": sha], "size": bytes.count,
                    "yanked": yanked ? (reason.map { $0 as Any } ?? true) : false,
                ])
            }
            try dir.file("index/simple/\(project)/index.html", html + "</body></html>\n")
            if !withoutJSON.contains(project) {
                let page: [String: Any] = ["meta": ["api-version": "1.1"], "name": project, "files": json]
                try dir.file(
                    "index/simple/\(project)/index.json",
                    Array(try JSONSerialization.data(withJSONObject: page))
                )
            }
        }
        try dir.file("index/simple/index.html", rootPage + "</body></html>\n")
        try dir.file("server.py", Self.server)

                server = try await BackgroundProcess.start(
            ChildProcess(executable: ChildProcess.locate("python3") ?? "/usr/bin/python3", arguments: [dir.path + "/server.py", root], timeLimit: .seconds(1800))
        )
        guard let port = Int(server.firstLine.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw WheelFixture.FixtureError(message: "the index server printed \(server.firstLine), not its port")
        }
        self.port = port
    }

    /// Stops the server (dropping the index stops it too); safe to call twice.
    func stop() { Task { [server] in await server.stop() } }

    /// The environment pip and uv run with in a test: none of this machine's PIP_* or UV_* settings
    /// (no pip.conf, no find-links, no cache), and this index as the only one.
    var environment: [String: String?] {
        var env: [String: String?] = [:]
        for key in ProcessInfo.processInfo.environment.keys where key.hasPrefix("PIP_") || key.hasPrefix("UV_") {
            env.updateValue(nil, forKey: key)
        }
        env["PIP_CONFIG_FILE"] = "/dev/null"
        env["PIP_INDEX_URL"] = url
        env["PIP_NO_CACHE_DIR"] = "1"
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env["UV_NO_CONFIG"] = "1"
        env["UV_CACHE_DIR"] = dir.path + "/uv-cache"
        return env
    }

    /// An sdist `NAME-VERSION.tar.gz` (see `Dist`), written with fixed owners and dates.
    private static func makeSdist(_ dist: Dist, project: String, in dir: TemporaryDirectory, to destination: String)
        async throws
    {
        let stem = String(dist.fileName.dropLast(".tar.gz".count))
        let version = String(stem[stem.index(after: stem.lastIndex(of: "-") ?? stem.startIndex)...])
        let top = "sdist/\(stem)/"
        if let metadataVersion = dist.metadataVersion {
            let fields =
                ["Metadata-Version: \(metadataVersion)", "Name: \(project)", "Version: \(version)"]
                + dist.dynamic.map { "Dynamic: \($0)" } + dist.requires.map { "Requires-Dist: \($0)" }
            try dir.file(top + "PKG-INFO", fields.joined(separator: "\n") + "\n\nA test sdist.\n")
        }
        if dist.backend {
            let requires = dist.buildRequires.map { "\"\($0)\"" }.joined(separator: ", ")
            try dir.file(
                top + "pyproject.toml",
                "[build-system]\nrequires = [\(requires)]\nbuild-backend = \"pkgbackend\"\nbackend-path = [\".\"]\n"
            )
            let metadata =
                (["Metadata-Version: 2.1", "Name: \(project)", "Version: \(version)"]
                + dist.requires.map { "Requires-Dist: \($0)" }).joined(separator: "\n") + "\n"
            let imports = dist.buildRequires.map { String($0.prefix { $0.isLetter || $0.isNumber || $0 == "_" }) }
            try dir.file(
                top + "pkgbackend.py",
                Self.backend
                    .replacingOccurrences(of: "@IMPORTS@", with: imports.map { "import \($0)\n" }.joined())
                    .replacingOccurrences(of: "@NAME@", with: project)
                    .replacingOccurrences(of: "@VERSION@", with: version)
                    .replacingOccurrences(of: "@METADATA@", with: metadata.debugDescription)
                    .replacingOccurrences(
                        of: "def prepare_metadata_for_build_wheel",
                        with: dist.preparesMetadata ? "def prepare_metadata_for_build_wheel" : "def _not_a_hook"
                    )
            )
        } else {
            try dir.file(top + "setup.py", "from setuptools import setup; setup()\n")
        }
        let (status, output) = try await shell(
            "tar -C sdist --owner=0 --group=0 --numeric-owner --mtime=@315532800 -cf - '\(stem)' | gzip -n > '\(destination)'",
            in: dir.path
        )
        guard status == 0 else { throw WheelFixture.FixtureError(message: output) }
    }

    /// The in-tree backend of a `Dist` with `backend`: prepare_metadata_for_build_wheel and a
    /// deterministic build_wheel of one module `NAME/__init__.py`.
    private static let backend = #"""
        import base64, hashlib, os, zipfile
        @IMPORTS@
        METADATA = @METADATA@
        INFO = "@NAME@-@VERSION@.dist-info"


        def get_requires_for_build_wheel(config_settings=None):
            return []


        def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
            os.makedirs(os.path.join(metadata_directory, INFO))
            with open(os.path.join(metadata_directory, INFO, "METADATA"), "w") as f:
                f.write(METADATA)
            return INFO


        def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
            files = {
                "@NAME@/__init__.py": b'VERSION = "@VERSION@"\n',
                INFO + "/METADATA": METADATA.encode(),
                INFO + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: pkgbackend\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            }
            rows = []
            for path, data in sorted(files.items()):
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                rows.append("%s,sha256=%s,%d" % (path, digest, len(data)))
            rows.append(INFO + "/RECORD,,")
            files[INFO + "/RECORD"] = ("\n".join(rows) + "\n").encode()
            name = "@NAME@-@VERSION@-py3-none-any.whl"
            with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
                for path in sorted(files):
                    member = zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0))
                    member.external_attr = 0o644 << 16
                    z.writestr(member, files[path])
            return name
        """#

    /// A wheel with a module, METADATA naming its requirements and a WHEEL with its tags.
    private static func makeWheel(_ dist: Dist, in dir: TemporaryDirectory, to destination: String) async throws {
        let parts = dist.fileName.dropLast(4).split(separator: "-").map(String.init)
        let (name, version) = (parts[0], parts[1])
        let info = "\(name)-\(version).dist-info"
        let isPure = parts[4] == "any"
        let metadata =
            "Metadata-Version: 2.1\nName: \(name)\nVersion: \(version)\n"
            + dist.requires.map { "Requires-Dist: \($0)\n" }.joined()
        let tags = parts[4].split(separator: ".").map { "Tag: \(parts[2])-\(parts[3])-\($0)\n" }.joined()
        let wheel = "Wheel-Version: 1.0\nGenerator: airlock-test\nRoot-Is-Purelib: \(isPure)\n" + tags
        let modules: [WheelFixture.Member] =
            dist.members.isEmpty
            ? [.init(path: "\(name)/__init__.py", content: "VERSION = \"\(version)\"\n")] : dist.members
        let made = try await WheelFixture.make(
            in: dir,
            fileName: dist.fileName,
            members: modules + [
                .init(path: "\(info)/METADATA", content: metadata),
                .init(path: "\(info)/WHEEL", content: wheel),
            ]
        )
        try FileSystem.rename(made, to: destination)
    }

    private static let server = #"""
        import http.server, os, sys, threading

        root = sys.argv[1]
        JSON = "application/vnd.pypi.simple.v1+json"


        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=root, **kwargs)

            def log_message(self, *args):
                pass

            def translate_path(self, path):
                local = super().translate_path(path)
                page = os.path.join(local, "index.json")
                if JSON in self.headers.get("Accept", "") and os.path.isfile(page):
                    return page
                return local

            def guess_type(self, path):
                return JSON if str(path).endswith("index.json") else super().guess_type(path)


        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Die with the test process: SIGKILL when the thread that started us (the runner's) ends.
        import ctypes
        ctypes.CDLL(None).prctl(1, 9)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#
}
