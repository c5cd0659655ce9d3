// `--runtime auto|bwrap|docker|podman`: auto takes docker when its daemon answers, then podman,
// then bwrap when it can create namespaces; an explicit choice that cannot run here is an error that
// says why and what to install or change.

public import AirlockCore

/// What `--runtime` may name.
public enum RuntimeChoice: String, CaseIterable, Sendable {
    case auto, bwrap, docker, podman

    public init(parsing text: String) throws {
        guard let choice = RuntimeChoice(rawValue: text.lowercased()) else {
            let names = RuntimeChoice.allCases.map(\.rawValue).joined(separator: ", ")
            throw UsageError("--runtime '\(text)': expected one of \(names)")
        }
        self = choice
    }
}

public enum RuntimeSelection {
    /// Picks the backend for `requested` (`auto`, `bwrap`, `docker` or `podman`) on this machine.
    public static func select(_ requested: String) async throws -> any ContainerRuntime {
        try await select(
            RuntimeChoice(parsing: requested),
            candidates: [DockerRuntime.located("docker"), DockerRuntime.located("podman"), BwrapRuntime()]
        )
    }

    /// Picks from `candidates` (in auto's order of preference); each is probed at most once, and
    /// only as far as needed.
    package static func select(_ choice: RuntimeChoice, candidates: [any ContainerRuntime]) async throws
        -> any ContainerRuntime
    {
        if choice != .auto {
            guard let runtime = candidates.first(where: { $0.name == choice.rawValue }) else {
                throw UsageError("--runtime \(choice.rawValue): no such backend here")
            }
            // An explicit bwrap that is installed is taken without a trial run (it costs a process
            // start per command); if it cannot create namespaces, its run says so with the same hint.
            if runtime.explainsFailedRuns { return runtime }
            let probe = await runtime.probe()
            guard probe.isAvailable else { throw UsageError(message(for: [probe], requested: choice.rawValue)) }
            return runtime
        }
        var probes: [RuntimeProbe] = []
        for runtime in candidates {
            let probe = await runtime.probe()
            if probe.isAvailable { return runtime }
            probes.append(probe)
        }
        throw UsageError(message(for: probes, requested: "auto"))
    }

    /// Every backend's state, for `airlock doctor`.
    public static func probeAll() async -> [RuntimeProbe] {
        [
            await DockerRuntime.located("docker").probe(), await DockerRuntime.located("podman").probe(),
            await BwrapRuntime().probe(),
        ]
    }

    private static func message(for probes: [RuntimeProbe], requested: String) -> String {
        let reasons = probes.map { probe in
            "\(probe.runtime): \(probe.detail)" + (probe.hint.map { " (fix: \($0))" } ?? "")
        }
        return "--runtime \(requested): no container runtime can run here; "
            + reasons.joined(separator: "; ")
    }
}
