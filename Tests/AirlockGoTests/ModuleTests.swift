import AirlockCore
import AirlockGo
import AirlockTestSupport
import Foundation
import Testing

@Suite struct ModulePathTests {
    @Test func upperCaseLettersAreEscapedWithABangBothWays() throws {
        #expect(ModulePath.escape("github.com/Azure/azure-sdk-for-go") == "github.com/!azure/azure-sdk-for-go")
        #expect(ModulePath.escape("example.com/BurntSushi/TOML") == "example.com/!burnt!sushi/!t!o!m!l")
        #expect(ModulePath.unescape("github.com/!azure/x") == "github.com/Azure/x")
        #expect(ModulePath.unescape("github.com/Azure/x") == nil)
        #expect(ModulePath.unescape("github.com/!/x") == nil)
        #expect(ModulePath.unescape("trailing!") == nil)
        let module = try ModuleVersion(path: "example.com/Upper/Beta", version: "v1.2.0-RC.1")
        #expect(module.escapedPath == "example.com/!upper/!beta")
        #expect(module.escapedVersion == "v1.2.0-!r!c.1")
        #expect(module.zipPrefix == "example.com/Upper/Beta@v1.2.0-RC.1/")
    }

    @Test(arguments: [
        "", "/example.com/x", "example.com/x/", "example.com//x", "example.com/../x", "example.com/.hidden",
        "example.com/x y", "example.com/x!y", "Example.com/x", "localhost/x", "-example.com/x", "example.com/é",
    ])
    func pathsTheGoCommandRefusesAreRefused(_ path: String) {
        let error = #expect(throws: UsageError.self) { try ModulePath.check(path) }
        #expect(error?.code == GoModuleErrorCode.badModulePath.code)
    }

    @Test func canonicalVersionsPassAndOthersAreRefusedNamingTheModule() throws {
        for version in [
            "v0.0.0", "v1.2.3", "v1.2.3-pre.1", "v0.0.0-20240101000000-abcdef123456", "v2.0.0+incompatible",
        ] {
            try ModulePath.checkVersion(version, of: "example.com/x")
        }
        try ModulePath.checkVersion("v2.1.0", of: "example.com/x/v2")
        try ModulePath.checkVersion("v3.0.0", of: "gopkg.in/yaml.v3")
        for version in ["1.2.3", "v1.2", "v01.2.3", "v1.2.3+meta", "v1.2.3-01", "v1.2.3-", "latest", "v2.0.0"] {
            let error = #expect(throws: UsageError.self) { try ModulePath.checkVersion(version, of: "example.com/x") }
            #expect(error?.code == GoModuleErrorCode.badVersion.code, "\(version)")
            #expect(error?.description.contains("example.com/x") == true)
        }
    }
}

@Suite struct GoSumTests {
    let text = """
        example.com/alpha v1.0.0 h1:AAAA
        example.com/alpha v1.0.0/go.mod h1:BBBB

        example.com/Upper/Beta v1.2.0/go.mod h1:CCCC
        """

    @Test func linesAreReadAsZipAndGoModHashes() throws {
        let sum = try GoSum(text: text)
        let alpha = try ModuleVersion(path: "example.com/alpha", version: "v1.0.0")
        #expect(try sum.hash(for: alpha, .zip) == "h1:AAAA")
        #expect(try sum.hash(for: alpha, .goMod) == "h1:BBBB")
        #expect(sum.modules.map(\.path) == ["example.com/alpha"])
    }

    @Test func aModuleMissingFromGoSumAndAMismatchAreFailedChecksNamingTheModule() throws {
        let sum = try GoSum(text: text)
        let beta = try ModuleVersion(path: "example.com/Upper/Beta", version: "v1.2.0")
        let missing = #expect(throws: CheckFailure.self) { try sum.hash(for: beta, .zip) }
        #expect(missing?.code == GoModuleErrorCode.notInGoSum.code)
        #expect(missing?.description.hasPrefix("example.com/Upper/Beta@v1.2.0: not in go.sum") == true)
        let mismatch = #expect(throws: CheckFailure.self) { try sum.check(beta, .goMod, actual: "h1:DDDD") }
        #expect(mismatch?.code == GoModuleErrorCode.hashMismatch.code)
        #expect(
            mismatch?.description == "example.com/Upper/Beta@v1.2.0/go.mod: hashes to h1:DDDD, but go.sum says h1:CCCC"
        )
        #expect(mismatch?.status == .checkFailed)
    }

    @Test func aMalformedLineIsRefusedWithItsNumber() {
        let error = #expect(throws: UsageError.self) {
            try GoSum(text: "example.com/a v1.0.0 h1:A\nexample.com/b v1.0.0\n", file: "app/go.sum")
        }
        #expect(error?.code == GoModuleErrorCode.badGoSum.code)
        #expect(error?.description.hasPrefix("app/go.sum:2:") == true)
    }
}

@Suite(.enabled(if: GoTool.path != nil, GoTool.missing)) struct DirhashAgainstTheGoCommandTests {
    static let modules = [
        FixtureModule(
            "example.com/alpha",
            "v1.0.0",
            files: ["alpha.go": "package alpha\n\nconst Name = \"alpha\"\n", "LICENSE": "MIT\n"]
        ),
        FixtureModule(
            "example.com/Upper/Beta",
            "v1.2.0",
            files: [
                "beta.go": "package beta\n", "sub dir/notes (1).txt": "a file name with spaces\n",
                "docs/ünïcode.md": "x\n",
            ]
        ),
        FixtureModule("example.com/gamma/v2", "v2.3.4-rc.1", files: ["g.go": "package gamma\n", "empty.txt": ""]),
        FixtureModule(
            "example.com/big",
            "v0.1.0",
            files: ["blob.txt": String(repeating: "0123456789abcdef\n", count: 200_000)]
        ),
    ]

    @Test func zipAndGoModHashesAreWhatTheGoCommandPutsInGoSum() async throws {
        let dir = try TemporaryDirectory()
        let proxy = dir.path + "/proxy"
        try await GoProxyFixture.write(Self.modules, to: proxy)
        for fixture in Self.modules {
            let module = try ModuleVersion(path: fixture.path, version: fixture.version)
            let (status, output) = try await GoTool.run("mod download -json '\(module)'", proxy: proxy, in: dir)
            try #require(status == 0, "\(output)")
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
                "\(output)"
            )
            let base = proxy + "/" + module.escapedPath + "/@v/" + module.escapedVersion
            let summary = try ModuleZip.check(base + ".zip", module: module)
            #expect(summary.hash == json["Sum"] as? String, "\(module)")
            #expect(Dirhash.goMod(try FileSystem.readFile(base + ".mod")) == json["GoModSum"] as? String, "\(module)")
            #expect(summary.files == fixture.files.count)
            #expect(summary.goMod == Array(fixture.files["go.mod"]!.utf8))
            // go.sum as the go command writes it checks out against Airlock's hashes.
            let sum = try GoSum(
                text:
                    "\(module.path) \(module.version) \(json["Sum"]!)\n\(module.path) \(module.version)/go.mod \(json["GoModSum"]!)\n"
            )
            try sum.check(module, .zip, actual: summary.hash)
            try sum.check(module, .goMod, actual: Dirhash.goMod(try FileSystem.readFile(base + ".mod")))
        }
    }
}

@Suite struct HostileModuleZipTests {
    static let module = try! ModuleVersion(path: "example.com/evil", version: "v1.0.0")

    static let cases: [(String, String)] = [
        ("a member outside the module's prefix", "z.writestr('example.com/other@v1.0.0/x.go', 'package x')"),
        ("an escaping path", "z.writestr(prefix + '../../etc/passwd', 'root')"),
        ("a dot element", "z.writestr(prefix + 'a/./b.go', 'package b')"),
        ("a backslash", "z.writestr(prefix + 'a\\\\b.go', 'package b')"),
        ("names that differ only in case", "z.writestr(prefix + 'README', 'a')\nz.writestr(prefix + 'readme', 'b')"),
        ("the same name twice", "z.writestr(prefix + 'a.go', 'a')\nz.writestr(prefix + 'a.go', 'b')"),
        (
            "a symlink",
            "i = zipfile.ZipInfo(prefix + 'link')\ni.create_system = 3\ni.external_attr = 0o120777 << 16\nz.writestr(i, '/etc/passwd')"
        ),
        ("an oversized go.mod", "z.writestr(prefix + 'go.mod', 'module example.com/evil\\n' + ' ' * (17 << 20))"),
        ("a nested module", "z.writestr(prefix + 'sub/go.mod', 'module example.com/evil/sub')"),
        ("a Windows-reserved name", "z.writestr(prefix + 'aux.go', 'package aux')"),
        ("a shell-special character", "z.writestr(prefix + 'a*b.go', 'package x')"),
    ]

    @Test(arguments: 0..<cases.count)
    func theGoCommandsZipRulesRefuseIt(_ index: Int) async throws {
        let (what, snippet) = Self.cases[index]
        let dir = try TemporaryDirectory()
        let zip = dir.path + "/evil.zip"
        try await GoProxyFixture.hostileZip(at: zip, prefix: Self.module.zipPrefix, snippet)
        let error = #expect(throws: CheckFailure.self, "\(what)") { try ModuleZip.check(zip, module: Self.module) }
        #expect(error?.code == GoModuleErrorCode.badModuleZip.code, "\(what): \(String(describing: error))")
        #expect(
            error?.description.hasPrefix("example.com/evil@v1.0.0 (evil.zip): ") == true,
            "\(what): \(String(describing: error))"
        )
    }

    @Test func aCleanZipPassesAndNamesItsGoMod() async throws {
        let dir = try TemporaryDirectory()
        let zip = dir.path + "/ok.zip"
        try await GoProxyFixture.hostileZip(
            at: zip,
            prefix: Self.module.zipPrefix,
            "z.writestr(prefix + 'go.mod', 'module example.com/evil\\n')\nz.writestr(prefix + 'x/y.go', 'package y')"
        )
        let summary = try ModuleZip.check(zip, module: Self.module)
        #expect(summary.files == 2)
        #expect(summary.goMod == Array("module example.com/evil\n".utf8))
        #expect(summary.hash.hasPrefix("h1:"))
    }
}
