import AirlockCore
import AirlockDeploy
import AirlockTestSupport
import Testing

@Suite struct KubernetesKitScriptTests {
    @Test(arguments: [SampleApp.queue, .timer, .kafka])
    func theScriptPassesShellcheck(_ sample: SampleApp) async throws {
        let fixture = try KubeFixture(functions: sample.functions)
        let written = try fixture.written()
        // Fails (never skips) when shellcheck is missing: scripts/install-deps.sh installs it.
        let (status, output) = try await shell("shellcheck --shell=bash deploy.sh", in: written.directory)
        #expect(status == 0, "shellcheck deploy.sh (exit \(status)):\n\(output)")
        let httpOnly = try KubeFixture(functions: [function("hello", "httpTrigger")])
            .kit(try KubeFixture.configuration(namespace: nil), settings: nil)
            .write(to: fixture.dir.path + "/http-kit")
        let (httpStatus, httpOutput) = try await shell("shellcheck --shell=bash deploy.sh", in: httpOnly.directory)
        #expect(httpStatus == 0, "shellcheck deploy.sh (exit \(httpStatus)):\n\(httpOutput)")
    }

    @Test func theStandInPassesShellcheckToo() async throws {
        let dir = try TemporaryDirectory()
        let path = try dir.file("kubectl", fakeKubectlScript)
        let (status, output) = try await shell("shellcheck --shell=bash " + ShellQuote.quote(path))
        #expect(status == 0, "shellcheck kubectl stand-in (exit \(status)):\n\(output)")
    }

    @Test func itChecksKEDAAppliesTheManifestsAndWaitsForEachDeployment() async throws {
        let fixture = try KubeFixture(functions: SampleApp.queue.functions)
        let written = try fixture.written()
        let run = try await runDeployScript(written, in: fixture.dir)
        #expect(run.status == 0, "\(run.output)")
        #expect(
            run.calls == [
                ["api-resources", "--api-group=keda.sh", "-o", "name"],
                ["apply", "-f", "manifests.yaml"],
                ["--namespace", "apps", "rollout", "status", "deployment/app-http", "--timeout", "300s"],
                ["--namespace", "apps", "rollout", "status", "deployment/app", "--timeout", "300s"],
            ]
        )
        #expect(run.output.contains("done: app-http app rolled out"), "\(run.output)")
    }

    @Test func theContextAndTheWaitCanBeOverridden() async throws {
        let fixture = try KubeFixture(functions: SampleApp.timer.functions)
        let written = try fixture.written(try KubeFixture.configuration(namespace: nil))
        let run = try await runDeployScript(
            written,
            in: fixture.dir,
            environment: ["AIRLOCK_KUBE_CONTEXT": "enclave prod", "AIRLOCK_WAIT_SECONDS": "42"]
        )
        #expect(run.status == 0, "\(run.output)")
        #expect(
            run.calls == [
                ["--context", "enclave prod", "api-resources", "--api-group=keda.sh", "-o", "name"],
                ["--context", "enclave prod", "apply", "-f", "manifests.yaml"],
                ["--context", "enclave prod", "rollout", "status", "deployment/app-http", "--timeout", "42s"],
                ["--context", "enclave prod", "rollout", "status", "deployment/app", "--timeout", "42s"],
            ]
        )
    }

    @Test func anHTTPOnlyKitDoesNotAskForKEDA() async throws {
        let fixture = try KubeFixture(functions: [function("hello", "httpTrigger")])
        let written = try fixture.written(settings: nil)
        let run = try await runDeployScript(written, in: fixture.dir, environment: ["FAKE_KUBECTL_NO_KEDA": "1"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.calls.map { $0.first(where: { !$0.hasPrefix("-") && $0 != "apps" }) } == ["apply", "rollout"])
    }

    @Test func withoutKEDANothingIsApplied() async throws {
        let fixture = try KubeFixture(functions: SampleApp.blob.functions)
        let run = try await runDeployScript(
            try fixture.written(),
            in: fixture.dir,
            environment: ["FAKE_KUBECTL_NO_KEDA": "1"]
        )
        #expect(run.status == 2, "\(run.output)")
        #expect(run.output.contains("install the KEDA 2.x operator"), "\(run.output)")
        #expect(run.calls.count == 1)
    }

    @Test func aRolloutThatDoesNotFinishExitsOneNamingIt() async throws {
        let fixture = try KubeFixture(functions: SampleApp.queue.functions)
        let run = try await runDeployScript(
            try fixture.written(),
            in: fixture.dir,
            environment: ["FAKE_KUBECTL_STUCK": "app-http"]
        )
        #expect(run.status == 1, "\(run.output)")
        #expect(run.output.contains("deployment/app-http did not roll out within 300s"), "\(run.output)")
        // It stops at the first: the second Deployment is not waited for.
        #expect(run.calls.last?.contains("deployment/app-http") == true)
    }

    @Test(arguments: ["0", "ten", "-5", "1234567890", " 5"])
    func aBadWaitIsRefusedBeforeKubectlRuns(_ wait: String) async throws {
        let fixture = try KubeFixture(functions: SampleApp.queue.functions)
        let run = try await runDeployScript(
            try fixture.written(),
            in: fixture.dir,
            environment: ["AIRLOCK_WAIT_SECONDS": wait]
        )
        #expect(run.status == 2, "\(wait): \(run.output)")
        #expect(run.output.contains("AIRLOCK_WAIT_SECONDS"), "\(run.output)")
        #expect(run.calls.isEmpty)
    }

    @Test func withoutKubectlItExitsTwo() async throws {
        let fixture = try KubeFixture(functions: SampleApp.queue.functions)
        let run = try await runDeployScript(try fixture.written(), in: fixture.dir, withKubectl: false)
        #expect(run.status == 2 && run.output.contains("kubectl not found"), "\(run.output)")
    }
}
