import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

@Suite struct TagTests {
    /// What packaging.tags yields for the target, with its glibc probe pointed at the target's glibc.
    static func packagingTags(python: String, arch: String, glibc: String) async throws -> [String] {
        let dir = try TemporaryDirectory()
        let (major, minor) = (python.split(separator: ".")[0], python.split(separator: ".")[1])
        let g = glibc.split(separator: ".")
        let script = """
            try:
                import packaging._manylinux as m, packaging.tags as t
            except ImportError:
                import pip._vendor.packaging._manylinux as m, pip._vendor.packaging.tags as t
            m._get_glibc_version = lambda: (\(g[0]), \(g[1]))
            m._have_compatible_abi = lambda *a: True
            plats = list(m.platform_tags(["\(arch)"]))
            v = (\(major), \(minor))
            for tag in list(t.cpython_tags(v, ["cp\(major)\(minor)"], plats)) + list(t.compatible_tags(v, "cp\(major)\(minor)", plats)):
                print(tag)
            """
        try dir.file("tags.py", script)
        let (status, out) = try await shell("python3 tags.py", in: dir.path)
        #expect(status == 0, "\(out)")
        return out.split(separator: "\n").map(String.init)
    }

    @Test(arguments: [("3.11", "linux/amd64", "2.31"), ("3.12", "linux/amd64", "2.36"), ("3.10", "linux/arm64", "2.31"), ("3.13", "linux/arm64", "2.36"), ("3.9", "linux/amd64", "2.17")])
    func tagsMatchPackagingTagsExactly(_ python: String, _ platform: String, _ glibc: String) async throws {
        let (target, _) = try PythonTarget.resolve(python: python, platform: platform, glibc: glibc)
        let expected = try await Self.packagingTags(python: python, arch: target.architecture, glibc: glibc)
        #expect(expected.count > 100)
        #expect(target.compatibleTags.map(\.description) == expected)
        #expect(!target.compatibleTags.contains { $0.platform.hasPrefix("linux_") })
    }

    @Test func profilesDefaultTheGlibcOfTheRuntimeImage() throws {
        #expect(try PythonTarget.resolve(python: nil, platform: nil, glibc: nil).0 == PythonTarget(pythonVersion: "3.11", platform: "linux/amd64", glibc: "2.31"))
        #expect(try PythonTarget.resolve(python: "3.12", platform: nil, glibc: nil).0.glibc == "2.36")
        #expect(try PythonTarget.resolve(python: "3.9", platform: nil, glibc: nil).1.contains { $0.contains("deprecated") })
        #expect(try PythonTarget.resolve(python: "3.11", platform: "linux/arm64", glibc: nil).1.contains { $0.contains("containers") })
        let python = #expect(throws: UsageError.self) {
            try PythonTarget.resolve(python: "2.7", platform: nil, glibc: nil)
        }
        #expect(python?.code == PythonErrorCode.unsupportedPython.code)
        let platform = #expect(throws: UsageError.self) {
            try PythonTarget.resolve(python: nil, platform: "windows/amd64", glibc: nil)
        }
        #expect(platform?.code == PythonErrorCode.unsupportedPlatform.code)
        let glibc = #expect(throws: UsageError.self) {
            try PythonTarget.resolve(python: nil, platform: nil, glibc: "x")
        }
        #expect(glibc?.code == PythonErrorCode.badGlibc.code)
    }

    @Test func embeddedProfilesEqualManifestsTargetsJSON() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../manifests/targets.json").path
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let python = json?["python"] as? [String: [String: Any]] ?? [:]
        #expect(Set(python.keys) == Set(TargetProfiles.python.keys))
        for (version, profile) in python {
            #expect(profile["glibc"] as? String == TargetProfiles.python[version]?.glibc)
            #expect(profile["deprecated"] as? Bool == TargetProfiles.python[version]?.deprecated)
            #expect(profile["buildSuite"] as? String == TargetProfiles.python[version]?.buildSuite)
            #expect(profile.keys.contains("buildSuite"))
        }
        #expect(json?["default"] as? String == TargetProfiles.defaultPython)
        #expect(json?["platforms"] as? [String] == TargetProfiles.platforms)
    }

    @Test func wheelNamesParseWithCompressedTagSets() throws {
        let name = try WheelName("cryptography-44.0.0-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
        #expect(name.distribution == "cryptography" && name.version == "44.0.0" && name.build == nil)
        #expect(name.tags.map(\.description) == ["cp39-abi3-manylinux_2_17_x86_64", "cp39-abi3-manylinux2014_x86_64"])
        let built = try WheelName("six-1.16.0-1-py2.py3-none-any.whl")
        #expect(built.build == "1" && built.tags.count == 2)
        let tarball = #expect(throws: WheelError.self) { try WheelName("six-1.16.0.tar.gz") }
        let short = #expect(throws: WheelError.self) { try WheelName("six-py3-none-any.whl") }
        #expect(tarball?.code == WheelErrorCode.badName.code && short?.code == WheelErrorCode.badName.code)
        #expect(WheelName.normalize("Azure_Functions.Worker") == "azure-functions-worker")
    }

    @Test func rankingPrefersTheMostSpecificTag() throws {
        let (target, _) = try PythonTarget.resolve(python: "3.11", platform: nil, glibc: nil)
        let ranking = TagRanking(target)
        let abi3 = try WheelName("x-1-cp39-abi3-manylinux_2_17_x86_64.whl")
        let pure = try WheelName("x-1-py3-none-any.whl")
        let tooNew = try WheelName("x-1-cp311-cp311-manylinux_2_34_x86_64.whl")
        let linux = try WheelName("x-1-cp311-cp311-linux_x86_64.whl")
        #expect(try #require(ranking.bestRank(of: abi3.tags)) < #require(ranking.bestRank(of: pure.tags)))
        #expect(ranking.bestRank(of: tooNew.tags) == nil)
        #expect(ranking.bestRank(of: linux.tags) == nil)
    }
}
