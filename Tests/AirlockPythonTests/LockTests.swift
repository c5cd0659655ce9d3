import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

/// A project directory with a requirements file, locked against a `LocalIndex`.
struct LockProject {
    let dir: TemporaryDirectory
    let path: String

    init(requirements: String) throws {
        dir = try TemporaryDirectory()
        path = dir.path + "/app"
        try dir.file("app/requirements.txt", requirements)
    }

    func lock(
        _ index: LocalIndex,
        python: String = "3.11",
        glibc: String? = nil,
        resolver: PythonResolver = .pip,
        uv: String? = nil
    ) async throws -> PythonLockResult {
        let (target, _) = try PythonTarget.resolve(python: python, platform: nil, glibc: glibc)
        return try await PythonLocker.lock(
            PythonLockOptions(project: path, target: target, resolver: resolver, environment: index.environment, uv: uv)
        )
    }

    var lockBytes: [UInt8] { (try? FileSystem.readFile(path + "/airlock.lock")) ?? [] }
}

func sha256(ofFile path: String) throws -> String { SHA256Hasher.hash(try FileSystem.readFile(path)).hex }

@Suite(.timeLimit(.minutes(5))) struct LockTests {
    static let target311 = PythonTarget(pythonVersion: "3.11", platform: "linux/amd64", glibc: "2.31")

    // MARK: pip against the local index

    @Test func pipResolvesDependenciesToExactFilesWithTheirURLsHashesAndSizes() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "# the app\nalpha\n")
        let result = try await project.lock(index)
        #expect(result.method == .pip && result.changed)
        #expect(result.lock.target == Self.target311)
        #expect(result.lock.files.map(\.name) == ["alpha", "beta"])
        for file in result.lock.files {
            let local = index.filePath(file.filename)
            #expect(file.url == index.fileURL(file.filename))
            #expect(file.sha256 == (try sha256(ofFile: local)))
            #expect(file.size == (try FileSystem.size(of: local)))
        }
        #expect(result.lock.files.map(\.version) == ["1.0", "2.0"])
        // alpha's size comes from its PEP 691 page, beta (which has none) from a HEAD request.
        #expect(result.sizeSources == ["pep691": 1, "head": 1])
        #expect(result.totalSize == result.lock.files.compactMap(\.size).reduce(0, +))
        // The file on disk is the lock, and reads back.
        let (read, bytes) = try PythonLock.read(project: project.path)
        let encoded = try result.lock.encoded()
        #expect(read == result.lock)
        #expect(bytes == encoded)
    }

    // MARK: pylock.toml (PEP 751)

    @Test func theLockIsAlsoWrittenAsPylockTomlWithTheSameFilesAndHashes() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "alpha\n")
        let result = try await project.lock(index)
        let path = project.path + "/pylock.toml"
        let text = String(decoding: try FileSystem.readFile(path), as: UTF8.self)
        let packages = try PyLock.read(text, path: path)
        #expect(packages.map(\.name) == ["alpha", "beta"])
        #expect(packages.map(\.version) == ["1.0", "2.0"])
        for (package, file) in zip(packages, result.lock.files) {
            #expect(package.sdist == nil)
            #expect(package.wheels == [PyLock.File(name: file.filename, url: file.url ?? "", size: file.size, sha256: file.sha256)])
        }
        // The spec's own shape, read by Python's tomllib: the version, the tool, the target.
        let (status, shape) = try await shell(
            """
            /usr/bin/python3 -c 'import sys, tomllib; d = tomllib.load(open(sys.argv[1], "rb")); \
            print(d["lock-version"], d["created-by"], d["requires-python"], d["environments"][0]); \
            print(sorted(d["packages"][0]["wheels"][0])); print(d["tool"]["airlock"]["target"]["glibc"])' \
            '\(path)'
            """
        )
        #expect(status == 0, "\(shape)")
        #expect(
            shape.contains(
                "1.0 airlock ==3.11.* sys_platform == 'linux' and platform_machine == 'x86_64' and python_version == '3.11'"
            ), "\(shape)"
        )
        #expect(shape.contains("['hashes', 'name', 'size', 'url']") && shape.contains("2.31"), "\(shape)")
        // A second lock of the same requirements writes the same bytes; app zips never carry it.
        _ = try await project.lock(index)
        #expect(String(decoding: try FileSystem.readFile(path), as: UTF8.self) == text)
        let files = try AppFiles.list(appDirectory: project.path)
        #expect(files.excluded.contains { $0.path == "pylock.toml" && $0.reason == .lockFile })
    }

    @Test func aLockWithAFileOfNoURLGetsNoPylockRatherThanOneNoInstallerCanUse() throws {
        let lock = PythonLock(
            target: Self.target311,
            files: [
                LockedFile(name: "Alpha_Pkg", version: "1.0", filename: "Alpha_Pkg-1.0-py3-none-any.whl", url: "https://x/a.whl", sha256: String(repeating: "a", count: 64), size: 3),
                LockedFile(name: "beta", version: "2.0", filename: "beta-2.0.tar.gz", url: nil, sha256: String(repeating: "b", count: 64), size: nil),
            ]
        )
        #expect(PyLock.text(for: lock) == .failure(PyLock.MissingURL(filename: "beta-2.0.tar.gz")))
        var withURL = lock
        withURL.files[1].url = "https://x/beta-2.0.tar.gz"
        let text = try PyLock.text(for: withURL).get()
        let packages = try PyLock.read(text, path: "pylock.toml")
        // Names normalized (PEP 503), an sdist as `sdist`, no size where the lock has none.
        #expect(packages.map(\.name) == ["alpha-pkg", "beta"])
        #expect(packages[1].sdist == PyLock.File(name: "beta-2.0.tar.gz", url: "https://x/beta-2.0.tar.gz", size: nil, sha256: String(repeating: "b", count: 64)))
        #expect(packages[1].wheels.isEmpty)
    }

    @Test func aYankedFileIsTakenOnlyWhenPinnedAndTheLockSaysSoFromTheJSONOrTheHTMLPage() async throws {
        let index = try await LocalIndex(
            [
                .init(fileName: "gamma-1.0-py3-none-any.whl"),
                .init(fileName: "gamma-1.1-py3-none-any.whl", yanked: true, yankedReason: "broken import"),
                .init(fileName: "delta-2.0-py3-none-any.whl", yanked: true),
            ],
            withoutJSON: ["delta"]
        )
        defer { index.stop() }
        // Unpinned, pip passes over the yanked 1.1.
        let unpinned = try LockProject(requirements: "gamma\n")
        let free = try await unpinned.lock(index)
        #expect(free.lock.files.map(\.filename) == ["gamma-1.0-py3-none-any.whl"])
        #expect(free.lock.files.allSatisfy { $0.yanked == nil })
        #expect(!String(decoding: unpinned.lockBytes, as: UTF8.self).contains("yanked"))

        // Pinned with ==, pip takes it; the lock records why, from gamma's JSON page and from
        // delta's HTML page (it has no JSON one), and warns.
        let pinned = try LockProject(requirements: "gamma==1.1\ndelta==2.0\n")
        let result = try await pinned.lock(index)
        let yanked = Dictionary(uniqueKeysWithValues: result.lock.files.map { ($0.filename, $0.yanked) })
        #expect(yanked == ["gamma-1.1-py3-none-any.whl": "broken import", "delta-2.0-py3-none-any.whl": ""])
        #expect(result.warnings.contains { $0.hasPrefix("gamma-1.1-py3-none-any.whl: yanked on the index (broken import)") })
        #expect(result.warnings.contains { $0.hasPrefix("delta-2.0-py3-none-any.whl: yanked on the index, but pinned") })
        let (read, _) = try PythonLock.read(project: pinned.path)
        #expect(read == result.lock)
    }

    @Test(arguments: [("2.31", "1.0"), ("2.36", "1.1")])
    func theTargetGlibcDecidesWhichNativeWheelIsLocked(glibc: String, version: String) async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "native\n")
        let result = try await project.lock(index, glibc: glibc)
        let file = try #require(result.lock.files.first)
        #expect(result.lock.files.count == 1 && file.name == "native" && file.version == version)
        #expect(result.lock.target.glibc == glibc)
        #expect(file.filename.hasPrefix("native-\(version)-cp311-cp311-manylinux_2_"))
    }

    @Test func aRequirementWithNoWheelForTheTargetFailsNamingItAndTheTarget() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "alpha\nsdistonly\n")
        // sdistonly's sdist has no PKG-INFO: its dependencies would need the sandbox, which this lock lacks.
        let error = try await #require(throws: UsageError.self) { try await project.lock(index) }
        #expect(error.status == .badInput && error.code == PythonErrorCode.sandboxNeeded.code, "\(error)")
        #expect(error.description.hasPrefix("sdistonly-1.0.tar.gz: "), "\(error)")
        // A Python the native wheels were not built for.
        let native = try LockProject(requirements: "native\n")
        let other = try await #require(throws: UsageError.self) { try await native.lock(index, python: "3.12") }
        #expect(other.code == PythonErrorCode.noDistribution.code, "\(other)")
        #expect(other.description.hasPrefix("native: "), "\(other)")
        #expect(project.lockBytes.isEmpty && native.lockBytes.isEmpty)
    }

    @Test func aDirectSdistURLIsRefusedBeforePipCouldBuildIt() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "sdistonly @ \(index.fileURL("sdistonly-1.0.tar.gz"))\n")
        let error = try await #require(throws: UsageError.self) { try await project.lock(index) }
        #expect(error.code == PythonErrorCode.notAWheel.code, "\(error)")
        #expect(error.description.hasPrefix(project.path + "/requirements.txt:1: "), "\(error)")
    }

    @Test func lockingTwiceGivesTheSameBytesSortedByName() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "native\nalpha\n")
        let first = try await project.lock(index)
        let bytes = project.lockBytes
        let second = try await project.lock(index)
        #expect(first.changed && !second.changed)
        #expect(project.lockBytes == bytes)
        #expect(second.lock.files.map(\.name) == ["alpha", "beta", "native"])
        // Stable text: pretty, sorted keys, one file per block, a final newline.
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(
            text.hasPrefix(
                "{\n  \"files\" : [\n    {\n      \"filename\" : \"alpha-1.0-py3-none-any.whl\",\n      \"name\" : \"alpha\",\n"
            )
        )
        #expect(
            text.contains(
                "\"target\" : {\n    \"glibc\" : \"2.31\",\n    \"platform\" : \"linux/amd64\",\n    \"pythonVersion\" : \"3.11\"\n  }"
            )
        )
        #expect(text.hasSuffix("}\n"))
    }

    // MARK: hashed requirements

    @Test func aHashPinnedRequirementsFileIsLockedWithoutResolving() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let alpha = try sha256(ofFile: index.filePath("alpha-1.0-py3-none-any.whl"))
        let native10 = try sha256(
            ofFile: index.filePath("native-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
        )
        let native11 = try sha256(ofFile: index.filePath("native-1.1-cp311-cp311-manylinux_2_34_x86_64.whl"))
        // Continuations, comments, an option line; native 1.0 pinned with a second, unrelated hash.
        let project = try LockProject(
            requirements: """
                --only-binary :all:
                # pinned by hand
                alpha==1.0 \\
                    --hash=sha256:\(alpha)
                native==1.0 --hash=sha256:\(native11) \\
                    --hash=sha256:\(native10)  # both files listed
                """
        )
        let result = try await project.lock(index)
        #expect(result.method == .hashed)
        // alpha needs beta, but a hashed file is taken as it is: no beta.
        #expect(result.lock.files.map(\.name) == ["alpha", "native"])
        #expect(result.lock.files.map(\.sha256) == [alpha, native10])
        #expect(result.lock.files.allSatisfy { $0.size != nil && $0.url != nil })
    }

    @Test func aHashPinThatMatchesNoFileFailsTheCheck() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "alpha==1.0 --hash=sha256:\(String(repeating: "0", count: 64))\n")
        let error = try await #require(throws: CheckFailure.self) { try await project.lock(index) }
        #expect(error.status == .checkFailed && error.code == PythonErrorCode.pinMismatch.code, "\(error)")
        #expect(project.lockBytes.isEmpty)
    }

    @Test(arguments: [
        ("alpha>=1.0 --hash=sha256:\(String(repeating: "a", count: 64))\n", PythonErrorCode.notPinned),
        ("alpha==1.* --hash=sha256:\(String(repeating: "a", count: 64))\n", .notPinned),
        ("alpha==1.0 --hash=sha512:\(String(repeating: "a", count: 128))\n", .noSHA256Pin),
        ("alpha==1.0 --hash=sha256:\(String(repeating: "a", count: 64))\nbeta==2.0\n", .partlyHashed),
    ])
    func hashPinnedLinesMustEachPinOneVersionBySha256(requirements: String, code: PythonErrorCode) async throws {
        let project = try LockProject(requirements: requirements)
        let (target, _) = try PythonTarget.resolve(python: nil, platform: nil, glibc: nil)
        // No index: these fail before pip runs.
        let error = try await #require(throws: UsageError.self) {
            try await PythonLocker.lock(
                PythonLockOptions(
                    project: project.path,
                    target: target,
                    environment: ["PIP_INDEX_URL": "http://127.0.0.1:9/simple/"]
                )
            )
        }
        #expect(error.code == code.code, "\(error)")
        #expect(error.description.hasPrefix(project.path + "/requirements.txt"), "\(error)")
    }

    // MARK: the lock feeds the build

    @Test func airlockBuildInstallsWhatTheLockPins() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "alpha\nnative\n")
        try project.dir.file("app/function_app.py", "import alpha, beta, native\n")
        try project.dir.file("app/host.json", "{\"version\": \"2.0\"}\n")
        let result = try await project.lock(index)
        // What `airlock fetch` does, done by hand from the index's files.
        let store = try Store.open(at: project.dir.path + "/store")
        for file in result.lock.files {
            let (digest, _, tmp) = try store.put(path: index.filePath(file.filename))
            #expect(digest.hex == file.sha256)
            try store.commit([(digest, tmp)])
        }
        let build = try await PythonBuild.build(
            PythonBuildOptions(project: project.path, toolVersion: "test", useCache: false),
            store: store
        )
        #expect(build.wheels == 3 && build.target == Self.target311)
        let (status, out) = try await shell(
            "mkdir x && cd x && unzip -q '\(build.zip)' && PYTHONPATH=.python_packages/lib/site-packages python3 -c 'import alpha, beta, native; print(native.VERSION)'",
            in: project.dir.path
        )
        #expect(status == 0 && out == "1.0\n", "\(out)")
    }

    // MARK: uv, when missing; the argument lists

    @Test func uvThatIsNotInstalledIsAnErrorWithTheInstallHint() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "alpha\n")
        let error = try await #require(throws: UsageError.self) {
            try await project.lock(index, resolver: .uv, uv: "/nonexistent/uv")
        }
        #expect(error.code == PythonErrorCode.noUV.code, "\(error)")
    }

    @Test func pipIsAskedForTheTargetsTagsOnly() {
        let args = LockPip.installArguments(
            target: Self.target311,
            requirements: "r.txt",
            hashed: false,
            targetDirectory: "/tmp/t"
        )
        #expect(Array(args.prefix(6)) == ["install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-"])
        #expect(args.contains("--only-binary=:all:") && !args.contains("--no-deps"))
        func values(_ flag: String) -> [String] { args.indices.filter { args[$0] == flag }.map { args[$0 + 1] } }
        #expect(values("--abi") == ["cp311", "abi3", "none"])
        #expect(
            values("--implementation") == ["cp"] && values("--python-version") == ["3.11"]
                && values("--target") == ["/tmp/t"]
        )
        let platforms = values("--platform")
        #expect(platforms == Self.target311.platformTags)
        #expect(
            platforms.first == "manylinux_2_31_x86_64" && platforms.contains("manylinux2014_x86_64")
                && platforms.last == "manylinux1_x86_64"
        )
        #expect(!platforms.contains("manylinux_2_32_x86_64") && !platforms.contains("linux_x86_64"))
        #expect(Array(args.suffix(2)) == ["-r", "r.txt"])
        let hashed = LockPip.installArguments(
            target: Self.target311,
            requirements: "r.txt",
            hashed: true,
            targetDirectory: "/tmp/t"
        )
        #expect(hashed.contains("--no-deps") && hashed.contains("--require-hashes"))
    }

    @Test(arguments: [
        ("linux/amd64", "2.31", "x86_64-manylinux_2_31", true),
        ("linux/amd64", "2.36", "x86_64-manylinux_2_36", true),
        ("linux/amd64", "2.30", "x86_64-manylinux_2_28", false),
        ("linux/arm64", "2.17", "aarch64-manylinux_2_17", true),
        ("linux/amd64", "2.12", nil, false),
    ])
    func uvIsGivenTheNewestManylinuxPlatformItKnowsForTheGlibc(
        platform: String,
        glibc: String,
        expected: String?,
        exact: Bool
    ) {
        let target = PythonTarget(pythonVersion: "3.11", platform: platform, glibc: glibc)
        let answer = LockUV.platform(for: target)
        #expect(answer?.value == expected)
        if expected != nil { #expect(answer?.exact == exact) }
    }

    @Test func uvIsGivenThePythonVersionHashesWheelsOnlyAndPipsSettings() {
        let pip = PipConfiguration(
            indexURL: "https://mirror.example/simple",
            extraIndexURLs: ["https://extra.example/simple"],
            findLinks: ["/opt/wheels"],
            cert: "/etc/ssl/certs/ca-certificates.crt",
            proxy: "http://proxy:3128",
            trustedHosts: ["mirror.example"]
        )
        let args = LockUV.compileArguments(
            requirements: "r.txt",
            target: Self.target311,
            platform: "x86_64-manylinux_2_31",
            pip: pip
        )
        #expect(Array(args.prefix(3)) == ["pip", "compile", "r.txt"])
        func values(_ flag: String) -> [String] { args.indices.filter { args[$0] == flag }.map { args[$0 + 1] } }
        #expect(values("--python-platform") == ["x86_64-manylinux_2_31"] && values("--python-version") == ["3.11"])
        #expect(values("--only-binary") == [":all:"] && args.contains("--generate-hashes"))
        #expect(
            values("--default-index") == ["https://mirror.example/simple"]
                && values("--index") == ["https://extra.example/simple"]
        )
        #expect(values("--find-links") == ["/opt/wheels"] && values("--allow-insecure-host") == ["mirror.example"])
        let env = LockUV.environment(pip: pip)
        #expect(
            env["SSL_CERT_FILE"] == .some("/etc/ssl/certs/ca-certificates.crt")
                && env["HTTPS_PROXY"] == .some("http://proxy:3128")
        )
        let noIndex = LockUV.compileArguments(
            requirements: "r.txt",
            target: Self.target311,
            platform: "x86_64-manylinux_2_31",
            pip: PipConfiguration(indexURL: "x", noIndex: true)
        )
        #expect(noIndex.contains("--no-index") && !noIndex.contains("--default-index"))
    }

    // MARK: reading requirements files as pip does

    @Test func requirementFilesAreReadAsPipReadsThem() async throws {
        let dir = try TemporaryDirectory()
        let hash = String(repeating: "ab", count: 32)
        try dir.file("more.txt", "gamma==3.0 --hash=sha256:\(hash)\n")
        let text = """
            # comment \\
            --index-url https://mirror.example/simple
            -f ./wheels
            Alpha_Pkg[extra] == 1.0 ; python_version >= "3.9" \\
                --hash=sha256:\(hash.uppercased()) \\
                --hash sha256:\(hash)
            beta===2.0b1 --hash=sha256:\(hash)  # trailing comment
            name @ https://host/x/name-1.0-py3-none-any.whl --hash=sha256:\(hash)
            -r more.txt
            wild==1.*
            """
        let r = try LockRequirements(text: text, path: dir.path + "/requirements.txt")
        #expect(r.requirements.map(\.name) == ["alpha-pkg", "beta", "name", "gamma", "wild"])
        #expect(r.requirements.map(\.pinnedVersion) == ["1.0", "2.0b1", nil, "3.0", nil])
        #expect(r.requirements.map(\.line) == [4, 7, 8, 1, 10])
        #expect(r.requirements[0].sha256 == [hash] && r.requirements[0].hashes.count == 2)
        #expect(r.requirements[2].url == "https://host/x/name-1.0-py3-none-any.whl")
        #expect(r.requirements[0].text == "Alpha_Pkg[extra] == 1.0 ; python_version >= \"3.9\"")
        #expect(r.indexOptions == ["--index-url", "https://mirror.example/simple", "--find-links", "./wheels"])
        #expect(r.isPartlyHashed && !r.isFullyHashed)
    }

    @Test(arguments: [
        (
            "https://files.example/packages/ab/name-1.0%2Blocal-py3-none-any.whl#sha256=00",
            "name-1.0+local-py3-none-any.whl"
        ),
        ("file:///opt/wheels/x-1.0-py3-none-any.whl", "x-1.0-py3-none-any.whl"),
        ("https://host/a.whl?token=1", "a.whl"),
    ])
    func aFileNameIsTheURLsLastPercentDecodedComponent(url: String, name: String) {
        #expect(PythonLocker.fileName(ofURL: url) == name)
    }

    @Test func aLockedURLNeverCarriesCredentials() {
        #expect(
            PythonLocker.withoutCredentials("https://user:secret@mirror.example/files/a.whl")
                == "https://mirror.example/files/a.whl"
        )
        #expect(
            PythonLocker.withoutCredentials("https://mirror.example/files/a@b.whl")
                == "https://mirror.example/files/a@b.whl"
        )
    }
}

private enum UV {
    static var isInstalled: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/uv")
        }
    }
}

/// The uv path needs uv itself; it runs where uv is on PATH (`make test` puts the pinned uv there),
/// and says so when it is skipped. The pip tests above never depend on it.
@Suite(.enabled(if: UV.isInstalled, "uv is not on PATH (make test puts the pinned uv of make test-deps there)"), .timeLimit(.minutes(5)))
struct LockUVTests {
    @Test(arguments: [("2.31", "1.0"), ("2.36", "1.1")])
    func uvResolvesForTheTargetAndPipPinsItsFiles(glibc: String, native: String) async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "alpha\nnative\n")
        let result = try await project.lock(index, glibc: glibc, resolver: .uv)
        #expect(result.method == .uv)
        #expect(result.lock.files.map(\.name) == ["alpha", "beta", "native"])
        #expect(result.lock.files.map(\.version) == ["1.0", "2.0", native])
        for file in result.lock.files {
            #expect(file.url == index.fileURL(file.filename))
            #expect(file.sha256 == (try sha256(ofFile: index.filePath(file.filename))))
        }
    }

    /// PEP 751: the pylock.toml `airlock lock` writes beside airlock.lock is installed by uv itself,
    /// from the local index's URLs, every file checked against its sha256.
    @Test func uvInstallsFromThePylockTomlTheLockWrote() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "alpha\n")
        // The target is the Python uv installs with, so the pylock's environment marker matches.
        let (status, version) = try await shell("/usr/bin/python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'")
        try #require(status == 0)
        _ = try await project.lock(index, python: version.trimmingCharacters(in: .whitespacesAndNewlines))
        let (installed, log) = try await shell(
            """
            uv pip install --python /usr/bin/python3 --target site --no-cache -r app/pylock.toml &&
            PYTHONPATH=site /usr/bin/python3 -c 'import alpha, beta; print("imported", alpha.__name__, beta.__name__)' &&
            ls site
            """,
            in: project.dir.path,
            environment: [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": project.dir.path,
                "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never",
            ]
        )
        #expect(installed == 0 && log.contains("imported alpha beta"), "\(log)")
        #expect(log.contains("alpha-1.0.dist-info") && log.contains("beta-2.0.dist-info"), "\(log)")
        // uv holds each file to the pylock's sha256: with beta's hash changed it refuses to install.
        let pylock = project.path + "/pylock.toml"
        let betaHash = try sha256(ofFile: index.filePath("beta-2.0-py3-none-any.whl"))
        let text = String(decoding: try FileSystem.readFile(pylock), as: UTF8.self)
        #expect(text.contains(betaHash))
        try FileSystem.writeAtomically(pylock, Array(text.replacingOccurrences(of: betaHash, with: String(repeating: "0", count: 64)).utf8))
        let (refused, refusal) = try await shell(
            "uv pip install --python /usr/bin/python3 --target again --no-cache -r app/pylock.toml",
            in: project.dir.path,
            environment: [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": project.dir.path,
                "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never",
            ]
        )
        #expect(refused != 0 && refusal.lowercased().contains("hash"), "\(refusal)")
    }

    @Test func uvFailsNamingARequirementWithNoWheel() async throws {
        let index = try await LocalIndex()
        defer { index.stop() }
        let project = try LockProject(requirements: "sdistonly\n")
        let error = try await #require(throws: UsageError.self) { try await project.lock(index, resolver: .uv) }
        #expect(error.code == PythonErrorCode.uvFailed.code, "\(error)")
        #expect(error.description.contains("sdistonly"), "\(error)")
    }
}
