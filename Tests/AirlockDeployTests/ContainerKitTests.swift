// The container kits' deploy.sh against the az stand-in (FakeAz.swift): system- and user-assigned
// identities, AcrPull and Key Vault roles, Key Vault references, no registry password anywhere,
// the plan and registry checks before anything changes, and for a web app the wait on a real HTTPS
// server on 127.0.0.1 (a test CA through CURL_CA_BUNDLE) and the ACR webhook for continuous
// deployment, whose URL (it holds publishing credentials) is never printed.

import AirlockCore
import AirlockDeploy
import AirlockTestSupport
import Foundation
import Testing

/// A temp dir holding a container kit (`kit/`) and the stand-in (`bin/az`).
final class ContainerKitFixture {
    let dir: TemporaryDirectory
    let written: ContainerKit.Written

    init(_ configuration: ContainerKit.Configuration) throws {
        dir = try TemporaryDirectory()
        written = try ContainerKit.write(configuration, to: dir.path + "/kit")
        try FileSystem.makeDirectory(dir.path + "/bin")
        try FileSystem.writeAtomically(dir.path + "/bin/az", Array(fakeAzScript.utf8), mode: 0o755)
    }

    var script: String { get throws { String(decoding: try FileSystem.readFile(written.scriptPath), as: UTF8.self) } }

    func run(_ environment: [String: String] = [:]) async throws -> ScriptRun {
        var env = ["FAKE_AZ_REGISTRY_HAS": ContainerKitTests.digest.description, "FAKE_AZ_FUNCTIONS": "hello on_queue"]
        env.merge(environment) { $1 }
        return try await runKitScript(in: dir.path, env)
    }
}

@Suite struct ContainerKitTests {
    static let digest = SHA256Hasher.hash(Array("the app image".utf8))
    static let uami =
        "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app"
    static let registryID =
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-registry/providers/Microsoft.ContainerRegistry/registries/contoso"
    static let vaultID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-vault/providers/Microsoft.KeyVault/vaults/kv-app"
    static let site = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.Web/sites/myapp"

    static func image(_ name: String = "func-app", tag: String = "1") throws -> ContainerKit.Image {
        try ContainerKit.Image(registry: "contoso.azurecr.io", name: ImageName(name: name, tag: tag), digest: digest)
    }

    static func kit(
        _ target: ContainerKit.Target = .functionApp, plan: ContainerKit.Plan = .premium, identity: ContainerKit.Identity = .system,
        keyVault: String? = nil, secrets: [String] = [], health: String = "/", cd: Bool = false, runtime: CloudShellKit.WorkerRuntime = .python
    ) throws -> ContainerKit.Configuration {
        try ContainerKit.Configuration(
            target: target, resourceGroup: "rg1", app: "myapp", plan: plan, identity: identity, image: image(), runtime: runtime,
            keyVault: keyVault, secretSettings: try secrets.map(ContainerKit.SecretSetting.init(parsing:)),
            expectedFunctions: target == .functionApp ? ["hello", "on_queue"] : [], healthPath: health, cdWebhook: cd
        )
    }

    /// The az calls that change nothing.
    static let reads: Set<String> = [
        "account show", "account set", "functionapp show", "webapp show", "appservice plan show", "acr repository show", "acr show",
    ]
    static func changes(_ run: ScriptRun) -> [[String]] {
        run.calls.filter { call in !reads.contains { call.starts(with: $0.split(separator: " ").map(String.init)) } }
    }

    // MARK: Function App

    @Test func aSystemIdentityGetsAcrPullAndTheAppPullsByDigestWithNoPassword() async throws {
        let fixture = try ContainerKitFixture(try Self.kit())
        let run = try await fixture.run()
        try #require(run.status == 0, "\(run)")
        let image = "contoso.azurecr.io/func-app@\(Self.digest)"
        // The registry is asked for the kit's digest before anything changes.
        let check = try #require(run.calls.firstIndex { $0.starts(with: ["acr", "repository", "show"]) })
        #expect(run.calls[check] == ["acr", "repository", "show", "--name", "contoso", "--image", "func-app@\(Self.digest)", "--query", "digest", "--output", "tsv"])
        let firstChange = try #require(run.calls.firstIndex { Self.changes(ScriptRun(status: 0, output: "", calls: [$0], seconds: 0)).count == 1 })
        #expect(check < firstChange)
        #expect(run.calls("functionapp identity assign") == [["functionapp", "identity", "assign", "--resource-group", "rg1", "--name", "myapp", "--query", "principalId", "--output", "tsv"]])
        #expect(
            run.calls("role assignment create") == [[
                "role", "assignment", "create", "--assignee-object-id", "11111111-1111-1111-1111-111111111111",
                "--assignee-principal-type", "ServicePrincipal", "--role", "AcrPull", "--scope", Self.registryID, "--output", "none",
            ]]
        )
        #expect(run.calls("resource update") == [["resource", "update", "--ids", Self.site + "/config/web", "--set", "properties.acrUseManagedIdentityCreds=true", "--output", "none"]])
        let settings = try ScriptRun.settings(in: try #require(run.calls("functionapp config appsettings set").first))
        #expect(settings == ["WEBSITES_ENABLE_APP_SERVICE_STORAGE=false", "FUNCTIONS_WORKER_RUNTIME=python", "FUNCTIONS_EXTENSION_VERSION=~4"])
        #expect(run.calls("functionapp config container set") == [["functionapp", "config", "container", "set", "--resource-group", "rg1", "--name", "myapp", "--image", image, "--output", "none"]])
        #expect(run.calls("functionapp update").isEmpty && run.calls("keyvault").isEmpty)
        // No registry credentials anywhere: not passed, not left behind.
        let everything = run.calls.flatMap { $0 }.joined(separator: " ")
        for word in ["--registry-password", "--registry-username", "--registry-server", "DOCKER_REGISTRY_SERVER_PASSWORD="] {
            #expect(!everything.contains(word), "\(word)\n\(run)")
        }
        #expect(run.calls("functionapp config appsettings delete").isEmpty)
        #expect(run.calls("functionapp function list").count == 1)
        #expect(run.output.contains("done: 2 function(s) live on myapp from \(image)"), "\(run)")

        // Again, with the role already there: it is kept, not assigned twice.
        let again = try await fixture.run(["FAKE_AZ_ROLES": "11111111-1111-1111-1111-111111111111 AcrPull@\(Self.registryID)"])
        try #require(again.status == 0, "\(again)")
        #expect(again.calls("role assignment create").count == 1, "only the first run's\n\(again)")
        #expect(again.output.contains("already has AcrPull on registry contoso"))
    }

    @Test func aUserAssignedIdentityPullsResolvesKeyVaultReferencesAndGetsTheSecretsRole() async throws {
        let fixture = try ContainerKitFixture(
            try Self.kit(
                identity: .userAssigned(resourceID: Self.uami), keyVault: "kv-app",
                secrets: ["AzureWebJobsStorage=storage-connection", "ServiceBusConnection=sb-connection"], runtime: .custom
            )
        )
        let run = try await fixture.run()
        try #require(run.status == 0, "\(run)")
        let principal = "22222222-2222-2222-2222-222222222222"
        #expect(run.calls("functionapp identity assign") == [["functionapp", "identity", "assign", "--resource-group", "rg1", "--name", "myapp", "--identities", Self.uami, "--output", "none"]])
        let roles = run.calls("role assignment create").map { ScriptRun.value(of: "--role", in: $0).map { $0 + "@" } ?? "" }
        #expect(roles == ["AcrPull@", "Key Vault Secrets User@"], "\(run)")
        #expect(run.calls("role assignment create").allSatisfy { ScriptRun.value(of: "--assignee-object-id", in: $0) == principal })
        #expect(run.calls("role assignment create").map { ScriptRun.value(of: "--scope", in: $0) } == [Self.registryID, Self.vaultID])
        #expect(
            run.calls("resource update").first.map { Array($0.drop { $0 != "--set" }) }
                == ["--set", "properties.acrUseManagedIdentityCreds=true", "properties.acrUserManagedIdentityID=33333333-3333-3333-3333-333333333333", "--output", "none"]
        )
        #expect(run.calls("functionapp update") == [["functionapp", "update", "--resource-group", "rg1", "--name", "myapp", "--set", "keyVaultReferenceIdentity=\(Self.uami)", "--output", "none"]])
        let settings = try ScriptRun.settings(in: try #require(run.calls("functionapp config appsettings set").first))
        #expect(
            settings == [
                "WEBSITES_ENABLE_APP_SERVICE_STORAGE=false", "FUNCTIONS_WORKER_RUNTIME=custom", "FUNCTIONS_EXTENSION_VERSION=~4",
                "AzureWebJobsStorage=@Microsoft.KeyVault(SecretUri=https://kv-app.vault.azure.net/secrets/storage-connection/)",
                "ServiceBusConnection=@Microsoft.KeyVault(SecretUri=https://kv-app.vault.azure.net/secrets/sb-connection/)",
            ]
        )
        #expect(run.calls("keyvault set-policy").isEmpty)

        // A vault on access policies gets a get-secrets policy for the identity instead of a role.
        let policies = try ContainerKitFixture(
            try Self.kit(identity: .userAssigned(resourceID: Self.uami), keyVault: "kv-app", secrets: ["Db=db-password"])
        )
        let policyRun = try await policies.run(["FAKE_AZ_KV_RBAC": "false"])
        try #require(policyRun.status == 0, "\(policyRun)")
        #expect(policyRun.calls("keyvault set-policy") == [["keyvault", "set-policy", "--name", "kv-app", "--object-id", principal, "--secret-permissions", "get", "--output", "none"]])
        #expect(policyRun.calls("role assignment create").compactMap { ScriptRun.value(of: "--role", in: $0) } == ["AcrPull"])
    }

    @Test func registryCredentialsLeftByAnEarlierDeployAreRemoved() async throws {
        let fixture = try ContainerKitFixture(try Self.kit())
        let run = try await fixture.run(["FAKE_AZ_CREDENTIALS": "yes"])
        try #require(run.status == 0, "\(run)")
        #expect(
            run.calls("functionapp config appsettings delete") == [[
                "functionapp", "config", "appsettings", "delete", "--resource-group", "rg1", "--name", "myapp",
                "--setting-names", "DOCKER_REGISTRY_SERVER_USERNAME", "DOCKER_REGISTRY_SERVER_PASSWORD", "--output", "none",
            ]]
        )
        // The deletion comes after the image is set (which is when az would add them).
        let set = try #require(run.calls.firstIndex { $0.starts(with: ["functionapp", "config", "container", "set"]) })
        let delete = try #require(run.calls.firstIndex { $0.starts(with: ["functionapp", "config", "appsettings", "delete"]) })
        #expect(set < delete)
    }

    @Test(arguments: [("Dynamic", "consumption"), ("FlexConsumption", "flex")])
    func aConsumptionOrFlexAppIsRefusedAtRunTimeBeforeAnythingChanges(_ sku: String, _ plan: String) async throws {
        let fixture = try ContainerKitFixture(try Self.kit(plan: .auto))
        let run = try await fixture.run(["FAKE_AZ_SKU": sku])
        #expect(run.status == 2, "\(run)")
        #expect(run.output.contains("runs on a \(plan) plan, which cannot run a container image"), "\(run)")
        #expect(Self.changes(run).isEmpty, "\(run)")
        // Elastic Premium goes ahead.
        let premium = try ContainerKitFixture(try Self.kit(plan: .auto))
        let ok = try await premium.run(["FAKE_AZ_SKU": "ElasticPremium"])
        #expect(ok.status == 0, "\(ok)")
    }

    @Test func consumptionAndFlexAreRefusedWhenTheKitIsMade() throws {
        for text in ["consumption", "Flex"] {
            let error = #expect(throws: UsageError.self) { try ContainerKit.Plan(parsing: text) }
            #expect(error?.code == DeployErrorCode.containerPlan.code)
            #expect(error?.description.contains("cannot run a container image") == true, "\(String(describing: error))")
        }
        #expect(try ContainerKit.Plan(parsing: "Premium") == .premium)
        #expect((#expect(throws: UsageError.self) { try ContainerKit.Plan(parsing: "elastic") })?.code == DeployErrorCode.badPlan.code)
    }

    @Test func anImageTheRegistryDoesNotHaveStopsTheScriptWithExit1BeforeAnyChange() async throws {
        let fixture = try ContainerKitFixture(try Self.kit())
        let run = try await fixture.run(["FAKE_AZ_REGISTRY_HAS": SHA256Hasher.hash(Array("another".utf8)).description])
        #expect(run.status == 1, "\(run)")
        #expect(run.output.contains("push it first with airlock image push"), "\(run)")
        #expect(Self.changes(run).isEmpty, "\(run)")
    }

    @Test func functionsThatNeverAppearFailTheWaitWithExit1() async throws {
        let fixture = try ContainerKitFixture(try Self.kit())
        let run = try await fixture.run(["FAKE_AZ_FUNCTIONS": "hello", "AIRLOCK_WAIT_SECONDS": "0"])
        #expect(run.status == 1, "\(run)")
        #expect(run.output.contains("still does not list: on_queue"), "\(run)")
    }

    // MARK: App Service

    /// An HTTPS server on 127.0.0.1 with a certificate for localhost; `path` answers 503 until the
    /// `healthyFrom`th request, then 200. The first line is the port.
    static func healthServer(in dir: TemporaryDirectory, path: String, healthyFrom: Int) async throws -> BackgroundProcess {
        let made = try await shell(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out cert.pem -days 1 "
                + "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>&1",
            in: dir.path
        )
        try #require(made.0 == 0, "\(made.1)")
        let server = try dir.file(
            "health.py",
            """
            import http.server, ssl, sys
            seen = [0]
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    if self.path != sys.argv[2]:
                        self.send_response(404)
                    else:
                        seen[0] += 1
                        self.send_response(200 if seen[0] >= int(sys.argv[3]) else 503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                def log_message(self, *args):
                    pass
            httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1] + "/cert.pem", sys.argv[1] + "/key.pem")
            httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
            print(httpd.server_address[1], flush=True)
            httpd.serve_forever()
            """
        )
        return try await BackgroundProcess.start(
            ChildProcess(executable: "/usr/bin/python3", arguments: [server, dir.path, path, String(healthyFrom)], stopGrace: .seconds(5))
        )
    }

    @Test func aWebAppKitUsesAcrIdentityAndWaitsUntilTheHealthPathAnswers() async throws {
        let fixture = try ContainerKitFixture(try Self.kit(.webApp, identity: .userAssigned(resourceID: Self.uami), health: "/api/health"))
        let server = try await Self.healthServer(in: fixture.dir, path: "/api/health", healthyFrom: 3)
        defer { _ = server }
        let environment = ["FAKE_AZ_HOST": "localhost:\(server.firstLine)", "CURL_CA_BUNDLE": fixture.dir.path + "/cert.pem"]
        let run = try await fixture.run(environment)
        _ = await server.stop()
        try #require(run.status == 0, "\(run)")
        #expect(run.calls("webapp identity assign").first?.contains("--identities") == true)
        #expect(run.calls("webapp config set") == [["webapp", "config", "set", "--resource-group", "rg1", "--name", "myapp", "--acr-use-identity", "true", "--acr-identity", Self.uami, "--output", "none"]])
        #expect(run.calls("resource update").isEmpty && run.calls("functionapp").isEmpty, "\(run)")
        #expect(run.calls("webapp update").first?.contains("keyVaultReferenceIdentity=\(Self.uami)") == true)
        let settings = try ScriptRun.settings(in: try #require(run.calls("webapp config appsettings set").first))
        #expect(settings == ["WEBSITES_ENABLE_APP_SERVICE_STORAGE=false", "FUNCTIONS_WORKER_RUNTIME=python"])
        #expect(run.calls("webapp config container set").first.flatMap { ScriptRun.value(of: "--container-image-name", in: $0) } == "contoso.azurecr.io/func-app@\(Self.digest)")
        #expect(run.output.contains("503"), "the first polls saw the site not ready\n\(run)")
        #expect(run.output.contains("answers 200"), "\(run)")
        #expect(run.calls("acr webhook").isEmpty)

        // A site that never comes up: exit 1 when the wait runs out.
        let down = try await Self.healthServer(in: fixture.dir, path: "/api/health", healthyFrom: 1_000_000)
        let failed = try await fixture.run(environment.merging(["FAKE_AZ_HOST": "localhost:\(down.firstLine)", "AIRLOCK_WAIT_SECONDS": "1"]) { $1 })
        _ = await down.stop()
        #expect(failed.status == 1, "\(failed)")
        #expect(failed.output.contains("still answers 503"), "\(failed)")
    }

    @Test func cdWebhookFollowsTheTagThatNamesTheDigestAndNeverPrintsTheCdUrl() async throws {
        let fixture = try ContainerKitFixture(try Self.kit(.webApp, cd: true))
        let server = try await Self.healthServer(in: fixture.dir, path: "/", healthyFrom: 1)
        let environment = [
            "FAKE_AZ_HOST": "localhost:\(server.firstLine)", "CURL_CA_BUNDLE": fixture.dir.path + "/cert.pem",
            "FAKE_AZ_TAG_DIGEST": Self.digest.description,
        ]
        let run = try await fixture.run(environment)
        try #require(run.status == 0, "\(run)")
        #expect(run.calls("webapp config container set").first.flatMap { ScriptRun.value(of: "--container-image-name", in: $0) } == "contoso.azurecr.io/func-app:1")
        #expect(run.calls("webapp deployment container config").first?.contains("--enable-cd") == true)
        let hook = try #require(run.calls("acr webhook create").first, "\(run)")
        #expect(ScriptRun.value(of: "--registry", in: hook) == "contoso" && ScriptRun.value(of: "--name", in: hook) == "airlockmyapp")
        #expect(ScriptRun.value(of: "--scope", in: hook) == "func-app:1" && ScriptRun.value(of: "--actions", in: hook) == "push")
        #expect(ScriptRun.value(of: "--uri", in: hook)?.contains("fakePublishingPassword123") == true)
        #expect(!run.output.contains("fakePublishingPassword123"), "the CD URL was printed\n\(run.output)")
        // An existing webhook is updated instead.
        let again = try await fixture.run(environment.merging(["FAKE_AZ_WEBHOOK": "yes"]) { $1 })
        #expect(again.status == 0 && again.calls("acr webhook update").count == 1, "\(again)")

        // The tag names another image: nothing changes.
        let moved = try ContainerKitFixture(try Self.kit(.webApp, cd: true))
        let refused = try await moved.run(environment.merging(["FAKE_AZ_TAG_DIGEST": SHA256Hasher.hash(Array("newer".utf8)).description]) { $1 })
        _ = await server.stop()
        #expect(refused.status == 1 && refused.output.contains("not this kit's"), "\(refused)")
        #expect(Self.changes(refused).isEmpty, "\(refused)")
    }

    // MARK: The kit itself

    @Test(arguments: [
        try ContainerKitTests.kit(),
        try ContainerKitTests.kit(plan: .auto, identity: .userAssigned(resourceID: ContainerKitTests.uami), keyVault: "kv-app", secrets: ["A=b", "C_D=e-f"]),
        try ContainerKitTests.kit(.webApp, health: "/api/health?probe=1", cd: true),
        try ContainerKitTests.kit(.webApp, identity: .userAssigned(resourceID: ContainerKitTests.uami)),
    ])
    func theScriptPassesShellcheck(_ configuration: ContainerKit.Configuration) async throws {
        let fixture = try ContainerKitFixture(configuration)
        let (status, output) = try await shell("shellcheck --shell=bash deploy.sh", in: fixture.written.directory)
        #expect(status == 0, "shellcheck deploy.sh (exit \(status)):\n\(output)")
        #expect(try FileSystem.list(fixture.written.directory).sorted() == ["README.txt", "deploy.sh"])
        let readme = String(decoding: try FileSystem.readFile(fixture.written.readmePath), as: UTF8.self)
        #expect(readme.contains("bash deploy.sh") && readme.contains("contoso.azurecr.io/func-app@\(Self.digest)"))
    }

    @Test func badValuesAreRefusedWhenTheKitIsMade() throws {
        func code(_ make: () throws -> Any) -> String? {
            do {
                _ = try make()
                return nil
            } catch let error as UsageError { return error.code.description } catch { return "\(error)" }
        }
        let name = ImageName(name: "func-app", tag: "1")
        #expect(code { try ContainerKit.Image(registry: "registry.example.com", name: name, digest: Self.digest) } == "deploy.bad-registry")
        #expect(code { try ContainerKit.Image(registry: "ab.azurecr.io", name: name, digest: Self.digest) } == "deploy.bad-registry")
        #expect(code { try ContainerKit.Image(registry: "Contoso.azurecr.io", name: name, digest: Self.digest) } == "deploy.bad-registry")
        #expect(try ContainerKit.Image(registry: "contoso.azurecr.us", name: name, digest: Self.digest).registryName == "contoso")
        // A registry host in the store's name is not part of the repository.
        #expect(try ContainerKit.Image(registry: "contoso.azurecr.io", name: ImageName(name: "127.0.0.1:5000/team/app", tag: "2"), digest: Self.digest).byTag == "contoso.azurecr.io/team/app:2")
        #expect(code { try ContainerKit.Identity(parsing: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id") } == "deploy.bad-name")
        #expect(code { try ContainerKit.Identity(parsing: "id-app") } == "deploy.bad-name")
        #expect(try ContainerKit.Identity(parsing: "System") == .system)
        #expect(code { try ContainerKit.SecretSetting(parsing: "NoSecret") } == "deploy.bad-secret-setting")
        #expect(code { try ContainerKit.SecretSetting(parsing: "A=") } == "deploy.bad-secret-setting")
        #expect(code { try ContainerKit.SecretSetting(parsing: "A-B=x") } == "deploy.bad-name")
        #expect(code { try ContainerKit.SecretSetting(parsing: "A=x_y") } == "deploy.bad-name")
        #expect(code { try Self.kit(secrets: ["A=b"]) } == "deploy.bad-secret-setting", "secrets without a vault")
        #expect(code { try Self.kit(keyVault: "kv-app") } == "deploy.bad-secret-setting", "a vault without secrets")
        #expect(code { try Self.kit(keyVault: "kv-app", secrets: ["A=b", "a=c"]) } == "deploy.bad-secret-setting", "twice")
        #expect(code { try Self.kit(keyVault: "kv-app", secrets: ["DOCKER_REGISTRY_SERVER_PASSWORD=p"]) } == "deploy.bad-secret-setting")
        #expect(code { try Self.kit(keyVault: "kv--app", secrets: ["A=b"]) } == "deploy.bad-name")
        #expect(code { try Self.kit(.webApp, health: "api/health") } == "deploy.bad-name")
        #expect(code { try Self.kit(.webApp, health: "/a b") } == "deploy.bad-name")
        #expect(
            code {
                try ContainerKit.Configuration(target: .functionApp, resourceGroup: "rg1", app: "myapp", image: try Self.image())
            } == "deploy.no-expected-functions"
        )
    }
}
