// `airlock lock` of a plain requirements file with requirements that have only an sdist on the
// index: the sdist is locked by the index's sha256, its dependencies come from its PKG-INFO (static
// metadata: no sandbox) or from its backend's prepare_metadata_for_build_wheel in a real bwrap
// sandbox over the host-Python image, with markers evaluated for the target, and pip resolves the
// rest around it. The lock then fetches and builds.

import AirlockContainer
import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(10))) struct SdistResolveTests {
    /// The wheels the sdists below depend on, and stand-ins for the legacy backend's requirements.
    static let wheels: [LocalIndex.Dist] = [
        .init(fileName: "alpha-1.0-py3-none-any.whl", requires: ["beta>=2"]),
        .init(fileName: "beta-2.0-py3-none-any.whl"),
        .init(fileName: "extradep-1.0-py3-none-any.whl"),
        .init(fileName: TinySdist.helperName),
        .init(fileName: "setuptools-70.0.0-py3-none-any.whl"),
        .init(fileName: "wheel-0.43.0-py3-none-any.whl"),
    ]

    /// A static sdist: PKG-INFO 2.2, no Dynamic.
    static func staticSdist(_ version: String, requires: [String] = ["alpha"], yanked: Bool = false) -> LocalIndex.Dist
    {
        .init(fileName: "sdistonly-\(version).tar.gz", requires: requires, metadataVersion: "2.2", yanked: yanked)
    }

    /// The host-Python image into `store`, off the cooperative pool (it reads and hashes tens of MB:
    /// on a 2-core machine it would stall every other test's task).
    static func importHostPython(into store: Store) async throws {
        _ = try await Blocking.run { try ImageImporter.importArchive(try HostPythonImage.archive(), into: store) }
    }

    /// A lock that must not need the sandbox: asking for one records an issue.
    private func lockWithoutSandbox(
        _ project: LockProject,
        _ index: LocalIndex,
        python: String = "3.11"
    ) async throws -> PythonLockResult {
        let (target, _) = try PythonTarget.resolve(python: python, platform: nil, glibc: nil)
        return try await PythonLocker.lock(
            PythonLockOptions(
                project: project.path,
                target: target,
                environment: index.environment,
                lookUpSizes: false,
                prepareSandbox: {
                    Issue.record("the lock asked for a sandbox")
                    throw UsageError("no sandbox in this test")
                }
            )
        )
    }

    @Test func anUnhashedSdistOnlyLineWithStaticMetadataLocksByTheIndexHashWithoutTheSandbox() async throws {
        let index = try await LocalIndex(Self.wheels + [Self.staticSdist("1.0")])
        defer { index.stop() }
        let project = try LockProject(requirements: "sdistonly==1.0\n")
        let result = try await lockWithoutSandbox(project, index)
        #expect(result.method == .pip)
        #expect(
            result.lock.files.map(\.filename) == [
                "alpha-1.0-py3-none-any.whl", "beta-2.0-py3-none-any.whl", "sdistonly-1.0.tar.gz",
            ]
        )
        let sdist = try #require(result.lock.sdists.first)
        #expect(sdist.name == "sdistonly" && sdist.version == "1.0")
        #expect(sdist.url == index.fileURL("sdistonly-1.0.tar.gz"))
        #expect(sdist.sha256 == (try sha256(ofFile: index.filePath("sdistonly-1.0.tar.gz"))))
        #expect(sdist.size == (try FileSystem.size(of: index.filePath("sdistonly-1.0.tar.gz"))))
        // No pyproject.toml: setuptools' legacy backend builds it, so its requirements are the build list.
        #expect(
            result.lock.build?.map(\.filename) == [
                "setuptools-70.0.0-py3-none-any.whl", "wheel-0.43.0-py3-none-any.whl",
            ]
        )
        #expect(try PythonLock.read(project: project.path).lock == result.lock)
    }

    @Test func aLowerBoundPicksTheHighestVersionThatIsNeitherYankedNorAPreRelease() async throws {
        let index = try await LocalIndex(
            Self.wheels + [
                Self.staticSdist("0.9"), Self.staticSdist("1.2"), Self.staticSdist("1.5", yanked: true),
                Self.staticSdist("2.0rc1"),
            ]
        )
        defer { index.stop() }
        let project = try LockProject(requirements: "sdistonly>=1.0\n")
        let result = try await lockWithoutSandbox(project, index)
        #expect(result.lock.sdists.map(\.filename) == ["sdistonly-1.2.tar.gz"])
        #expect(result.lock.sdists.first?.yanked == nil)
        // Pinned with ==, the yanked one is taken, and the lock says it is yanked.
        let exact = try LockProject(requirements: "sdistonly==1.5\n")
        let taken = try await lockWithoutSandbox(exact, index)
        #expect(taken.lock.sdists.map(\.filename) == ["sdistonly-1.5.tar.gz"])
        #expect(taken.lock.sdists.first?.yanked == "")
        #expect(taken.warnings.contains { $0.hasPrefix("sdistonly-1.5.tar.gz: yanked on the index, but pinned with ==") })
        // A dependency's own bound is honoured too: alpha needs sdistonly<1.2.
        let bounded = try await LocalIndex(
            [
                .init(fileName: "gamma-1.0-py3-none-any.whl", requires: ["sdistonly<1.2"]),
                Self.staticSdist("1.0", requires: []), Self.staticSdist("1.1", requires: []),
                Self.staticSdist("1.2", requires: []),
            ] + Self.wheels
        )
        defer { bounded.stop() }
        let gamma = try LockProject(requirements: "gamma\n")
        let picked = try await lockWithoutSandbox(gamma, bounded)
        #expect(picked.lock.files.map(\.filename) == ["gamma-1.0-py3-none-any.whl", "sdistonly-1.1.tar.gz"])
    }

    @Test func staticDependenciesAreEvaluatedForTheTargetPythonNotThisHost() async throws {
        // gamma is not on the index: were its marker evaluated for this host's Python, pip would fail.
        let requires = ["beta>=2; python_version >= \"3.12\"", "gamma; python_version < \"3.12\""]
        let index = try await LocalIndex(Self.wheels + [Self.staticSdist("1.0", requires: requires)])
        defer { index.stop() }
        let project = try LockProject(requirements: "sdistonly\n")
        let result = try await lockWithoutSandbox(project, index, python: "3.12")
        #expect(result.lock.files.map(\.name) == ["beta", "sdistonly"])
        #expect(result.lock.target.pythonVersion == "3.12")
    }

    @Test func anSdistWithDynamicDependenciesGetsThemFromItsBackendInTheSandboxAndTheLockFetchesAndBuilds()
        async throws
    {
        let dynamic = LocalIndex.Dist(
            fileName: "dynpkg-1.0.tar.gz",
            requires: [
                "alpha",
                "winonly; sys_platform == \"win32\"",
                "ancient; python_version < \"3.0\"",
                "extradep; extra == \"fancy\"",
            ],
            metadataVersion: "2.2",
            dynamic: ["Requires-Dist"],
            backend: true,
            buildRequires: ["tinyhelper>=1.0"]
        )
        let index = try await LocalIndex(
            Self.wheels + [
                dynamic,
                .init(fileName: SandboxBuildTests.azureFunctions.0, members: SandboxBuildTests.azureFunctions.1),
            ]
        )
        defer { index.stop() }
        let project = try LockProject(requirements: "azure-functions\ndynpkg[fancy]\n")
        try project.dir.file(
            "app/function_app.py",
            """
            import azure.functions as func
            import alpha, dynpkg, extradep

            app = func.FunctionApp()

            @app.route(route="hello")
            def hello(req):
                return dynpkg.VERSION

            """
        )
        try project.dir.file("app/host.json", "{\"version\": \"2.0\"}\n")
        let store = try Store.open(at: project.dir.path + "/store")
        try await Self.importHostPython(into: store)
        let (target, _) = try PythonTarget.resolve(python: HostPythonImage.version, platform: nil, glibc: nil)
        // PKG-INFO lists Requires-Dist as Dynamic: without a sandbox there is no way to them.
        let refused = try await #require(throws: UsageError.self) {
            try await PythonLocker.lock(
                PythonLockOptions(
                    project: project.path,
                    target: target,
                    environment: index.environment,
                    lookUpSizes: false
                )
            )
        }
        #expect(refused.code == PythonErrorCode.sandboxNeeded.code, "\(refused)")
        let result = try await PythonLocker.lock(
            PythonLockOptions(
                project: project.path,
                target: target,
                environment: index.environment,
                lookUpSizes: false,
                sandbox: SandboxRequest(runtime: BwrapRuntime(), image: HostPythonImage.reference),
                store: store
            )
        )
        // Its dependencies for the target, with the extra asked for: no win32 or Python 2 one.
        #expect(result.lock.files.map(\.name) == ["alpha", "azure-functions", "beta", "dynpkg", "extradep"])
        let sdist = try #require(result.lock.sdists.first)
        #expect(sdist.filename == "dynpkg-1.0.tar.gz" && sdist.url == index.fileURL("dynpkg-1.0.tar.gz"))
        #expect(sdist.sha256 == (try sha256(ofFile: index.filePath("dynpkg-1.0.tar.gz"))))
        #expect(result.lock.build?.map(\.filename) == [TinySdist.helperName])

        // fetch, then build: the sdist is built into a wheel in the sandbox, and the app loads.
        let fetched = try await Fetcher.fetch(lock: result.lock, projectName: "app", store: store, jobs: 2)
        #expect(fetched.failures.isEmpty, "\(fetched.failureLines)")
        let build = try await PythonBuild.build(
            PythonBuildOptions(
                project: project.path,
                toolVersion: "test",
                useCache: false,
                sandbox: SandboxRequest(runtime: BwrapRuntime(), image: HostPythonImage.reference)
            ),
            store: store
        )
        #expect(build.functions?.map(\.name) == ["hello"])
        #expect(build.wheels == 5)
    }

    @Test func aBackendWithoutAMetadataHookGivesTheDependenciesOfTheWheelItBuilds() async throws {
        let dynamic = LocalIndex.Dist(
            fileName: "dynpkg-2.0.tar.gz",
            requires: ["alpha; platform_machine == \"x86_64\"", "armonly; platform_machine == \"aarch64\""],
            backend: true,
            buildRequires: ["tinyhelper"],
            preparesMetadata: false
        )
        let index = try await LocalIndex(Self.wheels + [dynamic])
        defer { index.stop() }
        let project = try LockProject(requirements: "dynpkg\n")
        let store = try Store.open(at: project.dir.path + "/store")
        try await Self.importHostPython(into: store)
        let (target, _) = try PythonTarget.resolve(python: HostPythonImage.version, platform: nil, glibc: nil)
        let result = try await PythonLocker.lock(
            PythonLockOptions(
                project: project.path,
                target: target,
                environment: index.environment,
                lookUpSizes: false,
                sandbox: SandboxRequest(runtime: BwrapRuntime(), image: HostPythonImage.reference),
                store: store
            )
        )
        #expect(result.lock.files.map(\.name) == ["alpha", "beta", "dynpkg"])
        // The build wheels its metadata step needed are in the store already, for `airlock fetch`.
        let helper = try #require(result.lock.build?.first)
        #expect(store.contains(try #require(SHA256Digest(helper.sha256))))
    }

    @Test func anSdistWithDynamicDependenciesAndNoSandboxFailsSayingWhatToDo() async throws {
        let index = try await LocalIndex()  // sdistonly-1.0 has no PKG-INFO
        defer { index.stop() }
        let project = try LockProject(requirements: "alpha\nsdistonly\n")
        let error = try await #require(throws: UsageError.self) { try await project.lock(index) }
        #expect(error.code == PythonErrorCode.sandboxNeeded.code, "\(error)")
        #expect(project.lockBytes.isEmpty)
    }

    @Test func anSdistThatDoesNotMatchTheIndexHashFailsTheCheck() async throws {
        let index = try await LocalIndex(Self.wheels + [Self.staticSdist("1.0")])
        defer { index.stop() }
        // The file changes after the index page gave its sha256.
        let path = index.filePath("sdistonly-1.0.tar.gz")
        try FileSystem.writeAtomically(path, try FileSystem.readFile(path) + [0])
        let project = try LockProject(requirements: "sdistonly\n")
        let error = try await #require(throws: CheckFailure.self) { try await lockWithoutSandbox(project, index) }
        #expect(error.code == PythonErrorCode.sdistHashMismatch.code, "\(error)")
        #expect(error.status == .checkFailed)
        #expect(project.lockBytes.isEmpty)
    }

    @Test func aRequirementWithNeitherAWheelNorAMatchingSdistFailsNamingTheVersionsThereAre() async throws {
        let index = try await LocalIndex(Self.wheels + [Self.staticSdist("1.0")])
        defer { index.stop() }
        let project = try LockProject(requirements: "sdistonly>=2\n")
        let error = try await #require(throws: UsageError.self) { try await lockWithoutSandbox(project, index) }
        #expect(error.code == PythonErrorCode.noDistribution.code, "\(error)")
        #expect(error.description.contains("sdists of 1.0"), "\(error)")
    }

    @Test(arguments: [
        ("name", ""),
        ("name==1.0", "==1.0"),
        ("Name[extra] (>=1, <2) ; python_version < \"3\"", ">=1,<2"),
        ("name >= 1.0; sys_platform == \"win32\"", ">=1.0"),
    ])
    func aRequirementsVersionSpecifierIsWhatFollowsItsNameAndExtras(requirement: String, specifier: String) {
        #expect(PythonLocker.specifier(of: requirement) == specifier)
    }

    @Test func markersAreEvaluatedForTheTargetsPythonAndMachine() {
        let env = PythonLocker.markerEnvironment(
            PythonTarget(pythonVersion: "3.12", platform: "linux/arm64", glibc: "2.36")
        )
        #expect(env["python_version"] == "3.12" && env["python_full_version"] == "3.12.0")
        #expect(env["platform_machine"] == "aarch64" && env["sys_platform"] == "linux")
        #expect(env["platform_system"] == "Linux" && env["implementation_name"] == "cpython")
    }
}
