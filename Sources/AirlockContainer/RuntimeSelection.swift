// `--runtime auto|bwrap|docker|podman`. A runtime is taken only once it has proved it can run a
// container here: `podman info` answers on machines where every `podman run` fails (crun or runc
// refused rlimits, cgroups in hybrid mode), and a docker daemon may answer without being able to
// start anything. So docker and podman run the trial image (TrialImage.swift) once per store,
// runtime version and client environment; the result is cached in `<store>/runtime-trials/`
// (a success until the version or environment changes, a failure for an hour, so a broken podman
// costs one trial, not one per build). bwrap's probe is itself a sandbox start, and a failed bwrap
// run explains itself, so bwrap needs no trial. `auto` takes docker, then podman, then bwrap, and
// says in one line why each one before the chosen failed; a runtime named explicitly that cannot
// run is an error that says why and what to change.

public import AirlockCore
import Foundation

/// What `--runtime` may name.
public enum RuntimeChoice: String, CaseIterable, Sendable {
    case auto, bwrap, docker, podman

    public init(parsing text: String) throws {
        guard let choice = RuntimeChoice(rawValue: text.lowercased()) else {
            let names = RuntimeChoice.allCases.map(\.rawValue).joined(separator: ", ")
            throw UsageError(RuntimeErrorCode.unknown, "--runtime '\(text)': expected one of \(names)")
        }
        self = choice
    }
}

public enum RuntimeErrorCode: String, ErrorCodes {
    public static let domain = "runtime"
    case unknown
    /// No runtime (auto) or not the named one can be used here.
    case unavailable
    /// The runtime answers but cannot run a container.
    case cannotRun = "cannot-run"
    /// A sandbox spec no backend may run (a relative or `..` path, a mount over /proc, two writable
    /// mounts, a bad variable, no command), or one this backend cannot carry (a comma in a docker mount).
    case badSpec = "bad-spec"
    /// The engine could not load an image from the store.
    case loadFailed = "load-failed"
}

/// The runtime chosen, and a line for each one `auto` passed over and why.
public struct SelectedRuntime: Sendable {
    public let runtime: any ContainerRuntime
    public let notes: [String]
}

public enum RuntimeSelection {
    /// The backends `auto` tries, in its order, with the client environment given.
    public static func candidates(environment: [String: String] = ChildProcess.inheritedEnvironment()) -> [any ContainerRuntime] {
        [DockerRuntime.located("docker", environment: environment), DockerRuntime.located("podman", environment: environment), BwrapRuntime()]
    }

    /// Picks the backend for `requested` on this machine, proving it with a trial run in `store`.
    public static func select(
        _ requested: String, store: Store, environment: [String: String] = ChildProcess.inheritedEnvironment()
    ) async throws -> SelectedRuntime {
        try await select(RuntimeChoice(parsing: requested), candidates: candidates(environment: environment), store: store)
    }

    /// Picks from `candidates` (in auto's order of preference); each is probed at most once, and
    /// only as far as needed. Without a store nothing is proved by a trial run.
    package static func select(_ choice: RuntimeChoice, candidates: [any ContainerRuntime], store: Store?) async throws
        -> SelectedRuntime
    {
        if choice != .auto {
            guard let runtime = candidates.first(where: { $0.name == choice.rawValue }) else {
                throw UsageError(RuntimeErrorCode.unavailable, "--runtime \(choice.rawValue): no such backend here")
            }
            // bwrap is taken without a trial run (it costs a process start per command); if it
            // cannot create namespaces, its run says so with the same hint.
            if runtime.explainsFailedRuns { return SelectedRuntime(runtime: runtime, notes: []) }
            let probe = await runtime.probe()
            guard probe.isAvailable else {
                throw UsageError(RuntimeErrorCode.unavailable, message(for: [probe], requested: choice.rawValue))
            }
            if let store {
                let trial = await Trial.run(runtime, store: store)
                guard trial.succeeded else {
                    throw UsageError(
                        RuntimeErrorCode.cannotRun,
                        "--runtime \(runtime.name): \(runtime.name) answers but cannot run a container here: \(trial.detail) "
                            + "(fix: \(Trial.hint(for: runtime.name, detail: trial.detail)))"
                    )
                }
            }
            return SelectedRuntime(runtime: runtime, notes: [])
        }
        var probes: [RuntimeProbe] = []
        var notes: [String] = []
        for runtime in candidates {
            let probe = await runtime.probe()
            guard probe.isAvailable else {
                probes.append(probe)
                continue
            }
            guard !runtime.explainsFailedRuns, let store else { return SelectedRuntime(runtime: runtime, notes: notes) }
            let trial = await Trial.run(runtime, store: store)
            if trial.succeeded { return SelectedRuntime(runtime: runtime, notes: notes) }
            let failed = RuntimeProbe(
                runtime: runtime.name, isAvailable: false, detail: "answers but its trial run failed: \(trial.detail)",
                hint: Trial.hint(for: runtime.name, detail: trial.detail)
            )
            probes.append(failed)
            notes.append("--runtime auto: \(runtime.name) \(failed.detail); trying the next runtime")
        }
        throw UsageError(RuntimeErrorCode.unavailable, message(for: probes, requested: "auto"))
    }

    /// Every backend's state, for `airlock doctor`.
    public static func probeAll() async -> [RuntimeProbe] {
        var probes: [RuntimeProbe] = []
        for runtime in candidates() { probes.append(await runtime.probe()) }
        return probes
    }

    private static func message(for probes: [RuntimeProbe], requested: String) -> String {
        let reasons = probes.map { probe in
            "\(probe.runtime): \(probe.detail)" + (probe.hint.map { " (fix: \($0))" } ?? "")
        }
        return "--runtime \(requested): no container runtime can run here; " + reasons.joined(separator: "; ")
    }
}

/// One runtime's trial run, cached per store.
enum Trial {
    struct Record: Codable {
        var runtime: String
        var version: String
        var fingerprint: String
        var succeeded: Bool
        var detail: String
        var at: Int64
    }

    /// How long a failed trial stands before it is tried again.
    static let failureLifetime: Int64 = 3600

    static func path(_ runtime: String, in store: Store) -> String { store.root + "/runtime-trials/" + runtime + ".json" }

    static func run(_ runtime: any ContainerRuntime, store: Store) async -> (succeeded: Bool, detail: String) {
        let version = await runtime.version()
        let now = Int64(Date().timeIntervalSince1970)
        if let bytes = try? FileSystem.readFile(path(runtime.name, in: store), limit: 64 << 10),
            let record = try? JSONDecoder().decode(Record.self, from: Data(bytes)), record.version == version,
            record.fingerprint == runtime.fingerprint, record.succeeded || now - record.at < failureLifetime
        {
            return (record.succeeded, record.detail + (record.succeeded ? "" : " (a trial \(now - record.at) s ago)"))
        }
        var outcome: (Bool, String)
        do {
            let image = try TrialImage.make(in: store)
            let prepared = try await runtime.prepare(image, from: store)
            let result = try await runtime.run(SandboxSpec(image: prepared, arguments: TrialImage.command, timeLimit: .seconds(120)))
            var tail = result.tail.split(separator: "\n").map(String.init).filter { !$0.isEmpty }.suffix(2).joined(separator: "; ")
            // One line for a note: the end of the runtime's message says the most ("...: operation not permitted").
            if tail.count > 200 { tail = "..." + tail.suffix(197) }
            outcome =
                result.succeeded
                ? (true, "ran the trial container")
                : (false, result.timedOut ? "timed out" : "exit \(result.status)" + (tail.isEmpty ? "" : ": " + tail))
        } catch {
            outcome = (false, "\(error)")
        }
        let record = Record(
            runtime: runtime.name, version: version, fingerprint: runtime.fingerprint, succeeded: outcome.0, detail: outcome.1, at: now
        )
        if let data = try? JSONEncoder().encode(record) {
            try? FileSystem.makeDirectory(store.root + "/runtime-trials")
            try? FileSystem.writeAtomically(path(runtime.name, in: store), Array(data))
        }
        return outcome
    }

    /// What to change, from what the failed trial said.
    static func hint(for runtime: String, detail: String) -> String {
        let text = detail.lowercased()
        if runtime == "podman" {
            if text.contains("rlimit") || text.contains("cgroup") || text.contains("oci permission denied") {
                return "in containers.conf (or a file named by CONTAINERS_CONF) set default_ulimits = "
                    + "[\"nofile=1024:1024\", \"nproc=1024:1024\"] under [containers] and runtime = \"runc\", "
                    + "cgroup_manager = \"cgroupfs\" under [engine]; apt-get install -y runc"
            }
            return "check `podman run --rm IMAGE true`, or use --runtime bwrap"
        }
        if runtime == "docker" {
            if text.contains("cgroup") {
                return "start dockerd with --exec-opt native.cgroupdriver=cgroupfs, or use --runtime bwrap"
            }
            return "see the daemon's log (`docker run --rm IMAGE true` shows the same), or use --runtime bwrap"
        }
        return "use another --runtime"
    }
}
