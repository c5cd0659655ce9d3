import AirlockCore
import AirlockDeploy
import AirlockTestSupport
import Testing

@Suite struct CloudShellKitTests {
    // MARK: The kit on disk

    @Test func theKitHoldsTheZipItsSha256sumLineTheScriptAndAReadme() async throws {
        let fixture = try KitFixture(try configuration())
        let kit = fixture.written
        #expect(
            try FileSystem.list(kit.directory).sorted() == [
                "README.txt", "deploy.sh", "function_app.zip", "function_app.zip.sha256",
            ]
        )
        #expect(try FileSystem.readFile(kit.zipPath) == fixture.zipBytes)
        let digest = SHA256Hasher.hash(fixture.zipBytes)
        #expect(kit.kit.zipDigest == digest)
        #expect(
            String(decoding: try FileSystem.readFile(kit.checksumPath), as: UTF8.self)
                == "\(digest.hex)  function_app.zip\n"
        )
        let (status, output) = try await shell("sha256sum -c function_app.zip.sha256", in: kit.directory)
        #expect(status == 0, "\(output)")
        #expect(try FileSystem.mode(of: kit.scriptPath) & 0o111 != 0)
        let script = String(decoding: try FileSystem.readFile(kit.scriptPath), as: UTF8.self)
        #expect(script.hasPrefix("#!/usr/bin/env bash\n"))
        #expect(script.contains("\nset -euo pipefail\n"))
        let readme = String(decoding: try FileSystem.readFile(kit.readmePath), as: UTF8.self)
        #expect(readme.contains("bash deploy.sh"))
        #expect(readme.contains("Made offline by Airlock"))
        #expect((10...15).contains(readme.split(separator: "\n", omittingEmptySubsequences: false).count - 1))
        // No temp files left behind.
        #expect(try FileSystem.list(kit.directory).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test(arguments: [
        try configuration(plan: .premium),
        try configuration(subscription: "Contoso Prod (EU)", slot: "staging", plan: .dedicated),
        try configuration(plan: .consumption, expect: ["a"]),
        try configuration(plan: .flex),
        try configuration(slot: "blue", plan: .auto, waitMinutes: 0),
        try configuration(plan: .auto, expect: ["HttpExample"], runtime: .custom),
    ])
    func theScriptPassesShellcheck(_ configuration: CloudShellKit.Configuration) async throws {
        let fixture = try KitFixture(configuration)
        // Fails (never skips) when shellcheck is missing: scripts/install-deps.sh installs it.
        let (status, output) = try await shell("shellcheck --shell=bash deploy.sh", in: fixture.kitPath)
        #expect(status == 0, "shellcheck deploy.sh (exit \(status)):\n\(output)")
    }

    @Test func theStandInPassesShellcheckToo() async throws {
        let fixture = try KitFixture(try configuration())
        let (status, output) = try await shell("shellcheck --shell=bash bin/az", in: fixture.dir.path)
        #expect(status == 0, "shellcheck bin/az (exit \(status)):\n\(output)")
    }

    @Test func aNonEmptyOutDirectoryIsRefusedUnlessForced() async throws {
        let dir = try TemporaryDirectory()
        let zip = try dir.file("app.zip", fixtureZip(seed: 1))
        try dir.file("out/notes.txt", "keep me")
        let config = try configuration()
        let error = #expect(throws: UsageError.self) {
            try CloudShellKit.write(config, zip: .file(path: zip), to: dir.path + "/out")
        }
        #expect(error?.code == DeployErrorCode.outDirNotEmpty.code)
        #expect(try FileSystem.list(dir.path + "/out") == ["notes.txt"])
        let written = try CloudShellKit.write(config, zip: .file(path: zip), to: dir.path + "/out", replacing: true)
        #expect(
            try FileSystem.list(dir.path + "/out").sorted() == [
                "README.txt", "app.zip", "app.zip.sha256", "deploy.sh", "notes.txt",
            ]
        )
        // Writing over the same kit again replaces its files in place.
        try dir.file("app.zip", fixtureZip(seed: 2))
        _ = try CloudShellKit.write(config, zip: .file(path: zip), to: dir.path + "/out", replacing: true)
        #expect(try FileSystem.readFile(written.zipPath) == fixtureZip(seed: 2))
        #expect(try await shell("sha256sum -c app.zip.sha256", in: dir.path + "/out").0 == 0)
    }

    @Test func anArtifactFromTheStoreKeepsItsFileNameAndDigest() throws {
        let dir = try TemporaryDirectory()
        let bytes = fixtureZip(seed: 3)
        let store = try Store.open(at: dir.path + "/store")
        let (digest, size, tmp) = try store.put(path: try dir.file("upload.bin", bytes))
        try store.commit([(digest, tmp)])
        try store.index.record(
            [
                BlobEntry(
                    digest: digest,
                    size: size,
                    kind: "artifact",
                    name: "myapp-python",
                    filename: "function_app.zip"
                )
            ]
        )
        for reference in ["myapp-python", "function_app.zip", digest.hex] {
            let source = try ZipSource.resolve(reference, storeRoot: dir.path + "/store")
            let written = try CloudShellKit.write(
                try configuration(),
                zip: source,
                to: dir.path + "/kit-\(reference.prefix(12))"
            )
            #expect(written.kit.zipName == "function_app.zip")
            #expect(written.kit.zipDigest == digest)
            #expect(try FileSystem.readFile(written.zipPath) == bytes)
        }
    }

    @Test func theExpectedFunctionsComeFromTheBuildsProvenance() throws {
        let dir = try TemporaryDirectory()
        let bytes = fixtureZip(seed: 5)
        let zip = try dir.file("dist/app.zip", bytes)
        let digest = SHA256Hasher.hash(bytes)
        let inputs = BuildInputs(
            kind: "python-function-app", tool: "airlock test", target: BuildTarget(language: "python", version: "3.11", platform: "linux/amd64"),
            sourceDateEpoch: 315_532_800
        )
        let functions = ["hello", "tick"].map { AppFunction(name: $0, trigger: "httpTrigger", route: $0, bindings: []) }
        let document = try JSONValue(
            encoding: Provenance(
                kind: "python-function-app", project: "app", tool: "airlock test", inputs: inputs,
                output: .init(name: "app.zip", sha256: digest, size: bytes.count), functions: functions
            )
        )
        // Beside a zip file, but only when it describes that very file.
        #expect(try ZipSource.file(path: zip).builtFunctions() == nil)
        try dir.file("dist/provenance.json", document.canonicalBytes)
        #expect(try ZipSource.file(path: zip).builtFunctions()?.names == ["hello", "tick"])
        try dir.file("dist/app.zip", fixtureZip(seed: 6))
        #expect(try ZipSource.file(path: zip).builtFunctions() == nil)

        // In the store: what a build or an import recorded for the digest.
        let store = try Store.open(at: dir.path + "/store")
        let (stored, size, tmp) = try store.put(path: try dir.file("upload.bin", bytes))
        try store.commit([(stored, tmp)])
        try store.index.record([BlobEntry(digest: stored, size: size, kind: "artifact", name: "app", filename: "app.zip")])
        let source = try ZipSource.resolve("app", storeRoot: store.root)
        #expect(try source.builtFunctions() == nil)
        try store.index.recordProvenance(String(decoding: document.canonicalBytes, as: UTF8.self), of: stored)
        #expect(try source.builtFunctions()?.names == ["hello", "tick"])

        // Schema 1, as builds before typed provenance wrote it, still reads.
        let legacy = JSONValue.object([
            "schema": .int(1), "kind": .string("python-function-app"), "project": .string("app"),
            "output": .object(["name": .string("app.zip"), "sha256": .string(digest.hex), "size": .int(Int64(bytes.count))]),
            "functions": .array([.object(["name": .string("old"), "trigger": .null, "route": .null, "bindings": .array([])])]),
        ])
        try store.index.recordProvenance(String(decoding: legacy.canonicalBytes, as: UTF8.self), of: stored)
        #expect(try source.builtFunctions()?.names == ["old"])
    }

    @Test func aMissingArtifactOrOneThatIsNotAZipIsAUsageError() throws {
        let dir = try TemporaryDirectory()
        let notZip = try dir.file("app.zip", Array("just text".utf8))
        let config = try configuration()
        let notAZip = #expect(throws: UsageError.self) {
            try CloudShellKit.write(config, zip: .file(path: notZip), to: dir.path + "/kit")
        }
        #expect(notAZip?.code == DeployErrorCode.notAZip.code)
        #expect(!FileSystem.exists(dir.path + "/kit/deploy.sh"))
        let missing = #expect(throws: UsageError.self) {
            try ZipSource.resolve(dir.path + "/nope.zip", storeRoot: dir.path + "/no-store")
        }
        #expect(missing?.code == DeployErrorCode.noSuchArtifact.code)
        _ = try Store.open(at: dir.path + "/store")
        let unknown = #expect(throws: UsageError.self) {
            try ZipSource.resolve("nothing-by-this-name", storeRoot: dir.path + "/store")
        }
        #expect(unknown?.code == CoreErrorCode.notInStore.code)
        let wrongSuffix = try dir.file("app.tar", fixtureZip(seed: 4))
        let tar = #expect(throws: UsageError.self) { try ZipSource.resolve(wrongSuffix, storeRoot: dir.path + "/store") }
        #expect(tar?.code == DeployErrorCode.notAZip.code)
    }

    // MARK: Refused values

    @Test(arguments: [
        "$(touch pwned)", "`touch pwned`", "my'app", "my\"app", "my app", "my\napp", "-rf", "a", "app-", "app;id",
        "app$IFS", "applé", String(repeating: "a", count: 61), "",
    ])
    func hostileOrInvalidAppNamesAreRefused(_ app: String) {
        let error = #expect(throws: UsageError.self) { try configuration(app: app) }
        #expect(error?.code == DeployErrorCode.badName.code)
    }

    @Test(
        arguments: [
            (resourceGroup: "rg'$(touch pwned)'", subscription: nil),
            (resourceGroup: "rg.", subscription: nil),
            (resourceGroup: "rg\nid", subscription: nil),
            (resourceGroup: "rg1", subscription: "x'; touch pwned; '"),
            (resourceGroup: "rg1", subscription: "$(touch pwned)"),
            (resourceGroup: "rg1", subscription: " leading"),
        ] as [(resourceGroup: String, subscription: String?)]
    )
    func hostileResourceGroupsAndSubscriptionsAreRefused(resourceGroup: String, subscription: String?) {
        let error = #expect(throws: UsageError.self) {
            try configuration(resourceGroup: resourceGroup, subscription: subscription)
        }
        #expect(error?.code == DeployErrorCode.badName.code)
    }

    @Test(arguments: ["$(touch pwned)", "hel lo", "hello;", "1hello", "_hello", "he'llo", "hello/x", ""])
    func hostileFunctionNamesAreRefused(_ name: String) {
        let error = #expect(throws: UsageError.self) { try configuration(expect: ["hello", name]) }
        #expect(error?.code == DeployErrorCode.badName.code)
    }

    @Test(arguments: ["$(id)", "staging'", "-x", "a b"])
    func hostileSlotsAreRefused(_ slot: String) {
        let error = #expect(throws: UsageError.self) { try configuration(slot: slot) }
        #expect(error?.code == DeployErrorCode.badName.code)
    }

    @Test(arguments: ["$(touch pwned).zip", "a b.zip", "-x.zip", ".zip", "app.tar", "app'.zip", "ap\\p.zip"])
    func hostileZipNamesAreRefused(_ name: String) throws {
        let config = try configuration()
        let error = #expect(throws: UsageError.self) {
            try CloudShellKit(configuration: config, zipName: name, zipDigest: SHA256Hasher.hash([]))
        }
        #expect(error?.code == DeployErrorCode.badName.code)
    }

    @Test func aSlotOnFlexNoExpectedFunctionsAndAnUnknownPlanAreRefused() throws {
        let flexSlot = #expect(throws: UsageError.self) { try configuration(slot: "staging", plan: .flex) }
        #expect(flexSlot?.code == DeployErrorCode.noSlots.code)
        let nothingExpected = #expect(throws: UsageError.self) { try configuration(expect: []) }
        #expect(nothingExpected?.code == DeployErrorCode.noExpectedFunctions.code)
        let negativeWait = #expect(throws: UsageError.self) { try configuration(waitMinutes: -1) }
        #expect(negativeWait?.code == DeployErrorCode.badWait.code)
        let plan = #expect(throws: UsageError.self) { try CloudShellKit.Plan(parsing: "serverless") }
        #expect(plan?.code == DeployErrorCode.badPlan.code)
        #expect(try CloudShellKit.Plan(parsing: "Flex") == .flex)
        // Duplicates (the host compares names case-insensitively) are dropped, order kept.
        #expect(try configuration(expect: ["b", "a", "B"]).expectedFunctions == ["b", "a"])
    }

    @Test(arguments: [
        "plain", "it's", "'", "''", "$(touch pwned)", "`touch pwned`", "a\"b", "back\\slash", "new\nline", "tab\there",
        "!event", "${HOME}", "'\u{301}$(touch pwned)'", "ünï'cødé", "*", "~", "-n",
    ])
    func shellQuotingGivesBackExactlyTheValue(_ value: String) async throws {
        let dir = try TemporaryDirectory()
        let (status, output) = try await shell("printf '%s' \(ShellQuote.quote(value))", in: dir.path)
        #expect(status == 0)
        #expect(output == value)
        #expect(!FileSystem.exists(dir.path + "/pwned"))
    }

    // MARK: Running deploy.sh against the stand-in

    @Test(.timeLimit(.minutes(5)))
    func premiumSetsTheFourSettingsDeploysTheZipAndWaitsForTheFunctions() async throws {
        let fixture = try KitFixture(try configuration(subscription: "Contoso Production", plan: .premium))
        let run = try await fixture.run(["FAKE_AZ_FUNCTIONS": "hello on_queue", "FAKE_AZ_LIST_FROM": "2"])
        #expect(run.status == 0, "\(run)")
        #expect(
            run.calls("account set").map { ScriptRun.value(of: "--subscription", in: $0) } == ["Contoso Production"]
        )
        #expect(run.calls("functionapp show").isEmpty, "the plan was given, so nothing asks for it")
        let set = try #require(run.calls("functionapp config appsettings set").first, "\(run)")
        let settings = try ScriptRun.settings(in: set)
        #expect(
            settings == [
                "SCM_DO_BUILD_DURING_DEPLOYMENT=false", "ENABLE_ORYX_BUILD=false", "WEBSITE_RUN_FROM_PACKAGE=1",
                "AzureWebJobsFeatureFlags=EnableWorkerIndexing",
            ]
        )
        #expect(ScriptRun.value(of: "--resource-group", in: set) == "rg1")
        #expect(ScriptRun.value(of: "--name", in: set) == "myapp")
        let zip = try #require(run.calls("functionapp deployment source config-zip").first)
        #expect(ScriptRun.value(of: "--src", in: zip) == "function_app.zip")
        #expect(ScriptRun.value(of: "--build-remote", in: zip) == "false")
        #expect(run.calls("functionapp function list").count == 2)
        // Order: settings before the deploy, the deploy before the polls.
        let order = run.calls.map { $0.prefix(3).joined(separator: " ") }
        let setIndex = try #require(order.firstIndex(of: "functionapp config appsettings"))
        let zipIndex = try #require(order.firstIndex(of: "functionapp deployment source"))
        let listIndex = try #require(order.firstIndex(of: "functionapp function list"))
        #expect(setIndex < zipIndex && zipIndex < listIndex)
        let lastLine = try #require(run.output.split(separator: "\n").last)
        #expect(lastLine.contains("2 function(s) live on myapp"), "\(run)")
    }

    @Test(.timeLimit(.minutes(5)))
    func flexFoundByAutoGetsNoAppSettingsAndNoRemoteBuild() async throws {
        let fixture = try KitFixture(try configuration(plan: .auto))
        let run = try await fixture.run(["FAKE_AZ_SKU": "FlexConsumption", "FAKE_AZ_FUNCTIONS": "hello on_queue"])
        #expect(run.status == 0, "\(run)")
        let show = try #require(run.calls("functionapp show").first)
        #expect(ScriptRun.value(of: "--query", in: show) == "sku")
        #expect(run.calls("functionapp config appsettings").isEmpty, "\(run)")
        #expect(!run.calls.contains { $0.contains { $0.contains("WEBSITE_RUN_FROM_PACKAGE") } })
        let zip = try #require(run.calls("functionapp deployment source config-zip").first)
        #expect(ScriptRun.value(of: "--build-remote", in: zip) == "false")
        #expect(run.calls("account set").isEmpty, "no subscription was given")
    }

    @Test(
        .timeLimit(.minutes(5)),
        arguments: [
            (sku: "ElasticPremium", tier: "", runFromPackage: true),
            (sku: "Dynamic", tier: "", runFromPackage: false),
            (sku: "PremiumV3", tier: "", runFromPackage: true),
            (sku: "", tier: "Dynamic", runFromPackage: false),
            (sku: "", tier: "Standard", runFromPackage: true),
        ]
    )
    func autoReadsThePlanAndSetsRunFromPackageOnlyOffConsumption(sku: String, tier: String, runFromPackage: Bool) async throws
    {
        let fixture = try KitFixture(try configuration(plan: .auto))
        let run = try await fixture.run([
            "FAKE_AZ_SKU": sku, "FAKE_AZ_PLAN_TIER": tier, "FAKE_AZ_FUNCTIONS": "hello on_queue",
        ])
        #expect(run.status == 0, "\(run)")
        #expect(run.calls("appservice plan show").count == (sku.isEmpty ? 1 : 0))
        let set = try #require(run.calls("functionapp config appsettings set").first, "\(run)")
        #expect(set.contains("WEBSITE_RUN_FROM_PACKAGE=1") == runFromPackage)
        #expect(set.contains("SCM_DO_BUILD_DURING_DEPLOYMENT=false"))
        #expect(set.contains("ENABLE_ORYX_BUILD=false"))
        let zip = try #require(run.calls("functionapp deployment source config-zip").first)
        #expect(ScriptRun.value(of: "--build-remote", in: zip) == "false")
    }

    @Test(.timeLimit(.minutes(5)))
    func functionsThatNeverAppearFailWithinTheWaitNamingWhatIsMissing() async throws {
        let fixture = try KitFixture(try configuration(plan: .dedicated))
        let run = try await fixture.run([
            "FAKE_AZ_FUNCTIONS": "hello", "FAKE_AZ_LIST_FROM": "1",
            "AIRLOCK_WAIT_SECONDS": "2", "AIRLOCK_POLL_INTERVAL": "1",
        ])
        #expect(run.status == 1, "\(run)")
        // The wait is bounded by polls, not by the clock (a loaded machine runs the stand-in slowly):
        // 2 s at 1 s intervals is at most three polls, and one more for a slow start.
        let polls = run.calls("functionapp function list").count
        #expect(polls >= 2 && polls <= 4, "polled \(polls) times: \(run)")
        #expect(run.output.contains("still does not list: on_queue"), "\(run)")
        #expect(run.output.contains("listed: hello"), "\(run)")
    }

    @Test(.timeLimit(.minutes(5)))
    func anAppThatListsNothingFailsAndNamesEveryExpectedFunction() async throws {
        let fixture = try KitFixture(try configuration(plan: .premium))
        let run = try await fixture.run(["FAKE_AZ_LIST_FROM": "0", "AIRLOCK_WAIT_SECONDS": "0"])
        #expect(run.status == 1, "\(run)")
        #expect(run.output.contains("still does not list: hello on_queue"), "\(run)")
    }

    @Test func aTamperedZipStopsTheScriptBeforeAnyAzCall() async throws {
        let fixture = try KitFixture(try configuration())
        var bytes = fixture.zipBytes
        bytes[100] ^= 0x01
        try FileSystem.writeAtomically(fixture.written.zipPath, bytes)
        let run = try await fixture.run(["FAKE_AZ_FUNCTIONS": "hello on_queue"])
        #expect(run.status == 1, "\(run)")
        #expect(run.calls.isEmpty, "\(run)")
        #expect(run.output.contains("does not match its SHA-256"), "\(run)")
    }

    @Test func aZipAndChecksumReplacedTogetherAreStillRefused() async throws {
        let fixture = try KitFixture(try configuration())
        let other = fixtureZip(seed: 99)
        try FileSystem.writeAtomically(fixture.written.zipPath, other)
        try FileSystem.writeAtomically(
            fixture.written.checksumPath,
            Array("\(SHA256Hasher.hash(other).hex)  function_app.zip\n".utf8)
        )
        let run = try await fixture.run(["FAKE_AZ_FUNCTIONS": "hello on_queue"])
        #expect(run.status == 1, "\(run)")
        #expect(run.calls.isEmpty, "\(run)")
        #expect(run.output.contains("digest this kit was made with"), "\(run)")
    }

    @Test(.timeLimit(.minutes(5)))
    func aSlotReachesEveryAppCallAndItsFunctionNamesAreRead() async throws {
        let fixture = try KitFixture(try configuration(slot: "staging", plan: .auto))
        let run = try await fixture.run(["FAKE_AZ_SKU": "ElasticPremium", "FAKE_AZ_FUNCTIONS": "hello on_queue"])
        #expect(run.status == 0, "\(run)")
        let appCalls = run.calls.filter { $0.first == "functionapp" }
        #expect(appCalls.count == 5, "\(run)")  // show, appsettings list and set, config-zip, function list
        for call in appCalls { #expect(ScriptRun.value(of: "--slot", in: call) == "staging", "\(call)") }
        #expect(run.output.contains("myapp (slot staging)"))
    }

    @Test(.timeLimit(.minutes(5)))
    func autoWithASlotOnFlexFailsAtRunTimeBeforeDeploying() async throws {
        let fixture = try KitFixture(try configuration(slot: "staging", plan: .auto))
        let run = try await fixture.run(["FAKE_AZ_SKU": "FlexConsumption", "FAKE_AZ_FUNCTIONS": "hello on_queue"])
        #expect(run.status == 2, "\(run)")
        #expect(run.output.contains("no deployment slots"), "\(run)")
        #expect(run.calls("functionapp deployment source config-zip").isEmpty)
    }

    @Test(.timeLimit(.minutes(5)))
    func existingFeatureFlagsAreKeptAndWorkerIndexingAddedOnce() async throws {
        let fixture = try KitFixture(try configuration(plan: .dedicated))
        let first = try await fixture.run([
            "FAKE_AZ_FEATURE_FLAGS": "EnableHttpProxying", "FAKE_AZ_FUNCTIONS": "hello on_queue",
        ])
        #expect(first.status == 0, "\(first)")
        let set = try #require(first.calls("functionapp config appsettings set").last)
        #expect(set.contains("AzureWebJobsFeatureFlags=EnableHttpProxying,EnableWorkerIndexing"), "\(set)")
        let second = try await fixture.run([
            "FAKE_AZ_FEATURE_FLAGS": "EnableHttpProxying,EnableWorkerIndexing", "FAKE_AZ_FUNCTIONS": "hello on_queue",
        ])
        let again = try #require(second.calls("functionapp config appsettings set").last)
        #expect(again.contains("AzureWebJobsFeatureFlags=EnableHttpProxying,EnableWorkerIndexing"), "\(again)")
    }

    @Test(.timeLimit(.minutes(5)))
    func anAzThatIsNotLoggedInStopsTheScriptWithExit2() async throws {
        let fixture = try KitFixture(try configuration())
        let run = try await fixture.run(["FAKE_AZ_LOGGED_OUT": "1"])
        #expect(run.status == 2, "\(run)")
        #expect(run.output.contains("az login"), "\(run)")
        #expect(run.calls.count == 1)
    }

    @Test(.timeLimit(.minutes(5)))
    func functionNamesAreComparedCaseInsensitively() async throws {
        let fixture = try KitFixture(try configuration(expect: ["Hello", "ON_QUEUE"]))
        let run = try await fixture.run(["FAKE_AZ_FUNCTIONS": "hello on_queue extra"])
        #expect(run.status == 0, "\(run)")
        #expect(run.output.split(separator: "\n").last?.contains("3 function(s) live") == true, "\(run)")
    }

    @Test(.timeLimit(.minutes(5)))
    func aCustomHandlerGetsFunctionsWorkerRuntimeCustomAndNoPythonSetting() async throws {
        let fixture = try KitFixture(try configuration(plan: .premium, expect: ["HttpExample"], runtime: .custom))
        let run = try await fixture.run(["FAKE_AZ_FUNCTIONS": "HttpExample", "FAKE_AZ_WORKER_RUNTIME": "custom"])
        #expect(run.status == 0, "\(run)")
        let set = try #require(run.calls("functionapp config appsettings set").first, "\(run)")
        let settings = try ScriptRun.settings(in: set)
        #expect(
            settings == [
                "SCM_DO_BUILD_DURING_DEPLOYMENT=false", "ENABLE_ORYX_BUILD=false", "WEBSITE_RUN_FROM_PACKAGE=1",
                "FUNCTIONS_WORKER_RUNTIME=custom",
            ]
        )
        #expect(!run.calls.contains { $0.contains { $0.contains("AzureWebJobsFeatureFlags") } })
        #expect(run.output.split(separator: "\n").last?.contains("1 function(s) live") == true, "\(run)")

        // An app made for another language is refused before anything changes.
        let other = try KitFixture(try configuration(plan: .premium, expect: ["HttpExample"], runtime: .custom))
        let python = try await other.run(["FAKE_AZ_FUNCTIONS": "HttpExample", "FAKE_AZ_WORKER_RUNTIME": "python"])
        #expect(python.status == 2, "\(python)")
        #expect(python.output.contains("--runtime custom"), "\(python)")
        #expect(python.calls("functionapp config appsettings set").isEmpty)
        #expect(python.calls("functionapp deployment source config-zip").isEmpty)
    }

    @Test func theWorkerComesFromTheBuildsProvenanceKind() {
        #expect(CloudShellKit.WorkerRuntime(artifactKind: "go-custom-handler") == .custom)
        #expect(CloudShellKit.WorkerRuntime(artifactKind: "python-function-app") == .python)
        #expect(CloudShellKit.WorkerRuntime(artifactKind: "file") == nil)
    }
}
