// The matched-version sandbox through the executable: an image (the host's own Python, imported
// from a docker-archive) carried in a bundle and named again inside; `image run`; and `build`
// running its smoke test in bwrap, whose function list the deploy kit then waits for.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.containerEngines, .timeLimit(.minutes(10))) struct SandboxTests {
    private func project(_ dir: TempDir, app: String) async throws {
        try await FunctionsStandIn.project(dir, app: app)
    }

    @Test func buildSmokeTestsInTheSandboxAndTheKitWaitsForItsFunctions() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await project(dir, app: "import azure.functions as func\napp = func.FunctionApp()\n@app.route()\ndef hello(req): pass\n@app.route()\ndef bye(req): pass\n")
        let build = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference, "--json"],
            in: dir.path
        )
        try #require(build.status == 0, "\(build)")
        let result = try #require(try parseJSON(build) as? [String: Any])
        let functions = try #require(result["functions"] as? [[String: Any]])
        #expect(functions.compactMap { $0["name"] as? String } == ["hello", "bye"])
        #expect((result["image"] as? String)?.hasPrefix(HostPythonImage.reference + "@sha256:") == true)
        #expect(result["runtime"] as? String == "bwrap")

        let kit = try await CLI.run(
            ["deploy", "cloudshell", "--store", "store", "--artifact", "app.zip", "--resource-group", "rg", "--app", "func-app", "--out", "kit"],
            in: dir.path
        )
        try #require(kit.status == 0, "\(kit)")
        let script = try String(contentsOfFile: dir.file("kit/deploy.sh"), encoding: .utf8)
        #expect(script.contains("EXPECTED_FUNCTIONS=('hello' 'bye')"), "\(script.split(separator: "\n").filter { $0.contains("EXPECTED") })")
    }

    @Test(.enabled("needs a Docker engine or podman the test can run") {
        let docker = await ContainerEngines.shared.isAvailable(.docker)
        return await ContainerEngines.shared.isAvailable(.podman) || docker
    })
    func buildWithRuntimeDockerOrPodmanGivesTheZipBwrapGives() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await project(dir, app: "import azure.functions as func\napp = func.FunctionApp()\n@app.route()\ndef hello(req): pass\n")
        var digests: [String: String] = [:]
        for engine in [Engine.bwrap, .docker, .podman] {
            guard let setup = await ContainerEngines.shared.setup(engine) else { continue }
            let build = try await CLI.run(
                [
                    "build", "--project", "app", "--store", "store", "--runtime", engine.rawValue, "--image", HostPythonImage.reference,
                    "--compile-bytecode", "--no-cache", "--json",
                ],
                in: dir.path, environment: setup.environment, timeout: 300
            )
            try #require(build.status == 0, "\(engine): \(build)")
            let result = try #require(try parseJSON(build) as? [String: Any])
            #expect(result["runtime"] as? String == engine.rawValue)
            digests[engine.rawValue] = result["sha256"] as? String
            // image run over the same engine: the image's Python, the network off, its exit status.
            let run = try await CLI.run(
                [
                    "image", "run", "--store", "store", "--runtime", engine.rawValue, HostPythonImage.reference, "--", "python3", "-c",
                    "import socket, sys; print(sys.version_info[:2]); socket.create_connection(('1.1.1.1', 53), 2)",
                ],
                in: dir.path, environment: setup.environment, timeout: 120
            )
            #expect(run.status == 1 && run.stdout.contains("(\(HostPythonImage.version.replacingOccurrences(of: ".", with: ", ")))"), "\(engine): \(run)")
            #expect(run.stderr.contains("OSError") || run.stderr.contains("unreachable"), "\(engine): \(run)")
        }
        #expect(digests.count >= 2 && Set(digests.values).count == 1, "\(digests)")
    }

    @Test func anAppThatRegistersNothingFailsTheBuildWithExitOne() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await project(dir, app: "import azure.functions as func\napp = func.FunctionApp()\n")
        let build = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference],
            in: dir.path
        )
        #expect(build.status == 1, "\(build)")
        #expect(build.stderr.contains("registers no function"), "\(build)")
        let json = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference, "--json"],
            in: dir.path
        )
        #expect(json.status == 1 && errorCode(json) == "build.no-function", "\(json)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("app/dist/app.zip")))
    }

    @Test func badSandboxInputsExitTwoWithOneMessageAndWriteNothing() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await project(dir, app: "import azure.functions as func\napp = func.FunctionApp()\n")
        let usage = CoreErrorCode.usage.code.rawValue
        let notFound = ImageErrorCode.notFound.code.rawValue
        let cases: [([String], String)] = [
            (["build", "--project", "app", "--store", "store", "--json", "--setting", "=x"], "build.bad-setting"),
            (["build", "--project", "app", "--store", "store", "--json", "--setting", "a b=1"], "build.bad-setting"),
            (["build", "--project", "app", "--store", "store", "--json", "--image", "nope:1"], notFound),
            (["build", "--project", "app", "--store", "store", "--json", "--no-sandbox", "--compile-bytecode"], "build.needs-sandbox"),
            (["build", "--project", "app", "--store", "store", "--json", "--runtime", "lxc"], "runtime.unknown"),
            (["image", "run", "--store", "store", "--json", HostPythonImage.reference], usage),
            (
                [
                    "image", "run", "--store", "store", "--json", "--mount", "nocolon", HostPythonImage.reference, "--",
                    "true",
                ],
                usage
            ),
            (["image", "export", "--store", "store", "--json", "nope:1", "--out", "x.tar"], notFound),
        ]
        for (arguments, code) in cases {
            let result = try await CLI.run(arguments, in: dir.path)
            #expect(result.status == 2, "\(arguments): \(result)")
            #expect(result.stderrLines.first?.hasPrefix("airlock: ") == true, "\(arguments): \(result)")
            let got = errorCode(result)
            #expect(got == code, "\(arguments): \(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("app/dist/app.zip")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("x.tar")))
    }

    @Test func anImageTravelsInABundleAndRunsInside() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        let imported = try await CLI.run(["image", "import", "--store", "outside", "--json", try HostPythonImage.archive()], in: dir.path)
        try #require(imported.status == 0, "\(imported)")
        let manifest = try #require((try parseJSON(imported) as? [[String: Any]])?.first?["manifest"] as? String)
        let seal = try await CLI.run(
            ["seal", "--store", "outside", "--key", key.key, "--out", "image.airlock", "--image", HostPythonImage.reference],
            in: dir.path
        )
        try #require(seal.status == 0, "\(seal)")
        for step in [["trust", "add", key.pub, "--store", "inside"], ["import", "--store", "inside", "image.airlock"]] {
            let result = try await CLI.run(step, in: dir.path)
            try #require(result.status == 0, "\(result)")
        }
        let list = try await CLI.run(["image", "ls", "--store", "inside", "--json"], in: dir.path)
        let images = try #require(try parseJSON(list) as? [[String: Any]], "\(list)")
        #expect(images.map { "\($0["name"] ?? ""):\($0["tag"] ?? "")" } == [HostPythonImage.reference])
        #expect(images.first?["manifest"] as? String == manifest)
        let run = try await CLI.run(
            ["image", "run", "--store", "inside", HostPythonImage.reference, "--", "python3", "-c", "print(6 * 7)"], in: dir.path
        )
        #expect(run.status == 0 && run.stdoutLines == ["42"], "\(run)")
        let failing = try await CLI.run(["image", "run", "--store", "inside", HostPythonImage.reference, "--", "python3", "-c", "raise SystemExit(3)"], in: dir.path)
        #expect(failing.status == 3, "\(failing)")
    }
}
