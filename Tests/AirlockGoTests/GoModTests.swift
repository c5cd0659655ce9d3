import AirlockCore
import AirlockGo
import AirlockTestSupport
import Foundation
import Testing

@Suite struct GoModFileTests {
    static let text = """
        // A handler.
        module example.com/handler

        go 1.22
        toolchain go1.22.10

        require (
            example.com/alpha v1.0.0
            "example.com/Upper/Beta" v1.2.0 // indirect
        )
        require example.com/gamma/v2 v2.3.4-rc.1

        replace example.com/alpha => ../alpha
        replace example.com/gamma/v2 v2.3.4-rc.1 => example.com/fork/gamma/v2 v2.3.5
        exclude example.com/alpha v0.9.0
        retract [v0.1.0, v0.2.0] // a range in brackets is read past too
        """

    @Test func directivesBlocksQuotesAndCommentsAreReadAsTheGoCommandReadsThem() throws {
        let mod = try GoModFile(text: Self.text)
        #expect(mod.module == "example.com/handler" && mod.go == "1.22" && mod.toolchain == "go1.22.10")
        #expect(
            mod.requirements.map(\.path) == ["example.com/alpha", "example.com/Upper/Beta", "example.com/gamma/v2"]
        )
        #expect(mod.requirements.map(\.indirect) == [false, true, false])
        let local = try #require(mod.replacements.first)
        #expect(
            local.path == "example.com/alpha" && local.version == nil && local.newPath == "../alpha"
                && local.newVersion == nil
        )
        #expect(mod.replacements.last?.newVersion == "v2.3.5" && mod.replacements.last?.version == "v2.3.4-rc.1")
    }

    @Test func theToolchainLineThenAWholeGoLineThenNothingPinTheRelease() throws {
        #expect(try GoModFile(text: Self.text).pinnedRelease() == "1.22.10")
        #expect(try GoModFile(text: Self.text).pinnedRelease(override: "go1.23.4") == "1.23.4")
        #expect(try GoModFile(text: "module m.example/x\ngo 1.22.3\n").pinnedRelease() == "1.22.3")
        let loose = #expect(throws: UsageError.self) {
            try GoModFile(text: "module m.example/x\ngo 1.22\n", file: "app/go.mod").pinnedRelease()
        }
        #expect(loose?.code == GoModuleErrorCode.badGoMod.code)
        #expect(
            loose?.description.contains("app/go.mod: `go 1.22` names a language version") == true,
            "\(String(describing: loose))"
        )
        #expect(loose?.description.contains("--go 1.22.N") == true)
        #expect(throws: UsageError.self) { try GoModFile(text: "module m.example/x\n").pinnedRelease() }
        #expect(throws: UsageError.self) { try GoModFile(text: Self.text).pinnedRelease(override: "1.22") }
    }

    @Test(arguments: [
        ("module a.example/x\nfrobnicate yes\n", "go.mod:2: unknown directive 'frobnicate'"),
        ("module a.example/x\nrequire (\n  b.example/y v1.0.0\n", "'require (' is never closed"),
        ("module \"a.example/x\n", "go.mod:1: an unclosed quoted string"),
        ("require b.example/y\n", "go.mod:1: require takes a path and a version"),
    ])
    func brokenLinesAreRefusedWithTheirNumber(_ text: String, _ reason: String) {
        let error = #expect(throws: UsageError.self) { try GoModFile(text: text) }
        #expect(error?.code == GoModuleErrorCode.badGoMod.code)
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
    }
}

@Suite(.enabled(if: GoTool.path != nil, GoTool.missing), .timeLimit(.minutes(5)))
struct VendorCheckTests {
    @Test func whatGoModVendorWritesAgreesAndEachKindOfDriftIsNamed() async throws {
        let dir = try TemporaryDirectory()
        let proxy = dir.path + "/proxy"
        try await GoProxyFixture.write(
            [
                FixtureModule(
                    "example.com/alpha",
                    "v1.0.0",
                    files: ["alpha.go": "package alpha\n\nconst Name = \"alpha\"\n"]
                ),
                FixtureModule(
                    "example.com/Upper/Beta",
                    "v1.2.0",
                    files: ["beta.go": "package beta\n\nconst Name = \"beta\"\n"]
                ),
            ],
            to: proxy
        )
        let app = dir.path + "/app"
        _ = try dir.file(
            "app/go.mod",
            "module example.com/app\n\ngo 1.22\n\nrequire (\n\texample.com/alpha v1.0.0\n\texample.com/Upper/Beta v1.2.0\n)\n"
        )
        _ = try dir.file(
            "app/main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/Upper/Beta\"\n\t\"example.com/alpha\"\n)\n\nfunc main() { fmt.Println(alpha.Name, beta.Name) }\n"
        )
        for step in ["mod tidy", "mod vendor"] {
            let (status, output) = try await GoTool.run(
                step,
                proxy: proxy,
                in: dir,
                workdir: app,
                extra: ["GOFLAGS": "-modcacherw -mod=mod"]
            )
            try #require(status == 0, "go \(step): \(output)")
        }
        let mod = try GoModFile(contentsOf: app + "/go.mod")
        let vendor = try VendorModules(contentsOf: app + "/vendor/modules.txt")
        try vendor.check(against: mod)

        // go.mod moves on without go mod vendor; a module loses its explicit mark; a replacement
        // appears on one side only.
        let moved = try GoModFile(
            text: try String(contentsOfFile: app + "/go.mod", encoding: .utf8).replacingOccurrences(
                of: "alpha v1.0.0",
                with: "alpha v1.1.0"
            )
        )
        #expect(
            vendor.disagreements(with: moved) == [
                "go.mod requires example.com/alpha v1.1.0, \(app)/vendor/modules.txt has v1.0.0"
            ]
        )
        let text = try String(contentsOfFile: app + "/vendor/modules.txt", encoding: .utf8)
        let unmarked = try VendorModules(
            text: text.replacingOccurrences(
                of: "# example.com/alpha v1.0.0\n## explicit",
                with: "# example.com/alpha v1.0.0\n## go 1.21"
            )
        )
        #expect(
            unmarked.disagreements(with: mod) == [
                "example.com/alpha is required in go.mod but not marked '## explicit' in vendor/modules.txt"
            ],
            "\(text)"
        )
        let replaced = try GoModFile(
            text: try String(contentsOfFile: app + "/go.mod", encoding: .utf8)
                + "\nreplace example.com/alpha => ../alpha\n"
        )
        let error = #expect(throws: CheckFailure.self) { try vendor.check(against: replaced) }
        #expect(error?.code == GoModuleErrorCode.vendorMismatch.code)
        #expect(
            error?.reasons.first
                == "go.mod replaces example.com/alpha with ../alpha, \(app)/vendor/modules.txt has no replacement for it"
        )
        #expect(error?.reasons.last?.contains("go mod vendor") == true)
    }
}
