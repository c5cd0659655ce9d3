// SIGINT and SIGTERM through the executable, at a point the test picks: the one file-writing path's
// test hook (AIRLOCK_TEST_HOLD_AFTER_BYTES, WriteHooks.swift) holds the command once it has written
// that much and says so with a marker file; the test then signals it. The command must exit 130 or
// 143 with its one message, leave no temporary file (the store's tmp/*.part, the .tmp beside a
// bundle being sealed) and no half state, and the same command must then complete. A build
// interrupted while its sandbox runs must end the sandbox too.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5))) struct InterruptTests {
    /// Runs `airlock ARGS` in the background under the hold hook, signals it once held, and
    /// returns its exit status and standard error.
    private func interrupted(_ arguments: [String], signal: String, in dir: TempDir, holdAfter: Int = 4 << 20) async throws -> (status: Int, stderr: String) {
        let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
        let script = """
            rm -f held
            AIRLOCK_TEST_HOLD_AFTER_BYTES=\(holdAfter) AIRLOCK_TEST_HOLD_MARKER=held '\(CLI.binary)' \(quoted) 2>stderr.txt >/dev/null &
            pid=$!
            i=0
            while [ ! -e held ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
            [ -e held ] || { echo "never held"; kill -9 $pid; exit 3; }
            kill -\(signal) $pid
            wait $pid
            echo "status=$?"
            """
        let run = try await Shell.run(script, in: dir.path)
        let stderr = (try? String(contentsOfFile: dir.file("stderr.txt"), encoding: .utf8)) ?? ""
        guard run.status == 0, let line = run.stdout.split(separator: "\n").last, line.hasPrefix("status="), let status = Int(line.dropFirst(7)) else {
            Issue.record("\(run)\n\(stderr)")
            return (-1, stderr)
        }
        return (status, stderr)
    }

    private func leftovers(_ directory: String) -> [String] {
        ((try? FileSystem.list(directory)) ?? []).filter { $0.contains(".tmp-") || $0.hasSuffix(".part") }.sorted()
    }

    @Test(arguments: [("INT", 130), ("TERM", 143)])
    func anInterruptedImportLeavesNothingHalfWrittenAndTheSameImportThenCompletes(signal: String, expected: Int) async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try dir.directory("payload")
        try Fixture.write(dir.file("payload/big.bin"), count: 24 << 20, seed: 3)
        try Fixture.write(dir.file("payload/small.bin"), count: 1000, seed: 4)
        let sealed = try await CLI.run(["seal", "--key", key.key, "--out", "b.airlock", "payload"], in: dir.path, timeout: 120)
        try #require(sealed.status == 0, "\(sealed)")
        let trusted = try await CLI.run(["trust", "add", key.pub, "--store", "inside"], in: dir.path)
        try #require(trusted.status == 0, "\(trusted)")

        let (status, stderr) = try await interrupted(["import", "--store", "inside", "b.airlock"], signal: signal, in: dir)
        #expect(status == expected, "\(stderr)")
        #expect(stderr.contains("airlock: interrupted by SIG\(signal)") && stderr.contains("removed"), "\(stderr)")
        #expect(try FileSystem.list(dir.file("inside/tmp")).isEmpty, "the store's tmp/ after the interrupt")
        let history = try await CLI.run(["history", "--store", "inside", "--json"], in: dir.path)
        #expect((try parseJSON(history) as? [Any])?.isEmpty == true, "\(history)")
        let verified = try await CLI.run(["store", "verify", "--store", "inside"], in: dir.path, timeout: 120)
        #expect(verified.status == 0, "\(verified)")

        let again = try await CLI.run(["import", "--store", "inside", "b.airlock"], in: dir.path, timeout: 120)
        #expect(again.status == 0, "\(again)")
        #expect(try FileSystem.list(dir.file("inside/tmp")).isEmpty)
    }

    @Test func anInterruptedFetchLeavesNoPartFilesAndFetchesAgain() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (server, sha) = try await BigWheel.serve(in: dir, size: 24 << 20)
        // The server is stopped however the test ends, and before it returns.
        do {
            let (status, stderr) = try await interrupted(["fetch", "--project", "app", "--store", "outside"], signal: "INT", in: dir)
            #expect(status == 130, "\(stderr)")
            #expect(try FileSystem.list(dir.file("outside/tmp")).isEmpty, "the store's tmp/ after the interrupt")
            let again = try await CLI.run(["fetch", "--project", "app", "--store", "outside"], in: dir.path, timeout: 120)
            #expect(again.status == 0, "\(again)")
            #expect(FileSystem.kind(of: dir.file("outside/blobs/sha256/" + sha)) == .regular)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func anInterruptedSealLeavesNoPartialBundleAndSealsAgain() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try dir.directory("payload")
        try Fixture.write(dir.file("payload/big.bin"), count: 24 << 20, seed: 5)
        try FileSystem.makeDirectory(dir.file("out"))
        let (status, stderr) = try await interrupted(
            ["seal", "--key", key.key, "--out", "out/b.airlock", "--json", "payload"], signal: "TERM", in: dir
        )
        #expect(status == 143, "\(stderr)")
        let left = try FileSystem.list(dir.file("out"))
        #expect(left.isEmpty, "\(left)")
        let sealed = try await CLI.run(["seal", "--key", key.key, "--out", "out/b.airlock", "payload"], in: dir.path, timeout: 120)
        #expect(sealed.status == 0, "\(sealed)")
        #expect(leftovers(dir.file("out")).isEmpty && FileSystem.kind(of: dir.file("out/b.airlock")) == .regular)
    }
}

/// A build whose smoke test hangs (the app sleeps at import), interrupted while the sandbox runs:
/// the sandbox's processes end with it.
@Suite(.containerEngines, .timeLimit(.minutes(5))) struct InterruptBuildTests {
    @Test func anInterruptedBuildEndsItsSandboxAndLeavesNoTemporaryFiles() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        // The app never finishes loading: it waits on an event nobody sets.
        try await FunctionsStandIn.project(dir, app: "import threading\nthreading.Event().wait()\n")
        // Signalled once the smoke test's sandbox (bwrap, a child of airlock leading its own
        // process group) is up; afterwards nothing of that group may be left.
        let script = """
            '\(CLI.binary)' build --project app --store store --runtime bwrap --image '\(HostPythonImage.reference)' --no-cache 2>stderr.txt >/dev/null &
            pid=$!
            i=0
            while ! grep -q 'smoke test' stderr.txt 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
            sandbox=""
            while [ -z "$sandbox" ] && [ $i -lt 1200 ]; do sandbox=$(pgrep -P $pid -x bwrap | head -1); [ -n "$sandbox" ] || sleep 0.05; i=$((i+1)); done
            [ -n "$sandbox" ] || { echo "no sandbox running"; cat stderr.txt; kill -9 $pid; exit 3; }
            kill -TERM $pid
            wait $pid
            echo "status=$?"
            # airlock exits only after its children did; give the kernel a bounded moment to reap the group.
            i=0
            while pgrep -g $sandbox >/dev/null && [ $i -lt 20 ]; do sleep 0.05; i=$((i+1)); done
            if pgrep -g $sandbox >/dev/null; then echo "still running"; pkill -9 -g $sandbox; fi
            """
        let run = try await Shell.run(script, in: dir.path)
        let stderr = (try? String(contentsOfFile: dir.file("stderr.txt"), encoding: .utf8)) ?? ""
        #expect(run.stdout.contains("status=143") && !run.stdout.contains("still running"), "\(run)\n\(stderr)")
        #expect(stderr.contains("interrupted by SIGTERM: stopped 1 child process(es)"), "\(stderr)")
        #expect(((try? FileSystem.list(dir.file("store/tmp"))) ?? []).isEmpty)
    }
}
