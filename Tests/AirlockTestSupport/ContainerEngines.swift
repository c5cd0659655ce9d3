// The real container engines the tests run the sandbox over, set up by the tests themselves:
//   - bwrap, as installed;
//   - a Docker engine: Debian's dockerd on a private socket, data root and exec root, with the flags
//     this kind of machine needs (no iptables, no bridge, cgroupfs), started on first use;
//   - Podman: Debian's podman with a test containers.conf (runc, cgroupfs, rlimits it may set) and
//     a private storage root, named by CONTAINERS_CONF and CONTAINERS_STORAGE_CONF.
// Each engine is proved with the trial image before a test uses it. Suites that use them carry the
// `.containerEngines` trait: when the last such suite ends, dockerd is stopped and both private
// roots are removed. A test whose engine cannot start here is skipped with the reason (the
// `.enabled` condition's comment names what it needs; the reason is printed to standard error).

public import AirlockContainer
public import AirlockCore
import Foundation
public import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A container engine the sandbox tests run over.
public enum Engine: String, CaseIterable, Sendable, CustomStringConvertible {
    case bwrap, docker, podman
    public var description: String { rawValue }
}

/// An engine ready for a test: its runtime, and the environment a CLI run needs to reach it.
public struct EngineSetup: Sendable {
    public let engine: Engine
    public let runtime: any ContainerRuntime
    /// DOCKER_HOST, CONTAINERS_CONF and CONTAINERS_STORAGE_CONF, for `airlock ... --runtime NAME`.
    public let environment: [String: String]
}

public actor ContainerEngines {
    public static let shared = ContainerEngines()

    private var setups: [Engine: Result<EngineSetup, EngineUnavailable>] = [:]
    private var users = 0
    private var daemon: BackgroundProcess?
    private var roots: [String] = []

    /// The engine, started and proved on first use; nil (with the reason printed once) when it
    /// cannot run here.
    public func setup(_ engine: Engine) async -> EngineSetup? {
        if setups[engine] == nil {
            let made: Result<EngineSetup, EngineUnavailable>
            do { made = .success(try await start(engine)) } catch let error as EngineUnavailable { made = .failure(error) } catch {
                made = .failure(EngineUnavailable(reason: "\(error)"))
            }
            if case .failure(let why) = made { FileHandle.standardError.write(Data("skip: \(engine) cannot run here: \(why.reason)\n".utf8)) }
            setups[engine] = made
        }
        return try? setups[engine]?.get()
    }

    /// True when `engine` can run here (starts it).
    public func isAvailable(_ engine: Engine) async -> Bool { await setup(engine) != nil }

    func acquire() { users += 1 }

    func release() async {
        users -= 1
        guard users == 0 else { return }
        await stopAll()
    }

    /// Stops dockerd and removes the engines' private roots.
    public func stopAll() async {
        if let daemon { await daemon.stop() }
        daemon = nil
        for root in roots { Self.removeRoot(root) }
        roots = []
        setups = [:]
    }

    private func start(_ engine: Engine) async throws -> EngineSetup {
        switch engine {
        case .bwrap:
            let runtime = BwrapRuntime()
            let probe = await runtime.probe()
            guard probe.isAvailable else { throw EngineUnavailable(reason: probe.detail) }
            return EngineSetup(engine: .bwrap, runtime: runtime, environment: [:])
        case .docker: return try await startDocker()
        case .podman: return try await startPodman()
        }
    }

    private func makeRoot(_ prefix: String) throws -> String {
        // Short: the daemon's socket path must fit in sun_path (108 bytes).
        let root = try FileSystem.makeTemporaryDirectory(prefix: prefix, in: "/tmp")
        roots.append(root)
        return root
    }

    private func startDocker() async throws -> EngineSetup {
        guard let dockerd = ChildProcess.locate("dockerd") ?? ChildProcess.locate("/usr/sbin/dockerd") else {
            throw EngineUnavailable(reason: "dockerd is not installed (apt-get install -y docker.io)")
        }
        let root = try makeRoot("adk")
        let socket = root + "/docker.sock"
        // dockerd prints nothing on stdout; a wrapper prints a line once the socket answers.
        let script = """
            '\(dockerd)' --iptables=false --ip-masq=false --bridge=none --exec-opt native.cgroupdriver=cgroupfs \
              --data-root '\(root)/data' --exec-root '\(root)/exec' --pidfile '\(root)/docker.pid' \
              --host 'unix://\(socket)' >'\(root)/dockerd.log' 2>&1 &
            pid=$!
            trap 'kill -TERM $pid; wait $pid; exit 0' TERM
            i=0
            while [ $i -lt 300 ]; do
              if DOCKER_HOST='unix://\(socket)' docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; then echo ready; break; fi
              kill -0 $pid 2>/dev/null || { echo "dockerd exited"; exit 1; }
              sleep 0.1; i=$((i+1))
            done
            wait $pid
            """
        let daemon = try await BackgroundProcess.start(
            ChildProcess(
                executable: "/bin/sh", arguments: ["-c", script], timeLimit: .seconds(3600), stopSignal: ChildProcess.terminateSignal,
                stopGrace: .seconds(20)
            ),
            within: .seconds(60)
        )
        self.daemon = daemon
        guard daemon.firstLine == "ready" else {
            let log = (try? FileSystem.readFile(root + "/dockerd.log", limit: 1 << 20)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            throw EngineUnavailable(reason: "dockerd did not start: " + log.split(separator: "\n").suffix(3).joined(separator: "; "))
        }
        var environment = ChildProcess.inheritedEnvironment()
        environment["DOCKER_HOST"] = "unix://" + socket
        return try await proved(.docker, DockerRuntime.located("docker", environment: environment), ["DOCKER_HOST": "unix://" + socket])
    }

    private func startPodman() async throws -> EngineSetup {
        guard ChildProcess.locate("podman") != nil else {
            throw EngineUnavailable(reason: "podman is not installed (apt-get install -y podman runc)")
        }
        guard ChildProcess.locate("runc") ?? ChildProcess.locate("/usr/sbin/runc") != nil else {
            throw EngineUnavailable(reason: "runc is not installed (apt-get install -y runc)")
        }
        let root = try makeRoot("apm")
        try FileSystem.writeAtomically(
            root + "/containers.conf",
            Array(
                """
                [containers]
                default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
                [engine]
                runtime = "runc"
                cgroup_manager = "cgroupfs"
                events_logger = "file"

                """.utf8
            )
        )
        try FileSystem.writeAtomically(
            root + "/storage.conf",
            Array("[storage]\ndriver = \"overlay\"\ngraphroot = \"\(root)/root\"\nrunroot = \"\(root)/run\"\n".utf8)
        )
        let added = ["CONTAINERS_CONF": root + "/containers.conf", "CONTAINERS_STORAGE_CONF": root + "/storage.conf"]
        let environment = ChildProcess.inheritedEnvironment().merging(added) { _, new in new }
        return try await proved(.podman, DockerRuntime.located("podman", environment: environment), added)
    }

    /// The runtime, once it has run the trial image from a scratch store.
    private func proved(_ engine: Engine, _ runtime: DockerRuntime, _ environment: [String: String]) async throws -> EngineSetup {
        let probe = await runtime.probe()
        guard probe.isAvailable else { throw EngineUnavailable(reason: probe.detail) }
        let storeRoot = try makeRoot("ast")
        let store = try Store.open(at: storeRoot + "/store")
        let image = try TrialImage.make(in: store)
        let prepared = try await runtime.prepare(image, from: store)
        let run = try await runtime.run(SandboxSpec(image: prepared, arguments: TrialImage.command, timeLimit: .seconds(120)))
        guard run.succeeded else { throw EngineUnavailable(reason: "the trial container failed (exit \(run.status)): \(run.tail)") }
        return EngineSetup(engine: engine, runtime: runtime, environment: environment)
    }

    /// Removes a private root; podman's and dockerd's overlay mounts below it are unmounted first.
    private static func removeRoot(_ root: String) {
        if let mounts = try? FileSystem.readFile("/proc/self/mounts", limit: 16 << 20) {
            let points = String(decoding: mounts, as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
                let fields = line.split(separator: " ")
                return fields.count > 1 && fields[1].hasPrefix(root + "/") ? String(fields[1]) : nil
            }
            for point in points.sorted(by: >) { _ = umount2(point, Int32(MNT_DETACH)) }
        }
        FileSystem.removeTree(root)
    }
}

/// Why an engine cannot run on this machine.
public struct EngineUnavailable: Error, Sendable {
    public let reason: String
}

/// Suites that run tests over the engines: the engines are stopped and cleaned up when the last
/// such suite ends.
public struct ContainerEnginesTrait: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await ContainerEngines.shared.acquire()
        do {
            try await function()
        } catch {
            await ContainerEngines.shared.release()
            throw error
        }
        await ContainerEngines.shared.release()
    }
}

extension Trait where Self == ContainerEnginesTrait {
    public static var containerEngines: Self { ContainerEnginesTrait() }
}
