// The plan of one Python app build: its inputs as a value (what the action cache keys on and the
// provenance records), and the steps the artifact pipeline runs on a cache miss, in order:
//   1. the image's Python checked against the target (in the sandbox, while the host installs);
//   2. every locked wheel from the store, each sdist first built into a wheel in the sandbox;
//   3. the install planned wheel by wheel (in parallel), one owner per file, the ELF audit;
//   4. in the sandbox, over a tree holding exactly what the zip holds: bytecode, then the smoke test,
//      which runs while the host writes the zip (the pipeline renames it into place only if it passed).

public import AirlockContainer
public import AirlockCore
import Foundation

public struct PythonBuildPlan: Sendable {
    public let options: PythonBuildOptions
    public let name: String
    public let lock: PythonLock
    public let target: PythonTarget
    public let app: AppFileList
    public let scriptFile: String
    public let inputs: BuildInputs
    let appContent: [String: [UInt8]]
    let sandbox: PythonSandbox?
    let settings: [String: String]
    let store: Store
    /// DOS time of the zip entries.
    let epoch: Int64

    /// Reads the project and prepares the sandbox (the image resolved, and unpacked or loaded).
    public static func make(_ options: PythonBuildOptions, store: Store) async throws -> PythonBuildPlan {
        let project = options.project
        guard FileSystem.kind(of: project) == .directory else {
            throw UsageError(PythonErrorCode.noProject, "\(project): no such project directory")
        }
        let (lock, lockBytes) = try PythonLock.read(project: project)
        let (target, _) = try PythonTarget.resolve(python: lock.target.pythonVersion, platform: lock.target.platform, glibc: lock.target.glibc)
        let app = try PythonBuild.listFiles(project: project, outDirectory: options.resolvedOut)
        let scriptFile = options.scriptFile ?? Environment.get("PYTHON_SCRIPT_FILE_NAME") ?? "function_app.py"
        for required in [scriptFile, "host.json", "requirements.txt"] where !app.included.contains(where: { $0.path == required }) {
            throw UsageError(
                PythonBuildErrorCode.missingAppFile,
                "\(project)/\(required): missing (a v2-model Function App needs \(scriptFile), host.json and requirements.txt at its root)"
            )
        }
        guard options.sandbox != nil || !options.compileBytecode else {
            throw UsageError(
                PythonBuildErrorCode.needsSandbox,
                "--compile-bytecode: the .pyc files are written by the target's Python in the sandbox; drop --no-sandbox"
            )
        }
        var content: [String: [UInt8]] = [:]
        var files: [BuildInputFile] = []
        for file in app.included {
            let bytes = try FileSystem.readFile(project + "/" + file.path, limit: 256 << 20)
            content[file.path] = bytes
            files.append(BuildInputFile(path: file.path, executable: file.isExecutable, sha256: SHA256Hasher.hash(bytes)))
        }
        var prepared: PythonSandbox? = nil
        if let request = options.sandbox {
            prepared = try await PythonSandbox.prepare(image: request.image, runtime: request.runtime, target: target, store: store)
            prepared?.output = request.output
            prepared?.sourceDateEpoch = options.sourceDateEpoch ?? SandboxSpec.defaultSourceDateEpoch
        }
        let settings = options.sandbox?.settings ?? [:]
        let epoch = options.sourceDateEpoch.map(DOSTime.clamp) ?? DOSTime.defaultEpoch
        let inputs = BuildInputs(
            kind: PythonBuild.artifactKind, tool: "airlock \(options.toolVersion)", target: target.buildTarget,
            lock: SHA256Hasher.hash(lockBytes), blobs: try lock.inputBlobs(), files: files,
            image: prepared.map { BuildInputImage(reference: $0.imageReference, manifest: $0.imageDigest) }, script: scriptFile,
            options: Self.inputOptions(compileBytecode: options.compileBytecode, settings: settings, sandboxed: prepared != nil),
            sourceDateEpoch: epoch
        )
        return PythonBuildPlan(
            options: options, name: PythonBuild.projectName(project), lock: lock, target: target, app: app, scriptFile: scriptFile,
            inputs: inputs, appContent: content, sandbox: prepared, settings: settings, store: store, epoch: epoch
        )
    }

    /// The options that change the zip's bytes. The smoke test changes no byte, but a build whose
    /// smoke test ran (and passed) is a different claim from one without: `sandbox` says which.
    static func inputOptions(compileBytecode: Bool, settings: [String: String], sandboxed: Bool) -> [String: String] {
        var options = ["sandbox": sandboxed ? "smoke-test" : "none"]
        if compileBytecode { options["bytecode"] = "checked-hash" }
        if !settings.isEmpty { options["settings"] = BuildInputs.hashed(settings) }
        return options
    }

    /// The pipeline's steps: writes the zip into `output` and reports what only the steps know.
    func run(writingTo output: any ArchiveOutput, progress: ProgressReporter?) async throws -> ArtifactFacts {
        // The image's Python must be the target's: asked while the host installs, awaited before
        // anything runs in the sandbox or is built for it.
        async let versionCheck = sandbox?.checkPython(matches: target)
        if !lock.sdists.isEmpty { _ = try await versionCheck }

        // The deployment tree: the user's --tree, or a scratch one the sandbox mounts read-only.
        // The smoke test runs over it, so it must hold exactly what the zip holds.
        if sandbox != nil, let tree = options.tree, FileSystem.kind(of: tree) == .directory, !(try FileSystem.list(tree)).isEmpty {
            throw UsageError(
                PythonBuildErrorCode.treeNotEmpty,
                "--tree \(tree): not empty; the smoke test runs over this tree, so it must hold only what the zip holds"
            )
        }
        let scratch = sandbox == nil ? nil : try FileSystem.makeTemporaryDirectory(prefix: "airlock-build", in: Self.scratchRoot())
        defer { if let scratch { FileSystem.removeTree(scratch) } }
        let treeRoot = options.tree ?? scratch.map { $0 + "/tree" }

        let (wheels, built) = try await lockedWheels(progress: progress)
        let planned = try await install(wheels, into: treeRoot.map { $0 + "/" + PythonBuild.site }, progress: progress)
        let audit = try audit(planned)
        if let treeRoot { try writeApp(into: treeRoot) }

        var bytecode: CompiledBytecode? = nil
        let pythonVersion = try await versionCheck
        if let runner = sandbox, let treeRoot, let scratch, options.compileBytecode {
            progress?.note("build: compiling bytecode in \(runner.imageReference) (\(runner.runtime.name))")
            bytecode = try await runner.compileBytecode(tree: treeRoot, scratch: scratch)
        }
        if let runner = sandbox, options.smokeTest {
            progress?.note("build: smoke test in \(runner.imageReference) (\(runner.runtime.name)), network off")
        }
        // It runs while the host writes the zip.
        async let smokeTest = Self.smokeTest(options.smokeTest ? sandbox : nil, tree: treeRoot, scratch: scratch, scriptFile: scriptFile, settings: settings)
        let entries = try writeZip(planned, bytecode: bytecode, to: output)
        let functions = try await smokeTest

        let details = PythonAppDetails(
            files: entries,
            bytecode: bytecode.map { .init(files: $0.files.count, invalidation: "checked-hash", skipped: $0.skipped) }
        )
        return ArtifactFacts(
            sandbox: sandbox.map {
                Provenance.Sandbox(
                    runtime: $0.runtime.name, image: BuildInputImage(reference: $0.imageReference, manifest: $0.imageDigest),
                    toolchain: pythonVersion.map { "python " + $0 }, settings: Array(settings.keys)
                )
            },
            functions: functions, audit: Provenance.Audit(elfObjects: audit.files.count, libc: "glibc \(target.glibc)"),
            builtInputs: built.isEmpty ? nil : built, details: try JSONValue(encoding: details)
        )
    }
}

extension PythonBuildPlan {
    /// Every locked file from the store as a wheel: each sdist is first built into one in the
    /// sandbox, offline, from the lock's build requirements. Returns the wheels and the
    /// provenance of those built.
    func lockedWheels(progress: ProgressReporter?) async throws -> ([(LockedFile, String)], [Provenance]) {
        let buildWheels = try (lock.build ?? []).map { (filename: $0.filename, path: try stored($0)) }
        var built: [Provenance] = []
        var wheels: [(LockedFile, String)] = []
        for file in lock.files {
            let path = try stored(file)
            guard !file.filename.hasSuffix(".whl") else {
                wheels.append((file, path))
                continue
            }
            guard let runner = sandbox else {
                throw UsageError(
                    PythonBuildErrorCode.needsSandbox,
                    "\(file.filename): an sdist, built into a wheel in the sandbox; drop --no-sandbox"
                )
            }
            progress?.note("build: building \(file.filename) into a wheel in \(runner.imageReference) (\(runner.runtime.name)), network off")
            let wheel = try await SdistBuilder.build(
                SdistBuildRequest(
                    sdistPath: path, sdistFilename: file.filename, name: file.name, version: file.version, buildWheels: buildWheels,
                    target: target, runtime: runner.runtime, image: runner.runtimeImage, imageName: runner.imageReference,
                    imageDigest: runner.imageDigest.description, sourceDateEpoch: runner.sourceDateEpoch,
                    root: "build:" + name, useCache: options.useCache
                ),
                store: store, output: runner.output
            )
            built.append(wheel.provenance)
            var asWheel = file
            asWheel.filename = wheel.filename
            asWheel.sha256 = wheel.digest.hex
            asWheel.size = wheel.size
            wheels.append((asWheel, wheel.path))
        }
        return (wheels, built)
    }

    /// A locked file's blob, or an error asking for `airlock fetch`.
    func stored(_ file: LockedFile) throws -> String {
        guard let digest = SHA256Digest(file.sha256), store.contains(digest) else {
            throw UsageError(
                CoreErrorCode.notInStore,
                "\(file.filename): not in the store \(store.root); run `airlock fetch --project \(options.project)`"
            )
        }
        return store.blobPath(digest)
    }

    /// Plans every wheel's install (in parallel, `options.jobs` at once) and refuses two wheels
    /// installing one file.
    func install(_ wheels: [(LockedFile, String)], into siteTree: String?, progress: ProgressReporter?) async throws -> [InstalledWheel] {
        let ranking = TagRanking(target)
        let target = self.target
        progress?.start(total: wheels.count, unit: "wheels")
        let planned = try await withThrowingTaskGroup(of: (Int, InstalledWheel).self) { group in
            var results = [InstalledWheel?](repeating: nil, count: wheels.count)
            var pending = Array(wheels.enumerated())[...]
            func next() {
                guard let (i, (file, path)) = pending.popFirst() else { return }
                group.addTask {
                    (i, try WheelInstaller.plan(wheelAt: path, fileName: file.filename, ranking: ranking, target: target, treeRoot: siteTree))
                }
            }
            for _ in 0..<max(1, options.jobs) { next() }
            while let (i, wheel) = try await group.next() {
                results[i] = wheel
                progress?.advance(by: 1)
                next()
            }
            return results.compactMap { $0 }
        }
        progress?.finish("installed \(planned.count) wheels")
        var owner: [String: String] = [:]
        for wheel in planned {
            for file in wheel.files {
                if let other = owner[file.path], other != wheel.name.fileName {
                    throw WheelError(
                        .duplicateFile,
                        "\(PythonBuild.site)\(file.path): installed by both \(other) and \(wheel.name.fileName)"
                    )
                }
                owner[file.path] = wheel.name.fileName
            }
        }
        return planned
    }

    /// Every ELF object checked against the target's glibc and machine.
    func audit(_ planned: [InstalledWheel]) throws -> GlibcAuditReport {
        let audit = try GlibcAudit(target: .init(python: target.pythonVersion, platform: target.platform, glibc: target.glibc))
        let report = audit.audit(files: planned.flatMap { w in w.elfObjects.map { (path: PythonBuild.site + $0.path, bytes: $0.bytes) } })
        try report.check()
        return report
    }

    /// The app's own files into the deployment tree.
    func writeApp(into treeRoot: String) throws {
        for file in app.included {
            let dest = treeRoot + "/" + file.path
            try FileSystem.makeDirectory(FileSystem.parentPath(dest))
            try FileSystem.writeAtomically(dest, appContent[file.path] ?? [], mode: file.isExecutable ? 0o755 : 0o644)
        }
    }

    /// The zip: every entry sorted by path, wheel entries copied compressed, what Airlock writes
    /// itself deflated by the zip writer. Returns the number of entries.
    func writeZip(_ planned: [InstalledWheel], bytecode: CompiledBytecode?, to output: any ArchiveOutput) throws -> Int {
        enum Entry {
            case app(String, Bool)
            case installed(InstalledFile, Int)
            case bytecode([UInt8])
        }
        var entries: [(String, Entry)] = app.included.map { ($0.path, .app($0.path, $0.isExecutable)) }
        for (w, wheel) in planned.enumerated() {
            for file in wheel.files { entries.append((PythonBuild.site + file.path, .installed(file, w))) }
        }
        if let bytecode {
            let taken = Set(entries.map(\.0))
            for file in bytecode.files where !taken.contains(file.path) {
                entries.append((file.path, .bytecode(file.bytes)))
                if let tree = options.tree {
                    let dest = tree + "/" + file.path
                    try FileSystem.makeDirectory(FileSystem.parentPath(dest))
                    try FileSystem.writeAtomically(dest, file.bytes)
                }
            }
        }
        entries.sort { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        let readers = try planned.map { try ZipReader(path: $0.wheelPath) }
        let zip = ZipWriter(output: output, name: name + ".zip", epochSeconds: epoch)
        for (path, entry) in entries {
            switch entry {
            case .app(let rel, let exec):
                try zip.add(path: path, bytes: appContent[rel] ?? [], executable: exec)
            case .bytecode(let bytes):
                try zip.add(path: path, bytes: bytes, executable: false)
            case .installed(let file, let w):
                switch file.source {
                case .generated(let bytes):
                    try zip.add(path: path, bytes: bytes, executable: file.executable)
                case .wheel(let e):
                    try zip.addCompressed(
                        path: path, method: e.method, crc: e.crc32, compressedSize: e.compressedSize,
                        uncompressedSize: e.uncompressedSize, executable: file.executable
                    ) { write in try readers[w].copyCompressed(e, write) }
                }
            }
        }
        try zip.finish()
        return entries.count
    }

    /// The smoke test when the build has a sandbox (and so a tree and a scratch directory); nil without.
    static func smokeTest(
        _ sandbox: PythonSandbox?, tree: String?, scratch: String?, scriptFile: String, settings: [String: String]
    ) async throws -> [SmokeFunction]? {
        guard let sandbox, let tree, let scratch else { return nil }
        return try await sandbox.smokeTest(tree: tree, scriptFile: scriptFile, scratch: scratch, settings: settings)
    }

    /// Where scratch trees go: the tmpfs at /dev/shm when it has room (a tree of thousands of
    /// files is written, read once by the sandbox and removed: memory is the cheapest place for
    /// it, and nothing is written back to disk), else $TMPDIR.
    static func scratchRoot() -> String? {
        let shm = "/dev/shm"
        guard FileSystem.kind(of: shm) == .directory, access(shm, W_OK) == 0,
            let free = try? FileSystem.freeSpace(at: shm), free >= 4 << 30
        else { return nil }
        return shm
    }
}

extension PythonTarget {
    /// The target as the build pipeline records it.
    public var buildTarget: BuildTarget {
        BuildTarget(language: "python", version: pythonVersion, platform: platform, libc: "glibc \(glibc)")
    }
}

extension PythonLock {
    /// Every file the lock names, as build inputs: wheels, sdists and build requirements.
    func inputBlobs() throws -> [BuildInputBlob] {
        func blob(_ file: LockedFile, _ role: String) throws -> BuildInputBlob {
            guard let digest = SHA256Digest(file.sha256) else {
                throw UsageError(
                    PythonErrorCode.badLock,
                    "airlock.lock: \(file.filename) has no valid sha256; lock again"
                )
            }
            return BuildInputBlob(role: role, name: file.filename, sha256: digest)
        }
        return try files.map { try blob($0, $0.filename.hasSuffix(".whl") ? "wheel" : "sdist") }
            + (build ?? []).map { try blob($0, "build-wheel") }
    }
}
