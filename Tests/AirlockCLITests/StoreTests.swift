import AirlockCore
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct StoreTests {
    @Test("store put prints each file's sha256 and name; store cat gives the bytes back")
    func putPrintsDigestsAndCatReturnsBytes() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let a = try Fixture.write(dir.file("a.whl"), count: 300_000, seed: 1)
        let b = try Fixture.write(dir.file("b.tar"), count: 10, seed: 2)
        let put = try await CLI.run(["store", "put", "a.whl", "b.tar", "--store", "s"], in: dir.path)
        try #require(put.status == 0, "\(put)")
        let digestA = try await Shell.sha256(of: dir.file("a.whl"))
        let digestB = try await Shell.sha256(of: dir.file("b.tar"))
        #expect(put.stdoutLines == ["sha256:\(digestA)  a.whl", "sha256:\(digestB)  b.tar"], "\(put)")

        #expect(FileManager.default.fileExists(atPath: dir.file("s/blobs/sha256/\(digestA)")))
        #expect(FileManager.default.fileExists(atPath: dir.file("s/blobs/sha256/\(digestB)")))
        #expect(listing(dir.file("s/tmp")).isEmpty)

        let catA = try await CLI.run(["store", "cat", "sha256:\(digestA)", "--store", "s"], in: dir.path)
        #expect(catA.status == 0, "\(catA)")
        #expect(catA.stdoutData == a)
        let catB = try await CLI.run(["store", "cat", String(digestB.prefix(12)), "--store", "s"], in: dir.path)
        #expect(catB.status == 0, "\(catB)")
        #expect(catB.stdoutData == b)

        let missing = try await CLI.run(["store", "cat", String(repeating: "0", count: 64), "--store", "s"], in: dir.path)
        #expect(missing.status == 2, "\(missing)")
    }

    @Test("store put - reads standard input and records it under --name")
    func putFromStandardInput() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let data = Data(Fixture.bytes(count: 1_500_000, seed: 9))
        let put = try await CLI.run(["store", "put", "-", "--name", "piped.bin", "--store", "s"], in: dir.path, stdin: data)
        try #require(put.status == 0, "\(put)")
        try data.write(to: URL(fileURLWithPath: dir.file("copy.bin")))
        let digest = try await Shell.sha256(of: dir.file("copy.bin"))
        #expect(put.stdoutLines == ["sha256:\(digest)  piped.bin"], "\(put)")

        let cat = try await CLI.run(["store", "cat", digest, "--store", "s"], in: dir.path)
        #expect(cat.status == 0, "\(cat)")
        #expect(cat.stdoutData == data)

        let ls = try await CLI.run(["store", "ls", "--json", "--store", "s"], in: dir.path)
        let entries = try #require(try parseJSON(ls) as? [[String: Any]], "\(ls)")
        #expect(entries.count == 1)
        #expect(entries.first?["name"] as? String == "piped.bin")
        #expect(entries.first?["size"] as? Int == data.count)
    }

    @Test("store verify exits 0 on a clean store and 1 naming the blob whose bytes changed")
    func verifyNamesCorruptBlob() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        for i in 0..<3 { try Fixture.write(dir.file("f\(i)"), count: 50_000 + i, seed: UInt64(i)) }
        let put = try await CLI.run(["store", "put", "f0", "f1", "f2", "--store", "s"], in: dir.path)
        try #require(put.status == 0, "\(put)")

        let clean = try await CLI.run(["store", "verify", "--store", "s"], in: dir.path)
        #expect(clean.status == 0, "\(clean)")

        let victim = try await Shell.sha256(of: dir.file("f1"))
        let blob = dir.file("s/blobs/sha256/\(victim)")
        let chmod = try await Shell.run("chmod u+w '\(blob)'", in: dir.path)
        try #require(chmod.status == 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: blob))
        bytes[bytes.count / 2] ^= 0x80
        try bytes.write(to: URL(fileURLWithPath: blob))

        let dirty = try await CLI.run(["store", "verify", "--store", "s"], in: dir.path)
        #expect(dirty.status == 1, "\(dirty)")
        let problems = dirty.stderrLines.filter { $0.hasPrefix("airlock: ") }
        #expect(problems.count == 1, "\(dirty)")
        #expect(problems.first?.contains(victim) == true, "\(dirty)")
        #expect(hasNoStackTrace(dirty))

        // cat re-hashes too, and refuses to hand on the damaged bytes as good.
        let cat = try await CLI.run(["store", "cat", victim, "--store", "s"], in: dir.path)
        #expect(cat.status == 1, "\(cat)")
    }

    @Test("two store put processes on one store at once both succeed and leave a sound store", .timeLimit(.minutes(5)))
    func concurrentPutsLeaveSoundStore() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try dir.directory("one")
        try dir.directory("two")
        var expected: [String: String] = [:]
        for i in 0..<20 {
            try Fixture.write(dir.file("one/one-\(i).bin"), count: 200_000 + i * 1024, seed: UInt64(100 + i))
            try Fixture.write(dir.file("two/two-\(i).bin"), count: 200_000 + i * 1024, seed: UInt64(200 + i))
        }
        try Fixture.write(dir.file("one/common.bin"), count: 300_000, seed: 999)
        try Fixture.write(dir.file("two/common.bin"), count: 300_000, seed: 999)
        for side in ["one", "two"] {
            for name in listing(dir.file(side)) { expected[name] = try await Shell.sha256(of: dir.file("\(side)/\(name)")) }
        }
        try #require(expected.count == 41)

        // The store exists before the race (creating one concurrently is covered separately below).
        try Fixture.write(dir.file("seed.txt"), count: 10, seed: 1)
        let seed = try await CLI.run(["store", "put", "seed.txt", "--store", "s"], in: dir.path)
        try #require(seed.status == 0, "\(seed)")
        expected["seed.txt"] = try await Shell.sha256(of: dir.file("seed.txt"))

        let first = try CLI.start(
            ["store", "put"] + listing(dir.file("one")).map { "one/" + $0 } + ["--store", "s"],
            in: dir.path
        )
        let second = try CLI.start(
            ["store", "put"] + listing(dir.file("two")).map { "two/" + $0 } + ["--store", "s"],
            in: dir.path
        )
        let r1 = try await first.wait()
        let r2 = try await second.wait()
        defer {
            first.removeOutput()
            second.removeOutput()
        }
        #expect(r1.status == 0, "\(r1)")
        #expect(r2.status == 0, "\(r2)")
        #expect(r1.stdoutLines.count == 21)
        #expect(r2.stdoutLines.count == 21)

        let ls = try await CLI.run(["store", "ls", "--json", "--store", "s"], in: dir.path)
        try #require(ls.status == 0, "\(ls)")
        let entries = try #require(try parseJSON(ls) as? [[String: Any]], "\(ls)")
        var listed: [String: String] = [:]
        for e in entries {
            if let name = e["name"] as? String, let digest = e["digest"] as? String { listed[name] = digest }
        }
        #expect(Set(listed.keys) == Set(expected.keys))
        for (name, digest) in expected {
            #expect(listed[name] == "sha256:" + digest, "\(name): \(listed[name] ?? "missing")")
        }
        #expect(Set(listing(dir.file("s/blobs/sha256"))) == Set(expected.values))
        #expect(listing(dir.file("s/tmp")).isEmpty)

        let verify = try await CLI.run(["store", "verify", "--store", "s"], in: dir.path)
        #expect(verify.status == 0, "\(verify)")
    }

    @Test(
        "processes that create a fresh store at the same moment all succeed",
        .timeLimit(.minutes(5))
    )
    func concurrentCreationOfFreshStore() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        for i in 0..<3 { try Fixture.write(dir.file("f\(i)"), count: 4096, seed: UInt64(i)) }
        // A race: each round opens a window of a few milliseconds, so try several rounds.
        for round in 0..<12 {
            let store = "s\(round)"
            let running = try (0..<3).map { i in
                try CLI.start(["store", "put", "f\(i)", "--store", store], in: dir.path)
            }
            for (i, process) in running.enumerated() {
                let result = try await process.wait()
                process.removeOutput()
                #expect(result.status == 0, "round \(round), process \(i): \(result)")
            }
            let ls = try await CLI.run(["store", "ls", "--json", "--store", store], in: dir.path)
            #expect((try? parseJSON(ls) as? [Any])?.count == 3, "round \(round): \(ls)")
        }
    }

    @Test("a store put killed mid-stream leaves no blob, and the next writer clears tmp/", .timeLimit(.minutes(5)))
    func killedPutLeavesNoPartialBlob() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let store = dir.file("s")
        // Standard input is a FIFO this test keeps open, so the put is still reading when it is killed.
        let fifo = dir.file("stdin.fifo")
        try #require(mkfifo(fifo, 0o600) == 0)
        let running = try CLI.start(
            ["store", "put", "-", "--name", "big", "--store", store],
            in: dir.path,
            stdin: .file(fifo)
        )
        // Stop the child whatever happens below.
        defer { running.kill() }
        let stdin = try #require(FileHandle(forWritingAtPath: fifo))

        // 3 MiB: more than the pipe holds, so when the writes return the child has read most of it.
        let chunk = 256 * 1024
        let data = Data(Fixture.bytes(count: 3 << 20, seed: 42))
        var offset = 0
        while offset < data.count {
            try stdin.write(contentsOf: data[offset..<(offset + chunk)])
            offset += chunk
        }

        // Bounded wait for the event we want: the blob's .part file in tmp/.
        let deadline = Date().addingTimeInterval(20)
        var parts: [String] = []
        while Date() < deadline {
            parts = listing(store + "/tmp").filter { $0.hasSuffix(".part") }
            if !parts.isEmpty { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        try #require(!parts.isEmpty, "no .part file appeared in \(store)/tmp")

        running.kill()
        let killed = try await running.wait(timeout: 20)
        #expect(killed.wasSignaled && killed.status == SIGKILL, "\(killed)")
        try? stdin.close()

        try data.write(to: URL(fileURLWithPath: dir.file("sent.bin")))
        let digest = try await Shell.sha256(of: dir.file("sent.bin"))
        #expect(!FileManager.default.fileExists(atPath: store + "/blobs/sha256/" + digest))
        // Nothing else reached blobs/: no partial file, no temp name, only whole blobs (none here).
        #expect(listing(store + "/blobs/sha256").isEmpty, "\(listing(store + "/blobs/sha256"))")
        #expect(listing(store + "/blobs") == ["sha256"])

        // The next writer finds no other writer alive and removes the crashed one's leftovers.
        try Fixture.write(dir.file("small.txt"), count: 100, seed: 5)
        let put = try await CLI.run(["store", "put", "small.txt", "--store", store], in: dir.path)
        #expect(put.status == 0, "\(put)")
        let small = try await Shell.sha256(of: dir.file("small.txt"))
        #expect(put.stdoutLines == ["sha256:\(small)  small.txt"])
        #expect(listing(store + "/tmp").isEmpty, "tmp/ still holds \(listing(store + "/tmp"))")
        #expect(listing(store + "/blobs/sha256") == [small])
        let verify = try await CLI.run(["store", "verify", "--store", store], in: dir.path)
        #expect(verify.status == 0, "\(verify)")
    }

    @Test("store gc removes only unrooted blobs; put roots and imported bundles survive")
    func gcRemovesOnlyUnrootedBlobs() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try Fixture.write(dir.file("rooted.bin"), count: 5_000, seed: 1)
        try Fixture.write(dir.file("loose.bin"), count: 6_000, seed: 2)
        try Fixture.write(dir.file("app.zip"), count: 7_000, seed: 3)
        let rooted = try await Shell.sha256(of: dir.file("rooted.bin"))
        let loose = try await Shell.sha256(of: dir.file("loose.bin"))
        let app = try await Shell.sha256(of: dir.file("app.zip"))

        try #require(try await CLI.run(["store", "put", "rooted.bin", "--store", "s"], in: dir.path).status == 0)
        try #require(try await CLI.run(["store", "put", "loose.bin", "--no-root", "--store", "s"], in: dir.path).status == 0)
        try #require(try await CLI.run(["trust", "add", key.pub, "--store", "s"], in: dir.path).status == 0)
        let seal = try await CLI.run(
            ["seal", "--out", "b.airlock", "--key", key.key, "--store", "outside", "app.zip"],
            in: dir.path
        )
        try #require(seal.status == 0, "\(seal)")
        let imported = try await CLI.run(["import", "b.airlock", "--store", "s"], in: dir.path)
        try #require(imported.status == 0, "\(imported)")
        let before = Set(listing(dir.file("s/blobs/sha256")))
        // rooted, loose, app, plus the bundle's manifest, signature and SHA256SUMS kept as evidence.
        #expect(before.count == 6, "\(before)")

        let dry = try await CLI.run(["store", "gc", "--dry-run", "--store", "s"], in: dir.path)
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdoutLines.count == 1, "\(dry)")
        #expect(dry.stdoutLines.first?.contains(loose) == true, "\(dry)")
        #expect(Set(listing(dir.file("s/blobs/sha256"))) == before, "--dry-run removed something")

        let gc = try await CLI.run(["store", "gc", "--store", "s"], in: dir.path)
        #expect(gc.status == 0, "\(gc)")
        #expect(gc.stdoutLines.count == 1 && gc.stdoutLines.first?.contains(loose) == true, "\(gc)")
        let after = Set(listing(dir.file("s/blobs/sha256")))
        #expect(after == before.subtracting([loose]))
        #expect(after.contains(rooted))
        #expect(after.contains(app))

        let again = try await CLI.run(["store", "gc", "--dry-run", "--store", "s"], in: dir.path)
        #expect(again.status == 0 && again.stdoutLines.isEmpty, "\(again)")
        let verify = try await CLI.run(["store", "verify", "--store", "s"], in: dir.path)
        #expect(verify.status == 0, "\(verify)")
        let export = try await CLI.run(["export", "app.zip", "--out", "out", "--store", "s"], in: dir.path)
        #expect(export.status == 0, "\(export)")
        #expect(try await Shell.sha256(of: dir.file("out/app.zip")) == app)
    }

    @Test("store gc --keep-last N keeps what the newest N bundles of each channel carry, and every bundle's manifest and signatures")
    func gcKeepLastFreesWhatOnlyOlderBundlesCarried() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try #require(try await CLI.run(["trust", "add", key.pub, "--store", "s"], in: dir.path).status == 0)
        try Fixture.write(dir.file("shared.bin"), count: 4_000, seed: 10)
        let shared = try await Shell.sha256(of: dir.file("shared.bin"))
        var only: [String] = []
        // Three weeks on channel "weekly", one bundle on "other"; each carries the shared file and its own.
        for (week, channel) in [(1, "weekly"), (2, "weekly"), (3, "weekly"), (1, "other")] {
            let name = "\(channel)-\(week).bin"
            try Fixture.write(dir.file(name), count: 3_000 + week, seed: UInt64(20 + week + (channel == "other" ? 10 : 0)))
            only.append(try await Shell.sha256(of: dir.file(name)))
            let seal = try await CLI.run(
                ["seal", "--out", "\(channel)-\(week).airlock", "--key", key.key, "--store", "outside", "--channel", channel,
                 "--sequence", String(week), "shared.bin", name],
                in: dir.path
            )
            try #require(seal.status == 0, "\(seal)")
            let imported = try await CLI.run(["import", "\(channel)-\(week).airlock", "--store", "s"], in: dir.path)
            try #require(imported.status == 0, "\(imported)")
        }
        let before = Set(listing(dir.file("s/blobs/sha256")))
        // Without --keep-last every imported bundle's content is kept.
        let all = try await CLI.run(["store", "gc", "--dry-run", "--store", "s"], in: dir.path)
        #expect(all.status == 0 && all.stdoutLines.isEmpty, "\(all)")

        let dry = try await CLI.run(["store", "gc", "--keep-last", "2", "--dry-run", "--store", "s"], in: dir.path)
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdoutLines.count == 1 && dry.stdoutLines.first?.contains(only[0]) == true, "\(dry)")
        #expect(dry.stderr.contains("would free 1 blob(s)"), "\(dry)")
        #expect(Set(listing(dir.file("s/blobs/sha256"))) == before, "--dry-run removed something")

        let gc = try await CLI.run(["store", "gc", "--keep-last", "2", "--store", "s"], in: dir.path)
        #expect(gc.status == 0 && gc.stdoutLines.count == 1, "\(gc)")
        let after = Set(listing(dir.file("s/blobs/sha256")))
        #expect(after == before.subtracting([only[0]]))
        #expect(after.isSuperset(of: [shared, only[1], only[2], only[3]]))
        // The history still reads all four imports, and the store verifies.
        let history = try await CLI.run(["history", "--store", "s", "--json"], in: dir.path)
        #expect(history.status == 0, "\(history)")
        #expect((try parseJSON(history) as? [Any])?.count == 4, "\(history)")
        #expect(try await CLI.run(["store", "verify", "--store", "s"], in: dir.path).status == 0)
        let audit = try await CLI.run(["audit", "--store", "s", "--json"], in: dir.path)
        #expect(audit.status == 0, "\(audit)")

        let one = try await CLI.run(["store", "gc", "--keep-last", "1", "--store", "s"], in: dir.path)
        #expect(one.status == 0 && one.stdoutLines.count == 1 && one.stdoutLines.first?.contains(only[1]) == true, "\(one)")
        let zero = try await CLI.run(["store", "gc", "--keep-last", "0", "--store", "s"], in: dir.path)
        #expect(zero.status == 2 && zero.stderr.contains("--keep-last"), "\(zero)")
    }
}
