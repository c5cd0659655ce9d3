// `airlock rebuild --check` through the executable: a bundle sealed from a real sandboxed build
// (bwrap, the host's Python as the image, carried in the bundle) rebuilds to the same digest from
// the bundle alone; one whose zip was built with another SOURCE_DATE_EPOCH than its signed
// provenance records fails with exit 1, naming the entries whose time differs.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.containerEngines, .timeLimit(.minutes(10))) struct RebuildCLITests {
    static let app = "import azure.functions as func\napp = func.FunctionApp()\n@app.route()\ndef hello(req): pass\n"

    private func build(_ dir: TempDir, epoch: String) async throws -> CLIResult {
        let build = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference, "--no-cache", "--json"],
            in: dir.path, environment: ["SOURCE_DATE_EPOCH": epoch], timeout: 300
        )
        try #require(build.status == 0, "\(build)")
        return build
    }

    private func seal(_ dir: TempDir, key: String, out: String) async throws {
        let sealed = try await CLI.run(
            ["seal", "--project", "app", "--store", "store", "--key", key, "--out", out], in: dir.path,
            environment: ["SOURCE_DATE_EPOCH": Fixture.recentEpoch], timeout: 120
        )
        try #require(sealed.status == 0, "\(sealed)")
    }

    @Test func aCleanBundleRebuildsBitForBitFromWhatItCarries() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await FunctionsStandIn.project(dir, app: Self.app)
        let keys = try await Fixture.key(dir)
        _ = try await build(dir, epoch: "1700000000")
        try await seal(dir, key: keys.key, out: "app.airlock")
        // The auditor's side: a store of its own with no trust and nothing in it.
        let check = try await CLI.run(
            ["rebuild", "--check", "--trust", keys.pub, "--runtime", "bwrap", "--store", "empty-store", "app.airlock", "--out", "rebuilt", "--json"],
            in: dir.path, timeout: 300
        )
        try #require(check.status == 0, "\(check)")
        let report = try #require(try parseJSON(check) as? [String: Any])
        let rows = try #require(report["artifacts"] as? [[String: Any]])
        #expect(rows.count == 1)
        #expect(rows.first?["path"] as? String == "app.zip")
        #expect(rows.first?["status"] as? String == "reproduced")
        #expect(rows.first?["expected"] as? String == rows.first?["rebuilt"] as? String)
        #expect((rows.first?["inputsDiffer"] as? [Any])?.isEmpty == true, "\(rows)")
        let kept = try await Shell.sha256(of: dir.file("rebuilt/app.zip"))
        #expect("sha256:" + kept == rows.first?["expected"] as? String)
        #expect(FileSystem.kind(of: dir.file("empty-store/blobs")) == nil, "the rebuild wrote into the user's store")

        // Against a store that has the image unpacked (the one it was built in), its rootfs is
        // bound from there rather than unpacked again, and the rebuild still reproduces.
        let adopted = try await CLI.run(
            ["rebuild", "--check", "--trust", keys.pub, "--runtime", "bwrap", "--store", "store", "app.airlock", "--json"],
            in: dir.path, timeout: 300
        )
        try #require(adopted.status == 0, "\(adopted)")
        let adoptedReport = try #require(try parseJSON(adopted) as? [String: Any])
        #expect(((adoptedReport["artifacts"] as? [[String: Any]])?.first?["status"] as? String) == "reproduced", "\(adopted)")
        #expect((adoptedReport["notes"] as? [String])?.contains { $0.contains("its rootfs was taken from") } == true, "\(adopted)")
        // Removing the scratch store removed the link, not what it points at.
        let unpacked = try FileSystem.list(dir.file("store/rootfs")).filter { $0.count == 64 }
        #expect(!unpacked.isEmpty && unpacked.allSatisfy { !((try? FileSystem.list(dir.file("store/rootfs/" + $0))) ?? []).isEmpty })

        // Without --check or --out there is nothing to do: exit 2.
        let neither = try await CLI.run(["rebuild", "--trust", keys.pub, "app.airlock"], in: dir.path)
        #expect(neither.status == 2 && neither.stderr.contains("--check"), "\(neither)")
        // A key that did not sign it: nothing is rebuilt, exit 1.
        let other = try await Fixture.key(dir, name: "other")
        let untrusted = try await CLI.run(["rebuild", "--check", "--trust", other.pub, "app.airlock"], in: dir.path, timeout: 120)
        #expect(untrusted.status == 1 && !untrusted.stdout.contains("reproduced"), "\(untrusted)")
    }

    @Test func aZipBuiltWithAnotherSourceDateEpochFailsNamingTheEntries() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await FunctionsStandIn.project(dir, app: Self.app)
        let keys = try await Fixture.key(dir)
        // The provenance of a build at one epoch...
        _ = try await build(dir, epoch: "1700000000")
        let recorded = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("app/dist/provenance.json")))) as? [String: Any]
        )
        // ...signed over the zip of a build at another, which is what the bundle then carries.
        _ = try await build(dir, epoch: "1600000000")
        let other = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("app/dist/provenance.json")))) as? [String: Any]
        )
        var forged = recorded
        forged["output"] = other["output"]
        try JSONSerialization.data(withJSONObject: forged, options: [.sortedKeys]).write(to: URL(fileURLWithPath: dir.file("app/dist/provenance.json")))
        try await seal(dir, key: keys.key, out: "forged.airlock")

        let check = try await CLI.run(
            ["rebuild", "--check", "--trust", keys.pub, "--runtime", "bwrap", "forged.airlock"], in: dir.path, timeout: 300
        )
        #expect(check.status == 1, "\(check)")
        #expect(check.stdout.contains("app.zip") && check.stdout.contains("differs"), "\(check)")
        #expect(check.stdout.contains("function_app.py") && check.stdout.contains("modified"), "\(check)")
        // 1700000000 is 2023-11-14 22:13:20 UTC; 1600000000 is 2020-09-13 12:26:40.
        #expect(check.stdout.contains("2020-09-13 12:26:40") && check.stdout.contains("2023-11-14 22:13:20"), "\(check)")
        #expect(check.stderr.contains("not reproduced: app.zip"), "\(check)")

        let json = try await CLI.run(
            ["rebuild", "--check", "--trust", keys.pub, "--runtime", "bwrap", "forged.airlock", "--json"], in: dir.path, timeout: 300
        )
        #expect(json.status == 1)
        #expect(errorCode(json) == "audit.not-reproduced", "\(json)")
    }
}
