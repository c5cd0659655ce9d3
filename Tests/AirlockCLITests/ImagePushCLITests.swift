// `airlock image push` against Debian's docker-registry started by the test on 127.0.0.1
// (LocalRegistry): the pushed digest is the store's and skopeo agrees, a second push sends nothing,
// chunked uploads and cross-repository mounts, a proxy that fails every third request and drops
// every seventh connection, Bearer-token auth with a credentials file, and the tests' own dockerd
// pulling the pushed image by digest and running the app in it.

import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(
    .containerEngines, .serialized, .timeLimit(.minutes(10)),
    .enabled(if: LocalRegistry.isAvailable, "needs Debian's docker-registry (scripts/install-deps.sh --test)")
)
struct ImagePushCLITests {
    /// The stand-in app built into `app:1`; its manifest digest.
    func builtImage(_ dir: TempDir) async throws -> String {
        let build = ImageBuildCLITests()
        try await build.builtApp(dir)
        let (made, result) = try await build.imageBuild(dir, ["--name", "app:1"])
        try #require(made.status == 0, "\(made)")
        return try #require(result["manifest"] as? String)
    }

    func push(_ dir: TempDir, _ arguments: [String]) async throws -> (CLIResult, [String: Any]) {
        let result = try await CLI.run(["image", "push", "--store", "store", "app:1", "--json"] + arguments, in: dir.path)
        return (result, (try? parseJSON(result) as? [String: Any]) ?? [:])
    }

    func skopeoDigest(_ reference: String, in dir: TempDir) async throws -> String {
        let inspected = try await Shell.run("skopeo inspect --tls-verify=false --format '{{.Digest}}' '\(reference)'", in: dir.path)
        try #require(inspected.status == 0, "\(inspected)")
        return inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"), "needs skopeo (scripts/install-deps.sh --test)"))
    func thePushedDigestIsTheStoresSkopeoAgreesAndASecondPushSendsNothing() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let manifest = try await builtImage(dir)
        let registry = try await LocalRegistry(in: dir)
        let host = registry.registry

        let (first, pushed) = try await push(dir, ["--to", "\(host)/app:1", "--insecure"])
        try #require(first.status == 0, "\(first)")
        let blobs = try #require(pushed["blobs"] as? Int)
        #expect(pushed["uploaded"] as? Int == blobs && pushed["present"] as? Int == 0, "\(first)")
        #expect(pushed["pinned"] as? String == "\(host)/app@\(manifest)", "\(first)")
        #expect(try await skopeoDigest("docker://\(host)/app:1", in: dir) == manifest)
        // skopeo copies it by digest, bit for bit (without --preserve-digests it rewrites the manifest).
        let copied = try await Shell.run("skopeo copy -q --preserve-digests --src-tls-verify=false 'docker://\(host)/app@\(manifest)' oci:copy:app", in: dir.path)
        try #require(copied.status == 0, "\(copied)")
        #expect(try await skopeoDigest("oci:copy:app", in: dir) == manifest)

        // Again: every blob is there already.
        let (second, again) = try await push(dir, ["--to", "\(host)/app:1", "--insecure"])
        try #require(second.status == 0, "\(second)")
        #expect(again["present"] as? Int == blobs && again["uploaded"] as? Int == 0, "\(second)")

        // In 1 MiB chunks to another repository; mounted from the first into a third.
        let (chunked, inChunks) = try await push(dir, ["--to", "\(host)/chunked:2", "--insecure", "--chunk-size", "1MiB"])
        try #require(chunked.status == 0, "\(chunked)")
        #expect(inChunks["uploaded"] as? Int == blobs, "\(chunked)")
        #expect(try await skopeoDigest("docker://\(host)/chunked:2", in: dir) == manifest)
        let (mount, mounted) = try await push(dir, ["--to", "\(host)/mounted:3", "--insecure", "--mount-from", "app"])
        try #require(mount.status == 0, "\(mount)")
        #expect(mounted["mounted"] as? Int == blobs && mounted["uploaded"] as? Int == 0, "\(mount)")
        #expect(try await skopeoDigest("docker://\(host)/mounted:3", in: dir) == manifest)
        await registry.stop()
    }

    @Test func aRegistryThatFailsEveryThirdRequestStillGetsTheWholeImage() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let manifest = try await builtImage(dir)
        let registry = try await LocalRegistry(in: dir, proxy: .flaky)
        let (pushed, result) = try await push(dir, ["--to", "\(registry.proxy)/app:1", "--insecure", "--chunk-size", "1MiB"])
        try #require(pushed.status == 0, "\(pushed)")
        #expect(result["manifest"] as? String == manifest)
        // Read back from the registry itself, past the proxy.
        let check = try await Shell.run("curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' 'http://\(registry.registry)/v2/app/manifests/\(manifest)'", in: dir.path)
        #expect(check.stdout == "200", "\(check)")
        await registry.stop()
    }

    @Test func pullBringsThePushedImageBackByDigestAndTagThroughFailuresAndRefusesATamperedBlob() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let manifest = try await builtImage(dir)
        let registry = try await LocalRegistry(in: dir, proxy: .flaky)
        let (pushed, _) = try await push(dir, ["--to", "\(registry.registry)/app:1", "--insecure"])
        try #require(pushed.status == 0, "\(pushed)")
        // Through the flaky proxy, into a new store: by digest, then by tag.
        for reference in ["\(registry.proxy)/app@\(manifest)", "\(registry.proxy)/app:1"] {
            let pulled = try await CLI.run(["image", "pull", "--store", "pulled", reference, "--insecure", "--json"], in: dir.path)
            try #require(pulled.status == 0, "\(pulled)")
            let image = try #require(try parseJSON(pulled) as? [String: Any])
            #expect(image["manifest"] as? String == manifest, "\(pulled)")
        }
        let listed = try await CLI.run(["image", "ls", "--store", "pulled", "--json"], in: dir.path)
        let names = (try parseJSON(listed) as? [[String: Any]])?.compactMap { "\($0["name"] ?? ""):\($0["tag"] ?? "")" } ?? []
        #expect(Set(names) == ["\(registry.proxy)/app:1", "\(registry.proxy)/app:sha256-\(manifest.dropFirst(7))"], "\(listed)")
        let verified = try await CLI.run(["store", "verify", "--store", "pulled"], in: dir.path)
        #expect(verified.status == 0, "\(verified)")
        // The pulled image is the built one: the same rootfs runs the app.
        let ran = try await CLI.run(
            ["image", "run", "--store", "pulled", "\(registry.proxy)/app:1", "--", "python3", "-c", "import sys; sys.path.insert(0, '/home/site/wwwroot'); import function_app; print('pulled app loads')"],
            in: dir.path
        )
        #expect(ran.status == 0 && ran.stdout.contains("pulled app loads"), "\(ran)")
        await registry.stop()

        let tampering = try await LocalRegistry(in: dir, proxy: .tamper)
        let (again, _) = try await push(dir, ["--to", "\(tampering.registry)/app:1", "--insecure"])
        try #require(again.status == 0, "\(again)")
        let refused = try await CLI.run(["image", "pull", "--store", "other", "\(tampering.proxy)/app:1", "--insecure", "--json"], in: dir.path)
        #expect(refused.status == 1 && errorCode(refused) == "registry.digest-mismatch", "\(refused)")
        #expect(hasNoStackTrace(refused))
        let none = try await CLI.run(["image", "ls", "--store", "other", "--json"], in: dir.path)
        #expect((try? parseJSON(none) as? [Any])?.isEmpty == true, "\(none)")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: dir.file("other/tmp"))) ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")
        await tampering.stop()
    }

    @Test func bearerTokenAuthWithACredentialsFileATokenFileOrADockerConfig() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try await builtImage(dir)
        let registry = try await LocalRegistry(in: dir, proxy: .token)
        let target = ["--to", "\(registry.proxy)/app:1", "--insecure"]

        let (anonymous, _) = try await push(dir, target)
        #expect(anonymous.status == 2 && errorCode(anonymous) == "registry.unauthorized", "\(anonymous)")
        #expect(anonymous.stderr.contains("--credentials"), "\(anonymous)")

        let good = "{\"username\": \"\(LocalRegistry.username)\", \"password\": \"\(LocalRegistry.password)\"}"
        try Data(good.utf8).write(to: URL(fileURLWithPath: dir.file("creds.json")))
        chmod(dir.file("creds.json"), 0o644)
        let (open, _) = try await push(dir, target + ["--credentials", "creds.json"])
        #expect(open.status == 2 && open.stderr.contains("chmod 600"), "\(open)")

        chmod(dir.file("creds.json"), 0o600)
        let (pushed, result) = try await push(dir, target + ["--credentials", "creds.json"])
        #expect(pushed.status == 0, "\(pushed)")
        #expect(result["uploaded"] as? Int == result["blobs"] as? Int, "\(pushed)")

        try Data("{\"username\": \"\(LocalRegistry.username)\", \"password\": \"wrong\"}".utf8).write(to: URL(fileURLWithPath: dir.file("bad.json")))
        chmod(dir.file("bad.json"), 0o600)
        let (refused, _) = try await push(dir, target + ["--credentials", "bad.json"])
        #expect(refused.status == 2 && errorCode(refused) == "registry.unauthorized", "\(refused)")
        // The token `az acr login --expose-token` prints, from a file of mode 0600.
        try Data((LocalRegistry.acrToken + "\n").utf8).write(to: URL(fileURLWithPath: dir.file("token")))
        chmod(dir.file("token"), 0o600)
        let (withToken, tokenResult) = try await push(dir, ["--to", "\(registry.proxy)/app:2", "--insecure", "--token-file", "token"])
        #expect(withToken.status == 0 && tokenResult["present"] as? Int == tokenResult["blobs"] as? Int, "\(withToken)")
        // A Docker config.json's entry for the registry, found through DOCKER_CONFIG.
        let auth = Data("\(LocalRegistry.username):\(LocalRegistry.password)".utf8).base64EncodedString()
        try dir.directory("docker")
        try Data("{\"auths\": {\"\(registry.proxy)\": {\"auth\": \"\(auth)\"}}}".utf8).write(to: URL(fileURLWithPath: dir.file("docker/config.json")))
        let viaConfig = try await CLI.run(
            ["image", "push", "--store", "store", "app:1", "--to", "\(registry.proxy)/app:3", "--insecure"], in: dir.path,
            environment: ["DOCKER_CONFIG": dir.file("docker")]
        )
        #expect(viaConfig.status == 0, "\(viaConfig)")
        for result in [anonymous, open, refused] { #expect(hasNoStackTrace(result)) }
        await registry.stop()
    }

    @Test func plainHTTPIsOnlyForLoopbackAndABadDestinationIsNamed() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await FunctionsStandIn.project(dir, app: ImageBuildCLITests.app)
        for (to, expected) in [
            ("registry.example.org/app:1", "only for a registry on this machine"), ("app:1", "REGISTRY/REPOSITORY"),
            ("127.0.0.1:5000/App:1", "REGISTRY/REPOSITORY"), ("127.0.0.1:5000/app@sha256:" + String(repeating: "0", count: 64), "names a tag"),
            ("127.0.0.1:5000/app:1 --chunk-size 10", "at least 1MiB"),
        ] {
            let words = to.split(separator: " ").map(String.init)
            let result = try await CLI.run(
                ["image", "push", "--store", "store", HostPythonImage.reference, "--to"] + words + ["--insecure"], in: dir.path
            )
            #expect(result.status == 2 && result.stderr.contains(expected), "\(to): \(result)")
            #expect(hasNoStackTrace(result))
        }
    }

    @Test(.enabled("needs a Docker engine the test can start (dockerd from docker.io)") { await ContainerEngines.shared.isAvailable(.docker) })
    func dockerPullsThePushedImageByDigestAndTheAppLoadsInIt() async throws {
        let setup = try #require(await ContainerEngines.shared.setup(.docker))
        let dir = try TempDir()
        defer { dir.remove() }
        let manifest = try await builtImage(dir)
        let registry = try await LocalRegistry(in: dir)
        let (pushed, result) = try await push(dir, ["--to", "\(registry.registry)/app:1", "--insecure"])
        try #require(pushed.status == 0, "\(pushed)")
        let pinned = try #require(result["pinned"] as? String)
        var environment = setup.environment
        environment["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin"
        environment["HOME"] = dir.file("home")
        let (ran, output) = try await shell(
            """
            docker pull -q '\(pinned)' >/dev/null && docker image inspect --format '{{json .RepoDigests}}' '\(pinned)' &&
            docker run --rm --network none -w /home/site/wwwroot '\(pinned)' \\
                python3 -c 'import function_app; print("functions", [f.get_function_name() for f in function_app.app.get_functions()])'
            s=$?; docker rmi -f '\(pinned)' >/dev/null 2>&1; exit $s
            """,
            in: dir.path, environment: environment
        )
        #expect(ran == 0 && output.contains("\(registry.registry)/app@\(manifest)") && output.contains("functions ['hello']"), "\(output)")
        await registry.stop()
    }
}
