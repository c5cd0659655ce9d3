// Delta bundles through the executable, the way a weekly crossing runs: a real sandboxed build
// sealed with its build image and imported; `airlock inventory` inside; next week's build sealed
// with `--delta` against it, which leaves the image and the unchanged wheel at home; `verify` says
// what the delta relies on and what a store lacks of it; `import` refuses it where the base is
// missing (exit 1, bundle.missing-base) and takes it where the base is; `rebuild --check` and
// `audit` read the base from that store.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.containerEngines, .timeLimit(.minutes(10))) struct DeltaCLITests {
    private func buildAndSeal(_ dir: TempDir, key: String, out: String, extra: [String] = []) async throws -> CLIResult {
        let build = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference],
            in: dir.path, environment: ["SOURCE_DATE_EPOCH": "1700000000"], timeout: 300
        )
        try #require(build.status == 0, "\(build)")
        let sealed = try await CLI.run(
            ["seal", "--project", "app", "--store", "store", "--key", key, "--out", out] + extra, in: dir.path,
            environment: ["SOURCE_DATE_EPOCH": Fixture.recentEpoch], timeout: 120
        )
        try #require(sealed.status == 0, "\(sealed)")
        return sealed
    }

    @Test func aWeeklyDeltaCarriesOnlyWhatTheEnclaveLacksAndImportsWhereItsBaseIs() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await FunctionsStandIn.project(dir, app: "import azure.functions as func\napp = func.FunctionApp()\n@app.route()\ndef hello(req): pass\n")
        let keys = try await Fixture.key(dir)
        _ = try await buildAndSeal(dir, key: keys.key, out: "week1.airlock")
        for store in ["inside", "fresh"] {
            let trusted = try await CLI.run(["trust", "add", keys.pub, "--store", store], in: dir.path)
            try #require(trusted.status == 0, "\(trusted)")
        }
        let imported = try await CLI.run(["import", "--store", "inside", "week1.airlock"], in: dir.path, timeout: 120)
        try #require(imported.status == 0, "\(imported)")

        let inventory = try await CLI.run(["inventory", "--store", "inside", "--out", "inventory.json"], in: dir.path)
        try #require(inventory.status == 0, "\(inventory)")
        #expect(inventory.stdout == "inventory.json\n" && inventory.stderr.contains("blob(s)"), "\(inventory)")

        // Next week the app's code changed; the wheel and the build image did not.
        try FileSystem.writeAtomically(dir.file("app/function_app.py"), Array("import azure.functions as func\napp = func.FunctionApp()\n@app.route()\ndef hello(req): return 'week 2'\n".utf8))
        let sealed = try await buildAndSeal(dir, key: keys.key, out: "week2.airlock", extra: ["--delta", "inventory.json"])
        #expect(sealed.stderr.contains("delta: left out"), "\(sealed)")
        let full = try FileSystem.size(of: dir.file("week1.airlock"))
        let delta = try FileSystem.size(of: dir.file("week2.airlock"))
        #expect(delta * 10 < full, "the delta is \(delta) bytes of the full bundle's \(full)")

        // verify: OK, with what it relies on; against a store that lacks the base, says so.
        let verified = try await CLI.run(["verify", "--trust", keys.pub, "--store", "fresh", "week2.airlock"], in: dir.path)
        #expect(verified.status == 0 && verified.stdout == "week2.airlock: OK\n", "\(verified)")
        #expect(verified.stderr.contains("relies on") && verified.stderr.contains("azure_functions-1.0-py3-none-any.whl"), "\(verified)")
        #expect(verified.stderr.contains("lacks") && verified.stderr.contains("importing there would be refused"), "\(verified)")
        let json = try await CLI.run(["verify", "--trust", keys.pub, "--json", "week2.airlock"], in: dir.path)
        let report = try #require(try parseJSON(json) as? [String: Any])
        let reliance = try #require(report["delta"] as? [String: Any])
        #expect(((reliance["store"] as? [Any])?.count ?? 0) >= 2, "\(reliance)")

        // import: refused where the base is missing, nothing written; taken where it is.
        let refused = try await CLI.run(["import", "--store", "fresh", "--json", "week2.airlock"], in: dir.path, timeout: 120)
        #expect(refused.status == 1 && errorCode(refused) == "bundle.missing-base", "\(refused)")
        #expect(refused.stderr.contains("missing from the store"), "\(refused)")
        let history = try await CLI.run(["history", "--store", "fresh", "--json"], in: dir.path)
        #expect(try parseJSON(history) as? [Any] == nil || (try parseJSON(history) as? [Any])?.isEmpty == true, "\(history)")
        let taken = try await CLI.run(["import", "--store", "inside", "week2.airlock"], in: dir.path, timeout: 120)
        #expect(taken.status == 0 && taken.stderr.contains("were in the store and re-hashed"), "\(taken)")
        // Both weeks' app.zip are in the store now: this week's, by its digest, is the zip built here.
        let built = try await Shell.sha256(of: dir.file("app/dist/app.zip"))
        let exported = try await CLI.run(["export", built, "--store", "inside", "--out", "exported"], in: dir.path)
        #expect(exported.status == 0, "\(exported)")
        #expect(try await Shell.sha256(of: dir.file("exported/app.zip")) == built)

        // The auditor's tools take the base from the store the delta was imported into: rebuild
        // --check copies it into its scratch store; audit reads the left-out wheel's metadata.
        let rebuilt = try await CLI.run(
            ["rebuild", "--check", "--trust", keys.pub, "--runtime", "bwrap", "--store", "inside", "week2.airlock", "--json"],
            in: dir.path, timeout: 300
        )
        #expect(rebuilt.status == 0, "\(rebuilt)")
        let rows = (try parseJSON(rebuilt) as? [String: Any])?["artifacts"] as? [[String: Any]]
        #expect(rows?.first?["status"] as? String == "reproduced", "\(rebuilt)")
        let audited = try await CLI.run(["audit", "--trust", keys.pub, "--store", "inside", "week2.airlock"], in: dir.path, timeout: 120)
        #expect(audited.status == 0 && !audited.stderr.contains("were not read"), "\(audited)")
        let bare = try await CLI.run(["audit", "--trust", keys.pub, "--store", "fresh", "week2.airlock"], in: dir.path, timeout: 120)
        #expect(bare.status == 0 && bare.stderr.contains("were not read"), "\(bare)")

        // A file that is not an inventory: exit 2, naming it.
        let bad = try await CLI.run(
            ["seal", "--project", "app", "--store", "store", "--key", keys.key, "--out", "x.airlock", "--delta", "app/host.json"],
            in: dir.path
        )
        #expect(bad.status == 2 && bad.stderr.contains("app/host.json: not an Airlock inventory"), "\(bad)")
    }
}
