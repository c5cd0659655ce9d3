import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct GoToolchainCLITests {
    /// A stand-in release archive: go/VERSION and this machine's /bin/true as go/bin/go.
    private func fakeRelease(_ dir: TempDir) async throws -> String {
        let (status, output) = try await shell(
            "mkdir -p t/go/bin && cp /bin/true t/go/bin/go && printf 'go1.22.10\\n' > t/go/VERSION && tar -C t -czf go.tar.gz go",
            in: dir.path
        )
        try #require(status == 0, "\(output)")
        return dir.file("go.tar.gz")
    }

    @Test("go toolchain add, ls and rm: exit 0, 2 for a file that is no toolchain, 1 for a wrong --sha256")
    func addListRemove() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let archive = try await fakeRelease(dir)
        let sha = try Store.hashFile(archive).0.hex

        let added = try await CLI.run(
            ["go", "toolchain", "add", archive, "--sha256", sha, "--store", "s"],
            in: dir.path
        )
        #expect(added.status == 0, "\(added)")
        #expect(added.stdoutLines == ["go1.22.10.linux-amd64"], "\(added)")
        let listed = try await CLI.run(["go", "toolchain", "ls", "--json", "--store", "s"], in: dir.path)
        let list = try #require(try parseJSON(listed) as? [[String: Any]], "\(listed)")
        #expect(list.map { $0["name"] as? String } == ["go1.22.10.linux-amd64"])
        #expect(list.first?["format"] as? String == "tar.gz" && list.first?["arch"] as? String == "amd64")

        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: dir.file("notes.txt")))
        let notOne = try await CLI.run(["go", "toolchain", "add", "notes.txt", "--json", "--store", "s"], in: dir.path)
        #expect(notOne.status == 2, "\(notOne)")
        #expect(errorCode(notOne) == "gotoolchain.not-a-toolchain", "\(notOne)")
        let wrong = try await CLI.run(
            [
                "go", "toolchain", "add", archive, "--sha256", String(repeating: "0", count: 64), "--json", "--store",
                "s",
            ],
            in: dir.path
        )
        #expect(wrong.status == 1, "\(wrong)")
        #expect(errorCode(wrong) == "gotoolchain.hash-mismatch", "\(wrong)")
        let badHex = try await CLI.run(
            ["go", "toolchain", "add", archive, "--sha256", "xyz", "--store", "s"],
            in: dir.path
        )
        #expect(badHex.status == 2 && badHex.stderr.contains("--sha256 'xyz'"), "\(badHex)")

        let removed = try await CLI.run(["go", "toolchain", "rm", "1.22.10", "--store", "s"], in: dir.path)
        #expect(removed.status == 0 && removed.stdoutLines == ["go1.22.10.linux-amd64"], "\(removed)")
        let again = try await CLI.run(["go", "toolchain", "rm", "1.22.10", "--json", "--store", "s"], in: dir.path)
        #expect(again.status == 2 && errorCode(again) == "core.not-in-store", "\(again)")
    }
}

@Suite struct CheckELFCLITests {
    @Test(
        "check-elf: 0 for a static x86-64 executable, 1 with the finding for a dynamic one, 2 for a target Functions does not run"
    )
    func exitStatuses() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        // Debian's ldconfig is a static executable; /bin/true is a dynamic one.
        if FileManager.default.fileExists(atPath: "/sbin/ldconfig") {
            let ok = try await CLI.run(["check-elf", "/sbin/ldconfig"], in: dir.path)
            #expect(
                ok.status == 0 && ok.stdoutLines.first?.hasSuffix("statically linked: ok for linux/amd64") == true,
                "\(ok)"
            )
        }
        let dynamic = try await CLI.run(["check-elf", "/bin/true"], in: dir.path)
        #expect(dynamic.status == 1, "\(dynamic)")
        #expect(dynamic.stderr.contains("/bin/true: dynamically linked, interpreter "), "\(dynamic)")
        let json = try await CLI.run(["check-elf", "/bin/true", "--json"], in: dir.path)
        #expect(json.status == 1, "\(json)")
        let reports = try #require(try parseJSON(json) as? [[String: Any]], "\(json)")
        #expect((reports.first?["findings"] as? [String])?.first?.hasPrefix("dynamically linked") == true, "\(json)")
        let target = try await CLI.run(["check-elf", "/bin/true", "--target", "windows/amd64"], in: dir.path)
        #expect(target.status == 2 && target.stderr.contains("linux/amd64 or linux/arm64"), "\(target)")
    }
}
