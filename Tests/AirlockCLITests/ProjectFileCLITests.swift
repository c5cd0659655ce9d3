// airlock.toml through the executable: each of lock, fetch, build and `seal --project` picks up its
// keys, a flag on the command line wins over the file, paths in the file are relative to the
// project, a refused key is named with the file's path and code, and a project without the file
// behaves as before. No network: the app has no requirements, so its lock has no files.

import AirlockCore
import Foundation
import Testing

/// An app with no requirements in `dir/app`, its lock for `python` (no files), and `toml` as its
/// airlock.toml when given.
private func makeApp(_ dir: TempDir, toml: String? = nil, python: String = "3.11") throws {
    try dir.directory("app")
    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir.file("app/" + name)))
    }
    try write("function_app.py", "import azure.functions as func\napp = func.FunctionApp()\n")
    try write("host.json", "{\"version\": \"2.0\"}\n")
    try write("requirements.txt", "")
    let glibc = python == "3.11" ? "2.31" : "2.36"
    try write(
        "airlock.lock",
        #"{"lockVersion": 1, "target": {"pythonVersion": "\#(python)", "platform": "linux/amd64", "glibc": "\#(glibc)"}, "files": []}"#
    )
    if let toml { try write("airlock.toml", toml) }
}

/// The `target` of the lock `lock --json` printed.
private func lockedTarget(_ result: CLIResult) throws -> [String: String] {
    let lock = try #require(try parseJSON(result) as? [String: Any], "\(result)")
    return try #require(lock["target"] as? [String: String], "\(result)")
}

@Suite struct ProjectFileCLITests {
    @Test func lockTakesTheTargetFromTheFileAndAFlagWins() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try makeApp(dir, toml: "python = \"3.12\"\nplatform = \"linux/arm64\"\nresolver = \"pip\"\n")
        let fromFile = try await CLI.run(["lock", "--project", "app", "--no-sizes", "--json"], in: dir.path)
        try #require(fromFile.status == 0, "\(fromFile)")
        #expect(try lockedTarget(fromFile) == ["pythonVersion": "3.12", "platform": "linux/arm64", "glibc": "2.36"])

        let flagged = try await CLI.run(
            ["lock", "--project", "app", "--no-sizes", "--json", "--python", "3.11", "--glibc", "2.28"],
            in: dir.path
        )
        try #require(flagged.status == 0, "\(flagged)")
        #expect(try lockedTarget(flagged) == ["pythonVersion": "3.11", "platform": "linux/arm64", "glibc": "2.28"])
    }

    @Test func aValueFromTheFileThatIsRefusedNamesTheFileAndAFlagReplacesIt() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try makeApp(dir, toml: "python = \"3.8\"\nresolver = \"conda\"\n")
        let refused = try await CLI.run(["lock", "--project", "app", "--no-sizes", "--json"], in: dir.path)
        #expect(refused.status == 2, "\(refused)")
        #expect(errorCode(refused) == "python.unknown-resolver", "\(refused)")
        #expect(refused.stderr.contains("(resolver set in app/airlock.toml)"), "\(refused)")

        let python = try await CLI.run(
            ["lock", "--project", "app", "--no-sizes", "--json", "--resolver", "pip"],
            in: dir.path
        )
        #expect(python.status == 2, "\(python)")
        #expect(errorCode(python) == "python.unsupported-python", "\(python)")
        #expect(python.stderr.contains("(python set in app/airlock.toml)"), "\(python)")

        let flagged = try await CLI.run(
            ["lock", "--project", "app", "--no-sizes", "--json", "--resolver", "pip", "--python", "3.11"],
            in: dir.path
        )
        #expect(flagged.status == 0, "\(flagged)")
    }

    @Test func fetchUsesTheFilesStoreBelowTheProjectUnlessAFlagOrAIRLOCK_STORESaysOtherwise() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try makeApp(dir, toml: "store = \"../team-store\"\njobs = 3\n")
        let fromFile = try await CLI.run(["fetch", "--project", "app"], in: dir.path)
        try #require(fromFile.status == 0, "\(fromFile)")
        #expect(FileManager.default.fileExists(atPath: dir.file("team-store/index.sqlite")), "\(fromFile)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("mirror")))

        let environment = try await CLI.run(
            ["fetch", "--project", "app"],
            in: dir.path,
            environment: ["AIRLOCK_STORE": "env-store"]
        )
        try #require(environment.status == 0, "\(environment)")
        #expect(FileManager.default.fileExists(atPath: dir.file("env-store/index.sqlite")), "\(environment)")

        let flagged = try await CLI.run(
            ["fetch", "--project", "app", "--store", "flag-store"],
            in: dir.path,
            environment: ["AIRLOCK_STORE": "env-store"]
        )
        try #require(flagged.status == 0, "\(flagged)")
        #expect(FileManager.default.fileExists(atPath: dir.file("flag-store/index.sqlite")), "\(flagged)")
    }

    @Test func buildTakesRuntimeAndImageFromTheFile() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try makeApp(dir, toml: "runtime = \"nonsense\"\nimage = \"team-image:1\"\nstore = \"../store\"\n")
        let runtime = try await CLI.run(["build", "--project", "app", "--json"], in: dir.path)
        #expect(runtime.status == 2, "\(runtime)")
        #expect(errorCode(runtime) == "runtime.unknown", "\(runtime)")
        #expect(runtime.stderr.contains("(runtime set in app/airlock.toml)"), "\(runtime)")

        // The flag replaces the runtime; the file's image is the one looked for, in the file's store.
        let image = try await CLI.run(["build", "--project", "app", "--json", "--runtime", "bwrap"], in: dir.path)
        #expect(image.status == 2, "\(image)")
        #expect(errorCode(image) == "image.not-found", "\(image)")
        #expect(image.stderr.contains("team-image:1"), "\(image)")
        #expect(FileManager.default.fileExists(atPath: dir.file("store/index.sqlite")), "\(image)")
    }

    @Test func buildAndSealTakeTheirKeysAndKeyPathsAreRelativeToTheProject() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try makeApp(
            dir,
            toml: """
                # shared by the team
                store = "../store"
                compile-bytecode = true
                key = "keys/team.key"
                channel = "team"
                expires = "2d"
                """
        )
        let key = try await CLI.run(["key", "generate", "--out", "app/keys/team"], in: dir.path)
        try #require(key.status == 0, "\(key)")

        let needsSandbox = try await CLI.run(["build", "--project", "app", "--no-sandbox", "--json"], in: dir.path)
        #expect(needsSandbox.status == 2, "\(needsSandbox)")
        #expect(errorCode(needsSandbox) == "build.needs-sandbox", "\(needsSandbox)")
        #expect(needsSandbox.stderr.contains("app/airlock.toml sets compile-bytecode = true"), "\(needsSandbox)")

        let build = try await CLI.run(
            ["build", "--project", "app", "--no-sandbox", "--no-compile-bytecode"],
            in: dir.path
        )
        try #require(build.status == 0, "\(build)")

        // Run from another directory: the key is found below the project, not below the caller.
        try dir.directory("elsewhere")
        let seal = try await CLI.run(
            ["seal", "--project", "../app", "--out", "app.airlock"],
            in: dir.file("elsewhere")
        )
        try #require(seal.status == 0, "\(seal)")
        let verify = try await CLI.run(
            ["verify", "elsewhere/app.airlock", "--trust", "app/keys/team.pub", "--json"],
            in: dir.path
        )
        try #require(verify.status == 0, "\(verify)")
        let report = try #require(try parseJSON(verify) as? [String: Any])
        #expect(report["channel"] as? String == "team")
        let expires = try #require(report["expires"] as? String)
        let formatter = ISO8601DateFormatter()
        let expiry = try #require(formatter.date(from: expires), "\(expires)")
        #expect(abs(expiry.timeIntervalSinceNow - 2 * 86400) < 3600, "expires \(expires), not in two days")

        let flagged = try await CLI.run(
            ["seal", "--project", "app", "--out", "other.airlock", "--channel", "other", "--json"],
            in: dir.path
        )
        try #require(flagged.status == 0, "\(flagged)")
        let sealed = try #require(try parseJSON(flagged) as? [String: Any])
        #expect(sealed["channel"] as? String == "other")
    }

    @Test(
        "lock, fetch, build and seal --project refuse an unknown key by name, with the file and the code",
        arguments: [
            ["lock", "--project", "app", "--no-sizes"],
            ["fetch", "--project", "app"],
            ["build", "--project", "app", "--no-sandbox"],
            ["seal", "--project", "app", "--out", "b.airlock"],
        ]
    )
    func everyCommandRefusesAnUnknownKey(arguments: [String]) async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try makeApp(dir, toml: "pyhton = \"3.11\"\n")
        let result = try await CLI.run(arguments + ["--json"], in: dir.path)
        #expect(result.status == 2, "\(result)")
        #expect(errorCode(result) == "project.unknown-key", "\(result)")
        #expect(
            result.stderr.contains("airlock: app/airlock.toml: unknown key 'pyhton' (did you mean 'python'?)"),
            "\(result)"
        )
        #expect(hasNoStackTrace(result))
        #expect(!FileManager.default.fileExists(atPath: dir.file("mirror")), "a refused file still opened the store")
    }

    @Test(
        "a wrong type, a flag that does not belong in the file, or broken TOML is refused with its code",
        arguments: [
            ("python = 3.11\n", "project.wrong-type"),
            ("out = \"dist\"\n", "project.not-applicable"),
            ("python = \"3.11\n", "project.bad-toml"),
        ]
    )
    func aBadFileIsRefused(toml: String, code: String) async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try makeApp(dir, toml: toml)
        let result = try await CLI.run(["build", "--project", "app", "--json"], in: dir.path)
        #expect(result.status == 2, "\(result)")
        #expect(errorCode(result) == code, "\(result)")
        #expect(result.stderr.contains("app/airlock.toml"), "\(result)")
    }

    @Test func aProjectWithoutTheFileKeepsTheBuiltInDefaults() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try makeApp(dir)
        let lock = try await CLI.run(["lock", "--project", "app", "--no-sizes", "--json"], in: dir.path)
        try #require(lock.status == 0, "\(lock)")
        #expect(try lockedTarget(lock) == ["pythonVersion": "3.11", "platform": "linux/amd64", "glibc": "2.31"])
        let fetch = try await CLI.run(["fetch", "--project", "app"], in: dir.path)
        try #require(fetch.status == 0, "\(fetch)")
        #expect(FileManager.default.fileExists(atPath: dir.file("mirror/index.sqlite")), "\(fetch)")
        // seal without --project reads no airlock.toml, even one in the current directory.
        try Data("pyhton = 1\n".utf8).write(to: URL(fileURLWithPath: dir.file("airlock.toml")))
        let key = try await Fixture.key(dir)
        let seal = try await CLI.run(["seal", "--out", "b.airlock", "--key", key.key, "app/host.json"], in: dir.path)
        #expect(seal.status == 0, "\(seal)")
    }
}
