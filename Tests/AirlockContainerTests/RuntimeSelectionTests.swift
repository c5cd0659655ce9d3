import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Synchronization
import Testing

/// A backend whose availability and trial outcome the test decides; counts probes and runs.
private struct FakeRuntime: ContainerRuntime {
    let name: String
    let available: Bool
    /// The exit status of every run (the trial's among them).
    var runStatus: Int32 = 0
    var version = "fake 1"
    let counts = Counts()

    func probe() async -> RuntimeProbe {
        counts.probes.add(1, ordering: .relaxed)
        return RuntimeProbe(runtime: name, isAvailable: available, detail: available ? "ok" : "\(name) is down", hint: "fix \(name)")
    }
    func arguments(for spec: SandboxSpec) throws -> [String] { [name] }
    func run(_ spec: SandboxSpec) async throws -> SandboxResult {
        counts.runs.add(1, ordering: .relaxed)
        return SandboxResult(status: runStatus, timedOut: false, tail: runStatus == 0 ? "" : "setrlimit: operation not permitted", elapsed: .zero)
    }
    func prepare(_ image: ImageRecord, from store: Store) async throws -> String { "/" }
    func version() async -> String { version }
    var explainsFailedRuns: Bool { name == "bwrap" }
    var fingerprint: String { "" }
}

private final class Counts: Sendable {
    let probes = Atomic<Int>(0)
    let runs = Atomic<Int>(0)
}

@Suite struct RuntimeSelectionTests {
    @Test(arguments: [
        ([true, true, true], "docker"),
        ([false, true, true], "podman"),
        ([false, false, true], "bwrap"),
        ([true, false, false], "docker"),
    ])
    func autoPrefersDockerThenPodmanThenBwrap(_ availability: [Bool], _ expected: String) async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let candidates = zip(["docker", "podman", "bwrap"], availability).map { FakeRuntime(name: $0, available: $1) }
        let chosen = try await RuntimeSelection.select(.auto, candidates: candidates, store: store)
        #expect(chosen.runtime.name == expected && chosen.notes.isEmpty)
        // Probing stops at the first backend that answers; only docker and podman need a trial run.
        let probed = candidates.map { $0.counts.probes.load(ordering: .relaxed) }
        let chosenIndex = try #require(candidates.firstIndex { $0.name == expected })
        #expect(probed == candidates.indices.map { $0 <= chosenIndex ? 1 : 0 })
        #expect(candidates[chosenIndex].counts.runs.load(ordering: .relaxed) == (expected == "bwrap" ? 0 : 1))
    }

    @Test func aRuntimeThatAnswersButCannotRunIsPassedOverWithALineSayingWhyAndTheTrialIsCached() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let podman = FakeRuntime(name: "podman", available: true, runStatus: 126)
        let bwrap = FakeRuntime(name: "bwrap", available: true)
        let chosen = try await RuntimeSelection.select(.auto, candidates: [podman, bwrap], store: store)
        #expect(chosen.runtime.name == "bwrap")
        #expect(chosen.notes == ["--runtime auto: podman answers but its trial run failed: exit 126: setrlimit: operation not permitted; trying the next runtime"])
        // The failure stands for a while: no second trial.
        _ = try await RuntimeSelection.select(.auto, candidates: [podman, bwrap], store: store)
        #expect(podman.counts.runs.load(ordering: .relaxed) == 1)
        // A new version is tried again.
        var upgraded = FakeRuntime(name: "podman", available: true, runStatus: 0)
        upgraded.version = "fake 2"
        #expect(try await RuntimeSelection.select(.auto, candidates: [upgraded, bwrap], store: store).runtime.name == "podman")
        #expect(upgraded.counts.runs.load(ordering: .relaxed) == 1)
    }

    @Test func autoWithNothingAvailableSaysWhatIsMissingForEachBackend() async {
        let candidates = ["docker", "podman", "bwrap"].map { FakeRuntime(name: $0, available: false) }
        let error = await #expect(throws: UsageError.self) { try await RuntimeSelection.select(.auto, candidates: candidates, store: nil) }
        #expect(error?.code == RuntimeErrorCode.unavailable.code)
        for name in ["docker", "podman", "bwrap"] {
            #expect(error?.description.contains("\(name) is down (fix: fix \(name))") == true)
        }
    }

    @Test func anExplicitChoiceIsUsedOnlyIfItCanRunAndOtherwiseSaysWhyWithTheFix() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let candidates = [FakeRuntime(name: "docker", available: false), FakeRuntime(name: "bwrap", available: true)]
        #expect(try await RuntimeSelection.select(.bwrap, candidates: candidates, store: store).runtime.name == "bwrap")
        let error = await #expect(throws: UsageError.self) { try await RuntimeSelection.select(.docker, candidates: candidates, store: store) }
        #expect(error?.code == RuntimeErrorCode.unavailable.code)
        #expect(error?.description.contains("bwrap") == false, "an explicit choice does not fall back")

        let broken = [FakeRuntime(name: "podman", available: true, runStatus: 126)]
        let cannot = await #expect(throws: UsageError.self) { try await RuntimeSelection.select(.podman, candidates: broken, store: store) }
        #expect(cannot?.code == RuntimeErrorCode.cannotRun.code)
        #expect(cannot?.description.contains("containers.conf") == true, "the fix: \(cannot?.description ?? "")")
    }

    @Test func anUnknownRuntimeNameIsAUsageError() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let error = await #expect(throws: UsageError.self) { try await RuntimeSelection.select("lxc", store: store) }
        #expect(error?.code == RuntimeErrorCode.unknown.code)
        #expect(throws: Never.self) { try RuntimeChoice(parsing: "PODMAN") }
    }

    @Test func autoPicksBwrapOnThisMachineWhenNoDaemonAnswers() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        // No daemon at the default socket, and podman pointed at a configuration that cannot run.
        var environment = ChildProcess.inheritedEnvironment(["DOCKER_HOST": "unix://" + dir.path + "/no-daemon.sock"])
        environment["CONTAINERS_CONF"] = try dir.file("containers.conf", "[containers]\ndefault_ulimits = [\"nofile=999999999:999999999\"]\n")
        environment["CONTAINERS_STORAGE_CONF"] = try dir.file(
            "storage.conf", "[storage]\ndriver = \"overlay\"\ngraphroot = \"\(dir.path)/root\"\nrunroot = \"\(dir.path)/run\"\n"
        )
        defer { umountBelow(dir.path) }
        #expect(try await RuntimeSelection.select("auto", store: store, environment: environment).runtime.name == "bwrap")
        let docker = await #expect(throws: UsageError.self) { try await RuntimeSelection.select("docker", store: store, environment: environment) }
        #expect(docker?.code == RuntimeErrorCode.unavailable.code)
    }

    @Test func missingBackendsNameThePackageToInstall() async {
        let candidates: [any ContainerRuntime] = [
            DockerRuntime(cli: "docker", executable: nil), DockerRuntime(cli: "podman", executable: nil),
            BwrapRuntime(executable: nil),
        ]
        let error = await #expect(throws: UsageError.self) { try await RuntimeSelection.select(.auto, candidates: candidates, store: nil) }
        #expect(error?.code == RuntimeErrorCode.unavailable.code)
        let text = error?.description ?? ""
        #expect(text.contains("apt-get install -y docker.io"))
        #expect(text.contains("apt-get install -y podman"))
        #expect(text.contains("apt-get install -y bubblewrap"))
    }

    @Test func theTrialImageIsATinyStaticExecutableWithFixedBytes() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let image = try TrialImage.make(in: store)
        #expect(image.size < 4096 && image.layers.count == 1)
        #expect(try TrialImage.make(in: store).manifest == image.manifest)
        let rootfs = try ImageRootfs.unpack(image: image, in: store)
        let elf = try ELFFile(contentsOf: rootfs + "/true")
        #expect(elf.isStaticallyLinked && elf.type == .executable)
        // It runs on this machine and exits 0.
        let (status, _) = try await shell("'\(rootfs)/true'")
        #expect(status == 0)
    }
}
