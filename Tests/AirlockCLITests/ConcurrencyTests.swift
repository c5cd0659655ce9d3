// Issue 15, scope 5: four writers on one store at once. Each round starts `store put`, `fetch`,
// `import` and `store gc` on the same store together, waits for all four, and then checks that
// each succeeded and that the store verifies with nothing left in its tmp/. A store lock held by
// another process past AIRLOCK_LOCK_TIMEOUT gives `core.store-locked`, and a shorter hold is
// waited out.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(10)))
struct StoreConcurrencyTests {
    static let rounds = 50

    @Test func fourWritersOnOneStoreForFiftyRoundsLeaveItVerifying() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        // One small wheel per round, each with a project that locks it, served from 127.0.0.1.
        let made = try await Shell.run(
            """
            mkdir -p files && python3 -c 'import os, sys, json, zipfile, hashlib
            url = sys.argv[1]
            for i in range(int(sys.argv[2])):
                name = "w%d-1.0-py3-none-any.whl" % i
                z = zipfile.ZipFile("files/" + name, "w", zipfile.ZIP_STORED)
                z.writestr("w%d/__init__.py" % i, os.urandom(512).hex())
                z.writestr("w%d-1.0.dist-info/WHEEL" % i, "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
                z.writestr("w%d-1.0.dist-info/METADATA" % i, "Metadata-Version: 2.1\\nName: w%d\\nVersion: 1.0\\n" % i)
                z.writestr("w%d-1.0.dist-info/RECORD" % i, "")
                z.close()
            ' unused \(Self.rounds)
            """,
            in: dir.path
        )
        try #require(made.status == 0, "\(made)")
        let server = try await StaticServer.python(root: dir.file("files"))
        do {
            try await writeProjects(in: dir, url: server.firstLine)
            try await run(in: dir)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    private func writeProjects(in dir: TempDir, url: String) async throws {
        for i in 0..<Self.rounds {
            let name = "w\(i)-1.0-py3-none-any.whl"
            let path = dir.file("files/" + name)
            let sha = try await Shell.sha256(of: path)
            try dir.directory("app\(i)")
            let lock = #"{"files": [{"filename": "\#(name)", "name": "w\#(i)", "sha256": "\#(sha)", "size": \#(try FileSystem.size(of: path)), "url": "\#(url)/\#(name)", "version": "1.0"}], "lockVersion": 1, "target": {"glibc": "2.31", "platform": "linux/amd64", "pythonVersion": "3.11"}}"#
            try FileSystem.writeAtomically(dir.file("app\(i)/airlock.lock"), Array(lock.utf8))
            try FileSystem.writeAtomically(dir.file("app\(i)/requirements.txt"), Array("w\(i)==1.0\n".utf8))
        }
    }

    private func run(in dir: TempDir) async throws {
        try #require(try await CLI.run(["key", "generate", "--out", "k"], in: dir.path).status == 0)
        try #require(try await CLI.run(["trust", "add", "k.pub", "--store", "store"], in: dir.path).status == 0)
        // A bundle per round, with its own sequence (an import of a lower one is a rollback).
        for round in 1...Self.rounds {
            let input = try dir.directory("in\(round)")
            try FileSystem.writeAtomically(input + "/data.bin", (0..<4096).map { _ in UInt8.random(in: 0...255) })
            let sealed = try await CLI.run(
                ["seal", "--key", "k.key", "--sequence", "\(round)", "--store", "sealer", "--out", "b\(round).airlock", "in\(round)"],
                in: dir.path
            )
            try #require(sealed.status == 0, "\(sealed)")
        }
        for round in 1...Self.rounds {
            try FileSystem.writeAtomically(dir.file("put\(round).bin"), (0..<8192).map { _ in UInt8.random(in: 0...255) })
            let commands = [
                ["store", "put", "put\(round).bin", "--store", "store"],
                ["fetch", "--project", "app\(round - 1)", "--store", "store"],
                ["import", "b\(round).airlock", "--store", "store"],
                ["store", "gc", "--store", "store"],
            ]
            let running = try commands.map { try CLI.start($0, in: dir.path) }
            for (command, process) in zip(commands, running) {
                let result = try await process.wait(timeout: 120)
                #expect(result.status == 0, "round \(round): \(command.joined(separator: " ")): \(result)")
            }
            let verified = try await CLI.run(["store", "verify", "--store", "store"], in: dir.path)
            try #require(verified.status == 0, "round \(round): store verify: \(verified)")
            #expect(try FileSystem.list(dir.file("store/tmp")).isEmpty, "round \(round): tmp/ is empty")
        }
        // Every import landed, in order, and the last round's fetch is in the store.
        let history = try await CLI.run(["history", "--store", "store", "--json"], in: dir.path)
        #expect(history.status == 0 && history.stdout.contains("\"sequence\" : \(Self.rounds)"), "\(history)")
    }

    @Test func aLockHeldPastTheTimeoutIsAClearBusyAndAShorterHoldIsWaitedOut() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try FileSystem.writeAtomically(dir.file("a.bin"), Array("a\n".utf8))
        try #require(try await CLI.run(["store", "put", "a.bin", "--store", "store"], in: dir.path).status == 0)
        // Another process holds the store alone, as gc does, until the test lets it go (at most 60 s).
        let holder = try CLI.start(
            executable: "/usr/bin/flock",
            ["-x", "store/lock", "-c", "touch held; i=0; while [ ! -e release ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done"],
            in: dir.path
        )
        var waited = 0
        while FileSystem.kind(of: dir.file("held")) == nil, waited < 400 {
            try await Task.sleep(for: .milliseconds(25))
            waited += 1
        }
        try #require(FileSystem.kind(of: dir.file("held")) != nil, "flock took the store's lock")
        let busy = try await CLI.run(
            ["store", "put", "a.bin", "--store", "store", "--json"], in: dir.path, environment: ["AIRLOCK_LOCK_TIMEOUT": "0.3"]
        )
        #expect(busy.status == 2, "\(busy)")
        #expect(busy.stderr.contains("store busy") && busy.stdout.contains("core.store-locked"), "\(busy)")
        #expect(!busy.stderr.contains("Fatal error"), "\(busy)")
        // With the default wait, the same command waits for the holder and then succeeds.
        let waiting = try CLI.start(["store", "put", "a.bin", "--store", "store"], in: dir.path)
        try await Task.sleep(for: .milliseconds(300))
        try FileSystem.writeAtomically(dir.file("release"), [])
        let waitedOut = try await waiting.wait(timeout: 60)
        #expect(waitedOut.status == 0, "\(waitedOut)")
        let held = try await holder.wait(timeout: 60)
        #expect(held.status == 0, "\(held)")
    }
}
