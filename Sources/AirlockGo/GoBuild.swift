// `airlock build` for a Go custom handler, over the one artifact pipeline (AirlockCore's
// ArtifactPipeline). The inputs: the lock, the toolchain blob, every locked module's blobs, the
// project's files, the image, the platform and the build flags. On a cache miss, in the sandbox
// (network off): the toolchain unpacked read-only at /airlock/go, the locked modules exported from
// the store as a read-only GOPROXY tree at /airlock/goproxy, the project read-only at /airlock/src,
// and an empty GOCACHE and GOMODCACHE on the sandbox's private /tmp:
//
//   GOFLAGS=-mod=mod (or -mod=vendor) GOPROXY=file:///airlock/goproxy GOSUMDB=off GOTOOLCHAIN=local
//   CGO_ENABLED=0 GOOS=linux GOARCH=<target>
//   go build -trimpath -buildvcs=false -ldflags="-s -w -buildid=" -o /airlock/out/<handler> .
//
// GOSUMDB is off because go.sum pins every module and Airlock checked each against it when it was
// fetched. Then the ELF check (HandlerELFCheck, in Swift), the smoke test (the handler started in
// the sandbox with FUNCTIONS_CUSTOMHANDLER_PORT on the sandbox's own loopback must accept a TCP
// connection within the time limit; it runs only when the target's CPU is the host's), and the
// deterministic zip: host.json and each function.json byte for byte, the handler at host.json's
// path with mode 0755.

public import AirlockContainer
public import AirlockCore
import Foundation

public struct GoBuildOptions: Sendable {
    public var project: String
    public var outDirectory: String?
    public var platform: GoPlatform
    public var sourceDateEpoch: Int64?
    public var toolVersion: String
    public var useCache: Bool
    public var runtime: any ContainerRuntime
    /// The image in the store (NAME[:TAG] or digest).
    public var image: String
    public var output: SandboxOutput
    /// How long the handler has to listen.
    public var smokeTimeLimit: Duration

    public init(
        project: String, outDirectory: String? = nil, platform: GoPlatform = .linuxAMD64, sourceDateEpoch: Int64? = nil,
        toolVersion: String, useCache: Bool = true, runtime: any ContainerRuntime, image: String,
        output: SandboxOutput = .discard, smokeTimeLimit: Duration = .seconds(20)
    ) {
        self.project = project
        self.outDirectory = outDirectory
        self.platform = platform
        self.sourceDateEpoch = sourceDateEpoch
        self.toolVersion = toolVersion
        self.useCache = useCache
        self.runtime = runtime
        self.image = image
        self.output = output
        self.smokeTimeLimit = smokeTimeLimit
    }

    var resolvedOut: String { outDirectory ?? (project + "/dist") }
}

public struct GoBuildResult: Sendable, Codable {
    public var name: String
    public var zip: String
    public var sha256: String
    public var size: Int
    public var provenance: String
    public var cacheHit: Bool
    public var go: String
    public var platform: String
    public var handler: String
    public var modules: Int
    public var functions: [AppFunction]
    /// `NAME[:TAG]@sha256:…`.
    public var image: String
    public var runtime: String
    /// What the ELF check saw (`ELF 64-bit LSB executable, x86-64, statically linked`).
    public var elf: String
    /// Nil when the smoke test ran; else why not (another CPU than the host's).
    public var smokeSkipped: String?
}

/// The Go-specific facts in a handler's provenance (`details`).
public struct GoHandlerDetails: Codable, Sendable, Equatable {
    public var handler: String
    public var elf: String
    public var enableForwardingHttpRequest: Bool
    public var extensionBundle: String?
    public var buildFlags: [String]
    public var vendored: Bool
    public var smoke: String
}

public enum GoBuild {
    public static let artifactKind = "go-custom-handler"
    /// The image a Go build runs in when none is named: Debian bookworm minbase (a Go handler
    /// needs no C library; the image gives the sandbox a shell for the smoke test).
    public static let defaultImage = "airlock-base:bookworm"
    public static let defaultImageSuite = "bookworm"
    static let buildFlags = ["-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="]

    static let goRoot = "/airlock/go"
    static let proxyRoot = "/airlock/goproxy"
    static let sourceRoot = "/airlock/src"
    static let outputRoot = "/airlock/out"
    static let appRoot = "/home/site/wwwroot"

    public static func build(_ options: GoBuildOptions, store: Store, progress: ProgressReporter? = nil) async throws
        -> GoBuildResult
    {
        let project = options.project
        let name = projectName(project)
        let (lock, lockBytes) = try GoLock.read(project: project)
        try lock.checkCurrent(project: project)
        let app = try GoFunctionsApp(project: project)
        guard let toolchain = try GoToolchain.list(in: store).first(where: { $0.digest == lock.toolchain.sha256 }) else {
            _ = try GoToolchain.find(version: lock.toolchain.version, platform: GoLocker.hostPlatform, in: store)
            throw UsageError(
                GoToolchainErrorCode.noToolchain,
                "\(lock.toolchain.name) with sha256 \(lock.toolchain.sha256.hex) (the one \(project)/airlock.lock pins) is not in the store: on the connected host, airlock go toolchain add FILE --sha256 \(lock.toolchain.sha256.hex) (or lock again to pin the one the store has)"
            )
        }
        let modules = lock.vendored ? [] : try GoModuleStore.require(lock, in: store, project: project)
        if lock.vendored {
            try VendorModules(contentsOf: project + "/vendor/modules.txt").check(
                against: try GoModFile(contentsOf: project + "/go.mod")
            )
        }
        let image = try ImageCatalog.resolve(options.image, in: store)
        let out = FileSystem.absolute(options.resolvedOut)
        let files = try sourceFiles(project: project, excluding: out)

        var blobs = [BuildInputBlob(role: "toolchain", name: toolchain.filename, sha256: toolchain.digest)]
        for stored in modules {
            blobs.append(BuildInputBlob(role: "go-mod", name: stored.module.description, sha256: stored.goMod))
            if let zip = stored.zip { blobs.append(BuildInputBlob(role: "module", name: stored.module.description, sha256: zip)) }
        }
        let epoch = options.sourceDateEpoch ?? SandboxSpec.defaultSourceDateEpoch
        let inputs = BuildInputs(
            kind: artifactKind, tool: "airlock " + options.toolVersion,
            target: BuildTarget(language: "go", version: toolchain.version, platform: options.platform.description),
            lock: SHA256Hasher.hash(lockBytes), blobs: blobs, files: files,
            image: BuildInputImage(reference: options.image, manifest: image.manifest), script: app.handlerPath,
            options: ["goflags": lock.vendored ? "-mod=vendor" : "-mod=mod", "build": buildFlags.joined(separator: " ")],
            sourceDateEpoch: epoch
        )
        let request = ArtifactRequest(
            inputs: inputs, project: name, outputName: name + ".zip", mediaType: "application/zip", outDirectory: out,
            origin: "build:go", roots: ["build:" + name], useCache: options.useCache
        )
        let host = GoPlatform.host
        let built = try await ArtifactPipeline.build(request, store: store) { output in
            let scratch = FileSystem.absolute(
                try FileSystem.makeTemporaryDirectory(prefix: "airlock-go-build", in: store.temporaryDirectory)
            )
            defer { FileSystem.removeTree(scratch) }
            progress?.note("build: go \(toolchain.version) for \(options.platform) in \(options.image) (\(options.runtime.name), network off)")
            let root = try toolchain.unpacked(in: store)
            let proxy = scratch + "/goproxy"
            try FileSystem.makeDirectory(proxy)
            try GoModuleStore.export(modules, from: store, to: proxy)
            let binDirectory = scratch + "/bin"
            try FileSystem.makeDirectory(binDirectory)
            let runtimeImage = try await options.runtime.prepare(image, from: store)
            let handlerName = "handler"
            let compiled = try await options.runtime.run(
                SandboxSpec(
                    image: runtimeImage,
                    arguments: [goRoot + "/bin/go", "build"] + buildFlags + ["-o", outputRoot + "/" + handlerName, "."],
                    workingDirectory: sourceRoot,
                    mounts: [
                        Mount(source: root, target: goRoot), Mount(source: proxy, target: proxyRoot),
                        Mount(source: FileSystem.absolute(project), target: sourceRoot), .output(binDirectory, at: outputRoot),
                    ],
                    environment: environment(platform: options.platform, vendored: lock.vendored),
                    sourceDateEpoch: epoch, timeLimit: .seconds(1800), output: options.output
                )
            )
            guard compiled.succeeded else {
                throw CheckFailure(
                    GoBuildErrorCode.buildFailed,
                    "go build in \(options.image) failed\(compiled.timedOut ? " (timed out)" : " with status \(compiled.status)"):\n\(compiled.tail)"
                )
            }
            let binary = binDirectory + "/" + handlerName
            let report = try HandlerELFCheck.check(binary, target: options.platform)
            guard report.isOK else {
                throw CheckFailure(
                    GoModuleErrorCode.badHandler,
                    "the built handler would not start on the Functions host: \(report.summary); \(report.findings.joined(separator: "; "))"
                )
            }
            let handlerBytes = try FileSystem.readFile(binary, limit: 1 << 30)
            // The app as the host sees it, for the smoke test: host.json, the functions, the handler.
            let tree = scratch + "/app"
            try writeTree(app, handler: handlerBytes, to: tree)
            var smoke = "skipped: the target's CPU (\(options.platform.arch)) is not this host's (\(host.arch))"
            if options.platform == host {
                smoke = try await smokeTest(
                    tree: tree, handler: app.handlerPath, runtime: options.runtime, image: runtimeImage,
                    imageName: options.image, epoch: epoch, timeLimit: options.smokeTimeLimit, output: options.output
                )
                progress?.note("build: smoke test: \(smoke)")
            }
            let zip = ZipWriter(output: output, name: name + ".zip", epochSeconds: epoch)
            var entries: [(String, [UInt8], Bool)] = [("host.json", app.hostJSON, false), (app.handlerPath, handlerBytes, true)]
            for function in app.functions { entries.append((function.name + "/function.json", function.bytes, false)) }
            for (path, bytes, executable) in entries.sorted(by: { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }) {
                try zip.add(path: path, bytes: bytes, executable: executable)
            }
            try zip.finish()
            let details = GoHandlerDetails(
                handler: app.handlerPath, elf: report.summary, enableForwardingHttpRequest: app.enableForwardingHttpRequest,
                extensionBundle: app.extensionBundle, buildFlags: buildFlags, vendored: lock.vendored, smoke: smoke
            )
            return ArtifactFacts(
                sandbox: Provenance.Sandbox(
                    runtime: options.runtime.name, image: BuildInputImage(reference: options.image, manifest: image.manifest),
                    toolchain: "go " + toolchain.version, settings: []
                ),
                functions: app.functions.map(\.function),
                details: try JSONValue(encoding: details)
            )
        }
        let details = built.provenance.details(as: GoHandlerDetails.self)
        return GoBuildResult(
            name: name, zip: built.path, sha256: built.provenance.output.sha256.hex, size: built.provenance.output.size,
            provenance: request.provenancePath ?? "", cacheHit: built.cacheHit, go: toolchain.version,
            platform: options.platform.description, handler: app.handlerPath, modules: modules.count,
            functions: built.provenance.functions ?? [], image: "\(options.image)@\(image.manifest)",
            runtime: built.provenance.sandbox?.runtime ?? options.runtime.name, elf: details?.elf ?? "",
            smokeSkipped: details.flatMap { $0.smoke.hasPrefix("skipped") ? $0.smoke : nil }
        )
    }

    /// The environment of the sandboxed `go build`: nothing from the host.
    static func environment(platform: GoPlatform, vendored: Bool) -> [String: String] {
        [
            "GOROOT": goRoot, "PATH": goRoot + "/bin:/usr/local/bin:/usr/bin:/bin", "GOPROXY": "file://" + proxyRoot,
            "GOFLAGS": vendored ? "-mod=vendor" : "-mod=mod", "GOSUMDB": "off", "GONOSUMDB": "", "GOPRIVATE": "",
            "GONOPROXY": "", "GOTOOLCHAIN": "local", "GOENV": "off", "GOWORK": "off", "CGO_ENABLED": "0",
            "GOOS": platform.os, "GOARCH": platform.arch, "GOCACHE": "/tmp/gocache", "GOMODCACHE": "/tmp/gomodcache",
            "GOPATH": "/tmp/gopath", "GOTELEMETRY": "off",
        ]
    }

    /// The project's files as build inputs: everything but the output directory, hidden entries
    /// (`.git`), `airlock.lock` (it enters as `lock`) and what go never reads as a package (`_`
    /// directories); vendor/ is an input like any source.
    static func sourceFiles(project: String, excluding out: String) throws -> [BuildInputFile] {
        var files: [BuildInputFile] = []
        let base = FileSystem.absolute(project)
        func walk(_ relative: String) throws {
            let directory = relative.isEmpty ? base : base + "/" + relative
            for name in try FileSystem.list(directory).sorted() where !name.hasPrefix(".") {
                let path = relative.isEmpty ? name : relative + "/" + name
                let full = base + "/" + path
                if full == out || (relative.isEmpty && name == GoLock.fileName) { continue }
                switch FileSystem.kind(of: full) {
                case .directory?:
                    if name.hasPrefix("_") || name == "node_modules" { continue }
                    try walk(path)
                case .regular?:
                    let mode = try FileSystem.mode(of: full)
                    files.append(BuildInputFile(path: path, executable: mode & 0o111 != 0, sha256: try Store.hashFile(full).0))
                default:
                    continue
                }
            }
        }
        try walk("")
        return files
    }

    /// host.json, the function directories and the handler, as the zip will hold them.
    static func writeTree(_ app: GoFunctionsApp, handler: [UInt8], to tree: String) throws {
        try FileSystem.makeDirectory(tree)
        try FileSystem.writeAtomically(tree + "/host.json", app.hostJSON)
        for function in app.functions {
            try FileSystem.makeDirectory(tree + "/" + function.name)
            try FileSystem.writeAtomically(tree + "/" + function.name + "/function.json", function.bytes)
        }
        let handlerPath = tree + "/" + app.handlerPath
        try FileSystem.makeDirectory(FileSystem.parentPath(handlerPath))
        try FileSystem.writeAtomically(handlerPath, handler, mode: 0o755)
    }

    /// Starts the handler in the sandbox with FUNCTIONS_CUSTOMHANDLER_PORT set and waits for a TCP
    /// connection to it on the sandbox's loopback (bash's /dev/tcp: the image needs bash, as
    /// Debian's minbase and the Functions images have). Returns what it saw.
    /// With `tree` nil the app is the image's own /home/site/wwwroot (an image built by `image build`).
    static func smokeTest(
        tree: String?, handler: String, runtime: any ContainerRuntime, image: String, imageName: String, epoch: Int64,
        timeLimit: Duration, output: SandboxOutput
    ) async throws -> String {
        let port = "37151"
        let tenths = max(1, Int(timeLimit.components.seconds) * 10)
        let result = try await runtime.run(
            SandboxSpec(
                image: image, arguments: ["bash", "-c", smokeScript, "airlock-smoke", handler, port, String(tenths)],
                workingDirectory: appRoot, mounts: tree.map { [Mount(source: $0, target: appRoot)] } ?? [],
                environment: [
                    "FUNCTIONS_CUSTOMHANDLER_PORT": port, "FUNCTIONS_WORKER_RUNTIME": "custom", "AzureWebJobsScriptRoot": appRoot,
                ],
                sourceDateEpoch: epoch, timeLimit: timeLimit + .seconds(30), output: output
            )
        )
        let said = result.tail.split(separator: "\n").last { $0.hasPrefix("airlock-smoke: ") }.map {
            String($0.dropFirst("airlock-smoke: ".count))
        }
        guard result.succeeded, let said else {
            throw CheckFailure(
                GoBuildErrorCode.smokeFailed,
                "smoke test in \(imageName): \(said ?? "it failed (status \(result.status))"); the handler's output:\n\(result.tail)"
            )
        }
        return said
    }

    static let smokeScript = #"""
        handler=$1 port=$2 tenths=$3
        "./$handler" & pid=$!
        i=0
        while [ "$i" -lt "$tenths" ]; do
            if ! kill -0 "$pid" 2>/dev/null; then
                wait "$pid"; status=$?
                echo "airlock-smoke: the handler exited with status $status before it listened on port $port"
                exit 3
            fi
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                echo "airlock-smoke: the handler listens on FUNCTIONS_CUSTOMHANDLER_PORT ($port) after $((i * 100)) ms"
                kill "$pid" 2>/dev/null
                exit 0
            fi
            sleep 0.1
            i=$((i + 1))
        done
        echo "airlock-smoke: the handler did not listen on port $port within $((tenths / 10)) s"
        kill "$pid" 2>/dev/null
        exit 4
        """#

    /// The project's name: its directory's name (ProjectFile.projectName).
    public static func projectName(_ project: String) -> String { ProjectFile.projectName(project) }
}

extension GoPlatform {
    /// The platform this Airlock runs on.
    public static var host: GoPlatform {
        #if arch(arm64)
            return .linuxARM64
        #else
            return .linuxAMD64
        #endif
    }
}

/// A built handler as `airlock seal --project` carries it.
public struct BuiltGoHandler: Sendable {
    public let name: String
    public let zipPath: String
    public let provenance: Provenance
    /// The manifest's target: `{"go": "1.22.10", "platform": "linux/amd64"}`.
    public let target: JSONValue
    /// The zip (kind `function-app`), the toolchain (`go/toolchains/`, kind `go-toolchain`) and
    /// every module part as a GOPROXY tree under `go/modules/` (kinds `go-mod`, `go-info`,
    /// `go-module`, named `path@version.mod`, `.info`, `.zip`), and the project's sources and lock under
    /// `sources/NAME/` (`build-source`), so the bundle alone rebuilds the handler and can seed a module mirror inside.
    public let artifacts: [BundleInput]
    public var buildImage: SHA256Digest? { provenance.sandbox?.image.manifest }
}

extension GoBuild {
    /// The handler built for `project`, checked against its lock and provenance, with every blob it
    /// was built from.
    public static func built(project: String, outDirectory: String? = nil, store: Store) throws -> BuiltGoHandler {
        let name = projectName(project)
        let out = outDirectory ?? (project + "/dist")
        let zipPath = out + "/" + name + ".zip"
        let provenancePath = out + "/provenance.json"
        guard FileSystem.kind(of: zipPath) == .regular, FileSystem.kind(of: provenancePath) == .regular else {
            throw UsageError(GoModuleErrorCode.noLock, "\(zipPath): not built yet; run `airlock build --project \(project)` first")
        }
        let provenance = try Provenance.read(try FileSystem.readFile(provenancePath, limit: 16 << 20), what: provenancePath)
        let (lock, lockBytes) = try GoLock.read(project: project)
        guard provenance.lock == SHA256Hasher.hash(lockBytes), provenance.output.sha256 == (try Store.hashFile(zipPath).0)
        else {
            throw UsageError(
                GoModuleErrorCode.staleLock,
                "\(zipPath): built from another airlock.lock, or changed since; run `airlock build --project \(project)` again"
            )
        }
        var artifacts = [
            BundleInput(
                sourcePath: zipPath, artifactPath: name + ".zip", name: name, kind: "function-app", mediaType: "application/zip",
                provenance: provenance.json
            )
        ]
        guard let toolchain = try GoToolchain.list(in: store).first(where: { $0.digest == lock.toolchain.sha256 }) else {
            throw UsageError(
                GoToolchainErrorCode.noToolchain, "\(lock.toolchain.name) (sha256 \(lock.toolchain.sha256.hex)): not in the store \(store.root)"
            )
        }
        artifacts.append(
            BundleInput(
                sourcePath: store.blobPath(toolchain.digest), artifactPath: "go/toolchains/" + toolchain.filename,
                name: toolchain.name, kind: GoToolchain.kind,
                mediaType: toolchain.format == .archive ? "application/gzip" : "application/zip",
                provenance: try JSONValue(parsing: try toolchain.json())
            )
        )
        for stored in try GoModuleStore.require(lock, in: store, project: project) {
            let base = "go/modules/" + stored.module.escapedPath + "/@v/" + stored.module.escapedVersion
            let locked = lock.modules.first { $0.module == stored.module }
            var parts: [(SHA256Digest, String, String, String, JSONValue?)] = [
                (stored.goMod, ".mod", GoModuleStore.goModKind, "text/plain", nil)
            ]
            if let info = stored.info { parts.append((info, ".info", GoModuleStore.infoKind, "application/json", nil)) }
            if let zip = stored.zip, let h1 = locked?.zip {
                parts.append(
                    (zip, ".zip", GoModuleStore.zipKind, "application/zip",
                     .object(["module": .string(stored.module.description), "h1": .string(h1)]))
                )
            }
            for (digest, suffix, kind, mediaType, document) in parts {
                artifacts.append(
                    BundleInput(
                        sourcePath: store.blobPath(digest), artifactPath: base + suffix, name: stored.module.description + suffix,
                        kind: kind, mediaType: mediaType, provenance: document
                    )
                )
            }
        }
        artifacts += try BuildSources.bundleInputs(
            projectDirectory: project, lockPath: project + "/" + GoLock.fileName, provenance: provenance
        )
        let target: JSONValue = .object(["go": .string(lock.toolchain.version), "platform": .string(provenance.inputs?.target.platform ?? "")])
        return BuiltGoHandler(name: name, zipPath: zipPath, provenance: provenance, target: target, artifacts: artifacts)
    }
}
