import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

@Suite struct PythonBuildTests {
    /// A project with an app, a lock, and its wheels in a store.
    struct Project {
        let dir: TemporaryDirectory
        let path: String
        let store: Store

        init(wheels: [(String, [WheelFixture.Member])], name: String = "app") async throws {
            dir = try TemporaryDirectory()
            path = dir.path + "/" + name
            try dir.file(name + "/function_app.py", "import azure.functions as func\napp = func.FunctionApp()\n")
            try dir.file(name + "/host.json", "{\"version\": \"2.0\"}\n")
            try dir.file(name + "/requirements.txt", "demo\n")
            try dir.file(name + "/lib/helper.py", "X = 1\n")
            try dir.file(name + "/local.settings.json", "{}")
            try dir.file(name + "/__pycache__/x.pyc", "junk")
            store = try Store.open(at: dir.path + "/store")
            var locked: [LockedFile] = []
            for (fileName, members) in wheels {
                let wheel = try await WheelFixture.make(in: dir, fileName: fileName, members: members)
                let (digest, size, tmp) = try store.put(path: wheel)
                try store.commit([(digest, tmp)])
                let parts = fileName.split(separator: "-")
                locked.append(LockedFile(name: String(parts[0]), version: String(parts[1]), filename: fileName, url: nil, sha256: digest.hex, size: size))
            }
            let lock = PythonLock(target: PythonTarget(pythonVersion: "3.11", platform: "linux/amd64", glibc: "2.31"), files: locked)
            try dir.file(name + "/airlock.lock", try lock.encoded())
        }

        func build(out: String? = nil, tree: String? = nil, epoch: Int64? = nil, cache: Bool = true) async throws -> PythonBuildResult {
            try await PythonBuild.build(
                PythonBuildOptions(project: path, outDirectory: out, tree: tree, sourceDateEpoch: epoch, toolVersion: "test", useCache: cache),
                store: store
            )
        }
    }

    static let pure: [(String, [WheelFixture.Member])] = [
        ("demo-1.0-py3-none-any.whl", [.init(path: "demo/__init__.py", content: "VALUE = 42\n")]),
        ("other-2.0-py2.py3-none-any.whl", [.init(path: "other.py", content: "import demo\n")]),
    ]

    @Test func theZipHoldsTheAppAndSitePackagesAndPythonImportsFromIt() async throws {
        let p = try await Project(wheels: Self.pure)
        let result = try await p.build(tree: p.dir.path + "/tree")
        #expect(result.wheels == 2 && !result.cacheHit)
        let (status, out) = try await shell(
            "mkdir x && cd x && unzip -q ../app/dist/app.zip && find . -type f | sort && PYTHONPATH=.python_packages/lib/site-packages python3 -c 'import demo, other, lib.helper; print(demo.VALUE)'",
            in: p.dir.path
        )
        #expect(status == 0, "\(out)")
        #expect(out.contains("./function_app.py") && out.contains("./lib/helper.py") && out.contains("./.python_packages/lib/site-packages/demo/__init__.py"))
        #expect(!out.contains("local.settings.json") && !out.contains("__pycache__") && !out.contains("airlock.lock"))
        #expect(out.hasSuffix("42\n"))
        // The tree says the same as the zip.
        let (diff, diffOut) = try await shell("diff -r x tree", in: p.dir.path)
        #expect(diff == 0, "\(diffOut)")
        let (t, tOut) = try await shell("python3 -m zipfile -t app/dist/app.zip && unzip -tq app/dist/app.zip", in: p.dir.path)
        #expect(t == 0, "\(tOut)")
    }

    @Test func twoBuildsInDifferentDirectoriesAtDifferentTimesGiveTheSameBytes() async throws {
        let one = try await Project(wheels: Self.pure)
        let a = try await one.build(cache: false)
        let two = try await Project(wheels: Self.pure)
        // Different mtimes on the sources, a different store, a different directory: same zip.
        #expect(try await shell("touch -d '2001-02-03' app/function_app.py app/host.json", in: two.dir.path).0 == 0)
        let b = try await two.build(cache: false)
        #expect(a.sha256 == b.sha256)
        #expect(try FileSystem.readFile(a.zip) == FileSystem.readFile(b.zip))
        let epoch = try await two.build(out: two.dir.path + "/out2", epoch: 1_700_000_000, cache: false)
        #expect(epoch.sha256 != a.sha256)
    }

    @Test func anUnchangedRebuildIsACacheHitWithTheSameDigestAndAChangeIsNot() async throws {
        let p = try await Project(wheels: Self.pure)
        let first = try await p.build()
        try FileSystem.remove(first.zip)
        let second = try await p.build()
        #expect(second.cacheHit && second.sha256 == first.sha256)
        #expect(try Store.hashFile(second.zip).0.hex == first.sha256)
        try p.dir.file("app/function_app.py", "import azure.functions as func\napp = func.FunctionApp()  # changed\n")
        let third = try await p.build()
        #expect(!third.cacheHit && third.sha256 != first.sha256)
        let entries = try p.store.index.entries(kind: "artifact").filter { $0.name == "app" }
        #expect(entries.map(\.digest.hex).contains(third.sha256))
    }

    @Test func aSharedObjectNeedingANewerGlibcFailsTheBuildNamingIt() async throws {
        let dir = try TemporaryDirectory()
        try dir.file("new.c", "#include <pthread.h>\nstatic void *f(void *a) { return a; }\nint start(void) { pthread_t t; return pthread_create(&t, 0, f, 0); }\n")
        let (cc, ccOut) = try await shell("gcc -shared -fPIC -o new.so new.c", in: dir.path)
        try #require(cc == 0, "\(ccOut)")
        let (v, versions) = try await shell("readelf -V new.so | grep -o 'GLIBC_2\\.3[4-9]' | head -1", in: dir.path)
        try #require(v == 0 && !versions.isEmpty, "this machine's gcc did not link a GLIBC_2.34+ symbol")
        let p = try await Project(wheels: [
            ("native-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", [.init(path: "native/_ext.cpython-311-x86_64-linux-gnu.so", content: "", file: dir.path + "/new.so")])
        ])
        let error = await #expect(throws: GlibcAuditError.self) { try await p.build() }
        #expect(error?.code == GlibcErrorCode.tooNew.code)
        #expect(!FileSystem.exists(p.path + "/dist/app.zip"))
        let violation = try #require(error?.violations.first)
        #expect(violation.path == ".python_packages/lib/site-packages/native/_ext.cpython-311-x86_64-linux-gnu.so")
        guard case .symbolVersion(let version, _) = violation.problem else {
            Issue.record("not a symbol version: \(violation)")
            return
        }
        #expect(version == versions.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func aMissingWheelOrMissingAppFileIsBadInput() async throws {
        let p = try await Project(wheels: Self.pure)
        try FileSystem.remove(p.path + "/host.json")
        let missingHost = await #expect(throws: UsageError.self) { try await p.build() }
        #expect(missingHost?.code == PythonBuildErrorCode.missingAppFile.code)
        #expect(missingHost?.description.hasPrefix(p.path + "/host.json: ") == true)
        let q = try await Project(wheels: Self.pure)
        for name in try FileSystem.list(q.store.blobDirectory) { try FileSystem.remove(q.store.blobDirectory + "/" + name) }
        let missingWheel = await #expect(throws: UsageError.self) { try await q.build() }
        #expect(missingWheel?.code == CoreErrorCode.notInStore.code)
    }

    @Test func twoWheelsInstallingTheSameFileAreRefused() async throws {
        let p = try await Project(wheels: [
            ("one-1.0-py3-none-any.whl", [.init(path: "shared/x.py", content: "a")]),
            ("two-1.0-py3-none-any.whl", [.init(path: "shared/x.py", content: "b")]),
        ])
        let error = await #expect(throws: WheelError.self) { try await p.build() }
        #expect(error?.code == WheelErrorCode.duplicateFile.code)
    }
}
