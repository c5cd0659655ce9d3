import AirlockContainer
import AirlockCore
import Synchronization
import Testing

/// A backend whose availability the test decides; counts its probes.
private struct FakeRuntime: ContainerRuntime {
    let name: String
    let available: Bool
    let probes = ProbeCounter()

    func probe() async -> RuntimeProbe {
        probes.count.add(1, ordering: .relaxed)
        return RuntimeProbe(
            runtime: name,
            isAvailable: available,
            detail: available ? "ok" : "\(name) is down",
            hint: "fix \(name)"
        )
    }
    func arguments(for spec: SandboxSpec) throws -> [String] { [name] }
    func run(_ spec: SandboxSpec) async throws -> SandboxResult {
        SandboxResult(status: 0, timedOut: false, tail: "", elapsed: .zero)
    }
    func prepare(_ image: ImageRecord, from store: Store) async throws -> String { "/" }
    func version() async -> String { "fake 1" }
    var explainsFailedRuns: Bool { name == "bwrap" && available }
}

private final class ProbeCounter: Sendable {
    let count = Atomic<Int>(0)
}

@Suite struct RuntimeSelectionTests {
    @Test(arguments: [
        ([true, true, true], "docker"),
        ([false, true, true], "podman"),
        ([false, false, true], "bwrap"),
        ([true, false, false], "docker"),
    ])
    func autoPrefersDockerThenPodmanThenBwrap(_ availability: [Bool], _ expected: String) async throws {
        let candidates = zip(["docker", "podman", "bwrap"], availability).map { FakeRuntime(name: $0, available: $1) }
        let chosen = try await RuntimeSelection.select(.auto, candidates: candidates)
        #expect(chosen.name == expected)
        // Probing stops at the first backend that answers.
        let probed = candidates.map { $0.probes.count.load(ordering: .relaxed) }
        let chosenIndex = try #require(candidates.firstIndex { $0.name == expected })
        #expect(probed == candidates.indices.map { $0 <= chosenIndex ? 1 : 0 })
    }

    @Test func autoWithNothingAvailableSaysWhatIsMissingForEachBackend() async {
        let candidates = ["docker", "podman", "bwrap"].map { FakeRuntime(name: $0, available: false) }
        let error = await #expect(throws: UsageError.self) { try await RuntimeSelection.select(.auto, candidates: candidates) }
        for name in ["docker", "podman", "bwrap"] {
            #expect(error?.description.contains("\(name) is down (fix: fix \(name))") == true)
        }
    }

    @Test func anExplicitChoiceIsUsedOnlyIfItCanRun() async throws {
        let candidates = [FakeRuntime(name: "docker", available: false), FakeRuntime(name: "bwrap", available: true)]
        #expect(try await RuntimeSelection.select(.bwrap, candidates: candidates).name == "bwrap")
        let error = await #expect(throws: UsageError.self) { try await RuntimeSelection.select(.docker, candidates: candidates) }
        #expect(error?.description.contains("--runtime docker") == true)
        #expect(error?.description.contains("bwrap") == false)
    }

    @Test func anUnknownRuntimeNameIsAUsageError() async {
        let error = await #expect(throws: UsageError.self) { try await RuntimeSelection.select("lxc") }
        #expect(error?.description.contains("auto, bwrap, docker, podman") == true)
        #expect(throws: Never.self) { try RuntimeChoice(parsing: "PODMAN") }
    }

    @Test func autoPicksBwrapOnThisMachineWhenNoDaemonAnswers() async throws {
        let daemons = [DockerRuntime.located("docker"), DockerRuntime.located("podman")]
        var answering: [String] = []
        for daemon in daemons where await daemon.isAvailable() { answering.append(daemon.name) }
        try #require(answering.isEmpty, "a daemon answers here (\(answering)); auto would rightly pick it")
        #expect(try await RuntimeSelection.select("auto").name == "bwrap")
        let docker = await #expect(throws: UsageError.self) { try await RuntimeSelection.select("docker") }
        #expect(docker?.description.contains("docker") == true)
    }

    @Test func missingBackendsNameThePackageToInstall() async {
        let candidates: [any ContainerRuntime] = [
            DockerRuntime(cli: "docker", executable: nil), DockerRuntime(cli: "podman", executable: nil),
            BwrapRuntime(executable: nil),
        ]
        let error = await #expect(throws: UsageError.self) { try await RuntimeSelection.select(.auto, candidates: candidates) }
        let text = error?.description ?? ""
        #expect(text.contains("apt-get install -y docker.io"))
        #expect(text.contains("apt-get install -y podman"))
        #expect(text.contains("apt-get install -y bubblewrap"))
    }
}
