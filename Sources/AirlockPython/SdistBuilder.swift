// Building one sdist into a wheel for `airlock build`, in the sandbox with the network off, from build
// requirements that are themselves locked wheels in the store. The image needs nothing but python3:
// the frontend is the script below, and the backend and everything it imports come from the lock.
//
// The sdist is hostile input, read on the host before anything runs: one top-level `NAME-VERSION/`
// directory, no absolute paths, no `..`, no hard links, devices or FIFOs, no symbolic link that
// leaves the tree or passes through another link, no member below a link, size caps. Nothing the
// host writes while unpacking follows a link.
//
// Why the sources are copied inside the sandbox: backends write into the source tree (setuptools'
// build/ and *.egg-info), and a writable mount the host reads back afterwards could be turned into
// links pointing anywhere on the host. So the unpacked tree and the build environment are mounted
// read-only, the frontend copies the tree to the sandbox's private /tmp and builds there, and the one
// writable mount, /airlock/out, receives only the wheel and a small JSON note, which the host
// accepts only as regular files at the top of that directory.
//
// Reproducibility: SOURCE_DATE_EPOCH comes from the spec, PYTHONHASHSEED is fixed, and the tree is
// always built at the same path (/tmp/airlock-build/src), so a deterministic backend (setuptools is,
// given SOURCE_DATE_EPOCH) makes the same wheel twice. The build runs through the artifact pipeline:
// its action cache, keyed by every input (sdist, build wheels, image digest, target, epoch, frontend;
// not the runtime, which must not change the bytes), makes a second build a lookup.

public import AirlockContainer
public import AirlockCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One sdist to build into a wheel.
public struct SdistBuildRequest: Sendable {
    /// The sdist (usually its blob in the store) and its file name (`NAME-VERSION.tar.gz` or `.zip`).
    public var sdistPath: String
    public var sdistFilename: String
    /// The project name and version the lock gives; the sdist and the wheel must agree with them.
    public var name: String
    public var version: String
    /// The wheels of the build environment (the lock's `build` files), as paths to their blobs.
    public var buildWheels: [(filename: String, path: String)]
    public var target: PythonTarget
    public var runtime: any ContainerRuntime
    /// What the runtime runs: a rootfs directory for bwrap, an image reference for docker/podman.
    public var image: String
    /// How provenance names the image (not a path of this machine), and its digest.
    public var imageName: String
    public var imageDigest: String
    public var sourceDateEpoch: Int64
    public var timeLimit: Duration
    /// Where to unpack (default: the store's tmp/); removed afterwards.
    public var scratch: String?
    /// A GC root for the built wheel (e.g. `lock:<project>`, as fetch uses).
    public var root: String?
    public var useCache: Bool

    public init(
        sdistPath: String,
        sdistFilename: String,
        name: String,
        version: String,
        buildWheels: [(filename: String, path: String)],
        target: PythonTarget,
        runtime: any ContainerRuntime,
        image: String,
        imageName: String,
        imageDigest: String,
        sourceDateEpoch: Int64 = SandboxSpec.defaultSourceDateEpoch,
        timeLimit: Duration = .seconds(1800),
        scratch: String? = nil,
        root: String? = nil,
        useCache: Bool = true
    ) {
        self.sdistPath = sdistPath
        self.sdistFilename = sdistFilename
        self.name = name
        self.version = version
        self.buildWheels = buildWheels
        self.target = target
        self.runtime = runtime
        self.image = image
        self.imageName = imageName
        self.imageDigest = imageDigest
        self.sourceDateEpoch = sourceDateEpoch
        self.timeLimit = timeLimit
        self.scratch = scratch
        self.root = root
        self.useCache = useCache
    }
}

/// A wheel built from an sdist, in the store.
public struct BuiltSdistWheel: Sendable {
    public let filename: String
    public let digest: SHA256Digest
    /// The wheel's blob in the store.
    public let path: String
    public let size: Int
    /// Its inputs (the sdist, the build wheels, the image), the runtime it ran in, the backend.
    public let provenance: Provenance
    public let cacheHit: Bool
}

/// Why an sdist was not built. `checkFailed` for an sdist or wheel that is not what it claims (a
/// hostile member, a wheel of another project); `badInput` for a build that failed.
public struct SdistError: AirlockError {
    public let description: String
    public let status: ExitStatus
    public let code: ErrorCode

    public init(_ code: SdistErrorCode, _ description: String, status: ExitStatus = .badInput) {
        self.description = description
        self.status = status
        self.code = code.code
    }
}

public enum SdistBuilder {
    /// Builds `request`'s sdist into a wheel in the sandbox and puts it in the store (kind "wheel",
    /// origin "build:sdist"), through the artifact pipeline: its inputs (the sdist, the build
    /// wheels, the image, the target, the epoch, the frontend) are the action-cache key, so a
    /// second build of the same inputs is a lookup. The runtime is not an input: every runtime
    /// must make the same wheel. Container output goes to `output` as it comes.
    public static func build(
        _ request: SdistBuildRequest,
        store: Store,
        output: SandboxOutput = .discard
    ) async throws -> BuiltSdistWheel {
        let filename = request.sdistFilename
        guard let parsed = SdistName(filename, project: request.name) else {
            throw SdistError(.badName, "\(filename): not an sdist file name (NAME-VERSION.tar.gz or NAME-VERSION.zip)")
        }
        guard SdistName.sameVersion(parsed.version, request.version) else {
            throw SdistError(
                .versionMismatch,
                "\(filename): the lock says version \(request.version)",
                status: .checkFailed
            )
        }
        guard let imageDigest = SHA256Digest(request.imageDigest) else {
            throw SdistError(
                .badImageDigest,
                "\(filename): the image digest '\(request.imageDigest)' is not a sha256 digest"
            )
        }
        let sdistDigest = try Store.hashFile(request.sdistPath).0
        let buildWheels = try request.buildWheels.map { wheel in
            (filename: wheel.filename, path: wheel.path, sha256: try Store.hashFile(wheel.path).0.hex)
        }.sorted { $0.filename < $1.filename }
        let image = BuildInputImage(reference: request.imageName, manifest: imageDigest)
        let inputs = BuildInputs(
            kind: artifactKind, tool: "airlock sdist frontend 1", target: request.target.buildTarget,
            blobs: [BuildInputBlob(role: "sdist", name: filename, sha256: sdistDigest)]
                + buildWheels.compactMap { w in SHA256Digest(w.sha256).map { BuildInputBlob(role: "build-wheel", name: w.filename, sha256: $0) } },
            image: image, options: ["frontend": SHA256Hasher.hash(Array(frontend.utf8)).hex],
            sourceDateEpoch: request.sourceDateEpoch
        )
        let pipelineRequest = ArtifactRequest(
            inputs: inputs, project: WheelName.normalize(request.name), outputName: filename + ".whl", mediaType: "application/zip",
            outDirectory: nil, entryKind: "wheel", entryName: WheelName.normalize(request.name), entryVersion: request.version,
            origin: "build:sdist", roots: request.root.map { [$0] } ?? [], useCache: request.useCache
        )
        var scratch: String? = nil
        defer { if let scratch { FileSystem.removeTree(scratch) } }
        let built = try await ArtifactPipeline.build(pipelineRequest, store: store) {
            let directory = try FileSystem.makeTemporaryDirectory(prefix: "sdist-build", in: request.scratch ?? store.temporaryDirectory)
            scratch = directory
            let outputs = try await runFrontend(
                request, parsed: parsed, buildWheels: buildWheels, scratch: directory, arguments: [], output: output
            )
            let (wheelPath, note) = try checkedWheel(in: outputs, request: request, parsed: parsed)
            var details: [String: JSONValue] = [:]
            for key in ["backend", "requires"] { if let value = note[key], value != .null { details[key] = value } }
            let facts = ArtifactFacts(
                sandbox: Provenance.Sandbox(runtime: request.runtime.name, image: image, toolchain: nil, settings: []),
                details: details.isEmpty ? nil : .object(details), outputName: FileSystem.baseName(wheelPath)
            )
            return (wheelPath, facts)
        }
        return BuiltSdistWheel(
            filename: built.provenance.output.name, digest: built.provenance.output.sha256, path: built.path,
            size: built.provenance.output.size, provenance: built.provenance, cacheHit: built.cacheHit
        )
    }

    /// The provenance kind of a wheel built from an sdist.
    public static let artifactKind = "python-sdist-wheel"

    /// What the frontend left: a note and one wheel, regular files only; the wheel is of the sdist's
    /// project and version, and installs for the target (tags, RECORD hashes, member names).
    private static func checkedWheel(
        in outputs: String, request: SdistBuildRequest, parsed: SdistName
    ) throws -> (path: String, note: JSONValue) {
        let filename = request.sdistFilename
        let names = try FileSystem.list(outputs)
        guard FileSystem.kind(of: outputs + "/build.json") == .regular,
            let note = try? JSONValue(parsing: FileSystem.readFile(outputs + "/build.json", limit: 1 << 20)),
            let wheelName = note["wheel"]?.stringValue, names.sorted() == ["build.json", wheelName].sorted(),
            FileSystem.kind(of: outputs + "/" + wheelName) == .regular
        else {
            throw SdistError(
                .badOutput,
                "\(filename): the build left \(names.sorted()) instead of one wheel",
                status: .checkFailed
            )
        }
        let wheelPath = outputs + "/" + wheelName
        let wheel: WheelName
        do { wheel = try WheelName(wheelName) } catch {
            throw SdistError(.badOutput, "\(filename): the build made \(error)", status: .checkFailed)
        }
        guard WheelName.normalize(wheel.distribution) == WheelName.normalize(parsed.name),
            SdistName.sameVersion(wheel.version, parsed.version)
        else {
            throw SdistError(
                .wrongWheel,
                "\(filename): the build made \(wheelName), not a wheel of \(parsed.name) \(parsed.version)",
                status: .checkFailed
            )
        }
        _ = try WheelInstaller.plan(wheelAt: wheelPath, fileName: wheelName, ranking: TagRanking(request.target), target: request.target)
        return (wheelPath, note)
    }

    /// The sdist's core metadata as its backend gives it: `prepare_metadata_for_build_wheel`, or
    /// the METADATA of the wheel `build_wheel` makes when the backend has no such hook, run in the
    /// sandbox exactly as a build is (network off, the sources read-only and copied, the locked
    /// build wheels as the only environment). For `airlock lock`, when an sdist's PKG-INFO does not
    /// say its dependencies statically. Nothing is stored.
    package static func metadata(
        _ request: SdistBuildRequest,
        scratch: String,
        output: SandboxOutput = .discard
    ) async throws -> (metadata: [UInt8], via: String) {
        let filename = request.sdistFilename
        guard let parsed = SdistName(filename, project: request.name) else {
            throw SdistError(.badName, "\(filename): not an sdist file name (NAME-VERSION.tar.gz or NAME-VERSION.zip)")
        }
        let buildWheels = try request.buildWheels.map { wheel in
            (filename: wheel.filename, path: wheel.path, sha256: try Store.hashFile(wheel.path).0.hex)
        }.sorted { $0.filename < $1.filename }
        let outputs = try await runFrontend(
            request,
            parsed: parsed,
            buildWheels: buildWheels,
            scratch: scratch,
            arguments: ["metadata"],
            output: output
        )
        let names = try FileSystem.list(outputs)
        guard names.sorted() == ["METADATA", "build.json"],
            FileSystem.kind(of: outputs + "/METADATA") == .regular,
            FileSystem.kind(of: outputs + "/build.json") == .regular,
            let note = try? JSONValue(parsing: FileSystem.readFile(outputs + "/build.json", limit: 1 << 20)),
            let via = note["via"]?.stringValue
        else {
            throw SdistError(
                .badOutput,
                "\(filename): the metadata step left \(names.sorted()) instead of METADATA",
                status: .checkFailed
            )
        }
        return (try FileSystem.readFile(outputs + "/METADATA", limit: 16 << 20), via)
    }

    /// Unpacks the sdist (checked as hostile input first) and the build environment under
    /// `scratch`, and runs the frontend with `arguments` in the sandbox; returns the directory that
    /// was its one writable mount.
    private static func runFrontend(
        _ request: SdistBuildRequest,
        parsed: SdistName,
        buildWheels: [(filename: String, path: String, sha256: String)],
        scratch: String,
        arguments: [String],
        output: SandboxOutput
    ) async throws -> String {
        let filename = request.sdistFilename
        let inputs = scratch + "/in"
        let outputs = scratch + "/out"
        for dir in [inputs, outputs] { try FileSystem.makeDirectory(dir) }

        // The sources, checked and unpacked before anything runs.
        _ = try SdistArchive.read(
            path: request.sdistPath,
            filename: filename,
            name: parsed.name,
            version: parsed.version,
            extractTo: inputs + "/source"
        )

        // The build environment: the locked wheels installed as a site directory.
        let ranking = TagRanking(request.target)
        var owner: [String: String] = [:]
        for wheel in buildWheels {
            let installed = try WheelInstaller.plan(
                wheelAt: wheel.path,
                fileName: wheel.filename,
                ranking: ranking,
                target: request.target,
                treeRoot: inputs + "/env"
            )
            for file in installed.files {
                if let other = owner[file.path] {
                    throw SdistError(
                        .environmentConflict,
                        "build environment of \(filename): \(file.path) is in both \(other) and \(wheel.filename)"
                    )
                }
                owner[file.path] = wheel.filename
            }
        }
        try FileSystem.makeDirectory(inputs + "/env")
        try FileSystem.writeAtomically(inputs + "/frontend.py", Array(frontend.utf8))

        let spec = SandboxSpec(
            image: request.image,
            arguments: ["python3", "-S", "/airlock/in/frontend.py"] + arguments,
            workingDirectory: "/",
            mounts: [Mount(source: inputs, target: "/airlock/in"), .output(outputs, at: "/airlock/out")],
            environment: ["PYTHONHASHSEED": "0", "PYTHONPATH": "/airlock/in/env"],
            sourceDateEpoch: request.sourceDateEpoch,
            timeLimit: request.timeLimit,
            output: output
        )
        let result = try await request.runtime.run(spec)
        guard !result.timedOut else {
            throw SdistError(
                .timeLimit,
                "\(filename): the build ran past its time limit of \(request.timeLimit) and was stopped"
            )
        }
        guard result.status == 0 else { throw failure(filename, result) }
        return outputs
    }

    /// The frontend's own message when it stopped on purpose, with the code its exit status gives
    /// (Resources/pep517_frontend.py); otherwise the output's last lines (a backend's traceback ends
    /// there).
    private static func failure(_ filename: String, _ result: SandboxResult) -> SdistError {
        let lines = result.tail.split(separator: "\n").map(String.init)
        if let own = lines.last(where: { $0.hasPrefix(frontendPrefix) }) {
            let code: SdistErrorCode =
                switch result.status {
                case 4: .badBuildSystem
                case 5: .missingBuildRequirement
                default: .buildFailed
                }
            return SdistError(code, "\(filename): \(own.dropFirst(frontendPrefix.count))")
        }
        let tail = lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.suffix(20)
        return SdistError(
            .buildFailed,
            "\(filename): the build backend failed (exit \(result.status)):\n" + tail.joined(separator: "\n")
        )
    }

    static let frontendPrefix = "airlock-frontend: "

    /// The PEP 517 frontend (Resources/pep517_frontend.py). Its `build_system(path)` reads a
    /// pyproject.toml's `[build-system]` with PEP 517/518's defaults, as pip 23 applies them (no file
    /// or no table: setuptools' legacy backend with setuptools and wheel); `airlock lock` runs it as
    /// `pep517_frontend.py build-system PYPROJECT...`, so the lock and the build read a pyproject
    /// the same way.
    static var buildSystemPython: String { PythonResources.pep517Frontend }

    /// The frontend run in the sandbox as `python3 -S`: no site-packages of the image, only the
    /// standard library, the build environment and the backend path.
    static var frontend: String { PythonResources.pep517Frontend }
}
