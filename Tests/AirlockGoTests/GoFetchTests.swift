// `airlock lock` and `airlock fetch` for Go projects against a real GOPROXY served on 127.0.0.1
// (scripts/goproxy-serve.py) from fixture modules, one with an upper-case path; go.sum written by
// the real go command (`go mod tidy` over the same modules).

import AirlockCore
import AirlockGo
import AirlockTestSupport
import Foundation
import Testing

/// scripts/goproxy-serve.py over a GOPROXY tree; stopped when dropped (BackgroundProcess's deinit).
final class GoProxyServer {
    let process: BackgroundProcess
    let url: String
    let log: String

    init(root: String, log: String, arguments: [String] = []) async throws {
        self.log = log
        try FileSystem.makeDirectory(root)
        process = try await BackgroundProcess.start(
            ChildProcess(
                executable: "/usr/bin/python3",
                arguments: [GoTool.root + "/scripts/goproxy-serve.py", "--root", root, "--log", log] + arguments
            )
        )
        url = "http://127.0.0.1:\(process.firstLine)"
    }

    /// The request paths served so far.
    var requests: [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stop() async { await process.stop() }
}

/// A project over two fixture modules (`example.com/Upper/greet` needs `example.com/dep`), its
/// go.sum from `go mod tidy`, their GOPROXY tree, and a store.
struct GoFixtureProject {
    let dir: TemporaryDirectory
    let project: String
    let proxyRoot: String
    let store: Store

    static let modules = [
        FixtureModule(
            "example.com/Upper/greet", "v1.0.0",
            files: [
                "go.mod": "module example.com/Upper/greet\n\ngo 1.21\n\nrequire example.com/dep v1.2.0\n",
                "greet.go":
                    "package greet\n\nimport \"example.com/dep\"\n\nfunc Hello(name string) string { return dep.Prefix() + name + \".\" }\n",
            ]
        ),
        FixtureModule("example.com/dep", "v1.2.0", files: ["dep.go": "package dep\n\nfunc Prefix() string { return \"Hello, \" }\n"]),
        FixtureModule("example.com/dep", "v1.1.0", files: ["dep.go": "package dep\n\nfunc Prefix() string { return \"Hi, \" }\n"]),
    ]

    static let mainGo = """
        package main

        import (
        \t"fmt"

        \t"example.com/Upper/greet"
        )

        func main() { fmt.Println(greet.Hello("bar")) }

        """

    init(modules: [FixtureModule] = GoFixtureProject.modules, main: String = GoFixtureProject.mainGo) async throws {
        dir = try TemporaryDirectory()
        proxyRoot = dir.path + "/proxy"
        try await GoProxyFixture.write(modules, to: proxyRoot)
        project = dir.path + "/app"
        try FileSystem.makeDirectory(project)
        _ = try dir.file("app/go.mod", "module example.com/app\n\ngo 1.22.10\n\nrequire example.com/Upper/greet v1.0.0\n")
        _ = try dir.file("app/main.go", main)
        let (status, output) = try await GoTool.run("mod tidy", proxy: proxyRoot, in: dir, workdir: project)
        guard status == 0 else { throw CheckFailure("go mod tidy: \(output)") }
        store = try Store.open(at: dir.path + "/store")
    }

    var goSum: String { (try? String(contentsOfFile: project + "/go.sum", encoding: .utf8)) ?? "" }

    /// The lock `airlock lock` would write, from go.sum alone (for tests that need no toolchain):
    /// every module go.sum lists.
    func lockFromGoSum(_ text: String? = nil) throws -> GoLock {
        let sum = try GoSum(text: text ?? goSum)
        var modules: [GoLock.Module] = []
        for key in sum.hashes.keys where key.part == .goMod {
            let module = try ModuleVersion(path: key.path, version: key.version)
            modules.append(
                GoLock.Module(
                    path: key.path, version: key.version, goMod: try sum.hash(for: module, .goMod),
                    zip: try? sum.hash(for: module, .zip), indirect: nil
                )
            )
        }
        return GoLock(
            module: "example.com/app",
            toolchain: .init(
                version: "1.22.10", name: "go1.22.10.linux-amd64",
                sha256: SHA256Hasher.hash(Array("no toolchain in this test".utf8))
            ),
            goModSHA256: try Store.hashFile(project + "/go.mod").0, goSumSHA256: try Store.hashFile(project + "/go.sum").0,
            vendored: false, modules: modules
        )
    }

    func fetch(_ lock: GoLock, proxy: String, extra: [String: String] = [:]) async throws -> GoFetchReport {
        var environment = ["GOPROXY": proxy, "HOME": dir.path + "/home", "NETRC": dir.path + "/no-netrc"]
        environment.merge(extra) { _, new in new }
        return try await GoModuleFetcher.fetch(
            GoModuleFetcher.Options(lock: lock, projectName: "app", environment: environment, jobs: 4), store: store
        )
    }

    func storedZips() throws -> [String] {
        try store.index.entries(kind: GoModuleStore.zipKind).map { $0.name + "@" + ($0.version ?? "") }.sorted()
    }
}

@Suite(.serialized) struct GoLockTests {
    @Test(.enabled(if: GoTool.wheel != nil, GoTool.missing))
    func lockListsTheBuildListWithGoSumsHashesThroughTheStoredToolchain() async throws {
        let fixture = try await GoFixtureProject()
        let server = try await GoProxyServer(root: fixture.proxyRoot, log: fixture.dir.path + "/requests")
        _ = try GoToolchain.add(GoTool.wheel!, expected: nil, origin: nil, to: fixture.store)
        let result = try await GoLocker.lock(
            .init(project: fixture.project, environment: ["GOPROXY": server.url, "HOME": fixture.dir.path]),
            store: fixture.store
        )
        #expect(result.lock.toolchain.version == "1.22.10")
        #expect(result.lock.modules.map(\.module.description) == ["example.com/Upper/greet@v1.0.0", "example.com/dep@v1.2.0"])
        let sum = try GoSum(text: fixture.goSum)
        for module in result.lock.modules {
            #expect(module.zip == (try sum.hash(for: module.module, .zip)))
            #expect(module.goMod == (try sum.hash(for: module.module, .goMod)))
        }
        // go list asked the proxy for go.mod files only, with the upper case escaped.
        #expect(server.requests.contains("/example.com/!upper/greet/@v/v1.0.0.mod"))
        #expect(!server.requests.contains { $0.hasSuffix(".zip") })
        // The lock is what fetch reads back, and a second lock changes nothing.
        #expect(try GoLock.read(project: fixture.project).lock == result.lock)
        let again = try await GoLocker.lock(
            .init(project: fixture.project, environment: ["GOPROXY": server.url, "HOME": fixture.dir.path]),
            store: fixture.store
        )
        #expect(!again.changed)

        // A module whose go.mod go.sum does not list: named, nothing locked.
        let trimmed = fixture.goSum.split(separator: "\n").filter { !$0.hasPrefix("example.com/dep v1.2.0/go.mod") }
        try FileSystem.writeAtomically(fixture.project + "/go.sum", Array((trimmed.joined(separator: "\n") + "\n").utf8))
        let error = await #expect(throws: CheckFailure.self) {
            try await GoLocker.lock(
                .init(project: fixture.project, environment: ["GOPROXY": server.url, "HOME": fixture.dir.path]),
                store: fixture.store
            )
        }
        #expect(error?.code == GoModuleErrorCode.listFailed.code)
        #expect(error?.description.contains("example.com/dep") == true)
        // The lock on disk now disagrees with go.sum: fetch and build refuse it.
        let stale = #expect(throws: UsageError.self) { try result.lock.checkCurrent(project: fixture.project) }
        #expect(stale?.code == GoModuleErrorCode.staleLock.code)
        await server.stop()
    }

    @Test func goproxyValuesAreReadAsTheGoCommandReadsThem() throws {
        let list = try GoProxyList("https://a.example/mod, http://b.example|file:///srv/proxy,direct")
        #expect(list.entries.map(\.url.absoluteString) == ["https://a.example/mod", "http://b.example", "file:///srv/proxy"])
        #expect(list.entries.map(\.fallsThroughOnError) == [false, true, false])
        #expect(list.stopsAt == "direct")
        #expect(list.goValue == "https://a.example/mod,http://b.example|file:///srv/proxy")
        #expect(try GoProxyList(nil).entries.map(\.url.host) == ["proxy.golang.org"])
        for value in ["off", "direct", "direct,https://a.example", "ftp://a.example"] {
            let error = #expect(throws: UsageError.self) { try GoProxyList(value) }
            #expect(error?.code == GoModuleErrorCode.proxyRefused.code, "\(value)")
            #expect(error?.description.contains("GOPROXY=\(value)") == true)
        }
        let patterns = GoPathPatterns("*.corp.example,github.com/acme/private")
        #expect(patterns.matches("git.corp.example/team/lib"))
        #expect(patterns.matches("github.com/acme/private/sub"))
        #expect(!patterns.matches("github.com/acme/public"))
        #expect(!patterns.matches("corp.example/x"))
        #expect(GoPathPatterns.noProxy(environment: ["GOPRIVATE": "*.corp.example", "GONOPROXY": "none"]).patterns.isEmpty)
        #expect(GoPathPatterns.noProxy(environment: ["GOPRIVATE": "*.corp.example"]).matches("a.corp.example/x"))
    }

    @Test func netrcGivesBasicAuthenticationForItsHostOnly() throws {
        let netrc = Netrc(text: "machine goproxy.corp.example\n  login alice password s3cret\n# a comment\ndefault login anon password x\n")
        #expect(netrc.authorization(for: URL(string: "https://goproxy.corp.example/x")!)?.value == "Basic YWxpY2U6czNjcmV0")
        #expect(netrc.authorization(for: URL(string: "https://other.example/x")!)?.value == "Basic YW5vbjp4")
        #expect(Netrc(text: "machine a.example login u password p").authorization(for: URL(string: "https://b.example")!) == nil)
    }
}

@Suite struct GoFetchTests {
    @Test(.enabled(if: GoTool.path != nil, GoTool.missing))
    func modulesAreFetchedCheckedStoredAndTheSecondFetchAsksNothing() async throws {
        let fixture = try await GoFixtureProject()
        let server = try await GoProxyServer(root: fixture.proxyRoot, log: fixture.dir.path + "/requests")
        let lock = try fixture.lockFromGoSum()
        let report = try await fixture.fetch(lock, proxy: server.url)
        #expect(report.error == nil, "\(report.modules)")
        #expect(report.count(.fetched) == 2)
        #expect(try fixture.storedZips() == ["example.com/Upper/greet@v1.0.0", "example.com/dep@v1.2.0"])
        #expect(server.requests.contains("/example.com/!upper/greet/@v/v1.0.0.zip"))
        let asked = server.requests.count
        let again = try await fixture.fetch(lock, proxy: server.url)
        #expect(again.count(.present) == 2)
        #expect(server.requests.count == asked)

        // The exported tree is a GOPROXY the real go command builds from, offline.
        let tree = fixture.dir.path + "/export"
        try FileSystem.makeDirectory(tree)
        try GoModuleStore.export(try GoModuleStore.require(lock, in: fixture.store, project: "app"), from: fixture.store, to: tree)
        let (status, output) = try await GoTool.run(
            "run .", proxy: tree, in: fixture.dir, workdir: fixture.project,
            extra: ["GOMODCACHE": fixture.dir.path + "/modcache2", "GOFLAGS": "-mod=mod -modcacherw"]
        )
        #expect(status == 0 && output.contains("Hello, bar."), "\(output)")
        await server.stop()
    }

    @Test(.enabled(if: GoTool.path != nil, GoTool.missing))
    func aZipThatGoSumDoesNotVouchForNamesTheModuleAndStoresNothingOfIt() async throws {
        let fixture = try await GoFixtureProject()
        let server = try await GoProxyServer(root: fixture.proxyRoot, log: fixture.dir.path + "/requests")
        let sum = try GoSum(text: fixture.goSum)
        let dep = try ModuleVersion(path: "example.com/dep", version: "v1.2.0")
        let wrong = try sum.hash(for: dep, .zip).replacingOccurrences(of: "h1:", with: "h1:X").dropLast()
        let text = fixture.goSum.replacingOccurrences(of: try sum.hash(for: dep, .zip), with: String(wrong))
        let report = try await fixture.fetch(try fixture.lockFromGoSum(text), proxy: server.url)
        let failed = report.modules.filter { $0.status == .failed }
        #expect(failed.map(\.module) == ["example.com/dep@v1.2.0"])
        #expect(failed.first?.code == GoModuleErrorCode.hashMismatch.code)
        #expect(failed.first?.reason?.contains("go.sum says") == true)
        #expect(report.error?.status == .checkFailed)
        #expect(try fixture.storedZips() == ["example.com/Upper/greet@v1.0.0"])
        #expect(try fixture.store.index.entries(kind: GoModuleStore.goModKind).allSatisfy { $0.name != "example.com/dep" })
        await server.stop()
    }

    @Test(.enabled(if: GoTool.path != nil, GoTool.missing))
    func proxiesAreTriedInListOrderWithCommaAndPipeSemantics() async throws {
        let fixture = try await GoFixtureProject()
        let good = try await GoProxyServer(root: fixture.proxyRoot, log: fixture.dir.path + "/good")
        let empty = try await GoProxyServer(root: fixture.dir.path + "/nothing", log: fixture.dir.path + "/empty")
        let lock = try fixture.lockFromGoSum()
        // 404 from the first: the next is asked.
        let report = try await fixture.fetch(lock, proxy: empty.url + "," + good.url)
        #expect(report.error == nil, "\(report.modules)")
        #expect(empty.requests.contains("/example.com/dep/@v/v1.2.0.mod"))

        // A proxy that does not answer: `|` goes on, `,` stops there.
        let other = try await GoFixtureProject()
        let dead = "http://127.0.0.1:1"
        let stopped = try await other.fetch(try other.lockFromGoSum(), proxy: dead + "," + good.url)
        #expect(stopped.count(.failed) == 2)
        #expect(stopped.modules.allSatisfy { $0.code == GoModuleErrorCode.downloadFailed.code })
        let piped = try await other.fetch(try other.lockFromGoSum(), proxy: dead + "|" + good.url)
        #expect(piped.error == nil, "\(piped.modules)")

        // On no proxy, with direct next: said so.
        let third = try await GoFixtureProject()
        let missing = try await third.fetch(try third.lockFromGoSum(), proxy: empty.url + ",direct")
        #expect(missing.modules.allSatisfy { $0.code == GoModuleErrorCode.notFound.code })
        #expect(missing.modules.first?.reason?.contains("direct") == true)
        // GOPRIVATE modules would come from their VCS: refused by name, no request.
        let before = good.requests.count
        let privateReport = try await third.fetch(
            try third.lockFromGoSum(), proxy: good.url, extra: ["GOPRIVATE": "example.com/dep"]
        )
        #expect(privateReport.modules.first { $0.module == "example.com/dep@v1.2.0" }?.code == GoModuleErrorCode.proxyRefused.code)
        #expect(!good.requests.dropFirst(before).contains { $0.hasPrefix("/example.com/dep/") })
        await good.stop()
        await empty.stop()
    }

    @Test(.enabled(if: GoTool.path != nil, GoTool.missing))
    func netrcCredentialsReachAProxyThatWantsThem() async throws {
        let fixture = try await GoFixtureProject()
        let server = try await GoProxyServer(
            root: fixture.proxyRoot, log: fixture.dir.path + "/requests", arguments: ["--auth", "alice:s3cret"]
        )
        let lock = try fixture.lockFromGoSum()
        let refused = try await fixture.fetch(lock, proxy: server.url)
        #expect(refused.count(.failed) == 2)
        #expect(refused.modules.first?.reason?.contains("401") == true)
        let netrc = try fixture.dir.file("netrc", "machine 127.0.0.1 login alice password s3cret\n")
        let report = try await fixture.fetch(lock, proxy: server.url, extra: ["NETRC": netrc])
        #expect(report.error == nil, "\(report.modules)")
        await server.stop()
    }

    @Test(.enabled(if: GoTool.path != nil, GoTool.missing))
    func anInterruptedZipIsResumedWithRange() async throws {
        // Random hex does not deflate: the zip is larger than where the server drops it.
        let noise = pseudoRandom(20000, seed: 1).map { String(format: "%02x", $0) }.joined()
        var modules = GoFixtureProject.modules
        modules[1].files["big.go"] = "package dep\n\n// " + noise + "\n"
        let fixture = try await GoFixtureProject(modules: modules)
        let server = try await GoProxyServer(
            root: fixture.proxyRoot, log: fixture.dir.path + "/requests", arguments: ["--drop-after", "2000"]
        )
        let lock = try fixture.lockFromGoSum()
        let first = try await fixture.fetch(lock, proxy: server.url)
        let dep = first.modules.first { $0.module == "example.com/dep@v1.2.0" }
        #expect(dep?.status == .failed)
        #expect(dep?.reason?.contains("resume") == true, "\(String(describing: dep))")
        let second = try await fixture.fetch(lock, proxy: server.url)
        #expect(second.error == nil, "\(second.modules)")
        #expect(second.modules.first { $0.module == "example.com/dep@v1.2.0" }?.resumedFrom == 2000)
        await server.stop()
    }

    @Test(arguments: [
        ("escaping", "z.writestr(prefix + '../evil.go', 'package x')", "'..' element"),
        ("case", "z.writestr(prefix + 'a.go', 'package x')\nz.writestr(prefix + 'A.go', 'package x')", "differ only in case"),
        (
            "symlink",
            "i = zipfile.ZipInfo(prefix + 'link')\ni.external_attr = 0o120777 << 16\nz.writestr(i, 'target')",
            "link"
        ),
        ("oversized", "z.writestr(prefix + 'LICENSE', 'x' * (16 * 1024 * 1024 + 1))", "LICENSE"),
    ])
    func hostileZipsFromAProxyAreRefusedWithNothingStored(_ name: String, _ snippet: String, _ reason: String) async throws {
        let fixture = try await GoFixtureProject()
        let server = try await GoProxyServer(root: fixture.proxyRoot, log: fixture.dir.path + "/requests")
        try await GoProxyFixture.hostileZip(
            at: fixture.proxyRoot + "/example.com/dep/@v/v1.2.0.zip", prefix: "example.com/dep@v1.2.0/",
            "z.writestr(prefix + 'go.mod', 'module example.com/dep\\n')\n" + snippet
        )
        let report = try await fixture.fetch(try fixture.lockFromGoSum(), proxy: server.url)
        let dep = report.modules.first { $0.module == "example.com/dep@v1.2.0" }
        #expect(dep?.code == GoModuleErrorCode.badModuleZip.code, "\(name): \(String(describing: dep))")
        #expect(dep?.reason?.contains(reason) == true, "\(name): \(String(describing: dep?.reason))")
        #expect(try fixture.storedZips() == ["example.com/Upper/greet@v1.0.0"])
        let partials = try FileSystem.list(fixture.store.root + "/partial")
        #expect(partials.isEmpty, "\(partials)")
        await server.stop()
    }
}
