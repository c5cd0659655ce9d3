import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct DeployKubernetesCLITests {
    private func appStore(_ dir: TemporaryDirectory) throws -> Store {
        let functions = [
            AppFunction(
                name: "hello",
                trigger: "httpTrigger",
                route: "hello",
                bindings: [.init(type: "httpTrigger", direction: "in", name: "req")]
            ),
            AppFunction(
                name: "on_queue",
                trigger: "queueTrigger",
                route: nil,
                bindings: [.init(type: "queueTrigger", direction: "in", name: "msg", properties: ["queueName": "jobs"])]
            ),
        ]
        return try AppImageFixture.store(in: dir, user: "1000", functions: functions).0
    }

    @Test func deployKubernetesWritesTheKitAndReportsItAsJSON() async throws {
        let dir = try TemporaryDirectory()
        let store = try appStore(dir)
        try dir.file(
            "prod.settings.json",
            #"{"IsEncrypted": false, "Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}}"#
        )
        let result = try await CLI.run(
            [
                "deploy", "kubernetes", "--store", store.root, "--image", "app:1", "--name", "jobs", "--registry",
                "registry.example:5000",
                "--namespace", "apps", "--settings", "prod.settings.json", "--max-replicas", "4", "--out", "kit",
                "--json",
            ],
            in: dir.path
        )
        try #require(result.status == 0, "\(result)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: result.stdoutData) as? [String: Any],
            "\(result)"
        )
        #expect(report["files"] as? [String] == ["kit/manifests.yaml", "kit/deploy.sh", "kit/README.txt"])
        #expect(report["deployments"] as? [String] == ["jobs-http", "jobs"])
        #expect(report["needsKEDA"] as? Bool == true)
        let image = try #require(report["image"] as? String)
        #expect(image.hasPrefix("registry.example:5000/app@sha256:"))
        let objects = (report["objects"] as? [[String: String]])?.map { "\($0["kind"] ?? "") \($0["name"] ?? "")" }
        #expect(
            objects == [
                "Secret jobs", "TriggerAuthentication jobs-auth-1", "Service jobs-http", "Deployment jobs-http",
                "Deployment jobs",
                "ScaledObject jobs",
            ]
        )
        let manifests = try String(contentsOfFile: dir.path + "/kit/manifests.yaml", encoding: .utf8)
        #expect(manifests.contains("image: \(image)\n") && manifests.contains("maxReplicaCount: 4\n"))
        #expect(FileManager.default.isExecutableFile(atPath: dir.path + "/kit/deploy.sh"))
        // Again into the same --out: refused without --force, as every kit is.
        let again = try await CLI.run(
            [
                "deploy", "kubernetes", "--store", store.root, "--image", "app:1", "--name", "jobs", "--registry",
                "r.example", "--out", "kit",
                "--settings", "prod.settings.json",
            ],
            in: dir.path
        )
        #expect(again.status == 2 && again.stderr.contains("--force"), "\(again)")
    }

    @Test(arguments: [
        (
            ["--min-replicas", "5", "--max-replicas", "2"], "deploy.bad-replicas",
            "--min-replicas 5 is above --max-replicas 2"
        ),
        (["--name", "Jobs"], "deploy.bad-kubernetes-name", "--name"),
        (["--registry", "https://registry.example"], "deploy.bad-registry", "--registry"),
        (["--polling-interval", "0"], "deploy.bad-scaling-period", "--polling-interval"),
    ])
    func aBadFlagExitsTwoWithOneMessage(_ flags: [String], _ code: String, _ message: String) async throws {
        let dir = try TemporaryDirectory()
        let store = try appStore(dir)
        var arguments = ["deploy", "kubernetes", "--store", store.root, "--image", "app:1", "--out", "kit"]
        var base = ["--name": "jobs", "--registry": "registry.example"]
        for (i, flag) in flags.enumerated() where i % 2 == 0 && base[flag] != nil { base[flag] = nil }
        for (flag, value) in base.sorted(by: { $0.key < $1.key }) { arguments += [flag, value] }
        let result = try await CLI.run(arguments + flags, in: dir.path)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderrLines.count == 1 && result.stderr.contains(message), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/kit"), "a kit was written for a refused flag")
        let json = try await CLI.run(arguments + flags + ["--json"], in: dir.path)
        #expect(json.status == 2 && errorCode(json) == code, "\(json)")
    }

    @Test func anImageWithoutAppProvenanceIsRefused() async throws {
        let dir = try TemporaryDirectory()
        let store = try AppImageFixture.store(in: dir, functions: nil).0
        let result = try await CLI.run(
            [
                "deploy", "kubernetes", "--store", store.root, "--image", "app:1", "--name", "jobs", "--registry",
                "r.example", "--out", "kit",
                "--json",
            ],
            in: dir.path
        )
        #expect(result.status == 2 && errorCode(result) == "deploy.no-app-provenance", "\(result)")
    }
}
