import AirlockCore
import AirlockTestSupport
import Foundation
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(5))) struct ChildProcessTests {
    private func sh(_ script: String, _ configure: (inout ChildProcess) -> Void = { _ in }) -> ChildProcess {
        var child = ChildProcess(
            executable: "/bin/sh", arguments: ["-c", script], captureOutput: 1 << 20, captureError: 1 << 20
        )
        configure(&child)
        return child
    }

    @Test func outputIsCapturedPerStreamWithTheExitStatus() async throws {
        let result = try await sh("echo out; echo err >&2; exit 3").run()
        #expect(result.status == 3 && !result.succeeded)
        #expect(result.outputText == "out\n" && result.errorText == "err\n")
        #expect(result.tail.contains("out") && result.tail.contains("err"))
    }

    @Test func bytesGoToStandardInputAndTheEnvironmentIsExactlyTheOneGiven() async throws {
        let input = pseudoRandom(300_000, seed: 7)  // more than a pipe holds
        let result = try await sh("cat; echo \"[$ONLY][$HOME]\" >&2") {
            $0.input = .bytes(input)
            $0.environment = ["ONLY": "this", "PATH": "/usr/bin:/bin"]
        }.run()
        #expect(result.succeeded && result.standardOutput == input)
        #expect(result.errorText == "[this][]\n")
    }

    @Test func theWorkingDirectoryIsTheOneGiven() async throws {
        let dir = try TemporaryDirectory()
        let result = try await sh("pwd") { $0.workingDirectory = dir.path }.run()
        #expect(result.outputText == FileSystem.absolute(dir.path) + "\n")
    }

    @Test func aTimeLimitKillsTheWholeProcessGroup() async throws {
        let dir = try TemporaryDirectory()
        let marker = dir.path + "/grandchild"
        // The grandchild would write the marker after 3 s unless the group's kill reaches it.
        let result = try await sh("(sleep 3; touch '\(marker)') & sleep 30") { $0.timeLimit = .milliseconds(300) }.run()
        #expect(result.timedOut && result.status == 137)
        #expect(result.elapsed < .seconds(5))
        try await Task.sleep(for: .seconds(4))
        #expect(!FileSystem.exists(marker))
    }

    @Test func aDescendantHoldingThePipesDoesNotKeepTheRunWaiting() async throws {
        // The child exits at once; its background grandchild keeps stdout open for 20 s.
        let result = try await sh("sleep 20 & echo started").run()
        #expect(result.status == 0 && result.outputText == "started\n")
        #expect(result.elapsed < .seconds(10))
    }

    @Test func aHandlerCanStopTheChildAndLinesArriveInOrder() async throws {
        let lines = Lines()
        let stopper = ChildStopper()
        // The handler stops the child on the fifth line: the event itself, no polling.
        let result = try await sh("i=0; while true; do i=$((i+1)); echo line $i; done") {
            $0.output = .lines { stream, line in
                guard stream == .standardOutput else { return }
                if lines.all.withLock({ $0.append(line); return $0.count }) == 5 { stopper.stop() }
            }
            $0.stopper = stopper
            $0.captureOutput = 0
            $0.timeLimit = .seconds(60)
        }.run()
        let seen = lines.all.withLock { $0 }
        #expect(result.stoppedByHandler && !result.timedOut)
        #expect(Array(seen.prefix(5)) == (1...5).map { "line \($0)" })
    }

    @Test func cancellingTheTaskKillsTheChild() async throws {
        // Cancelled once the child says it runs: its first line, not a guessed delay.
        let (running, signal) = AsyncStream<Void>.makeStream()
        let child = sh("echo started; exec sleep 600") {
            $0.output = .lines { stream, _ in if stream == .standardOutput { signal.yield() } }
        }
        let task = Task { try await child.run() }
        for await _ in running { break }
        task.cancel()
        let started = ContinuousClock.now
        await #expect(throws: CancellationError.self) { try await task.value }
        // Far sooner than the 600 s the child would run. The bound is loose on purpose: the whole
        // suite shares 2 cores, and a cancelled run has been seen to take 24 s to be reaped under it.
        #expect(ContinuousClock.now - started < .seconds(120))
    }

    @Test func aMissingExecutableIsAProcessErrorNamingIt() async {
        let error = await #expect(throws: ProcessError.self) {
            try await ChildProcess(executable: "/nonexistent/tool").run()
        }
        #expect(error?.description.contains("/nonexistent/tool") == true)
        #expect(error?.code == CoreErrorCode.cannotStartProcess.code)
    }

    @Test func captureReturns127ForAToolNotOnPath() async {
        let (status, _) = await ChildProcess.capture(["airlock-no-such-tool"], timeout: .seconds(5))
        #expect(status == 127)
    }
}

private final class Lines: Sendable {
    let all = Mutex<[String]>([])
}
