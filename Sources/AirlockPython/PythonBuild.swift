// `airlock build` for a Python v2-model Function App, on the host: the locked wheels (from the store)
// installed as `.python_packages/lib/site-packages`, every ELF object audited against the target's
// glibc and machine, and the app's sources, written as one deterministic zip straight from the
// wheels (their compressed bytes reused; a tree on disk only with `--tree`). Provenance goes beside
// the zip and into the store, and an action cache keyed by everything that can change the output
// (tool version, lock, app sources, target, image, SOURCE_DATE_EPOCH) makes an unchanged rebuild a
// copy. The install and zip stay in Swift on the host; what needs the target's own Python (the
// version check, `.pyc` files, the smoke test that proves the app loads) runs in the sandbox over
// the matched-version image (PythonSandbox.swift), with the deployment tree read-only.

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

    /// The project's name: its directory's name.
    public static func projectName(_ project: String) -> String {
        let absolute = FileSystem.absolute(project)
        let trimmed = absolute.hasSuffix("/") ? String(absolute.dropLast()) : absolute
        let name = FileSystem.baseName(trimmed)
        return name == "." || name.isEmpty ? "app" : name
    }

    /// The app files that go into the zip, and what is left out and why.
    public static func listFiles(project: String, outDirectory: String? = nil) throws -> AppFileList {
        let out = outDirectory ?? (project + "/dist")
        return try AppFiles.list(appDirectory: project, outputDirectory: FileSystem.absolute(out))
    }

    public static func build(_ options: PythonBuildOptions, store: Store, progress: ProgressReporter? = nil) async throws -> PythonBuildResult {
        let project = options.project
        guard FileSystem.kind(of: project) == .directory else { throw UsageError("\(project): no such project directory") }
        let (lock, lockBytes) = try PythonLock.read(project: project)
        let (target, _) = try PythonTarget.resolve(python: lock.target.pythonVersion, platform: lock.target.platform, glibc: lock.target.glibc)
        let name = projectName(project)
        let out = options.resolvedOut
        let app = try listFiles(project: project, outDirectory: out)
        let scriptFile = Environment.get("PYTHON_SCRIPT_FILE_NAME") ?? "function_app.py"
        for required in [scriptFile, "host.json", "requirements.txt"] where !app.included.contains(where: { $0.path == required }) {
            throw UsageError("\(project)/\(required): missing (a v2-model Function App needs \(scriptFile), host.json and requirements.txt at its root)")
        }

        // Everything that can change the zip, hashed into the action-cache key.
        var appLines: [String] = []
        var appContent: [String: [UInt8]] = [:]
        for file in app.included {
            let bytes = try FileSystem.readFile(project + "/" + file.path, limit: 256 << 20)
            appContent[file.path] = bytes
            appLines.append("\(file.path)\0\(file.isExecutable ? 755 : 644)\0\(SHA256Hasher.hash(bytes).hex)")
        }
        let appDigest = SHA256Hasher.hash(Array(appLines.joined(separator: "\n").utf8)).hex
        let lockDigest = SHA256Hasher.hash(lockBytes).hex
        let epoch = options.sourceDateEpoch.map(DOSTime.clamp) ?? DOSTime.defaultEpoch
        guard options.sandbox != nil || !options.compileBytecode else {
            throw UsageError("--compile-bytecode: the .pyc files are written by the target's Python in the sandbox; drop --no-sandbox")
        }
        var prepared: PythonSandbox? = nil
        if let request = options.sandbox {
            prepared = try await PythonSandbox.prepare(image: request.image, runtime: request.runtime, target: target, store: store)
            prepared?.output = request.output
            prepared?.sourceDateEpoch = options.sourceDateEpoch ?? SandboxSpec.defaultSourceDateEpoch
        }
        let sandbox = prepared
        let settings = options.sandbox?.settings ?? [:]
        let settingsDigest = SHA256Hasher.hash(Array(settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\0").utf8)).hex
        let imageLine = sandbox.map { "image \($0.imageDigest.hex) script \(scriptFile) bytecode \(options.compileBytecode) settings \(settingsDigest)" } ?? "host"
        let key = SHA256Hasher.hash(
            Array("airlock-python-build\n\(options.toolVersion)\n\(lockDigest)\n\(appDigest)\n\(target.description)\n\(epoch)\n\(imageLine)\n".utf8)
        ).hex
        let zipName = name + ".zip"
        try FileSystem.makeDirectory(out)
        let zipPath = out + "/" + zipName
        let provenancePath = out + "/provenance.json"
        let imageName = sandbox.map { "\($0.imageReference)@\($0.imageDigest)" }

        if options.useCache, options.tree == nil, let hit = try store.index.cachedAction(key), store.contains(hit.output) {
            if (try? Store.hashFile(zipPath).0) != hit.output { try store.copyBlob(hit.output, to: zipPath) }
            try FileSystem.writeAtomically(provenancePath, Array(hit.metadata.utf8))
            let size = try FileSystem.size(of: zipPath)
            let meta = try? JSONValue(parsing: Array(hit.metadata.utf8))
            progress?.note("build: \(zipName) unchanged (action cache hit)")
            return PythonBuildResult(
                name: name, zip: zipPath, sha256: hit.output.hex, size: size, wheels: lock.files.count,
                files: Int(meta?["files"]?.intValue ?? 0), elfObjects: Int(meta?["audit"]?["elfObjects"]?.intValue ?? 0),
                provenance: provenancePath, cacheHit: true, target: target, functions: meta.flatMap(SmokeFunction.list(from:)),
                image: imageName, runtime: sandbox?.runtime.name,
                bytecodeFiles: Int(meta?["bytecode"]?["files"]?.intValue ?? 0)
            )
        }

        // The image's Python must be the target's: asked while the host installs, awaited before
        // anything runs in the sandbox or is built for it.
        async let versionCheck = sandbox?.checkPython(matches: target)
        if !lock.sdists.isEmpty { _ = try await versionCheck }

        // The deployment tree: the user's --tree, or a scratch one the sandbox mounts read-only.
        // The smoke test runs over it, so it must hold exactly what the zip holds.
        if sandbox != nil, let tree = options.tree, FileSystem.kind(of: tree) == .directory, !(try FileSystem.list(tree)).isEmpty {
            throw UsageError("--tree \(tree): not empty; the smoke test runs over this tree, so it must hold only what the zip holds")
        }
        let scratch = sandbox == nil ? nil : try FileSystem.makeTemporaryDirectory(prefix: "airlock-build", in: Self.scratchRoot())
        defer { if let scratch { try? FileManager.default.removeItem(atPath: scratch) } }
        let treeRoot = options.tree ?? scratch.map { $0 + "/tree" }

        // Every locked file from the store; each sdist is first built into a wheel in the sandbox,
        // offline, from the lock's build requirements.
        func stored(_ file: LockedFile) throws -> String {
            guard let digest = SHA256Digest(file.sha256), store.contains(digest) else {
                throw UsageError("\(file.filename): not in the store \(store.root); run `airlock fetch --project \(project)`")
            }
            return store.blobPath(digest)
        }
        let buildWheels = try (lock.build ?? []).map { (filename: $0.filename, path: try stored($0)) }
        var sdistProvenance: [JSONValue] = []
        var wheels: [(LockedFile, String)] = []
        for file in lock.files {
            let path = try stored(file)
            guard !file.filename.hasSuffix(".whl") else {
                wheels.append((file, path))
                continue
            }
            guard let runner = sandbox else {
                throw UsageError("\(file.filename): an sdist, built into a wheel in the sandbox; drop --no-sandbox")
            }
            progress?.note("build: building \(file.filename) into a wheel in \(runner.imageReference) (\(runner.runtime.name)), network off")
            let built = try await SdistBuilder.build(
                SdistBuildRequest(
                    sdistPath: path, sdistFilename: file.filename, name: file.name, version: file.version, buildWheels: buildWheels,
                    target: target, runtime: runner.runtime, image: runner.runtimeImage, imageName: runner.imageReference,
                    imageDigest: runner.imageDigest.description, sourceDateEpoch: runner.sourceDateEpoch,
                    root: "build:" + name, useCache: options.useCache
                ),
                store: store, output: runner.output
            )
            sdistProvenance.append(built.provenance)
            var asWheel = file
            asWheel.filename = built.filename
            asWheel.sha256 = built.digest.hex
            asWheel.size = built.size
            wheels.append((asWheel, built.path))
        }
        let ranking = TagRanking(target)
        let siteTree = treeRoot.map { $0 + "/" + site }
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
                    throw WheelError("\(site)\(file.path): installed by both \(other) and \(wheel.name.fileName)")
                }
                owner[file.path] = wheel.name.fileName
            }
        }
        let audit = try GlibcAudit(target: .init(python: target.pythonVersion, platform: target.platform, glibc: target.glibc))
        let report = audit.audit(files: planned.flatMap { w in w.elfObjects.map { (path: site + $0.path, bytes: $0.bytes) } })
        try report.check()

        if let treeRoot {
            for file in app.included {
                let dest = treeRoot + "/" + file.path
                try FileSystem.makeDirectory(FileSystem.parentPath(dest))
                try FileSystem.writeAtomically(dest, appContent[file.path] ?? [], mode: file.isExecutable ? 0o755 : 0o644)
            }
        }

        // In the sandbox: bytecode, then the smoke test over exactly what the zip will hold.
        var bytecode: CompiledBytecode? = nil
        let pythonVersion = try await versionCheck
        if let runner = sandbox, let treeRoot, let scratch, options.compileBytecode {
            progress?.note("build: compiling bytecode in \(runner.imageReference) (\(runner.runtime.name))")
            bytecode = try await runner.compileBytecode(tree: treeRoot, scratch: scratch)
        }
        if let runner = sandbox {
            progress?.note("build: smoke test in \(runner.imageReference) (\(runner.runtime.name)), network off")
        }
        // It runs while the host writes the zip; the zip is renamed into place only if it passes.
        async let smokeTest = Self.smokeTest(sandbox, tree: treeRoot, scratch: scratch, scriptFile: scriptFile, settings: settings)

        // The zip: every entry sorted by path, wheel entries copied compressed.
        enum Entry {
            case app(String, Bool)
            case installed(InstalledFile, Int)
            case bytecode([UInt8])
        }
        var entries: [(String, Entry)] = app.included.map { ($0.path, .app($0.path, $0.isExecutable)) }
        for (w, wheel) in planned.enumerated() {
            for file in wheel.files { entries.append((site + file.path, .installed(file, w))) }
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
        let staging = out + "/." + zipName + ".unchecked-\(Environment.processID)"
        defer { try? FileSystem.remove(staging) }
        let hashing = HashingOutput(try FileArchiveOutput(path: staging))
        let zip = ZipWriter(output: hashing, name: zipPath, epochSeconds: epoch)
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
        let functions = try await smokeTest
        try FileSystem.rename(staging, to: zipPath)
        let digest = hashing.digest
        let size = hashing.bytes

        // Provenance, the store, the cache.
        var provenance: [String: JSONValue] = [
            "schema": .int(1),
            "kind": .string("python-function-app"),
            "project": .string(name),
            "tool": .string("airlock \(options.toolVersion)"),
            "target": target.json,
            "sourceDateEpoch": options.sourceDateEpoch.map { .int($0) } ?? .null,
            "lock": .object(["sha256": .string(lockDigest)]),
            "app": .object(["sha256": .string(appDigest), "files": .int(Int64(app.included.count)), "script": .string(scriptFile)]),
            "wheels": .array(lock.files.map { .object(["filename": .string($0.filename), "sha256": .string($0.sha256)]) }),
            "files": .int(Int64(entries.count)),
            "audit": .object(["elfObjects": .int(Int64(report.files.count)), "glibc": .string(target.glibc)]),
            "output": .object(["name": .string(zipName), "sha256": .string(digest.hex), "size": .int(Int64(size))]),
            "sandbox": .null,
            "functions": .null,
            "bytecode": .null,
            "sdists": .array(sdistProvenance),
        ]
        if let sandbox {
            provenance["sandbox"] = .object([
                "runtime": .string(sandbox.runtime.name),
                "image": .object(["reference": .string(sandbox.imageReference), "digest": .string(sandbox.imageDigest.description)]),
                "python": pythonVersion.map(JSONValue.string) ?? .null,
                "network": .string("none"),
                "settings": .array(settings.keys.sorted().map(JSONValue.string)),
            ])
        }
        if let functions { provenance["functions"] = .array(functions.map(\.json)) }
        if let bytecode {
            provenance["bytecode"] = .object([
                "files": .int(Int64(bytecode.files.count)), "invalidation": .string("checked-hash"),
                "skipped": .array(bytecode.skipped.map(JSONValue.string)),
            ])
        }
        let provenanceBytes = JSONValue.object(provenance).canonicalBytes
        try FileSystem.writeAtomically(provenancePath, provenanceBytes)
        let put = try store.put(path: zipPath)
        guard put.digest == digest else { throw CheckFailure("\(zipPath): changed while it was being stored") }
        try store.commit([(put.digest, put.temporaryPath)])
        try store.index.record(
            [BlobEntry(digest: digest, size: size, kind: "artifact", name: name, filename: zipName, mediaType: "application/zip", origin: "build:python")]
        )
        let document = String(decoding: provenanceBytes, as: UTF8.self)
        try store.index.recordProvenance(document, of: digest)
        try store.index.recordAction(key, output: digest, metadata: document)
        return PythonBuildResult(
            name: name, zip: zipPath, sha256: digest.hex, size: size, wheels: planned.count, files: entries.count,
            elfObjects: report.files.count, provenance: provenancePath, cacheHit: false, target: target, functions: functions,
            image: imageName, runtime: sandbox?.runtime.name, bytecodeFiles: bytecode?.files.count ?? 0
        )
    }
}

extension PythonBuild {
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

/// What `airlock seal --project` carries: the built zip with its provenance, and the wheels it came from.
public struct BuiltPythonApp: Sendable {
    public let name: String
    public let zipPath: String
    public let provenance: JSONValue
    public let target: PythonTarget
    /// What the zip came from, to carry beside it: the locked wheels (`wheel`), sdists (`sdist`)
    /// with the wheels built from them (`wheel`, with their build provenance) and the build
    /// requirements (`build-wheel`).
    public let inputs: [BuiltInput]

    public struct BuiltInput: Sendable {
        public let filename: String
        public let path: String
        public let kind: String
        public let provenance: JSONValue?
    }
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
            throw UsageError("\(zipPath): not built yet; run `airlock build --project \(project)` first")
        }
        let provenance = try JSONValue(parsing: try FileSystem.readFile(provenancePath, limit: 16 << 20))
        let (lock, lockBytes) = try PythonLock.read(project: project)
        guard provenance["lock"]?["sha256"]?.stringValue == SHA256Hasher.hash(lockBytes).hex else {
            throw UsageError("\(zipPath): built from an older airlock.lock; run `airlock build --project \(project)` again")
        }
        guard provenance["output"]?["sha256"]?.stringValue == (try Store.hashFile(zipPath).0.hex) else {
            throw UsageError("\(zipPath): does not match \(provenancePath); run `airlock build --project \(project)` again")
        }
        func stored(_ filename: String, _ sha256: String?) throws -> String {
            guard let sha256, let digest = SHA256Digest(sha256), store.contains(digest) else {
                throw UsageError("\(filename): not in the store \(store.root); run `airlock fetch --project \(project)` and build again")
            }
            return store.blobPath(digest)
        }
        var inputs = try lock.files.map { file in
            BuiltPythonApp.BuiltInput(
                filename: file.filename, path: try stored(file.filename, file.sha256),
                kind: file.filename.hasSuffix(".whl") ? "wheel" : "sdist", provenance: nil
            )
        }
        for file in lock.build ?? [] {
            inputs.append(.init(filename: file.filename, path: try stored(file.filename, file.sha256), kind: "build-wheel", provenance: nil))
        }
        for built in provenance["sdists"]?.arrayValue ?? [] {
            guard let filename = built["output"]?["filename"]?.stringValue else { continue }
            inputs.append(
                .init(filename: filename, path: try stored(filename, built["output"]?["sha256"]?.stringValue), kind: "wheel", provenance: built)
            )
        }
        return BuiltPythonApp(name: name, zipPath: zipPath, provenance: provenance, target: lock.target, inputs: inputs)
    }
}

/// Passes bytes through to another output, hashing them on the way.
final class HashingOutput: ArchiveOutput {
    private let inner: any ArchiveOutput
    private let hasher = SHA256Hasher()
    private(set) var bytes = 0
    private var finished: SHA256Digest? = nil

    init(_ inner: any ArchiveOutput) { self.inner = inner }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        hasher.update(chunk)
        bytes += chunk.count
        try inner.write(chunk)
    }

    func close() throws {
        finished = hasher.finalize()
        try inner.close()
    }

    var digest: SHA256Digest { finished ?? SHA256Digest(bytes: [UInt8](repeating: 0, count: 32)) }
}
