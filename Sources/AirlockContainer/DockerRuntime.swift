// docker and podman: one type, parameterised by the CLI, since both take the same `run` flags. The
// image must already be in the daemon (loaded from the store by digest); `--pull never` makes sure
// nothing is fetched. The container gets no network, no capabilities, a read-only root (as bwrap
// gives it), the caller's uid:gid (so the output directory is not filled with root-owned files), a
// tmpfs /tmp, and only the clean environment.
// Killing the client does not stop a container, so a time-out runs `docker kill` on its name first.

public import AirlockCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public struct DockerRuntime: ContainerRuntime {
    /// `docker` or `podman`: the CLI's name, used for messages and to find it on PATH.
    public let name: String
    /// The CLI, or nil when it is not installed.
    public let executable: String?
    /// `--user` for the container; nil leaves the image's user.
    public let user: String?
    /// The environment the CLI runs with (DOCKER_HOST, CONTAINERS_CONF, XDG_RUNTIME_DIR, ...): this
    /// process's unless given. The container gets only what `--env` passes.
    public let clientEnvironment: [String: String]

    /// `executable` is the CLI's path (nil: not installed); `located(_:)` finds it on PATH.
    public init(
        cli name: String, executable: String?, user: String? = DockerRuntime.currentUser,
        clientEnvironment: [String: String] = ChildProcess.inheritedEnvironment()
    ) {
        self.name = name
        self.executable = executable
        self.user = user
        self.clientEnvironment = clientEnvironment
    }

    /// This process's `uid:gid`.
    public static var currentUser: String { "\(getuid()):\(getgid())" }

    /// The CLI found on PATH, run as this process's uid:gid.
    public static func located(_ cli: String, environment: [String: String] = ChildProcess.inheritedEnvironment()) -> DockerRuntime {
        DockerRuntime(cli: cli, executable: ChildProcess.locate(cli, path: environment["PATH"]), clientEnvironment: environment)
    }

    /// What in the client's environment decides which daemon or storage it talks to: part of a
    /// trial run's cache key, so pointing DOCKER_HOST elsewhere tries again.
    public var fingerprint: String {
        ["DOCKER_HOST", "DOCKER_CONTEXT", "CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINER_HOST", "XDG_RUNTIME_DIR"]
            .compactMap { key in clientEnvironment[key].map { "\(key)=\($0)" } }.joined(separator: " ")
    }

    private var installHint: String { name == "podman" ? "apt-get install -y podman" : "apt-get install -y docker.io" }

    /// Available when `NAME info` answers within a few seconds, i.e. a daemon (or podman's own
    /// storage) is reachable.
    public func probe() async -> RuntimeProbe {
        guard let executable else {
            return RuntimeProbe(
                runtime: name,
                isAvailable: false,
                detail: "\(name) not found on PATH",
                hint: installHint
            )
        }
        let format = name == "podman" ? "{{.Version.Version}}" : "{{.ServerVersion}}"
        let (status, output) = await ChildProcess.capture([executable, "info", "--format", format], timeout: .seconds(20), environment: clientEnvironment)
        let text = output.trimmingCharacters(in: .whitespacesAndNewlines)
        if status == 0 {
            return RuntimeProbe(runtime: name, isAvailable: true, detail: "daemon answers (server \(text))")
        }
        let reason = text.split(separator: "\n").last.map(String.init) ?? "exit status \(status)"
        return RuntimeProbe(
            runtime: name,
            isAvailable: false,
            detail: "\(name) info failed: \(status == 124 ? "no answer within 20 s" : reason)",
            hint: name == "podman"
                ? "check `podman info`" : "start the daemon (systemctl start docker) or use --runtime bwrap"
        )
    }

    public func arguments(for spec: SandboxSpec) throws -> [String] {
        try arguments(for: spec, containerName: nil)
    }

    /// The `run` command line; `containerName` lets a time-out find the container again.
    public func arguments(for spec: SandboxSpec, containerName: String?) throws -> [String] {
        try spec.validate()
        guard !spec.image.hasPrefix("-"), !spec.image.contains(where: { $0.isWhitespace }) else {
            throw UsageError(RuntimeErrorCode.badSpec, "\(name): '\(spec.image)' is not an image reference")
        }
        var args = [executable ?? name, "run", "--rm"]
        if let containerName { args += ["--name", containerName] }
        args += [
            "--network", "none", "--pull", "never", "--hostname", "airlock",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--read-only", "--tmpfs", "/tmp",
        ]
        if let user { args += ["--user", user] }
        args += ["--workdir", spec.workingDirectory]
        for (variable, value) in spec.effectiveEnvironment { args += ["--env", "\(variable)=\(value)"] }
        for mount in spec.mounts {
            // --mount is a comma-separated list, so a comma would start a new field.
            for path in [mount.source, mount.target] where path.contains(",") {
                throw UsageError(
                    RuntimeErrorCode.badSpec,
                    "\(name): mount path '\(path)' contains a comma, which --mount cannot carry"
                )
            }
            var field = "type=bind,source=\(mount.source),target=\(mount.target)"
            if mount.isReadOnly { field += ",readonly" }
            args += ["--mount", field]
        }
        // The command replaces the image's entrypoint, so the image runs exactly what was asked.
        args += ["--entrypoint", spec.arguments[0], spec.image]
        return args + spec.arguments.dropFirst()
    }

    /// `load` of an image archive (docker-archive or oci-archive, as `docker save` writes it).
    public func loadArguments(archive: String) -> [String] {
        [executable ?? name, "load", "--input", archive]
    }

    public func run(_ spec: SandboxSpec) async throws -> SandboxResult {
        guard let executable else {
            throw UsageError(
                RuntimeErrorCode.unavailable,
                "\(name): not found on PATH; install it (\(installHint)) or use --runtime bwrap"
            )
        }
        let containerName = "airlock-\(getpid())-\(UInt64.random(in: 0...UInt64.max) & 0xffff_ffff_ffff)"
        // The client needs the host's environment (DOCKER_HOST, XDG_RUNTIME_DIR, …); the container
        // gets only what `--env` passes.
        let kill = ChildProcess(
            executable: executable, arguments: ["kill", containerName], environment: clientEnvironment, timeLimit: .seconds(10)
        )
        let process = ChildProcess(
            executable: executable,
            arguments: Array(try arguments(for: spec, containerName: containerName).dropFirst()),
            environment: clientEnvironment,
            timeLimit: spec.timeLimit,
            output: spec.output.childOutput,
            tailLimit: spec.tailLimit,
            // On the run's own reader thread, which may wait for the kill.
            beforeStop: { _ = try? kill.runOnCurrentThread() }
        )
        return SandboxResult(try await process.run())
    }

    // MARK: Loading images from the store

    /// The id the daemon gives an image: its config's digest.
    public static func imageID(_ image: ImageRecord) -> String { "sha256:" + image.config.hex }

    /// `NAME image inspect` of the image's id: exit 0 when the daemon has it.
    public func inspectArguments(_ image: ImageRecord) -> [String] {
        [executable ?? name, "image", "inspect", "--format", "{{.Id}}", Self.imageID(image)]
    }


    public var explainsFailedRuns: Bool { false }

    public func version() async -> String {
        guard let executable else { return "none" }
        let (status, text) = await ChildProcess.capture([executable, "--version"], timeout: .seconds(10), environment: clientEnvironment)
        return status == 0 ? text.trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
    }

    /// Makes sure the daemon has `image`, loading it from the store (exported to the store's tmp/
    /// as a docker-archive, then `load`) when it does not; returns the id to run.
    public func prepare(_ image: ImageRecord, from store: Store) async throws -> String {
        guard executable != nil else {
            throw UsageError(
                RuntimeErrorCode.unavailable,
                "\(name): not found on PATH; install it with: \(installHint)"
            )
        }
        if await ChildProcess.capture(inspectArguments(image), timeout: .seconds(30), environment: clientEnvironment).status == 0 { return Self.imageID(image) }
        let archive =
            store.temporaryDirectory + "/load-\(image.manifest.hex.prefix(16))-\(UInt64.random(in: 0...UInt64.max)).tar"
        defer { try? FileSystem.remove(archive) }
        try await Blocking.run { try ImageExporter.write(image, from: store, to: archive) }
        let (status, output) = await ChildProcess.capture(loadArguments(archive: archive), timeout: .seconds(1800), environment: clientEnvironment)
        guard status == 0 else {
            let reason = output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").suffix(3).joined(separator: "; ")
            throw UsageError(
                RuntimeErrorCode.loadFailed,
                "\(name) load of \(image.reference) failed (exit \(status)): \(reason)"
            )
        }
        guard await ChildProcess.capture(inspectArguments(image), timeout: .seconds(30), environment: clientEnvironment).status == 0 else {
            throw CheckFailure(
                RuntimeErrorCode.loadFailed,
                "\(name) loaded \(image.reference), but has no image \(Self.imageID(image)) afterwards"
            )
        }
        return Self.imageID(image)
    }
}
