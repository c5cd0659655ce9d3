import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

@Suite struct WheelInstallerTests {
    static let target = PythonTarget(pythonVersion: "3.11", platform: "linux/amd64", glibc: "2.31")
    static let ranking = TagRanking(target)

    static func plan(_ path: String, _ fileName: String, tree: String? = nil) throws -> InstalledWheel {
        try WheelInstaller.plan(wheelAt: path, fileName: fileName, ranking: ranking, target: target, treeRoot: tree)
    }

    static func content(_ wheel: InstalledWheel, _ path: String) throws -> String? {
        guard let file = wheel.files.first(where: { $0.path == path }) else { return nil }
        switch file.source {
        case .generated(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .wheel: return "<from wheel>"
        }
    }

    @Test func dataDirectoriesScriptsAndEntryPointsLandWherePipTargetPutsThem() async throws {
        let dir = try TemporaryDirectory()
        let file = "demo_pkg-1.0-py3-none-any.whl"
        let path = try await WheelFixture.make(
            in: dir, fileName: file,
            members: [
                .init(path: "demo_pkg/__init__.py", content: "def main():\n    return 0\n"),
                .init(path: "demo_pkg-1.0.data/purelib/extra_pure.py", content: "x = 1\n"),
                .init(path: "demo_pkg-1.0.data/platlib/extra_plat.py", content: "y = 2\n"),
                .init(path: "demo_pkg-1.0.data/scripts/tool", content: "#!python\nprint('hi')\n", executable: true),
                .init(path: "demo_pkg-1.0.data/headers/demo.h", content: "int x;\n"),
                .init(path: "demo_pkg-1.0.data/data/share/demo/readme.txt", content: "data\n"),
                .init(path: "demo_pkg-1.0.dist-info/entry_points.txt", content: "[console_scripts]\ndemo = demo_pkg:main\n[gui_scripts]\ndemo-gui = demo_pkg.sub:App.run\n"),
            ]
        )
        let wheel = try Self.plan(path, file, tree: dir.path + "/tree")
        let paths = Set(wheel.files.map(\.path))
        for expected in [
            "demo_pkg/__init__.py", "extra_pure.py", "extra_plat.py", "bin/tool", "include/python/demo_pkg/demo.h",
            "share/demo/readme.txt", "bin/demo", "bin/demo-gui", "demo_pkg-1.0.dist-info/RECORD", "demo_pkg-1.0.dist-info/INSTALLER",
            "demo_pkg-1.0.dist-info/WHEEL", "demo_pkg-1.0.dist-info/METADATA",
        ] {
            #expect(paths.contains(expected), "missing \(expected)")
        }
        #expect(try Self.content(wheel, "bin/tool") == "#!/usr/bin/env python3\nprint('hi')\n")
        let demo = try #require(try Self.content(wheel, "bin/demo"))
        #expect(demo.hasPrefix("#!/usr/bin/env python3\n") && demo.contains("from demo_pkg import main") && demo.contains("sys.exit(main())"))
        #expect(try Self.content(wheel, "bin/demo-gui")?.contains("from demo_pkg.sub import App") == true)
        #expect(try Self.content(wheel, "demo_pkg-1.0.dist-info/INSTALLER") == "airlock\n")
        let scripts = wheel.files.filter { $0.path.hasPrefix("bin/") }
        #expect(scripts.count == 3 && scripts.allSatisfy { $0.executable })

        // RECORD lists every installed file with its hash, and itself without one; no machine paths.
        let record = try #require(try Self.content(wheel, "demo_pkg-1.0.dist-info/RECORD"))
        let lines = record.split(separator: "\n").map(String.init)
        #expect(lines.count == wheel.files.count)
        #expect(lines.contains("demo_pkg-1.0.dist-info/RECORD,,"))
        #expect(lines.contains { $0.hasPrefix("bin/demo,sha256=") })
        #expect(!record.contains(dir.path) && !record.contains("direct_url"))

        // The tree on disk says the same as the plan.
        let (status, out) = try await shell(
            "cd tree && test -x bin/tool && head -1 bin/tool && python3 -c \"import csv,hashlib,base64,os; rows=list(csv.reader(open('demo_pkg-1.0.dist-info/RECORD'))); bad=[p for p,h,s in rows if h and h!='sha256='+base64.urlsafe_b64encode(hashlib.sha256(open(p,'rb').read()).digest()).rstrip(b'=').decode()]; print('bad', bad)\"",
            in: dir.path
        )
        #expect(status == 0, "\(out)")
        #expect(out.contains("#!/usr/bin/env python3") && out.contains("bad []"))
    }

    /// Found by the wheel-metadata fuzz harness: `x = a:.` passed the character check and then
    /// indexed an empty attribute list (a trap, ending the build). Each side is a dotted name now.
    @Test(arguments: ["x = a:.", "x = a:...", "x = a..b:c", "x = .a:b", "x = a:b.", "x = :b", "x = a:"])
    func anEntryPointWithAnEmptyDottedPartIsRefused(line: String) throws {
        #expect(throws: WheelError.self) { try WheelInstaller.scripts(entryPoints: "[console_scripts]\n" + line + "\n") }
    }

    @Test func dottedEntryPointsStillMakeWrappers() throws {
        let scripts = try WheelInstaller.scripts(entryPoints: "[console_scripts]\nx = a.b:C.run [extra]\n")
        #expect(scripts.map(\.name) == ["x"])
        #expect(String(decoding: try #require(scripts.first).content, as: UTF8.self).contains("from a.b import C\n"))
    }

    @Test func membersWithNonASCIINamesInstallWithTheirNames() async throws {
        // libarchive gives no name for them in the C locale; the central directory's is used.
        let dir = try TemporaryDirectory()
        let file = "intl_pkg-1.0-py3-none-any.whl"
        let path = try await WheelFixture.make(
            in: dir, fileName: file,
            members: [
                .init(path: "intl_pkg/__init__.py", content: "x = 1\n"),
                .init(path: "intl_pkg/données/résumé.txt", content: "é\n"),
            ]
        )
        let wheel = try Self.plan(path, file, tree: dir.path + "/tree")
        #expect(wheel.files.map(\.path).contains("intl_pkg/données/résumé.txt"), "\(wheel.files.map(\.path))")
        #expect(try FileSystem.readFile(dir.path + "/tree/intl_pkg/données/résumé.txt") == Array("é\n".utf8))
    }

    @Test func aWheelForAnotherTargetIsRefusedByNameWithItsTags() async throws {
        let dir = try TemporaryDirectory()
        let file = "native-1.0-cp311-cp311-manylinux_2_34_x86_64.whl"
        let path = try await WheelFixture.make(in: dir, fileName: file, members: [.init(path: "native/__init__.py", content: "")])
        let error = #expect(throws: WheelError.self) { try Self.plan(path, file) }
        #expect(error?.code == WheelErrorCode.tagsDoNotFit.code)
        #expect(error?.description.hasPrefix(file + ": ") == true)
    }

    @Test func aMemberThatDoesNotMatchRecordIsRefused() async throws {
        let dir = try TemporaryDirectory()
        let file = "bad-1.0-py3-none-any.whl"
        let path = try await WheelFixture.make(in: dir, fileName: file, members: [.init(path: "bad/__init__.py", content: "x")], tamper: "bad/__init__.py")
        let error = #expect(throws: WheelError.self) { try Self.plan(path, file) }
        #expect(error?.code == WheelErrorCode.recordMismatch.code)
    }

    @Test(arguments: ["../evil.py", "/etc/evil", "pkg/../../x"])
    func escapingMembersAreRefused(_ member: String) async throws {
        let dir = try TemporaryDirectory()
        let file = "esc-1.0-py3-none-any.whl"
        let path = try await WheelFixture.make(in: dir, fileName: file, members: [.init(path: "esc/__init__.py", content: ""), .init(path: member, content: "x")])
        let error = #expect(throws: WheelError.self) { try Self.plan(path, file, tree: dir.path + "/tree") }
        #expect(error?.code == WheelErrorCode.badMember.code, "\(String(describing: error))")
        #expect(!FileSystem.exists(dir.path + "/evil.py"))
    }

    @Test func linksInsideAWheelAreRefused() async throws {
        let dir = try TemporaryDirectory()
        let file = "lnk-1.0-py3-none-any.whl"
        let path = try await WheelFixture.make(
            in: dir, fileName: file, members: [.init(path: "lnk/__init__.py", content: "")],
            extraPython: """
                    zi = zipfile.ZipInfo("lnk/passwd")
                    zi.external_attr = 0o120777 << 16
                    z.writestr(zi, "/etc/passwd")
                    rows.append("lnk/passwd,,")
            """
        )
        let error = #expect(throws: WheelError.self) { try Self.plan(path, file) }
        #expect(error?.code == WheelErrorCode.badMember.code)
    }

    @Test func membersMissingFromRecordAndUnknownSchemesAreRefused() async throws {
        let dir = try TemporaryDirectory()
        let file = "odd-1.0-py3-none-any.whl"
        let path = try await WheelFixture.make(
            in: dir, fileName: file, members: [.init(path: "odd/__init__.py", content: "")],
            extraPython: """
                    z.writestr("odd/unlisted.py", "x")
            """
        )
        let unlisted = #expect(throws: WheelError.self) { try Self.plan(path, file) }
        #expect(unlisted?.code == WheelErrorCode.notInRecord.code)
        let file2 = "odd2-1.0-py3-none-any.whl"
        let path2 = try await WheelFixture.make(in: dir, fileName: file2, members: [.init(path: "odd2-1.0.data/weird/x", content: "")])
        let error = #expect(throws: WheelError.self) { try Self.plan(path2, file2) }
        #expect(error?.code == WheelErrorCode.badMember.code)
    }
}
