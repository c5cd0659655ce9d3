// `airlock build` with its sandboxed steps (version check, checked-hash bytecode, the smoke test)
// and an sdist built into a wheel, over each real engine: bwrap, a Docker engine the tests start,
// Podman with a test configuration. The zip must come out byte-identical whichever engine ran
// the steps: the runtime is not a build input. An engine that cannot run here is skipped, visibly.

import AirlockContainer
import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

@Suite(.containerEngines, .timeLimit(.minutes(10))) struct BuildOverEnginesTests {
    @Test(.enabled("needs bubblewrap that can create namespaces") { await ContainerEngines.shared.isAvailable(.bwrap) })
    func theBuildStepsRunOverBwrap() async throws { _ = try await Self.build(over: .bwrap) }

    @Test(.enabled("needs a Docker engine the test can start (dockerd from docker.io)") { await ContainerEngines.shared.isAvailable(.docker) })
    func theBuildStepsRunOverDocker() async throws { _ = try await Self.build(over: .docker) }

    @Test(.enabled("needs podman and runc that can run a container here") { await ContainerEngines.shared.isAvailable(.podman) })
    func theBuildStepsRunOverPodman() async throws { _ = try await Self.build(over: .podman) }

    @Test(.enabled("needs bwrap and at least one of docker and podman") {
        let docker = await ContainerEngines.shared.isAvailable(.docker)
        let podman = await ContainerEngines.shared.isAvailable(.podman)
        return await ContainerEngines.shared.isAvailable(.bwrap) && (docker || podman)
    })
    func everyEngineGivesTheSameZipAndTheSameWheelFromTheSdist() async throws {
        var digests: [Engine: (zip: String, wheel: SHA256Digest)] = [:]
        for engine in Engine.allCases where await ContainerEngines.shared.isAvailable(engine) {
            digests[engine] = try await Self.build(over: engine)
        }
        let zips = Set(digests.values.map(\.zip))
        let wheels = Set(digests.values.map(\.wheel))
        #expect(zips.count == 1 && wheels.count == 1, "\(digests)")
    }

    /// Builds the smoke-test project with bytecode over `engine` (no cache: every step runs), and
    /// the tiny sdist into a wheel; checks what each step reported and returns both digests.
    static func build(over engine: Engine) async throws -> (zip: String, wheel: SHA256Digest) {
        let setup = try #require(await ContainerEngines.shared.setup(engine))
        let project = try await SandboxBuildTests.Project()
        let result = try await project.build(bytecode: true, cache: false, runtime: setup.runtime)
        #expect(result.runtime == engine.rawValue)
        #expect(result.functions?.map(\.name) == ["hello", "tick"], "\(engine)")
        #expect(result.bytecodeFiles >= 3, "\(engine): \(result.bytecodeFiles) .pyc files")
        let provenance = try Provenance.read(try FileSystem.readFile(result.provenance))
        #expect(provenance.sandbox?.runtime == engine.rawValue && provenance.sandbox?.network == "none")
        #expect(provenance.inputs?.options["bytecode"] == "checked-hash")

        // The sdist, built in the same image by the same engine.
        let tiny = try await TinySdist()
        let image = try ImageCatalog.resolve(HostPythonImage.reference, in: project.store)
        let runtimeImage = try await setup.runtime.prepare(image, from: project.store)
        let wheel = try await SdistBuilder.build(
            tiny.request(
                runtime: setup.runtime,
                image: (runtimeImage, HostPythonImage.reference, image.manifest.description)
            ),
            store: project.store
        )
        #expect(wheel.filename == "tinypkg-1.0-py3-none-any.whl", "\(engine)")
        return (result.sha256, wheel.digest)
    }
}
