// `airlock build` for a Python v2-model Function App: a short plan over the one artifact pipeline
// (AirlockCore's ArtifactPipeline). The plan (PythonBuildPlan.swift) reads the lock, the app's files
// and the image into `BuildInputs`; on a cache miss its steps install the locked wheels (from the
// store) as `.python_packages/lib/site-packages`, audit every ELF object against the target's glibc
// and machine, and write one deterministic zip straight from the wheels (their compressed bytes
// reused; a tree on disk only with `--tree`). What needs the target's own Python (the version check,
// `.pyc` files, the smoke test that proves the app loads) runs in the sandbox over the
// matched-version image (PythonSandbox.swift), with the deployment tree read-only. The pipeline
// stores the zip, writes its typed provenance beside it and into the store, and caches it.

public import AirlockContainer
public import AirlockCore
import Foundation

public struct PythonBuildOptions: Sendable {
    public var project: String
    /// Where the zip and provenance.json go (default: PROJECT/dist).
    public var outDirectory: String?
    /// Also unpack the deployment tree here.
    public var tree: String?
    public var sourceDateEpoch: Int64?
    public var toolVersion: String
    public var useCache: Bool
    public var jobs: Int
    /// Where the Python steps run; nil builds on the host alone, with no smoke test.
    public var sandbox: SandboxRequest?
    /// Write checked-hash `.pyc` files into the zip (needs the sandbox).
    public var compileBytecode: Bool
    /// Run the smoke test (with a sandbox). A rebuild check turns it off: it changes no byte, and
    /// the app settings it may need are not carried (only their hash is).
    public var smokeTest = true
    /// The app's entry script; nil takes PYTHON_SCRIPT_FILE_NAME, else `function_app.py`.
    public var scriptFile: String?

    public init(
        project: String, outDirectory: String? = nil, tree: String? = nil, sourceDateEpoch: Int64? = nil, toolVersion: String,
        useCache: Bool = true, jobs: Int = 2, sandbox: SandboxRequest? = nil, compileBytecode: Bool = false
    ) {
        self.sandbox = sandbox
        self.compileBytecode = compileBytecode
        self.project = project
        self.outDirectory = outDirectory
        self.tree = tree
        self.sourceDateEpoch = sourceDateEpoch
        self.toolVersion = toolVersion
        self.useCache = useCache
        self.jobs = jobs
    }

    var resolvedOut: String { outDirectory ?? (project + "/dist") }
}

/// Which runtime and image a build's Python steps use.
public struct SandboxRequest: Sendable {
    public var runtime: any ContainerRuntime
    /// An image in the store (NAME[:TAG] or digest); nil takes the target's default.
    public var image: String?
    /// Where the container's output lines go.
    public var output: SandboxOutput
    /// App settings the smoke test's environment gets (values reach only the sandbox and the
    /// action-cache key's hash; provenance records the names).
    public var settings: [String: String]

    public init(runtime: any ContainerRuntime, image: String? = nil, output: SandboxOutput = .discard, settings: [String: String] = [:]) {
        self.runtime = runtime
        self.image = image
        self.output = output
        self.settings = settings
    }
}

public struct PythonBuildResult: Sendable, Codable {
    public var name: String
    public var zip: String
    public var sha256: String
    public var size: Int
    public var wheels: Int
    public var files: Int
    public var elfObjects: Int
    public var provenance: String
    public var cacheHit: Bool
    public var target: PythonTarget
    /// The functions the smoke test listed (nil for a host-only build).
    public var functions: [SmokeFunction]?
    /// `NAME[:TAG]@sha256:…` of the build image, and the runtime (nil for a host-only build).
    public var image: String?
    public var runtime: String?
    public var bytecodeFiles: Int
}

public enum PythonBuild {
    public static let site = ".python_packages/lib/site-packages/"
    public static let artifactKind = "python-function-app"

    /// The project's name: its directory's name (ProjectFile.projectName).
    public static func projectName(_ project: String) -> String { ProjectFile.projectName(project) }

    /// The app files that go into the zip, and what is left out and why.
    public static func listFiles(project: String, outDirectory: String? = nil) throws -> AppFileList {
        let out = outDirectory ?? (project + "/dist")
        return try AppFiles.list(appDirectory: project, outputDirectory: FileSystem.absolute(out))
    }

    /// The image a sandboxed build of `project` would run in (`image`, or the lock's target's
    /// default): checked before a runtime is chosen, so a missing image is the one error shown.
    public static func buildImage(project: String, image: String?, store: Store) throws -> ImageRecord {
        let (lock, _) = try PythonLock.read(project: project)
        let (target, _) = try PythonTarget.resolve(python: lock.target.pythonVersion, platform: lock.target.platform, glibc: lock.target.glibc)
        return try PythonSandbox.resolveImage(image, target: target, store: store).image
    }

    public static func build(_ options: PythonBuildOptions, store: Store, progress: ProgressReporter? = nil) async throws -> PythonBuildResult {
        let plan = try await PythonBuildPlan.make(options, store: store)
        let request = ArtifactRequest(
            inputs: plan.inputs, project: plan.name, outputName: plan.name + ".zip", mediaType: "application/zip",
            outDirectory: options.resolvedOut, origin: "build:python",
            // A cache hit writes no tree, so --tree always builds.
            useCache: options.useCache && options.tree == nil
        )
        let built = try await ArtifactPipeline.build(request, store: store) { output in
            try await plan.run(writingTo: output, progress: progress)
        }
        if built.cacheHit { progress?.note("build: \(request.outputName) unchanged (action cache hit)") }
        return PythonBuildResult(built, plan: plan, provenancePath: request.provenancePath ?? "")
    }
}

/// What `--compile-bytecode` and the zip report, in the provenance's `details`.
public struct PythonAppDetails: Codable, Sendable, Equatable {
    public struct Bytecode: Codable, Sendable, Equatable {
        public var files: Int
        public var invalidation: String
        public var skipped: [String]
    }
    /// Entries in the zip.
    public var files: Int
    public var bytecode: Bytecode?
}

extension PythonBuildResult {
    init(_ built: ArtifactBuild, plan: PythonBuildPlan, provenancePath: String) {
        let provenance = built.provenance
        let details = provenance.details(as: PythonAppDetails.self)
        self.init(
            name: plan.name, zip: built.path, sha256: provenance.output.sha256.hex, size: provenance.output.size,
            wheels: plan.lock.files.count, files: details?.files ?? 0, elfObjects: provenance.audit?.elfObjects ?? 0,
            provenance: provenancePath, cacheHit: built.cacheHit, target: plan.target, functions: provenance.functions,
            image: provenance.sandbox.map { "\($0.image.reference)@\($0.image.manifest)" }, runtime: provenance.sandbox?.runtime,
            bytecodeFiles: details?.bytecode?.files ?? 0
        )
    }
}

/// What `airlock seal --project` carries: the built zip with its provenance, the wheels, sdists and
/// build requirements it came from, and the image it was built in.
public struct BuiltPythonApp: Sendable {
    public let name: String
    public let zipPath: String
    public let provenance: Provenance
    public let target: PythonTarget
    /// The bundle's artifacts: the zip (kind `function-app`), then `wheels/` (`wheel`, a wheel
    /// built from an sdist with its build provenance), `sdists/` (`sdist`), `build/`
    /// (`build-wheel`) and `sources/NAME/` (`build-source`: the app's files and the lock).
    public let artifacts: [BundleInput]
    /// The manifest digest of the image the build ran in, when it ran in one.
    public var buildImage: SHA256Digest? { provenance.sandbox?.image.manifest }
}

extension PythonBuild {
    /// The last build of `project`, checked to be current: its zip matches its provenance, and the
    /// provenance was made from today's lock. A stale or missing build is an error asking for a build.
    public static func built(project: String, outDirectory: String? = nil, store: Store) throws -> BuiltPythonApp {
        let name = projectName(project)
        let out = outDirectory ?? (project + "/dist")
        let zipPath = out + "/" + name + ".zip"
        let provenancePath = out + "/provenance.json"
        guard FileSystem.kind(of: zipPath) == .regular, FileSystem.kind(of: provenancePath) == .regular else {
            throw UsageError(PythonBuildErrorCode.notBuilt, "\(zipPath): not built yet; run `airlock build --project \(project)` first")
        }
        let provenance = try Provenance.read(try FileSystem.readFile(provenancePath, limit: 16 << 20), what: provenancePath)
        let (lock, lockBytes) = try PythonLock.read(project: project)
        guard provenance.lock == SHA256Hasher.hash(lockBytes) else {
            throw UsageError(PythonBuildErrorCode.stale, "\(zipPath): built from an older airlock.lock; run `airlock build --project \(project)` again")
        }
        guard provenance.output.sha256 == (try Store.hashFile(zipPath).0) else {
            throw UsageError(PythonBuildErrorCode.stale, "\(zipPath): does not match \(provenancePath); run `airlock build --project \(project)` again")
        }
        func stored(_ filename: String, _ digest: SHA256Digest?) throws -> String {
            guard let digest, store.contains(digest) else {
                throw UsageError(
                    CoreErrorCode.notInStore,
                    "\(filename): not in the store \(store.root); run `airlock fetch --project \(project)` and build again"
                )
            }
            return store.blobPath(digest)
        }
        var artifacts = [
            BundleInput(
                sourcePath: zipPath, artifactPath: name + ".zip", name: name, kind: "function-app", mediaType: "application/zip",
                provenance: provenance.json
            )
        ]
        func carry(_ filename: String, _ digest: SHA256Digest?, kind: String, provenance: JSONValue? = nil) throws {
            let folder = ["sdist": "sdists/", "build-wheel": "build/"][kind] ?? "wheels/"
            artifacts.append(
                BundleInput(
                    sourcePath: try stored(filename, digest), artifactPath: folder + filename, name: filename, kind: kind,
                    mediaType: filename.hasSuffix(".tar.gz") ? "application/gzip" : "application/zip", provenance: provenance
                )
            )
        }
        // A file the lock took although the index had yanked it says so in its signed provenance,
        // so the mirror inside lists it as yanked too (PEP 592).
        func locked(_ file: LockedFile) -> JSONValue? {
            file.yanked.map { .object(["yanked": .string($0)]) }
        }
        for file in lock.files {
            try carry(
                file.filename, SHA256Digest(file.sha256), kind: file.filename.hasSuffix(".whl") ? "wheel" : "sdist",
                provenance: locked(file)
            )
        }
        for file in lock.build ?? [] {
            try carry(file.filename, SHA256Digest(file.sha256), kind: "build-wheel", provenance: locked(file))
        }
        for wheel in provenance.builtInputs ?? [] {
            try carry(wheel.output.name, wheel.output.sha256, kind: "wheel", provenance: wheel.json)
        }
        artifacts += try BuildSources.bundleInputs(projectDirectory: project, lockPath: project + "/" + PythonLock.fileName, provenance: provenance)
        return BuiltPythonApp(name: name, zipPath: zipPath, provenance: provenance, target: lock.target, artifacts: artifacts)
    }
}
