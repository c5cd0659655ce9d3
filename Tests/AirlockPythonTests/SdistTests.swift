// Building sdists in the sandbox (real bwrap, with the host's own root as the image: it has
// /usr/bin/python3), from a tiny sdist made here whose in-tree backend imports a build requirement
// that is a hand-made wheel; and reading sdists as hostile input before anything runs.

import AirlockContainer
import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

/// A tiny sdist `tinypkg-1.0` with an in-tree PEP 517 backend that needs `tinyhelper`, the
/// `tinyhelper` wheel itself, and a store.
struct TinySdist {
    static let target = PythonTarget(pythonVersion: "3.11", platform: "linux/amd64", glibc: "2.31")
    static let helperName = "tinyhelper-1.0-py3-none-any.whl"

    let dir: TemporaryDirectory
    let sdist: String
    let helper: String
    let store: Store

    var filename: String { FileSystem.baseName(sdist) }

    /// `buildWheel` replaces the body of the backend's build_wheel (for a backend that raises);
    /// `dynamic` is what get_requires_for_build_wheel returns.
    init(
        format: String = "tar.gz",
        buildWheel: String? = nil,
        dynamic: [String] = [],
        requires: String = "tinyhelper>=1.0"
    ) async throws {
        dir = try TemporaryDirectory()
        let top = "src/tinypkg-1.0/"
        try dir.file(
            top + "pyproject.toml",
            """
            [build-system]
            requires = ["\(requires)"]
            build-backend = "tinybackend"
            backend-path = ["."]

            [project]
            name = "tinypkg"
            version = "1.0"

            """
        )
        try dir.file(top + "tinypkg/__init__.py", "VALUE = 42\n")
        let dynamicList = "[" + dynamic.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        try dir.file(top + "tinybackend.py", Self.backend(buildWheel: buildWheel, dynamic: dynamicList))
        sdist = dir.path + "/tinypkg-1.0." + format
        let command =
            format == "zip"
            ? "cd src && python3 -c 'import sys, zipfile, os; z = zipfile.ZipFile(sys.argv[1], \"w\"); [z.write(os.path.join(r, n)) for r, _, ns in sorted(os.walk(\"tinypkg-1.0\")) for n in sorted(ns)]; z.close()' '\(sdist)'"
            : "tar -C src --owner=0 --group=0 --numeric-owner --mtime=@315532800 -cf - tinypkg-1.0 | gzip -n > '\(sdist)'"
        let (status, output) = try await shell(command, in: dir.path)
        guard status == 0 else { throw WheelFixture.FixtureError(message: output) }
        helper = try await WheelFixture.make(
            in: dir,
            fileName: Self.helperName,
            members: [
                .init(path: "tinyhelper/__init__.py", content: "def greeting():\n    return 'hello from tinyhelper'\n")
            ]
        )
        store = try Store.open(at: dir.path + "/store")
    }

    func request(
        buildWheels: [(filename: String, path: String)]? = nil,
        runtime: any ContainerRuntime = BwrapRuntime(),
        image: (runtimeImage: String, name: String, digest: String)? = nil,
        useCache: Bool = false,
        epoch: Int64 = SandboxSpec.defaultSourceDateEpoch
    ) -> SdistBuildRequest {
        SdistBuildRequest(
            sdistPath: sdist,
            sdistFilename: filename,
            name: "tinypkg",
            version: "1.0",
            buildWheels: buildWheels ?? [(Self.helperName, helper)],
            target: Self.target,
            runtime: runtime,
            image: image?.runtimeImage ?? "/",
            imageName: image?.name ?? "host-root-for-tests",
            imageDigest: image?.digest ?? "sha256:" + String(repeating: "1", count: 64),
            sourceDateEpoch: epoch,
            timeLimit: .seconds(60),
            useCache: useCache
        )
    }

    /// A deterministic backend: members sorted, dates from SOURCE_DATE_EPOCH, RECORD with sha256.
    static func backend(buildWheel: String?, dynamic: String) -> String {
        let body =
            buildWheel ?? """
                epoch = max(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")), 315532800)
                    when = time.gmtime(epoch)[:6]
                    info = "tinypkg-1.0.dist-info"
                    files = {"tinypkg/__init__.py": open("tinypkg/__init__.py", "rb").read()}
                    said = tinyhelper.greeting() if hasattr(tinyhelper, "greeting") else "tinyhelper " + tinyhelper.VERSION
                    files["tinypkg/helper_said.py"] = ("SAID = %r\\n" % said).encode()
                    files[info + "/METADATA"] = b"Metadata-Version: 2.1\\nName: tinypkg\\nVersion: 1.0\\n"
                    files[info + "/WHEEL"] = b"Wheel-Version: 1.0\\nGenerator: tinybackend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
                    rows = []
                    for path, data in sorted(files.items()):
                        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                        rows.append("%s,sha256=%s,%d" % (path, digest, len(data)))
                    rows.append(info + "/RECORD,,")
                    files[info + "/RECORD"] = ("\\n".join(rows) + "\\n").encode()
                    name = "tinypkg-1.0-py3-none-any.whl"
                    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
                        for path in sorted(files):
                            member = zipfile.ZipInfo(path, when)
                            member.external_attr = 0o644 << 16
                            member.compress_type = zipfile.ZIP_DEFLATED
                            z.writestr(member, files[path])
                    return name
                """
        return """
            import base64, hashlib, os, time, zipfile
            import tinyhelper


            def get_requires_for_build_wheel(config_settings=None):
                return \(dynamic)


            def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
                \(body)

            """
    }
}

/// A runtime that must never be reached: hostile sdists are refused before anything runs.
private struct UnreachableRuntime: ContainerRuntime {
    var name: String { "unreachable" }
    func probe() async -> RuntimeProbe { RuntimeProbe(runtime: name, isAvailable: true, detail: "test") }
    func prepare(_ image: ImageRecord, from store: Store) async throws -> String { "/" }
    func version() async -> String { "unreachable 1" }
    var explainsFailedRuns: Bool { true }
    var fingerprint: String { "" }
    func arguments(for spec: SandboxSpec) throws -> [String] { ["false"] }
    func run(_ spec: SandboxSpec) async throws -> SandboxResult {
        Issue.record("the sandbox ran for a refused sdist")
        return SandboxResult(status: 1, timedOut: false, tail: "", elapsed: .zero)
    }
}

@Suite(.timeLimit(.minutes(5))) struct SdistBuildTests {
    @Test(arguments: ["tar.gz", "zip"])
    func anSdistIsBuiltOfflineInTheSandboxFromItsLockedBuildRequirements(format: String) async throws {
        let tiny = try await TinySdist(format: format)
        let built = try await SdistBuilder.build(tiny.request(), store: tiny.store)
        #expect(built.filename == "tinypkg-1.0-py3-none-any.whl" && !built.cacheHit)
        #expect(tiny.store.contains(built.digest) && built.path == tiny.store.blobPath(built.digest))
        #expect(try Store.hashFile(built.path).0 == built.digest)

        // The wheel installs, and carries what the backend got from the build requirement.
        let tree = tiny.dir.path + "/tree"
        _ = try WheelInstaller.plan(
            wheelAt: built.path,
            fileName: built.filename,
            ranking: TagRanking(TinySdist.target),
            target: TinySdist.target,
            treeRoot: tree
        )
        let (status, out) = try await shell(
            "PYTHONPATH='\(tree)' python3 -c 'import tinypkg, tinypkg.helper_said as h; print(tinypkg.VALUE, h.SAID)'"
        )
        #expect(status == 0 && out == "42 hello from tinyhelper\n", "\(out)")

        // Provenance names the sdist, the build wheels, the image, the runtime and the backend.
        let p = built.provenance
        let inputs = try #require(p.inputs)
        #expect(p.kind == SdistBuilder.artifactKind && p.key == inputs.digest)
        #expect(inputs.blobs.first { $0.role == "sdist" }?.name == tiny.filename)
        #expect(inputs.blobs.first { $0.role == "sdist" }?.sha256.hex == (try sha256(ofFile: tiny.sdist)))
        #expect(inputs.image?.reference == "host-root-for-tests")
        #expect(inputs.image?.manifest.description == "sha256:" + String(repeating: "1", count: 64))
        #expect(p.sandbox?.runtime == "bwrap" && p.details?["backend"]?.stringValue == "tinybackend")
        let requirement = try #require(inputs.blobs.first { $0.role == "build-wheel" })
        #expect(requirement.name == TinySdist.helperName)
        #expect(requirement.sha256.hex == (try sha256(ofFile: tiny.helper)))
        #expect(p.output.sha256 == built.digest && p.output.name == built.filename)

        // The index says what the blob is and where it came from.
        let entry = try #require(try tiny.store.index.entries(digest: built.digest).first)
        #expect(entry.kind == "wheel" && entry.name == "tinypkg" && entry.version == "1.0")
        #expect(entry.origin == "build:sdist" && entry.filename == built.filename)
    }

    @Test func theSameSdistBuiltTwiceGivesTheSameWheelAndTheCacheRemembersIt() async throws {
        let tiny = try await TinySdist()
        let first = try await SdistBuilder.build(tiny.request(), store: tiny.store)
        let second = try await SdistBuilder.build(tiny.request(), store: tiny.store)
        #expect(first.digest == second.digest && !second.cacheHit)
        // A hit runs nothing: this bwrap does not exist.
        let missing = BwrapRuntime(executable: "/nonexistent/bwrap")
        let cached = try await SdistBuilder.build(tiny.request(runtime: missing, useCache: true), store: tiny.store)
        #expect(cached.cacheHit && cached.digest == first.digest)
        #expect(cached.provenance == first.provenance)
        // SOURCE_DATE_EPOCH reaches the backend: another epoch, another wheel.
        let later = try await SdistBuilder.build(tiny.request(epoch: 1_700_000_000), store: tiny.store)
        #expect(later.digest != first.digest)
    }

    @Test func aMissingBuildRequirementFailsNamingIt() async throws {
        let tiny = try await TinySdist()
        let error = await #expect(throws: SdistError.self) {
            try await SdistBuilder.build(tiny.request(buildWheels: []), store: tiny.store)
        }
        #expect(error?.code == SdistErrorCode.missingBuildRequirement.code, "\(String(describing: error))")
        #expect(error?.description.contains("tinyhelper>=1.0") == true, "\(String(describing: error))")
        // A version the build environment does not satisfy is missing too.
        let newer = try await TinySdist(requires: "tinyhelper>=2")
        let tooOld = await #expect(throws: SdistError.self) {
            try await SdistBuilder.build(newer.request(), store: newer.store)
        }
        #expect(tooOld?.code == SdistErrorCode.missingBuildRequirement.code, "\(String(describing: tooOld))")
        #expect(tooOld?.description.contains("tinyhelper>=2") == true, "\(String(describing: tooOld))")
    }

    @Test func aRequirementTheBackendAsksForAtBuildTimeMustBeThereToo() async throws {
        let tiny = try await TinySdist(dynamic: ["notlocked>=1"])
        let error = await #expect(throws: SdistError.self) {
            try await SdistBuilder.build(tiny.request(), store: tiny.store)
        }
        #expect(error?.code == SdistErrorCode.missingBuildRequirement.code, "\(String(describing: error))")
        #expect(error?.description.contains("notlocked>=1") == true, "\(String(describing: error))")
    }

    @Test func aBackendThatRaisesFailsWithItsTracebackTail() async throws {
        let tiny = try await TinySdist(buildWheel: "raise RuntimeError('tinybackend exploded on purpose')")
        let error = await #expect(throws: SdistError.self) {
            try await SdistBuilder.build(tiny.request(), store: tiny.store)
        }
        #expect(error?.code == SdistErrorCode.buildFailed.code, "\(String(describing: error))")
        // The traceback's tail is the message's point: it is all the user has to go on.
        #expect(
            error?.description.contains("RuntimeError: tinybackend exploded on purpose") == true,
            "\(String(describing: error))"
        )
    }

    @Test func theBuildHasNoNetwork() async throws {
        let tiny = try await TinySdist(
            buildWheel: "import socket; socket.create_connection(('1.1.1.1', 443), 2); return 'x'"
        )
        let error = await #expect(throws: SdistError.self) {
            try await SdistBuilder.build(tiny.request(), store: tiny.store)
        }
        #expect(error?.code == SdistErrorCode.buildFailed.code, "\(String(describing: error))")
        #expect(error?.description.contains("OSError") == true, "\(String(describing: error))")
    }

    @Test func aWheelOfAnotherProjectIsRefused() async throws {
        let tiny = try await TinySdist(
            buildWheel: """
                import shutil
                    name = "other-1.0-py3-none-any.whl"
                    open(os.path.join(wheel_directory, name), "wb").write(b"not a zip")
                    return name
                """
        )
        let error = await #expect(throws: SdistError.self) {
            try await SdistBuilder.build(tiny.request(), store: tiny.store)
        }
        #expect(error?.status == .checkFailed)
        #expect(error?.code == SdistErrorCode.wrongWheel.code, "\(String(describing: error))")
    }
}

@Suite struct SdistArchiveTests {
    /// Hostile members (each after a harmless one), written by hand and gzipped.
    static let hostile: [(String, [RawMember], SdistErrorCode)] = [
        ("dot-dot", [RawMember(name: "tinypkg-1.0/../evil.py", data: Array("x".utf8))], .hostileMember),
        ("absolute", [RawMember(name: "/tmp/airlock-evil.py", data: Array("x".utf8))], .hostileMember),
        (
            "link-out", [RawMember(name: "tinypkg-1.0/passwd", type: UInt8(ascii: "2"), linkName: "../../etc/passwd")],
            .hostileMember
        ),
        (
            "link-absolute", [RawMember(name: "tinypkg-1.0/passwd", type: UInt8(ascii: "2"), linkName: "/etc/passwd")],
            .hostileMember
        ),
        (
            "link-through-link",
            [
                RawMember(name: "tinypkg-1.0/a", type: UInt8(ascii: "2"), linkName: "."),
                RawMember(name: "tinypkg-1.0/b", type: UInt8(ascii: "2"), linkName: "a/x/../.."),
            ],
            .hostileMember
        ),
        (
            "below-link",
            [
                RawMember(name: "tinypkg-1.0/d", type: UInt8(ascii: "2"), linkName: "sub"),
                RawMember(name: "tinypkg-1.0/d/x.py", data: Array("x".utf8)),
            ],
            .hostileMember
        ),
        (
            "hard-link", [RawMember(name: "tinypkg-1.0/h", type: UInt8(ascii: "1"), linkName: "tinypkg-1.0/ok.py")],
            .hostileMember
        ),
        (
            "device", [RawMember(name: "tinypkg-1.0/dev", type: UInt8(ascii: "3"), device: (1, 3))],
            .hostileMember
        ),
        (
            "second-top", [RawMember(name: "other-1.0/x.py", data: Array("x".utf8))],
            .badLayout
        ),
        ("duplicate", [RawMember(name: "tinypkg-1.0/ok.py", data: Array("y".utf8))], .hostileMember),
    ]

    @Test(arguments: hostile.map(\.0))
    func aHostileSdistIsRefusedBeforeAnythingRuns(name: String) async throws {
        let (_, members, code) = try #require(Self.hostile.first { $0.0 == name })
        let tiny = try await TinySdist()
        let tar = try tiny.dir.file(
            "hostile.tar",
            RawTar.build([RawMember(name: "tinypkg-1.0/ok.py", data: Array("x".utf8))] + members)
        )
        let sdist = tiny.dir.path + "/hostile/tinypkg-1.0.tar.gz"
        try FileSystem.makeDirectory(tiny.dir.path + "/hostile")
        let (status, output) = try await shell("gzip -n -c '\(tar)' > '\(sdist)'")
        #expect(status == 0, "\(output)")
        let scratch = tiny.dir.path + "/scratch"
        try FileSystem.makeDirectory(scratch)
        var request = tiny.request(runtime: UnreachableRuntime())
        request.sdistPath = sdist
        request.scratch = scratch
        let error = await #expect(throws: SdistError.self) { try await SdistBuilder.build(request, store: tiny.store) }
        #expect(error?.status == .checkFailed)
        #expect(error?.code == code.code, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("tinypkg-1.0.tar.gz: refused: ") == true, "\(String(describing: error))")
        // Nothing was left behind, nor written outside the scratch directory.
        #expect(try FileSystem.list(scratch).isEmpty)
        #expect(
            !FileSystem.exists(tiny.dir.path + "/evil.py") && !FileSystem.exists(tiny.dir.path + "/scratch/evil.py")
        )
        #expect(!FileSystem.exists("/tmp/airlock-evil.py"))
    }

    @Test func anInTreeLinkIsKeptAndTheTopDirectoryMustNameTheProject() async throws {
        let dir = try TemporaryDirectory()
        let good = RawTar.build([
            RawMember(name: "tinypkg-1.0/pyproject.toml", data: Array("[build-system]\n".utf8)),
            RawMember(name: "tinypkg-1.0/docs/", type: UInt8(ascii: "5")),
            RawMember(name: "tinypkg-1.0/docs/README", type: UInt8(ascii: "2"), linkName: "../pyproject.toml"),
        ])
        let path = try dir.file("tinypkg-1.0.tar", good)
        let contents = try SdistArchive.read(
            path: path,
            filename: "tinypkg-1.0.tar.gz",
            name: "tinypkg",
            version: "1.0",
            extractTo: dir.path + "/x"
        )
        #expect(contents.topDirectory == "tinypkg-1.0" && contents.pyproject == Array("[build-system]\n".utf8))
        #expect(FileSystem.kind(of: dir.path + "/x/docs/README") == .symlink)
        #expect(try FileSystem.readFile(dir.path + "/x/docs/README") == Array("[build-system]\n".utf8))
        let error = #expect(throws: SdistError.self) {
            try SdistArchive.read(
                path: path,
                filename: "tinypkg-1.0.tar.gz",
                name: "tinypkg",
                version: "2.0",
                extractTo: nil
            )
        }
        #expect(error?.code == SdistErrorCode.badLayout.code, "\(String(describing: error))")
    }

    @Test(
        arguments: [
            ("python-dateutil-2.8.2.tar.gz", "python-dateutil", "python-dateutil", "2.8.2"),
            ("python_dateutil-2.8.2.tar.gz", "python-dateutil", "python_dateutil", "2.8.2"),
            ("Foo-1.0rc1.zip", nil, "Foo", "1.0rc1"),
        ] as [(String, String?, String, String)]
    )
    func anSdistFileNameSplitsWhereTheProjectNameEnds(file: String, project: String?, name: String, version: String)
        throws
    {
        let parsed = try #require(SdistName(file, project: project))
        #expect(parsed.name == name && parsed.version == version)
    }

    @Test func versionsCompareAsPEP440SpellsThem() {
        #expect(SdistName.sameVersion("1.0", "1"))
        #expect(SdistName.sameVersion("1.0-beta.2", "1.0b2"))
        #expect(SdistName.sameVersion("v2.01", "2.1"))
        #expect(!SdistName.sameVersion("1.0", "1.0.1"))
        #expect(!SdistName.sameVersion("1.0", "1.0.post1"))
    }
}

private let uvIsInstalled = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
    FileManager.default.isExecutableFile(atPath: "\($0)/uv")
}

/// `airlock lock` with sdists: hash-pinned sdist lines are locked into `files`, and their build
/// requirements, resolved as wheels for the target, into `build`; `airlock fetch` fetches both, and
/// the sdist then builds from what the lock and the store hold.
@Suite(.timeLimit(.minutes(5))) struct SdistLockTests {
    static let withHelper: [LocalIndex.Dist] = [
        .init(fileName: "alpha-1.0-py3-none-any.whl", requires: ["beta>=2"]),
        .init(fileName: "beta-2.0-py3-none-any.whl"),
        .init(fileName: TinySdist.helperName),
    ]

    /// Locks without looking up wheel sizes (each lookup starts pip once more), for speed.
    private func lockQuickly(_ project: LockProject, _ index: LocalIndex) async throws -> PythonLockResult {
        try await PythonLocker.lock(
            PythonLockOptions(
                project: project.path,
                target: TinySdist.target,
                environment: index.environment,
                lookUpSizes: false
            )
        )
    }

    @Test func aHashPinnedFileSdistIsLockedWithItsBuildRequirementsAndBuildsFromTheFetchedLock() async throws {
        let index = try await LocalIndex(Self.withHelper)
        defer { index.stop() }
        let tiny = try await TinySdist()
        let sdistHash = try sha256(ofFile: tiny.sdist)
        let alphaHash = try sha256(ofFile: index.filePath("alpha-1.0-py3-none-any.whl"))
        let project = try LockProject(
            requirements: """
                tinypkg @ file://\(tiny.sdist) --hash=sha256:\(sdistHash)
                alpha==1.0 --hash=sha256:\(alphaHash)

                """
        )
        let result = try await lockQuickly(project, index)
        #expect(result.method == .hashed)
        #expect(result.lock.files.map(\.filename) == ["alpha-1.0-py3-none-any.whl", "tinypkg-1.0.tar.gz"])
        let sdist = try #require(result.lock.files.last)
        #expect(sdist.name == "tinypkg" && sdist.version == "1.0" && sdist.sha256 == sdistHash)
        let sdistSize = try FileSystem.size(of: tiny.sdist)
        #expect(sdist.url == "file://" + tiny.sdist && sdist.size == sdistSize)
        let build = try #require(result.lock.build)
        #expect(build.map(\.filename) == [TinySdist.helperName])
        #expect(build.first?.url == index.fileURL(TinySdist.helperName))
        #expect(build.first?.sha256 == (try sha256(ofFile: index.filePath(TinySdist.helperName))))
        #expect(result.lock.sdists.map(\.filename) == ["tinypkg-1.0.tar.gz"])
        let (read, _) = try PythonLock.read(project: project.path)
        #expect(read == result.lock)
        #expect(String(decoding: project.lockBytes, as: UTF8.self).contains("\"build\" : ["))

        // fetch stores the files and the build files; the sdist builds from them.
        let report = try await Fetcher.fetch(lock: result.lock, projectName: "app", store: tiny.store, jobs: 2)
        #expect(report.failures.isEmpty, "\(report.failureLines)")
        #expect(
            report.files.map(\.filename) == ["alpha-1.0-py3-none-any.whl", "tinypkg-1.0.tar.gz", TinySdist.helperName]
        )
        let stored = try tiny.store.index.entries(kind: "sdist")
        #expect(stored.map(\.filename) == ["tinypkg-1.0.tar.gz"])
        func blob(_ file: LockedFile) throws -> String { tiny.store.blobPath(try #require(SHA256Digest(file.sha256))) }
        var request = tiny.request(buildWheels: try build.map { ($0.filename, try blob($0)) })
        request.sdistPath = try blob(sdist)
        let built = try await SdistBuilder.build(request, store: tiny.store)
        #expect(built.filename == "tinypkg-1.0-py3-none-any.whl")
        #expect(built.provenance.inputs?.blobs.first { $0.role == "sdist" }?.sha256.hex == sdistHash)
        // The backend imported the index's tinyhelper, which the lock named and fetch stored.
        let tree = tiny.dir.path + "/tree"
        _ = try WheelInstaller.plan(
            wheelAt: built.path,
            fileName: built.filename,
            ranking: TagRanking(TinySdist.target),
            target: TinySdist.target,
            treeRoot: tree
        )
        #expect(try FileSystem.readFile(tree + "/tinypkg/helper_said.py") == Array("SAID = 'tinyhelper 1.0'\n".utf8))
    }

    @Test func anIndexSdistPinnedByHashIsLockedWhenNoWheelFitsAndItsLegacyBuildRequirementsToo() async throws {
        let index = try await LocalIndex(
            Self.withHelper + [
                .init(fileName: "sdistonly-1.0.tar.gz"),
                .init(fileName: "setuptools-70.0.0-py3-none-any.whl"),
                .init(fileName: "wheel-0.43.0-py3-none-any.whl"),
            ]
        )
        defer { index.stop() }
        let sdistHash = try sha256(ofFile: index.filePath("sdistonly-1.0.tar.gz"))
        let alphaHash = try sha256(ofFile: index.filePath("alpha-1.0-py3-none-any.whl"))
        let project = try LockProject(
            requirements: "sdistonly==1.0 --hash=sha256:\(sdistHash)\nalpha==1.0 --hash=sha256:\(alphaHash)\n"
        )
        let result = try await lockQuickly(project, index)
        #expect(result.lock.files.map(\.filename) == ["alpha-1.0-py3-none-any.whl", "sdistonly-1.0.tar.gz"])
        #expect(result.lock.files.last?.url == index.fileURL("sdistonly-1.0.tar.gz"))
        #expect(result.lock.files.last?.sha256 == sdistHash)
        // No pyproject.toml: setuptools' legacy backend, with setuptools and wheel, as pip assumes.
        #expect(
            result.lock.build?.map(\.filename) == [
                "setuptools-70.0.0-py3-none-any.whl", "wheel-0.43.0-py3-none-any.whl",
            ]
        )
    }

    @Test(.enabled(if: uvIsInstalled, "uv is not on PATH (make test puts the pinned uv of make test-deps there)"))
    func withTheUVResolverTheBuildRequirementsAreResolvedByUV() async throws {
        let index = try await LocalIndex(Self.withHelper)
        defer { index.stop() }
        let tiny = try await TinySdist()
        let project = try LockProject(
            requirements: "tinypkg @ file://\(tiny.sdist) --hash=sha256:\(try sha256(ofFile: tiny.sdist))\n"
        )
        let result = try await PythonLocker.lock(
            PythonLockOptions(
                project: project.path,
                target: TinySdist.target,
                resolver: .uv,
                environment: index.environment,
                lookUpSizes: false
            )
        )
        #expect(result.lock.files.map(\.filename) == ["tinypkg-1.0.tar.gz"])
        #expect(result.lock.build?.map(\.filename) == [TinySdist.helperName])
    }

    @Test func anSdistThatMatchesNoPinFailsTheCheckAndWritesNoLock() async throws {
        let index = try await LocalIndex(Self.withHelper)
        defer { index.stop() }
        let tiny = try await TinySdist()
        let project = try LockProject(
            requirements: "tinypkg @ file://\(tiny.sdist) --hash=sha256:\(String(repeating: "0", count: 64))\n"
        )
        let error = try await #require(throws: CheckFailure.self) { try await project.lock(index) }
        #expect(error.code == PythonErrorCode.pinMismatch.code, "\(error)")
        #expect(error.description.hasPrefix("tinypkg-1.0.tar.gz: "), "\(error)")
        #expect(project.lockBytes.isEmpty)
    }

    @Test func aBuildRequirementWithNoWheelFailsNamingIt() async throws {
        let index = try await LocalIndex([.init(fileName: "alpha-1.0-py3-none-any.whl")])
        defer { index.stop() }
        let tiny = try await TinySdist()
        let project = try LockProject(
            requirements: "tinypkg @ file://\(tiny.sdist) --hash=sha256:\(try sha256(ofFile: tiny.sdist))\n"
        )
        let error = try await #require(throws: PrefixedError.self) { try await project.lock(index) }
        #expect(error.code == PythonErrorCode.noDistribution.code, "\(error)")
        #expect(error.description.hasPrefix("the build requirements of tinypkg-1.0.tar.gz: tinyhelper"), "\(error)")
    }

    @Test func anUnpinnedSdistOnlyRequirementWhoseDependenciesNeedTheSandboxSaysHowToLockWithoutOne() async throws {
        let index = try await LocalIndex([.init(fileName: "sdistonly-1.0.tar.gz")])
        defer { index.stop() }
        let project = try LockProject(requirements: "sdistonly\n")
        let error = try await #require(throws: UsageError.self) { try await project.lock(index) }
        #expect(error.code == PythonErrorCode.sandboxNeeded.code, "\(error)")
    }

    @Test func aLockWithoutSdistsHasNoBuildListAndABuildListHoldsWheelsOnly() async throws {
        let target = TinySdist.target
        let wheel = LockedFile(
            name: "a",
            version: "1",
            filename: "a-1-py3-none-any.whl",
            url: nil,
            sha256: String(repeating: "a", count: 64),
            size: nil
        )
        let sdist = LockedFile(
            name: "b",
            version: "1",
            filename: "b-1.tar.gz",
            url: nil,
            sha256: String(repeating: "b", count: 64),
            size: nil
        )
        let plain = PythonLock(target: target, files: [wheel], build: [])
        #expect(plain.build == nil)
        #expect(!String(decoding: try plain.encoded(), as: UTF8.self).contains("build"))
        let dir = try TemporaryDirectory()
        try dir.file("airlock.lock", try PythonLock(target: target, files: [sdist], build: [sdist]).encoded())
        let error = try #require(throws: UsageError.self) { try PythonLock.read(project: dir.path) }
        #expect(error.code == PythonErrorCode.badLock.code, "\(error)")
    }
}
