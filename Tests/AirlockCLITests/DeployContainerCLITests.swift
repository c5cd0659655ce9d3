// `airlock deploy functionapp-container` and `deploy webapp-container` through the executable, on
// an image `image build` made in the store: the kit names the image by digest and waits for the
// functions the image's smoke test listed; bad input is one message and exit 2. What deploy.sh
// does is tested against the az stand-in in AirlockDeployTests/ContainerKitTests.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.containerEngines, .serialized, .timeLimit(.minutes(5))) struct DeployContainerCLITests {
    @Test func theKitsNameTheBuiltImageByDigestAndWaitForItsFunctions() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let manifest = try await ImagePushCLITests().builtImage(dir)
        let common = ["--store", "store", "--image", "app:1", "--registry", "contoso.azurecr.io", "--resource-group", "rg1", "--json"]

        let function = try await CLI.run(["deploy", "functionapp-container", "--app", "func-app", "--out", "fkit"] + common, in: dir.path)
        try #require(function.status == 0, "\(function)")
        let report = try #require(try parseJSON(function) as? [String: Any])
        #expect(report["image"] as? String == "contoso.azurecr.io/app@\(manifest)", "\(function)")
        #expect(report["expectedFunctions"] as? [String] == ["hello"] && report["runtime"] as? String == "python" && report["plan"] as? String == "auto")
        let script = String(decoding: try FileSystem.readFile(dir.file("fkit/deploy.sh")), as: UTF8.self)
        #expect(script.contains("\nIMAGE='contoso.azurecr.io/app@\(manifest)'\n") && script.contains("\nEXPECTED_FUNCTIONS=('hello')\n"), "\(script)")
        let checked = try await Shell.run("shellcheck --shell=bash fkit/deploy.sh", in: dir.path)
        #expect(checked.status == 0, "\(checked)")

        let web = try await CLI.run(
            ["deploy", "webapp-container", "--app", "web-app", "--out", "wkit", "--health-path", "/api/hello", "--cd-webhook"] + common, in: dir.path
        )
        try #require(web.status == 0, "\(web)")
        let webReport = try #require(try parseJSON(web) as? [String: Any])
        #expect(webReport["healthPath"] as? String == "/api/hello" && webReport["cdWebhook"] as? Bool == true, "\(web)")
        #expect(try FileSystem.list(dir.file("wkit")).sorted() == ["README.txt", "deploy.sh"])

        // Bad input: one message, exit 2, nothing written.
        let refusals: [([String], String)] = [
            (["deploy", "functionapp-container", "--app", "func-app", "--out", "bad1"] + common + ["--plan", "consumption"], "cannot run a container image"),
            (["deploy", "functionapp-container", "--app", "func-app", "--out", "bad2"] + common + ["--registry", "registry.example.com"], "Azure Container Registry"),
            (["deploy", "webapp-container", "--app", "web-app", "--out", "bad3"] + common + ["--secret-setting", "Db=db-password"], "--key-vault"),
        ]
        for (arguments, reason) in refusals {
            let refused = try await CLI.run(arguments, in: dir.path)
            #expect(refused.status == 2 && refused.stderrLines.count == 1 && refused.stderr.contains(reason), "\(refused)")
            #expect(!FileSystem.exists(dir.file(arguments[arguments.firstIndex(of: "--out")! + 1])))
        }
        let unknown = try await CLI.run(["deploy", "functionapp-container", "--app", "func-app", "--out", "bad4"] + common.map { $0 == "app:1" ? "nope:1" : $0 }, in: dir.path)
        #expect(unknown.status == 2 && unknown.stdout.contains("deploy.no-such-image"), "\(unknown)")
    }
}
