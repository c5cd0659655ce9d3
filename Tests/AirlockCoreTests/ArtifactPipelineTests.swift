import AirlockCore
import AirlockTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct BuildInputsTests {
    static func inputs(epoch: Int64 = 315_532_800, image: String = "base:1") -> BuildInputs {
        BuildInputs(
            kind: "test-artifact", tool: "airlock test", target: BuildTarget(language: "python", version: "3.11", platform: "linux/amd64"),
            lock: SHA256Hasher.hash(Array("lock".utf8)),
            blobs: [
                BuildInputBlob(role: "wheel", name: "b.whl", sha256: SHA256Hasher.hash([2])),
                BuildInputBlob(role: "wheel", name: "a.whl", sha256: SHA256Hasher.hash([1])),
            ],
            files: [BuildInputFile(path: "z.py", executable: false, sha256: SHA256Hasher.hash([3]))],
            image: BuildInputImage(reference: image, manifest: SHA256Hasher.hash([9])), script: "z.py",
            options: ["bytecode": "checked-hash"], sourceDateEpoch: epoch
        )
    }

    @Test func theDigestIsOfTheCanonicalFormAndIgnoresTheNameTheImageWasCalledBy() throws {
        let a = Self.inputs()
        #expect(a.blobs.map(\.name) == ["a.whl", "b.whl"])  // sorted whatever the order given
        #expect(a.digest == Self.inputs().digest)
        #expect(a.digest == Self.inputs(image: "another-name:1").digest)
        #expect(a.digest != Self.inputs(epoch: 315_532_801).digest)
        // Round trip through JSON gives the same value and key.
        let back = try JSONValue(parsing: try a.canonicalJSON()).decoded(as: BuildInputs.self)
        #expect(back == a && back.digest == a.digest)
    }

    @Test func settingsEnterAsAHashNeverInClear() {
        let hashed = BuildInputs.hashed(["SECRET": "hunter2"])
        #expect(!hashed.contains("hunter2") && hashed.count == 64)
        #expect(hashed != BuildInputs.hashed(["SECRET": "hunter3"]))
    }
}

@Suite struct ProvenanceTests {
    @Test func aProvenanceRoundTripsThroughItsCanonicalBytes() throws {
        let inputs = BuildInputsTests.inputs()
        let provenance = Provenance(
            kind: inputs.kind, project: "app", tool: inputs.tool, inputs: inputs,
            output: .init(name: "app.zip", sha256: SHA256Hasher.hash([7]), size: 10, mediaType: "application/zip"),
            sandbox: .init(runtime: "bwrap", image: inputs.image ?? .init(reference: "", manifest: SHA256Hasher.hash([])), toolchain: "python 3.11.2", settings: ["B", "A"]),
            functions: [AppFunction(name: "hello", trigger: "httpTrigger", route: "hello", bindings: [.init(type: "httpTrigger", direction: "in", name: "req")])],
            audit: .init(elfObjects: 3, libc: "glibc 2.31"), details: .object(["files": .int(12)])
        )
        let read = try Provenance.read(provenance.canonicalBytes)
        #expect(read == provenance)
        #expect(read.key == inputs.digest && read.sandbox?.settings == ["A", "B"] && read.sandbox?.network == "none")
        struct Details: Decodable { var files: Int }
        #expect(read.details(as: Details.self)?.files == 12)
    }

    @Test func aSchemaOneDocumentStillReadsWithoutAKey() throws {
        let digest = SHA256Hasher.hash([1])
        let legacy = JSONValue.object([
            "schema": .int(1), "kind": .string("python-function-app"), "project": .string("app"), "tool": .string("airlock 0.1.0"),
            "target": .object(["python": .string("3.11"), "platform": .string("linux/amd64"), "glibc": .string("2.31")]),
            "sourceDateEpoch": .null, "lock": .object(["sha256": .string(digest.hex)]),
            "app": .object(["sha256": .string(digest.hex), "files": .int(3), "script": .string("function_app.py")]),
            "wheels": .array([.object(["filename": .string("a-1-py3-none-any.whl"), "sha256": .string(digest.hex)])]),
            "files": .int(40), "audit": .object(["elfObjects": .int(2), "glibc": .string("2.31")]),
            "output": .object(["name": .string("app.zip"), "sha256": .string(digest.hex), "size": .int(100)]),
            "sandbox": .object([
                "runtime": .string("bwrap"), "image": .object(["reference": .string("py:3.11"), "digest": .string(digest.description)]),
                "python": .string("3.11.2"), "network": .string("none"), "settings": .array([]),
            ]),
            "functions": .array([.object(["name": .string("hello"), "trigger": .null, "route": .null, "bindings": .array([])])]),
            "bytecode": .null,
            "sdists": .array([
                .object([
                    "schema": .int(1), "kind": .string("python-sdist-build"),
                    "sdist": .object(["filename": .string("t-1.0.tar.gz"), "sha256": .string(digest.hex)]),
                    "image": .object(["name": .string("py:3.11"), "digest": .string(digest.description)]), "runtime": .string("bwrap"),
                    "output": .object(["filename": .string("t-1.0-py3-none-any.whl"), "sha256": .string(digest.hex), "size": .int(5)]),
                ])
            ]),
        ])
        let read = try Provenance.read(legacy.canonicalBytes)
        #expect(read.schema == 1 && read.key == nil)
        #expect(read.lock == digest && read.output.name == "app.zip" && read.output.size == 100)
        #expect(read.sandbox?.image.manifest == digest && read.sandbox?.toolchain == "python 3.11.2")
        #expect(read.functions?.map(\.name) == ["hello"] && read.audit?.elfObjects == 2)
        #expect(read.inputs?.blobs.map(\.name) == ["a-1-py3-none-any.whl"])
        #expect(read.builtInputs?.first?.output.name == "t-1.0-py3-none-any.whl")
        #expect(read.builtInputs?.first?.inputs?.blobs.first?.role == "sdist")
    }

    @Test func anUnknownSchemaIsRefusedWithItsCode() {
        let error = #expect(throws: CheckFailure.self) {
            try Provenance.read(JSONValue.object(["schema": .int(99)]).canonicalBytes)
        }
        #expect(error?.code == CoreErrorCode.badProvenance.code)
    }
}

@Suite struct ArtifactPipelineTests {
    private final class Counter: Sendable {
        let runs = Atomic<Int>(0)
    }

    private func request(_ dir: TemporaryDirectory, inputs: BuildInputs = BuildInputsTests.inputs()) -> ArtifactRequest {
        ArtifactRequest(
            inputs: inputs, project: "app", outputName: "app.bin", mediaType: "application/octet-stream",
            outDirectory: dir.path + "/out", origin: "build:test"
        )
    }

    private func build(_ request: ArtifactRequest, store: Store, bytes: [UInt8], counter: Counter) async throws -> ArtifactBuild {
        try await ArtifactPipeline.build(request, store: store) { output in
            counter.runs.add(1, ordering: .relaxed)
            try bytes.withUnsafeBytes { try output.write($0) }
            try output.close()
            return ArtifactFacts(details: .object(["note": .string("x")]))
        }
    }

    @Test func anUnchangedBuildIsACacheHitAndItsProvenanceSaysTheSameEverywhere() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let counter = Counter()
        let bytes = pseudoRandom(5000, seed: 3)
        let first = try await build(request(dir), store: store, bytes: bytes, counter: counter)
        #expect(!first.cacheHit && counter.runs.load(ordering: .relaxed) == 1)
        #expect(try FileSystem.readFile(first.path) == bytes)
        #expect(first.provenance.output.sha256 == SHA256Hasher.hash(bytes))
        #expect(store.contains(first.provenance.output.sha256))
        let beside = try Provenance.read(try FileSystem.readFile(dir.path + "/out/provenance.json"))
        let indexed = try #require(try store.index.provenance(of: first.provenance.output.sha256))
        #expect(beside == first.provenance && Array(indexed.utf8) == first.provenance.canonicalBytes)

        // The output file is gone: the cache puts it back from the store without running the steps.
        try FileSystem.remove(first.path)
        let second = try await build(request(dir), store: store, bytes: bytes, counter: counter)
        #expect(second.cacheHit && counter.runs.load(ordering: .relaxed) == 1)
        #expect(try FileSystem.readFile(second.path) == bytes && second.provenance == first.provenance)

        // Another input is another build.
        let changed = try await build(request(dir, inputs: BuildInputsTests.inputs(epoch: 1_000_000_000)), store: store, bytes: bytes, counter: counter)
        #expect(!changed.cacheHit && counter.runs.load(ordering: .relaxed) == 2)
    }

    @Test func failedStepsLeaveNoArtifactNoTempFileAndNoCacheEntry() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let request = request(dir)
        await #expect(throws: CheckFailure.self) {
            _ = try await ArtifactPipeline.build(request, store: store) { output in
                try [1, 2, 3].withUnsafeBytes { try output.write($0) }
                throw CheckFailure("smoke test: the app registers no function")
            }
        }
        #expect(try FileSystem.list(dir.path + "/out").isEmpty)
        #expect(try store.index.cachedAction(request.inputs.digest.hex) == nil)
    }
}

@Suite struct OCIModelTests {
    @Test(arguments: [
        ("airlock-python:3.11-bookworm", "airlock-python", "3.11-bookworm"),
        ("library/debian", "library/debian", "latest"),
        ("127.0.0.1:5000/team/app:v1.2", "127.0.0.1:5000/team/app", "v1.2"),
        ("mcr.microsoft.com/azure-functions/python:4-python3.11", "mcr.microsoft.com/azure-functions/python", "4-python3.11"),
    ])
    func namesAndTagsParseAsTheDistributionSpecSays(_ text: String, _ name: String, _ tag: String) throws {
        let parsed = try #require(ImageName(parsing: text))
        #expect(parsed.name == name && parsed.tag == tag)
    }

    @Test(arguments: ["", "UPPER:1", "a//b", "-a", "a:-tag", "a:" + String(repeating: "t", count: 129), "a b", "a..b", "../x"])
    func badNamesAreRefused(_ text: String) {
        #expect(ImageName(parsing: text) == nil)
    }

    @Test func aDerivedConfigKeepsEveryFieldOfTheBase() throws {
        let base = #"""
            {"architecture":"amd64","os":"linux","author":"someone","config":{"Env":["PATH=/usr/bin","LANG=C"],"Entrypoint":["/init"],
            "Cmd":["run"],"WorkingDir":"/srv","Labels":{"a":"b"},"ExposedPorts":{"80/tcp":{}},"StopSignal":"SIGTERM"},
            "rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]},
            "history":[{"created":"2024-01-01T00:00:00Z","created_by":"base"}],"x-future-field":{"kept":true}}
            """#
        var config = try OCIJSON.decode(OCIImageConfig.self, from: Array(base.utf8), what: "base")
        config.setEnvironment("LANG", "C.UTF-8")
        config.setEnvironment("AzureWebJobsScriptRoot", "/home/site/wwwroot")
        let derived = config.adding(layerDiffID: SHA256Hasher.hash([1]), history: .init(createdBy: "airlock image build"))
        let back = try OCIJSON.decode(OCIImageConfig.self, from: try OCIJSON.encode(derived), what: "derived")
        #expect(back.env == ["PATH=/usr/bin", "LANG=C.UTF-8", "AzureWebJobsScriptRoot=/home/site/wwwroot"])
        #expect(back.entrypoint == ["/init"] && back.cmd == ["run"] && back.workingDir == "/srv" && back.labels == ["a": "b"])
        #expect(back.diffIDs.count == 2 && back.history.map(\.createdBy) == ["base", "airlock image build"])
        #expect(back.document["x-future-field"] == .object(["kept": .bool(true)]) && back.document["author"] == .string("someone"))
        #expect(back.document["config"]?["ExposedPorts"] != nil && back.document["config"]?["StopSignal"] == .string("SIGTERM"))
    }
}
