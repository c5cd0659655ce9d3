// Real bwrap runs, with the host's own root as the image: the sandbox mechanics (network, mounts,
// environment, time limit, streaming) do not depend on which rootfs is bound.

import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Glibc
import Testing

@Suite(.timeLimit(.minutes(5))) struct BwrapRuntimeTests {
    let bwrap = BwrapRuntime()

    private func hostSpec(
        _ arguments: [String],
        mounts: [Mount] = [],
        timeLimit: Duration = .seconds(30),
        output: SandboxOutput = .discard
    ) -> SandboxSpec {
        SandboxSpec(image: "/", arguments: arguments, mounts: mounts, timeLimit: timeLimit, output: output)
    }

    @Test func bwrapCanCreateNamespacesHere() async {
        let probe = await bwrap.probe()
        #expect(probe.isAvailable, "\(probe.detail) \(probe.hint ?? "")")
    }

    @Test func aConnectToTheHostsLoopbackFailsInsideButWorksOutside() async throws {
        let listener = try LoopbackListener()
        let connect = "import socket; socket.create_connection(('127.0.0.1', \(listener.port)), 2); print('connected')"

        let inside = try await bwrap.run(hostSpec(["python3", "-c", connect]))
        #expect(inside.status != 0, "\(inside.tail)")
        #expect(!inside.tail.contains("connected\n"))
        #expect(inside.tail.contains("Error"), "\(inside.tail)")
        #expect(listener.drainConnections() == 0)

        // Control: the same command on the host reaches the listener.
        let (status, output) = try await shell("PATH=/usr/local/bin:/usr/bin:/bin python3 -c \"\(connect)\"")
        #expect(status == 0, "\(output)")
        #expect(listener.drainConnections() == 1)
    }

    @Test func onlyLoopbackExistsInside() async throws {
        let lines = LineCollector()
        let result = try await bwrap.run(hostSpec(["cat", "/proc/net/dev"], output: lines.output))
        #expect(result.status == 0)
        let interfaces = lines.lines(of: .standardOutput).dropFirst(2).compactMap {
            $0.split(separator: ":").first.map { String($0.filter { $0 != " " }) }
        }
        #expect(interfaces == ["lo"])
    }

    @Test func readOnlyInputsRefuseWritesAndTheOutputDirectoryReceivesFiles() async throws {
        let dir = try TemporaryDirectory()
        let input = try dir.file("input/data.txt", "original\n")
        try FileSystem.makeDirectory(dir.path + "/output")
        let script = """
            echo changed > /sandbox/in/data.txt; a=$?
            touch /sandbox/in/new; b=$?
            touch /usr/airlock-test; c=$?
            touch /airlock-test; d=$?
            echo made > /sandbox/out/result.txt; e=$?
            touch /tmp/scratch; f=$?
            echo "$a $b $c $d $e $f"
            """
        let lines = LineCollector()
        let spec = hostSpec(
            ["sh", "-c", script],
            mounts: [
                Mount(source: dir.path + "/input", target: "/sandbox/in"),
                .output(dir.path + "/output", at: "/sandbox/out"),
            ],
            output: lines.output
        )
        let result = try await bwrap.run(spec)
        #expect(result.status == 0, "\(result.tail)")
        let codes = try #require(lines.lines(of: .standardOutput).last).split(separator: " ").compactMap { Int($0) }
        #expect(codes.count == 6)
        #expect(codes[0] != 0 && codes[1] != 0, "writes to the read-only input must fail")
        #expect(codes[2] != 0 && codes[3] != 0, "the image and the root must be read-only")
        #expect(codes[4] == 0 && codes[5] == 0, "the output directory and /tmp must be writable")
        #expect(lines.lines(of: .standardError).contains { $0.contains("Read-only file system") })
        #expect(try FileSystem.readFile(input) == Array("original\n".utf8))
        #expect(!FileSystem.exists(dir.path + "/input/new"))
        #expect(try FileSystem.readFile(dir.path + "/output/result.txt") == Array("made\n".utf8))
        #expect(!FileSystem.exists("/usr/airlock-test"))
    }

    @Test func theEnvironmentIsOnlyTheCleanSetAndTheCallersVariables() async throws {
        setenv("AIRLOCK_SANDBOX_CANARY", "leaked", 1)
        let lines = LineCollector()
        var spec = hostSpec(["env"], output: lines.output)
        spec.environment = ["PYTHONPATH": "/work/app"]
        spec.workingDirectory = "/usr"
        let result = try await bwrap.run(spec)
        #expect(result.status == 0)
        let expected = Set(spec.effectiveEnvironment.map { "\($0.name)=\($0.value)" } + ["PWD=/usr"])
        #expect(Set(lines.lines(of: .standardOutput)) == expected)
        #expect(!result.tail.contains("CANARY"))
        #expect(expected.contains("LANG=C.UTF-8") && expected.contains("HOME=/tmp"))
    }

    @Test func aRunPastItsTimeLimitIsKilled() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await bwrap.run(hostSpec(["sh", "-c", "echo started; sleep 300"], timeLimit: .seconds(1)))
        let elapsed = clock.now - start
        #expect(result.timedOut)
        #expect(!result.succeeded)
        #expect(result.status == 128 + SIGKILL)
        #expect(result.tail == "started\n")
        // The run's own clock (on its reader thread) says when the kill landed; the test's clock also
        // counts waiting for a thread of the shared pool, which other suites may keep busy.
        #expect(result.elapsed < .seconds(5), "took \(result.elapsed)")
        #expect(elapsed < .seconds(120), "took \(elapsed)")
    }

    @Test func outputIsStreamedLineByLineAsItComes() async throws {
        let dir = try TemporaryDirectory()
        let gate = dir.path + "/output/go"
        try FileSystem.makeDirectory(dir.path + "/output")
        // The command waits for a file the handler creates on seeing the first line: the run can only
        // finish if that line was delivered while the command was still running.
        let lines = LineCollector { stream, line in
            if stream == .standardOutput, line == "first" { try? FileSystem.writeAtomically(gate, []) }
        }
        let script = """
            echo first
            while [ ! -e /sandbox/out/go ]; do sleep 0.01; done
            echo second; echo oops >&2; printf 'no newline'
            """
        let spec = hostSpec(
            ["sh", "-c", script],
            mounts: [.output(dir.path + "/output", at: "/sandbox/out")],
            timeLimit: .seconds(20),
            output: lines.output
        )
        let result = try await bwrap.run(spec)
        #expect(result.status == 0 && !result.timedOut, "\(result.tail)")
        #expect(lines.lines(of: .standardOutput) == ["first", "second", "no newline"])
        #expect(lines.lines(of: .standardError) == ["oops"])
        #expect(result.tail.contains("second"))
    }

    @Test func theTailKeepsOnlyTheLastBytes() async throws {
        var spec = hostSpec(["sh", "-c", "seq 1 20000"])
        spec.tailLimit = 12
        let result = try await bwrap.run(spec)
        #expect(result.status == 0)
        #expect(result.tail == "\n19999\n20000\n".suffix(12).description)
    }

    @Test func theExitStatusIsPassedThrough() async throws {
        let result = try await bwrap.run(hostSpec(["sh", "-c", "exit 7"]))
        #expect(result.status == 7)
        #expect(!result.timedOut)
    }

    @Test func cancellingTheTaskKillsTheRun() async throws {
        let started = LineCollector()
        let clock = ContinuousClock()
        let start = clock.now
        let task = Task { [bwrap] in
            try await bwrap.run(
                SandboxSpec(
                    image: "/",
                    arguments: ["sh", "-c", "echo up; sleep 300"],
                    timeLimit: .seconds(400),
                    output: started.output
                )
            )
        }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // Well before the command's own end even when the shared pool is busy with other suites.
        #expect(clock.now - start < .seconds(120))
    }

    @Test func aMountBelowAnImageDirectoryIsVisibleAndTheRestOfThatDirectoryStays() async throws {
        let dir = try TemporaryDirectory()
        try dir.file("app/function_app.py", "x = 1\n")
        let lines = LineCollector()
        let spec = hostSpec(
            ["sh", "-c", "cat /home/site/wwwroot/function_app.py && test -x /usr/bin/env && echo ok"],
            mounts: [Mount(source: dir.path + "/app", target: "/home/site/wwwroot")],
            output: lines.output
        )
        let result = try await bwrap.run(spec)
        #expect(result.status == 0, "\(result.tail)")
        #expect(lines.lines(of: .standardOutput) == ["x = 1", "ok"])
    }

    @Test func argumentsBindTheImageReadOnlyAndTheMountsInOrder() throws {
        let image = try TemporaryDirectory()
        for name in ["usr/bin", "etc", "proc", "tmp", "dev"] { try FileSystem.makeDirectory(image.path + "/" + name) }
        #expect(symlink("usr/bin", image.path + "/bin") == 0)
        let inputs = try TemporaryDirectory()
        let runtime = BwrapRuntime(executable: "/usr/bin/bwrap")
        let spec = SandboxSpec(
            image: image.path,
            arguments: ["python3", "-V"],
            workingDirectory: "/work/app",
            mounts: [
                Mount(source: inputs.path, target: "/work/app"), .output(inputs.path, at: "/sandbox/out"),
                Mount(source: inputs.path, target: "/store"),
            ],
            environment: ["A": "1"]
        )
        let expected = [
            "/usr/bin/bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--hostname", "airlock",
            "--cap-drop", "ALL", "--clearenv",
            "--setenv", "A", "1", "--setenv", "HOME", "/tmp", "--setenv", "LANG", "C.UTF-8",
            "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
            "--setenv", "SOURCE_DATE_EPOCH", "315532800",
            "--symlink", "usr/bin", "/bin", "--ro-bind", image.path + "/etc", "/etc",
            "--ro-bind", image.path + "/usr", "/usr",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", inputs.path, "/work/app", "--bind", inputs.path, "/sandbox/out", "--ro-bind", inputs.path,
            "/store",
            "--remount-ro", "/", "--chdir", "/work/app", "--", "python3", "-V",
        ]
        #expect(try runtime.arguments(for: spec) == expected)

        // A target below an image directory that lacks it: /usr is rebuilt entry by entry.
        var inside = spec
        inside.mounts = [Mount(source: inputs.path, target: "/usr/src/app")]
        let rebuilt = try runtime.arguments(for: inside)
        let usr = try #require(rebuilt.firstIndex(of: "/usr"))
        #expect(Array(rebuilt[(usr - 1)...(usr + 3)]) == ["--dir", "/usr", "--ro-bind", image.path + "/usr/bin", "/usr/bin"])
        #expect(!rebuilt.contains(image.path + "/usr"))
        #expect(rebuilt.contains("/usr/src/app"))

        var notADirectory = spec
        notADirectory.image = "sha256:abc"
        let error = #expect(throws: UsageError.self) { try runtime.arguments(for: notADirectory) }
        #expect(error?.code == RuntimeErrorCode.badSpec.code)
    }

    @Test func aBwrapThatCannotCreateNamespacesFailsTheRunWithTheFix() async throws {
        let dir = try TemporaryDirectory()
        let fake = try dir.file(
            "bwrap",
            "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces' >&2\nexit 1\n"
        )
        #expect(chmod(fake, 0o755) == 0)
        let runtime = BwrapRuntime(executable: fake)
        let error = await #expect(throws: UsageError.self) { try await runtime.run(hostSpec(["true"])) }
        #expect(error?.code == RuntimeErrorCode.cannotRun.code)
        #expect(error?.description.contains("(fix: ") == true, "the message carries the fix")
        // A command that itself exits 1 is just a failed run.
        let result = try await bwrap.run(hostSpec(["sh", "-c", "echo 'bwrap: namespace' >&2; exit 1"]))
        #expect(result.status == 1)
    }

    @Test func theNamespaceHintNamesTheSysctlToChange() {
        let debian = BwrapRuntime.namespaceHint { $0.hasSuffix("unprivileged_userns_clone") ? "0" : nil }
        #expect(debian.contains("kernel.unprivileged_userns_clone=1"))
        let limited = BwrapRuntime.namespaceHint { $0.hasSuffix("max_user_namespaces") ? "0" : "1" }
        #expect(limited.contains("user.max_user_namespaces"))
        let ubuntu = BwrapRuntime.namespaceHint { $0.hasSuffix("apparmor_restrict_unprivileged_userns") ? "1" : nil }
        #expect(ubuntu.contains("apparmor_restrict_unprivileged_userns=0"))
    }
}
