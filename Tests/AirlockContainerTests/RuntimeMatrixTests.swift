// The sandbox's guarantees over every real engine: bwrap, a Docker engine the tests start, and
// Podman with a test configuration. The same image (the host-Python image from the store) and the
// same specs; each engine must keep the network off, the inputs read-only, exactly one writable
// output, the clean environment, the time limit, and the exit status. An engine that cannot run on
// this machine is skipped, visibly, with the reason on standard error.

import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Foundation
import Glibc
import Testing

@Suite(.containerEngines, .timeLimit(.minutes(10))) struct RuntimeMatrixTests {
    @Test(.enabled("needs bubblewrap that can create namespaces") { await ContainerEngines.shared.isAvailable(.bwrap) })
    func theSandboxGuaranteesHoldOverBwrap() async throws { try await Self.guarantees(.bwrap) }

    @Test(.enabled("needs a Docker engine the test can start (dockerd from docker.io)") { await ContainerEngines.shared.isAvailable(.docker) })
    func theSandboxGuaranteesHoldOverDocker() async throws { try await Self.guarantees(.docker) }

    @Test(.enabled("needs podman and runc that can run a container here") { await ContainerEngines.shared.isAvailable(.podman) })
    func theSandboxGuaranteesHoldOverPodman() async throws { try await Self.guarantees(.podman) }

    @Test(.enabled("needs podman") { ChildProcess.locate("podman") != nil })
    func autoFallsBackFromAPodmanThatAnswersButCannotRunAndSaysWhy() async throws {
        let dir = try TemporaryDirectory()
        // A limit above the kernel's: `podman info` answers, every run fails, on any machine.
        let conf = try dir.file("containers.conf", "[containers]\ndefault_ulimits = [\"nofile=999999999:999999999\"]\n")
        let storage = try dir.file(
            "storage.conf", "[storage]\ndriver = \"overlay\"\ngraphroot = \"\(dir.path)/root\"\nrunroot = \"\(dir.path)/run\"\n"
        )
        defer { _ = umountBelow(dir.path) }
        let environment = ChildProcess.inheritedEnvironment(["CONTAINERS_CONF": conf, "CONTAINERS_STORAGE_CONF": storage])
        let podman = DockerRuntime.located("podman", environment: environment)
        try #require(await podman.probe().isAvailable, "podman info should answer with this configuration")
        let store = try Store.open(at: dir.path + "/store")
        let bwrap = BwrapRuntime()
        let selected = try await RuntimeSelection.select(.auto, candidates: [podman, bwrap], store: store)
        #expect(selected.runtime.name == "bwrap")
        let note = try #require(selected.notes.first)
        #expect(selected.notes.count == 1 && note.contains("podman") && note.contains("trial run failed"), "\(note)")

        // Named explicitly, it is an error that says why, with the fix; the failure is cached.
        let error = await #expect(throws: UsageError.self) {
            _ = try await RuntimeSelection.select(.podman, candidates: [podman, bwrap], store: store)
        }
        #expect(error?.code == RuntimeErrorCode.cannotRun.code)
        #expect(error?.description.contains("a trial") == true, "the second failure should come from the cache")
    }

    /// Each guarantee over one engine, on the host-Python image from a fresh store.
    static func guarantees(_ engine: Engine) async throws {
        let setup = try #require(await ContainerEngines.shared.setup(engine))
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        _ = try ImageImporter.importArchive(try HostPythonImage.archive(), into: store)
        let image = try await setup.runtime.prepare(try ImageCatalog.resolve(HostPythonImage.reference, in: store), from: store)
        func run(_ arguments: [String], mounts: [Mount] = [], environment: [String: String] = [:], timeLimit: Duration = .seconds(120))
            async throws -> (SandboxResult, [String])
        {
            let lines = LineCollector()
            let result = try await setup.runtime.run(
                SandboxSpec(image: image, arguments: arguments, mounts: mounts, environment: environment, timeLimit: timeLimit, output: lines.output)
            )
            return (result, lines.lines(of: .standardOutput))
        }

        // The image's own Python answers.
        let (version, versionLines) = try await run(["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        #expect(version.succeeded && versionLines == [HostPythonImage.version], "\(engine): \(version.tail)")

        // Network off: the host's loopback listener is out of reach.
        let listener = try LoopbackListener()
        let (connect, _) = try await run([
            "python3", "-c", "import socket; socket.create_connection(('127.0.0.1', \(listener.port)), 2); print('connected')",
        ])
        #expect(connect.status != 0 && !connect.tail.contains("connected\n"), "\(engine): \(connect.tail)")
        #expect(listener.drainConnections() == 0, "\(engine): a connection reached the host")

        // Read-only inputs, one writable output, the image's root read-only too.
        let input = try dir.file("input/data.txt", "original\n")
        try FileSystem.makeDirectory(dir.path + "/output")
        let script = """
            import os
            def attempt(f):
                try: f(); return "wrote"
                except OSError: return "refused"
            print(attempt(lambda: open("/sandbox/in/data.txt", "w").write("x")))
            print(attempt(lambda: open("/usr/airlock-test", "w").write("x")))
            print(attempt(lambda: open("/sandbox/out/result.txt", "w").write("made inside\\n")))
            print(attempt(lambda: open("/tmp/scratch", "w").write("x")))
            """
        let (mounts, mountLines) = try await run(
            ["python3", "-c", script],
            mounts: [Mount(source: dir.path + "/input", target: "/sandbox/in"), .output(dir.path + "/output", at: "/sandbox/out")]
        )
        #expect(mounts.succeeded && mountLines == ["refused", "refused", "wrote", "wrote"], "\(engine): \(mountLines) \(mounts.tail)")
        #expect(try FileSystem.readFile(input) == Array("original\n".utf8))
        #expect(try FileSystem.readFile(dir.path + "/output/result.txt") == Array("made inside\n".utf8))

        // The clean environment plus the caller's variables, nothing from the host.
        let (env, envLines) = try await run(
            ["python3", "-c", "import os; print(sorted(k for k in os.environ if k not in ('PWD', 'HOSTNAME', 'container', 'TERM', 'SHLVL', '_')))"],
            environment: ["ADDED": "1"]
        )
        #expect(
            env.succeeded && envLines == ["['ADDED', 'HOME', 'LANG', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'SOURCE_DATE_EPOCH']"],
            "\(engine): \(envLines)"
        )

        // The exit status passes through, and the time limit kills the run.
        let (status, _) = try await run(["python3", "-c", "raise SystemExit(7)"])
        #expect(status.status == 7 && !status.timedOut, "\(engine): \(status.status)")
        let (slow, _) = try await run(["python3", "-c", "import time; time.sleep(60)"], timeLimit: .seconds(2))
        #expect(slow.timedOut && slow.elapsed < .seconds(30), "\(engine): \(slow.elapsed)")
    }
}

/// Detaches every mount below `root` (podman's overlay storage in a test directory).
@discardableResult
func umountBelow(_ root: String) -> Int {
    guard let mounts = try? FileSystem.readFile("/proc/self/mounts", limit: 16 << 20) else { return 0 }
    let points = String(decoding: mounts, as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
        let fields = line.split(separator: " ")
        return fields.count > 1 && fields[1].hasPrefix(root + "/") ? String(fields[1]) : nil
    }
    for point in points.sorted(by: >) { _ = umount2(point, Int32(MNT_DETACH)) }
    return points.count
}
