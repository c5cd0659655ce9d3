import AirlockContainer
import AirlockCore
import AirlockGo
import AirlockPython
import ArgumentParser
import Foundation

struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract:
            "Pin a Function App's requirements.txt to exact wheels (name, version, file, URL, sha256, size) for its target.",
        discussion: Example.discussion(
            """
                Resolution is done by your own pip (or uv), with your pip configuration: index URLs, extra \
                index URLs, find-links, proxy and CA bundle come from pip.conf and PIP_* variables. A \
                requirements file whose every line carries --hash=sha256: is pinned as it is, without \
                resolving. Writes PROJECT/airlock.lock, and the same files and hashes in the standard form \
                as PROJECT/pylock.toml (PEP 751: uv pip install -r pylock.toml, pip and auditors' tools \
                read it); set AIRLOCK_PYTHON to use another python's pip.

                A requirement with no wheel for the target is locked as its sdist from the index (the \
                highest version it allows, by the index's sha256), and its dependencies are resolved \
                with the rest: from its PKG-INFO when that gives them statically, otherwise from its \
                build backend, run offline in the sandbox (--runtime, --image, --store, as for build) \
                over its build requirements, which are fetched into the store for it.

                A directory with a go.mod is a Go project: the lock pins the Go toolchain (go.mod's \
                toolchain line, else its go line, or --go; it must be in the store, see airlock go \
                toolchain add) and every module version the build needs with go.sum's hashes, as the \
                stored toolchain's `go list -m -json all` lists them through your GOPROXY. A project \
                with vendor/modules.txt is checked against go.mod and needs no modules.
                """,
            Example("Pin app/requirements.txt for the Functions Python 3.11 image", "airlock lock --project app"),
            Example("Pin a Go handler's toolchain and modules (through $GOPROXY)", "airlock lock --project handler --go 1.22.10")
        )
    )

    @Option(help: "The app directory holding requirements.txt.") var project = "."
    @Option(help: "Who resolves: pip or uv (default: pip).") var resolver: String?
    @Option(help: "The Function App's Python version (default: 3.11).") var python: String?
    @Option(help: "linux/amd64 or linux/arm64 (default: linux/amd64).") var platform: String?
    @Option(help: "The runtime image's glibc (default: 2.31 for Python 3.9-3.11, 2.36 for 3.12+).")
    var glibc: String?
    @Flag(help: "Do not look up file sizes (the lock then records none).") var noSizes = false
    @Option(help: "The container runtime for an sdist's metadata step: auto, bwrap, docker or podman (default: auto).")
    var runtime: String?
    @Option(help: "The image in the store for an sdist's metadata step, NAME[:TAG] or digest (default: the target's).")
    var image: String?
    @Option(name: .customLong("go"), help: "A Go project's Go release, when go.mod pins none exactly (e.g. 1.22.10).")
    var goVersion: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        if GoLock.isGoProject(project) { return try await lockGo() }
        // Checked here rather than in validate(), which argument-parser wraps in its own error: the
        // code would be lost.
        // airlock.toml's values sit under the flags.
        var defaults = try ProjectDefaults(project: project)
        let resolverName = defaults.string(self.resolver, .resolver) ?? PythonResolver.pip.rawValue
        let runtime = defaults.string(self.runtime, .runtime) ?? RuntimeChoice.auto.rawValue
        let image = defaults.string(self.image, .image)
        let storeRoot = defaults.storeRoot(storeOptions)
        let python = defaults.string(self.python, .python)
        let platform = defaults.string(self.platform, .platform)
        let glibc = defaults.string(self.glibc, .glibc)
        let resolver = try defaults.blaming(.resolver) {
            guard let resolver = PythonResolver(rawValue: resolverName) else {
                throw UsageError(PythonErrorCode.unknownResolver, "--resolver \(resolverName): use pip or uv")
            }
            return resolver
        }
        _ = try defaults.blaming(.runtime) { try RuntimeChoice(parsing: runtime) }
        let (target, warnings) = try defaults.blaming(.python, .platform, .glibc) {
            try PythonTarget.resolve(python: python, platform: platform, glibc: glibc)
        }
        for warning in warnings { printError("warning: \(warning)") }
        // A runtime is selected, and the store opened, only if an sdist needs its backend run.
        let options = PythonLockOptions(
            project: project,
            target: target,
            resolver: resolver,
            lookUpSizes: !noSizes,
            prepareSandbox: {
                let store = try Store.open(at: storeRoot)
                let selected = try await RuntimeSelection.select(runtime, store: store)
                for note in selected.notes { printError("airlock: note: " + note) }
                // The container's lines are diagnostics: standard error, so stdout stays the lock (or its path).
                let request = SandboxRequest(
                    runtime: selected.runtime,
                    image: image,
                    output: SandboxOutput { _, line in printError("  | " + line) }
                )
                return (request, store)
            }
        )
        let result = try await PythonLocker.lock(options, progress: ProgressReporter(label: "lock", quiet: output.json))
        for warning in result.warnings { printError("warning: \(warning)") }
        if output.json {
            FileHandle.standardOutput.write(Data(try result.lock.encoded()))
            return
        }
        print(result.path)
        let sdists = result.lock.sdists.count
        let builds = result.lock.build?.count ?? 0
        var counted = "\(result.lock.files.count - sdists) wheel(s)"
        if sdists > 0 { counted += ", \(sdists) sdist(s) with \(builds) build wheel(s)" }
        let size =
            result.totalSize.map { ByteCount.format($0) }
            ?? "size unknown for \(result.sizeSources["unknown"] ?? 0) file(s)"
        let how =
            result.method == .hashed ? "from hash pins, without resolving" : "resolved with \(result.method.rawValue)"
        printError(
            "locked \(counted) for \(target.description), \(how): \(size)\(result.changed ? "" : " (unchanged)")"
        )
    }

    private func lockGo() async throws {
        for (value, flag) in [(python, "--python"), (resolver, "--resolver"), (glibc, "--glibc")] where value != nil {
            throw UsageError(GoBuildErrorCode.notForGo, "\(flag): a Python lock's option; \(project) is a Go project (it has a go.mod)")
        }
        var defaults = try ProjectDefaults(project: project)
        let store = try Store.open(at: defaults.storeRoot(storeOptions))
        let result = try await GoLocker.lock(
            GoLocker.Options(project: project, goVersion: goVersion, environment: ProcessInfo.processInfo.environment),
            store: store,
            output: { line in printError("  | " + line) }
        )
        if output.json {
            FileHandle.standardOutput.write(Data(try result.lock.encoded()))
            return
        }
        print(result.path)
        let zips = result.lock.modules.count { $0.zip != nil }
        let what =
            result.lock.vendored
            ? "vendored modules (vendor/modules.txt agrees with go.mod)"
            : "\(result.lock.modules.count) module version(s), \(zips) with packages"
        printError(
            "locked \(what) for Go \(result.lock.toolchain.version) (\(result.lock.toolchain.name), sha256:\(result.lock.toolchain.sha256.hex.prefix(12))…)\(result.changed ? "" : " (unchanged)")"
        )
    }
}
