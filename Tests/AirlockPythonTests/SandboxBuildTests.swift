// `airlock build` with its Python steps in a real bwrap sandbox, over an image in the store made
// from the host's own Python (HostPythonImage): the version check, the smoke test (with a
// stand-in `azure.functions` that has the shape the worker relies on: FunctionRegister,
// get_functions, get_function_name, get_trigger, get_raw_bindings) and checked-hash bytecode.

import AirlockContainer
import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct SandboxBuildTests {
    /// The stand-in `azure-functions` wheel: just enough of the real library's API for discovery.
    static let azureFunctions: (String, [WheelFixture.Member]) = (
        "azure_functions-1.0-py3-none-any.whl",
        [
            .init(path: "azure/__init__.py", content: ""),
            .init(
                path: "azure/functions/__init__.py",
                content: """
                    import json

                    class _Trigger:
                        def __init__(self, type):
                            self.type = type

                    class _Function:
                        def __init__(self, name, bindings):
                            self.name, self.bindings = name, bindings
                        def get_function_name(self):
                            return self.name
                        def get_trigger(self):
                            return _Trigger(self.bindings[0]["type"])
                        def get_raw_bindings(self):
                            return [json.dumps(b) for b in self.bindings]

                    class FunctionRegister:
                        def __init__(self):
                            self._functions = []
                        def get_functions(self):
                            return list(self._functions)

                    class FunctionApp(FunctionRegister):
                        def route(self, route=None):
                            def decorate(fn):
                                self._functions.append(_Function(fn.__name__, [
                                    {"type": "httpTrigger", "direction": "IN", "name": "req", "route": route},
                                    {"type": "http", "direction": "OUT", "name": "$return"},
                                ]))
                                return fn
                            return decorate
                        def timer_trigger(self, schedule, arg_name):
                            def decorate(fn):
                                self._functions.append(_Function(fn.__name__, [
                                    {"type": "timerTrigger", "direction": "IN", "name": arg_name, "schedule": schedule},
                                ]))
                                return fn
                            return decorate

                    class Blueprint:
                        pass
                    """
            ),
        ]
    )

    static let demo: (String, [WheelFixture.Member]) = (
        "demo-1.0-py3-none-any.whl",
        [.init(path: "demo/__init__.py", content: "VALUE = 42\nKINDS = {'a', 'b', 'c', 'd'}\n")]
    )

    static let goodApp = """
        import azure.functions as func
        import demo

        app = func.FunctionApp()

        @app.route(route="hello")
        def hello(req):
            return str(demo.VALUE)

        @app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer")
        def tick(timer):
            pass
        """

    struct Project {
        let dir: TemporaryDirectory
        let path: String
        let store: Store

        init(app: String = SandboxBuildTests.goodApp, python: String = HostPythonImage.version) async throws {
            dir = try TemporaryDirectory()
            path = dir.path + "/app"
            try dir.file("app/function_app.py", app)
            try dir.file("app/host.json", "{\"version\": \"2.0\"}\n")
            try dir.file("app/requirements.txt", "azure-functions\ndemo\n")
            store = try Store.open(at: dir.path + "/store")
            var locked: [LockedFile] = []
            for (fileName, members) in [SandboxBuildTests.azureFunctions, SandboxBuildTests.demo] {
                let wheel = try await WheelFixture.make(in: dir, fileName: fileName, members: members)
                let (digest, size, tmp) = try store.put(path: wheel)
                try store.commit([(digest, tmp)])
                let parts = fileName.split(separator: "-")
                locked.append(
                    LockedFile(name: String(parts[0]), version: String(parts[1]), filename: fileName, url: nil, sha256: digest.hex, size: size)
                )
            }
            let glibc = ["3.9", "3.10", "3.11"].contains(python) ? "2.31" : "2.36"
            let lock = PythonLock(target: PythonTarget(pythonVersion: python, platform: "linux/amd64", glibc: glibc), files: locked)
            try dir.file("app/airlock.lock", try lock.encoded())
            _ = try ImageImporter.importArchive(try HostPythonImage.archive(), into: store)
        }

        func build(
            out: String? = nil, image: String? = HostPythonImage.reference, bytecode: Bool = false, cache: Bool = true,
            settings: [String: String] = [:], runtime: any ContainerRuntime = BwrapRuntime()
        ) async throws -> PythonBuildResult {
            try await PythonBuild.build(
                PythonBuildOptions(
                    project: path, outDirectory: out, toolVersion: "test", useCache: cache,
                    sandbox: SandboxRequest(runtime: runtime, image: image, settings: settings), compileBytecode: bytecode
                ),
                store: store
            )
        }
    }

    @Test func theSmokeTestListsTheFunctionsAndProvenanceNamesTheImage() async throws {
        let project = try await Project()
        let result = try await project.build()
        let functions = try #require(result.functions)
        #expect(functions.map(\.name) == ["hello", "tick"])
        #expect(functions[0].trigger == "httpTrigger" && functions[0].route == "hello")
        #expect(functions[0].bindings.map(\.type) == ["httpTrigger", "http"])
        #expect(functions[1].trigger == "timerTrigger" && functions[1].route == nil)
        // Each binding's other scalar properties, as text, for what the Kubernetes kit derives (a
        // null route is not one).
        #expect(functions[0].bindings[0].properties == ["route": "hello"])
        #expect(functions[0].bindings[1].properties == nil)
        #expect(functions[1].bindings[0].properties == ["schedule": "0 */5 * * * *"])
        #expect(result.runtime == "bwrap")
        let image = try ImageCatalog.resolve(HostPythonImage.reference, in: project.store)
        #expect(result.image == "\(HostPythonImage.reference)@\(image.manifest)")

        let provenance = try Provenance.read(try FileSystem.readFile(result.provenance))
        #expect(provenance.schema == Provenance.schemaVersion)
        #expect(provenance.sandbox?.image.manifest == image.manifest)
        #expect(provenance.inputs?.image?.manifest == image.manifest)
        #expect(provenance.sandbox?.runtime == "bwrap")
        #expect(provenance.sandbox?.toolchain?.hasPrefix("python " + HostPythonImage.version + ".") == true)
        #expect(provenance.functions == functions)
        #expect(provenance.key == provenance.inputs?.digest)
        let digest = try #require(SHA256Digest(result.sha256))
        #expect(try project.store.index.provenance(of: digest) == String(decoding: try FileSystem.readFile(result.provenance), as: UTF8.self))

        // Nothing changed: a cache hit that still knows the functions.
        let again = try await project.build()
        #expect(again.cacheHit && again.sha256 == result.sha256 && again.functions == functions)
    }

    @Test func theTreeTheSmokeTestRunsOverMustStartEmpty() async throws {
        let project = try await Project()
        try project.dir.file("tree/stale.py", "import nothing\n")
        let error = await #expect(throws: UsageError.self) {
            try await PythonBuild.build(
                PythonBuildOptions(
                    project: project.path, tree: project.dir.path + "/tree", toolVersion: "test",
                    sandbox: SandboxRequest(runtime: BwrapRuntime(), image: HostPythonImage.reference)
                ),
                store: project.store
            )
        }
        #expect(error?.code == PythonBuildErrorCode.treeNotEmpty.code)
        let result = try await PythonBuild.build(
            PythonBuildOptions(
                project: project.path, tree: project.dir.path + "/fresh", toolVersion: "test",
                sandbox: SandboxRequest(runtime: BwrapRuntime(), image: HostPythonImage.reference)
            ),
            store: project.store
        )
        #expect(result.functions?.count == 2)
        #expect(FileSystem.exists(project.dir.path + "/fresh/function_app.py"))
    }

    @Test func anAppThatRegistersNoFunctionFailsAndLeavesNoZip() async throws {
        let project = try await Project(app: "import azure.functions as func\napp = func.FunctionApp()\n")
        let error = await #expect(throws: CheckFailure.self) { try await project.build() }
        #expect(error?.code == PythonBuildErrorCode.noFunction.code, "\(String(describing: error))")
        #expect(!FileSystem.exists(project.path + "/dist/app.zip"))
    }

    @Test func anAppWhoseImportRaisesFailsWithThePythonTraceback() async throws {
        let project = try await Project(app: "import azure.functions as func\nraise RuntimeError('no settings at import')\n")
        let error = await #expect(throws: CheckFailure.self) { try await project.build() }
        #expect(error?.code == PythonBuildErrorCode.smokeTestFailed.code, "\(String(describing: error))")
        // The traceback is the message's point: it is what the Functions host would log.
        #expect(
            error?.description.contains("RuntimeError: no settings at import") == true,
            "\(String(describing: error))"
        )
    }

    @Test func settingsTheAppReadsAtImportReachTheSmokeTestButOnlyTheirNamesReachProvenance() async throws {
        let app = "import os\n" + SandboxBuildTests.goodApp + "\nSTORAGE = os.environ['STORAGE_URL']\nassert os.environ['FUNCTIONS_WORKER_RUNTIME'] == 'python'\n"
        let project = try await Project(app: app)
        let error = await #expect(throws: CheckFailure.self) { try await project.build() }
        #expect(error?.code == PythonBuildErrorCode.smokeTestFailed.code, "\(String(describing: error))")
        #expect(error?.description.contains("KeyError: 'STORAGE_URL'") == true, "\(String(describing: error))")
        let result = try await project.build(settings: ["STORAGE_URL": "https://secret.example"])
        #expect(result.functions?.count == 2 && !result.cacheHit)
        let provenance = String(decoding: try FileSystem.readFile(result.provenance), as: UTF8.self)
        #expect(provenance.contains("\"settings\":[\"STORAGE_URL\"]") && !provenance.contains("secret.example"))
        // Another value is another smoke test: not a cache hit.
        let other = try await project.build(settings: ["STORAGE_URL": "https://other.example"])
        #expect(!other.cacheHit && other.sha256 == result.sha256)
    }

    @Test func twoAppObjectsOrNoneAreRefusedAsTheWorkerWould() async throws {
        let two = try await Project(app: "import azure.functions as func\na = func.FunctionApp()\nb = func.FunctionApp()\n")
        let error = await #expect(throws: CheckFailure.self) { try await two.build() }
        #expect(error?.code == PythonBuildErrorCode.noAppInstance.code, "\(String(describing: error))")
        #expect(error?.description.contains("More than one FunctionApp") == true)
        let none = try await Project(app: "import azure.functions as func\nbp = func.Blueprint()\n")
        let noneError = await #expect(throws: CheckFailure.self) { try await none.build() }
        #expect(noneError?.code == PythonBuildErrorCode.noAppInstance.code, "\(String(describing: noneError))")
    }

    @Test func anImageWhosePythonIsNotTheTargetsIsRefusedNamingBoth() async throws {
        let other = HostPythonImage.version == "3.12" ? "3.11" : "3.12"
        let project = try await Project(python: other)
        let error = await #expect(throws: UsageError.self) { try await project.build() }
        #expect(error?.code == PythonBuildErrorCode.pythonMismatch.code, "\(String(describing: error))")
        let text = error?.description ?? ""
        #expect(text.contains("Python \(HostPythonImage.version).") && text.contains("target is Python \(other)"), "\(text)")
    }

    @Test func withoutItsDefaultImageTheBuildSaysHowToMakeIt() async throws {
        let project = try await Project(python: "3.11")
        let error = await #expect(throws: UsageError.self) { try await project.build(image: nil) }
        #expect(error?.code == ImageErrorCode.notFound.code, "\(String(describing: error))")
        // The command that makes the image is the message's point.
        #expect(
            error?.description.contains("airlock image bootstrap --suite bookworm --packages python3 --name airlock-python:3.11-bookworm")
                == true,
            "\(String(describing: error))"
        )
    }

    @Test func anSdistInTheLockIsBuiltInTheSandboxInstalledAndNamedInProvenance() async throws {
        let project = try await Project(app: SandboxBuildTests.goodApp + "\nimport tinypkg.helper_said\nSAID = tinypkg.helper_said.SAID\n")
        let tiny = try await TinySdist()
        func put(_ path: String) throws -> (String, Int) {
            let (digest, size, tmp) = try project.store.put(path: path)
            try project.store.commit([(digest, tmp)])
            return (digest.hex, size)
        }
        let (sdistDigest, sdistSize) = try put(tiny.sdist)
        let (helperDigest, helperSize) = try put(tiny.helper)
        var (lock, _) = try PythonLock.read(project: project.path)
        lock = PythonLock(
            target: lock.target,
            files: lock.files + [
                LockedFile(name: "tinypkg", version: "1.0", filename: tiny.filename, url: nil, sha256: sdistDigest, size: sdistSize)
            ],
            build: [
                LockedFile(name: "tinyhelper", version: "1.0", filename: TinySdist.helperName, url: nil, sha256: helperDigest, size: helperSize)
            ]
        )
        try project.dir.file("app/airlock.lock", try lock.encoded())

        let result = try await project.build()
        #expect(result.functions?.map(\.name) == ["hello", "tick"])
        let reader = try ZipReader(path: result.zip)
        #expect(reader.entries.contains { $0.name == ".python_packages/lib/site-packages/tinypkg/helper_said.py" })
        let provenance = try Provenance.read(try FileSystem.readFile(result.provenance))
        let sdist = try #require(provenance.builtInputs?.first)
        #expect(sdist.inputs?.blobs.contains { $0.role == "sdist" && $0.sha256.hex == sdistDigest } == true)
        #expect(sdist.inputs?.image?.reference == HostPythonImage.reference)
        #expect(provenance.inputs?.blobs.contains { $0.role == "sdist" && $0.sha256.hex == sdistDigest } == true)

        // seal --project carries the sdist, its build requirement and the wheel built from it, and
        // the app's files and lock (for rebuild --check).
        let built = try PythonBuild.built(project: project.path, store: project.store)
        #expect(Set(built.artifacts.map(\.kind)) == ["function-app", "wheel", "sdist", "build-wheel", "build-source"])
        #expect(built.artifacts.contains { $0.artifactPath == "sources/\(PythonBuild.projectName(project.path))/airlock.lock" })
        #expect(built.artifacts.contains { $0.name == "tinypkg-1.0-py3-none-any.whl" && $0.provenance != nil })

        // Without the sandbox an sdist cannot be built.
        let error = await #expect(throws: UsageError.self) {
            try await PythonBuild.build(
                PythonBuildOptions(project: project.path, toolVersion: "test", useCache: false), store: project.store
            )
        }
        #expect(error?.code == PythonBuildErrorCode.needsSandbox.code)
    }

    @Test func bytecodeIsCheckedHashAndTheSameAcrossTwoBuilds() async throws {
        let project = try await Project()
        let first = try await project.build(out: project.dir.path + "/one", bytecode: true, cache: false)
        let second = try await project.build(out: project.dir.path + "/two", bytecode: true, cache: false)
        #expect(first.sha256 == second.sha256)
        #expect(first.bytecodeFiles >= 3)
        let plain = try await project.build(out: project.dir.path + "/three", bytecode: false, cache: false)
        #expect(plain.sha256 != first.sha256)

        let reader = try ZipReader(path: first.zip)
        let tag = "cpython-" + HostPythonImage.version.replacingOccurrences(of: ".", with: "")
        let name = ".python_packages/lib/site-packages/demo/__pycache__/__init__.\(tag).pyc"
        let entry = try #require(reader.entries.first { $0.name == name })
        #expect(entry.method == 8)  // deflated by ZipWriter; read it inflated, through libarchive
        let archive = try ArchiveReader(paths: [first.zip], format: .zip)
        var pyc: [UInt8] = []
        while let member = try archive.next() {
            if member.path == name { pyc = try archive.readAll(limit: 1 << 20) } else { try archive.skipData() }
        }
        // PEP 552: flags 0b11 = hash-based and checked; then the source's siphash, no mtime.
        #expect(pyc.count > 16 && pyc[4] == 3 && pyc[5] == 0 && pyc[6] == 0 && pyc[7] == 0)
        #expect(reader.entries.contains { $0.name == "__pycache__/function_app.\(tag).pyc" })
    }
}
