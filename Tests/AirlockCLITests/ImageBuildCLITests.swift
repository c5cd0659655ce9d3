// `airlock image build` through the executable, in bwrap over the host's Python imported as the
// base (standing in for the Functions image): the app layer's contents and headers, the derived
// config, the smoke test in the built image, the action cache, the same digest from another
// directory at another time, Docker media types, and the extension-bundle check.

import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.containerEngines, .serialized, .timeLimit(.minutes(10))) struct ImageBuildCLITests {
    static let app = "import azure.functions as func\napp = func.FunctionApp()\n@app.route()\ndef hello(req): pass\n"

    /// The stand-in app, built in bwrap on the host's Python.
    func builtApp(_ dir: TempDir) async throws {
        try await FunctionsStandIn.project(dir, app: Self.app)
        let build = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference], in: dir.path
        )
        try #require(build.status == 0, "\(build)")
    }

    func imageBuild(_ dir: TempDir, _ extra: [String] = [], base: String = HostPythonImage.reference) async throws -> (CLIResult, [String: Any]) {
        let result = try await CLI.run(
            ["image", "build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--base", base, "--json"] + extra,
            in: dir.path
        )
        return (result, (try? parseJSON(result) as? [String: Any]) ?? [:])
    }

    /// Every entry of a layer blob: path -> (kind, mode, uid, gid, mtime).
    func entries(of layer: String, in store: Store) throws -> [String: TarEntry] {
        let digest = try #require(SHA256Digest(layer))
        let reader = try ArchiveReader(paths: [store.blobPath(digest)], format: .layer)
        var found: [String: TarEntry] = [:]
        while let entry = try reader.next() { found[entry.path ?? ""] = entry }
        return found
    }

    @Test func theImageIsTheBasePlusOneAppLayerSmokeTestedCachedAndReproducible() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await builtApp(dir)
        let (first, result) = try await imageBuild(dir, ["--name", "app:1"])
        try #require(first.status == 0, "\(first)")
        #expect((result["functions"] as? [[String: Any]])?.compactMap { $0["name"] as? String } == ["hello"], "\(first)")
        #expect(result["cacheHit"] as? Bool == false)
        let site = try #require(result["sitePackages"] as? String, "\(first)")
        #expect(site.hasPrefix("/usr/") && site.hasSuffix("-packages"), "\(site)")
        let manifest = try #require(result["manifest"] as? String)

        let store = try Store.openExisting(at: dir.file("store"))
        let image = try ImageCatalog.resolve("app:1", in: store)
        let base = try ImageCatalog.resolve(HostPythonImage.reference, in: store)
        #expect(image.manifest.description == manifest)
        // The image's provenance names the app it carries, for the deploy kits.
        let app = try #require(try ImageProvenance.app(of: image.manifest, in: store))
        #expect(app.runtime == "python" && app.functions.map(\.name) == ["hello"] && app.functions[0].trigger == "httpTrigger")
        let zip = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("app/dist/provenance.json")))) as? [String: Any]
        #expect(app.zip.description == (zip?["output"] as? [String: Any])?["sha256"] as? String, "\(String(describing: zip))")
        // The base's layers, unchanged, then one gzip layer.
        #expect(Array(image.layers.dropLast()).map(\.digest) == base.layers.map(\.digest))
        #expect(image.layers.last?.mediaType == OCIMediaType.layerGzip)
        let layer = try entries(of: try #require(image.layers.last?.digest.description), in: store)
        let wwwroot = try #require(layer["home/site/wwwroot/function_app.py"], "\(layer.keys.sorted())")
        #expect(wwwroot.mode == 0o644 && wwwroot.uid == 0 && wwwroot.gid == 0 && wwwroot.mtime == SandboxSpec.defaultSourceDateEpoch)
        #expect(layer["home/site/wwwroot/host.json"] != nil)
        let sitePath = String(site.dropFirst())
        #expect(layer[sitePath + "/azure/functions/__init__.py"] != nil, "\(layer.keys.sorted())")
        #expect(layer[sitePath + "/azure_functions-1.0.dist-info/RECORD"] != nil)
        #expect(!layer.keys.contains { $0.contains(".python_packages") }, "\(layer.keys.sorted())")
        // Parent directories come first, with the base's mode where it has them.
        #expect(layer["home/"]?.kind == .directory && layer["home/"]?.mode == 0o755)
        #expect(layer.values.allSatisfy { $0.mtime == SandboxSpec.defaultSourceDateEpoch && $0.uid == 0 })

        // The config: the base's, with the two variables and one more diff id and history entry.
        let config = try OCIJSON.decode(
            OCIImageConfig.self, from: try ImageCatalog.readSmallBlob(image.config, in: store, what: "config"), what: "config"
        )
        #expect(config.env == ["PATH=/usr/bin", "AzureWebJobsScriptRoot=/home/site/wwwroot", "AzureFunctionsJobHost__Logging__Console__IsEnabled=true"])
        #expect(config.diffIDs.count == base.layers.count + 1)
        #expect(config.history.last?.createdBy?.hasPrefix("airlock image build") == true)
        #expect(config.architecture == "amd64" && config.os == "linux")

        // Again: the action cache names the same manifest; --no-cache writes the same bytes.
        let (again, cached) = try await imageBuild(dir, ["--name", "app:2"])
        try #require(again.status == 0, "\(again)")
        #expect(cached["cacheHit"] as? Bool == true && cached["manifest"] as? String == manifest, "\(again)")
        #expect(try ImageCatalog.resolve("app:2", in: store).manifest.description == manifest)
        let (rebuilt, fresh) = try await imageBuild(dir, ["--name", "app:1", "--no-cache"])
        try #require(rebuilt.status == 0, "\(rebuilt)")
        #expect(fresh["cacheHit"] as? Bool == false && fresh["manifest"] as? String == manifest, "\(rebuilt)")

        // Another directory, another store, files touched at another time: the same digest.
        let other = try TempDir()
        defer { other.remove() }
        try await builtApp(other)
        let touched = try await Shell.run("touch -d '2031-05-06 07:08:09' app/function_app.py app/host.json", in: other.path)
        #expect(touched.status == 0, "\(touched)")
        let rebuiltOther = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference], in: other.path
        )
        try #require(rebuiltOther.status == 0, "\(rebuiltOther)")
        let (elsewhere, there) = try await imageBuild(other, ["--name", "elsewhere:7"])
        try #require(elsewhere.status == 0, "\(elsewhere)")
        #expect(there["manifest"] as? String == manifest, "\(elsewhere)")

        // Docker media types: the same layers, named the Docker way.
        let (docker, dockerResult) = try await imageBuild(dir, ["--name", "app:docker", "--format", "docker"])
        try #require(docker.status == 0, "\(docker)")
        let dockerImage = try ImageCatalog.resolve("app:docker", in: store)
        let dockerManifest = try ImageCatalog.readManifest(dockerImage.manifest, in: store)
        #expect(dockerManifest.mediaType == OCIMediaType.dockerManifest && dockerManifest.config.mediaType == OCIMediaType.dockerConfig)
        #expect(dockerManifest.layers.last?.mediaType == OCIMediaType.dockerLayerGzip)
        #expect(dockerManifest.layers.map(\.digest) == image.layers.map(\.digest))
        #expect(dockerResult["manifest"] as? String != manifest)
    }

    @Test(.enabled("needs a Docker engine the test can start (dockerd from docker.io)") { await ContainerEngines.shared.isAvailable(.docker) })
    func dockerLoadsTheBuiltImageAndItsPythonImportsTheAppWithItsEnvironment() async throws {
        let setup = try #require(await ContainerEngines.shared.setup(.docker))
        let dir = try TempDir()
        defer { dir.remove() }
        try await builtApp(dir)
        let (built, _) = try await imageBuild(dir, ["--name", "docker-app:1", "--format", "docker"])
        try #require(built.status == 0, "\(built)")
        let exported = try await CLI.run(["image", "export", "--store", "store", "docker-app:1", "--out", "app.tar"], in: dir.path)
        try #require(exported.status == 0, "\(exported)")
        var environment = setup.environment
        environment["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin"
        environment["HOME"] = dir.file("home")
        // Run as the Functions host would: from the image's Env, in /home/site/wwwroot.
        let (ran, output) = try await shell(
            """
            docker load -q -i app.tar >/dev/null && docker run --rm --network none -w /home/site/wwwroot docker-app:1 \
                python3 -c 'import os, function_app; print("loaded", os.environ["AzureWebJobsScriptRoot"], [f.get_function_name() for f in function_app.app.get_functions()])'
            s=$?; docker rmi -f docker-app:1 >/dev/null 2>&1; exit $s
            """,
            in: dir.path, environment: environment
        )
        #expect(ran == 0 && output.contains("loaded /home/site/wwwroot ['hello']"), "\(output)")
    }

    @Test func anAppThatDoesNotLoadInTheImageFailsAndTheNameKeepsItsOlderImage() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await builtApp(dir)
        let (good, first) = try await imageBuild(dir, ["--name", "app:1"])
        try #require(good.status == 0, "\(good)")
        let manifest = try #require(first["manifest"] as? String)
        // Loads in the build's smoke test (python3 -S), not with the image's site.py.
        try Data(("import sys\nif not sys.flags.no_site: raise SystemExit('only without site')\n" + Self.app).utf8)
            .write(to: URL(fileURLWithPath: dir.file("app/function_app.py")))
        let rebuilt = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference], in: dir.path
        )
        try #require(rebuilt.status == 0, "\(rebuilt)")
        let (failed, _) = try await imageBuild(dir, ["--name", "app:1"])
        #expect(failed.status == 1 && errorCode(failed) == "build.smoke-test-failed", "\(failed)")
        #expect(failed.stderr.contains("only without site"), "\(failed)")
        #expect(hasNoStackTrace(failed))
        let store = try Store.openExisting(at: dir.file("store"))
        #expect(try ImageCatalog.resolve("app:1", in: store).manifest.description == manifest)
    }

    @Test func aStaleBuildOrAnUnknownBaseIsRefusedBeforeAnythingIsWritten() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await builtApp(dir)
        try Data("raise SystemExit(3)\n".utf8).write(to: URL(fileURLWithPath: dir.file("app/function_app.py")))
        let (stale, _) = try await imageBuild(dir, ["--name", "app:1"])
        #expect(stale.status == 2 && stale.stderr.contains("airlock build"), "\(stale)")
        let (unknown, _) = try await imageBuild(dir, ["--name", "app:1"], base: "no-such-base:1")
        #expect(unknown.status == 2 && errorCode(unknown) == "image.not-found", "\(unknown)")
        let (badName, _) = try await imageBuild(dir, ["--name", "App:1"])
        #expect(badName.status == 2 && errorCode(badName) == "image.bad-name", "\(badName)")
        let (badFormat, _) = try await imageBuild(dir, ["--name", "app:1", "--format", "tar"])
        #expect(badFormat.status == 2 && badFormat.stderr.contains("expected oci or docker"), "\(badFormat)")
        for result in [stale, unknown, badName, badFormat] { #expect(hasNoStackTrace(result)) }
        let store = try Store.openExisting(at: dir.file("store"))
        #expect(try ImageCatalog.list(in: store).map(\.reference) == [HostPythonImage.reference])
    }

    @Test func aBaseWhoseExtensionBundlesMissTheRangeIsRefusedNamingBoth() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await builtApp(dir)
        let imported = try await CLI.run(
            ["image", "import", "--store", "store", try HostPythonImage.archive(extensionBundles: ["3.20.0", "4.25.1"])], in: dir.path
        )
        try #require(imported.status == 0, "\(imported)")
        func host(_ range: String) throws {
            let json = "{\"version\": \"2.0\", \"extensionBundle\": {\"id\": \"Microsoft.Azure.Functions.ExtensionBundle\", \"version\": \"\(range)\"}}\n"
            try Data(json.utf8).write(to: URL(fileURLWithPath: dir.file("app/host.json")))
        }
        func rebuild() async throws {
            let build = try await CLI.run(
                ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference], in: dir.path
            )
            try #require(build.status == 0, "\(build)")
        }
        try host("[4.*, 5.0.0)")
        try await rebuild()
        let (fits, result) = try await imageBuild(dir, ["--name", "app:1"], base: HostPythonImage.bundlesReference)
        #expect(fits.status == 0, "\(fits)")
        #expect(result["extensionBundle"] as? String == "4.25.1", "\(fits)")

        try host("[5.*, 6.0.0)")
        try await rebuild()
        let (refused, _) = try await imageBuild(dir, ["--name", "app:2"], base: HostPythonImage.bundlesReference)
        #expect(refused.status == 2, "\(refused)")
        #expect(errorCode(refused) == "image.extension-bundle", "\(refused)")
        #expect(refused.stderr.contains("[5.*, 6.0.0)") && refused.stderr.contains("3.20.0, 4.25.1"), "\(refused)")
        #expect(hasNoStackTrace(refused))
        // A base without bundles (plain Debian) is not checked.
        let (plain, _) = try await imageBuild(dir, ["--name", "app:3"])
        #expect(plain.status == 0, "\(plain)")
    }
}
