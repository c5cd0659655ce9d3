// `docker pull` and `podman pull` from `airlock serve`, with the tests' own engines
// (ContainerEngines: Debian's dockerd on a private socket and data root, stopped when the last
// engine suite ends; Debian's podman with a test containers.conf and a private storage root).
// Docker pulls from a 127.0.0.1 registry over plain HTTP without configuration, podman with
// `--tls-verify=false`; the pulled image's digest must be the store's manifest digest, by tag and
// by digest, and the pulled image runs.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.containerEngines, .serialized, .timeLimit(.minutes(10))) struct MirrorDockerPullTests {
    @Test(.enabled("needs a Docker engine the test can start (dockerd from docker.io)") { await ContainerEngines.shared.isAvailable(.docker) })
    func dockerPullsAnImportedImageByTagAndByDigestWithTheStoresDigest() async throws {
        let setup = try #require(await ContainerEngines.shared.setup(.docker))
        let dir = try TempDir()
        defer { dir.remove() }
        let (reference, manifest) = try await ServeCLITests().storeWithImage(dir)
        let name = String(reference.split(separator: ":")[0])

        let serve = try await ServeProcess(store: "inside", in: dir.path)
        let host = serve.url.replacingOccurrences(of: "http://", with: "")
        var environment = setup.environment
        environment["PATH"] = "/usr/bin:/bin"
        environment["HOME"] = dir.file("home")
        for source in ["\(host)/\(reference)", "\(host)/\(name)@\(manifest)"] {
            let (pulled, log) = try await shell(
                "docker pull -q '\(source)' && docker image inspect --format '{{json .RepoDigests}}' '\(source)'",
                in: dir.path, environment: environment
            )
            #expect(pulled == 0 && log.contains("\(host)/\(name)@\(manifest)"), "\(source): \(log)")
        }
        let (ran, output) = try await shell(
            """
            docker run --rm --network none '\(host)/\(reference)' python3 -c 'print("ran from the mirror")'; s=$?
            docker rmi -f '\(host)/\(reference)' '\(host)/\(name)@\(manifest)' >/dev/null 2>&1; exit $s
            """,
            in: dir.path, environment: environment
        )
        #expect(ran == 0 && output.contains("ran from the mirror"), "\(output)")
        #expect(await serve.stop() == 0)
    }

    @Test(.enabled("needs Podman the test can run (podman and runc)") { await ContainerEngines.shared.isAvailable(.podman) })
    func podmanPullsAnImportedImageByTagAndByDigestWithTheStoresDigest() async throws {
        let setup = try #require(await ContainerEngines.shared.setup(.podman))
        let dir = try TempDir()
        defer { dir.remove() }
        let (reference, manifest) = try await ServeCLITests().storeWithImage(dir)
        let name = String(reference.split(separator: ":")[0])

        let serve = try await ServeProcess(store: "inside", in: dir.path)
        let host = serve.url.replacingOccurrences(of: "http://", with: "")
        var environment = setup.environment
        environment["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin"
        environment["HOME"] = dir.file("home")
        for source in ["\(host)/\(reference)", "\(host)/\(name)@\(manifest)"] {
            let (pulled, log) = try await shell(
                "podman pull -q --tls-verify=false '\(source)' >/dev/null && podman image inspect --format '{{.Digest}}' '\(source)'",
                in: dir.path, environment: environment
            )
            #expect(pulled == 0 && log.trimmingCharacters(in: .whitespacesAndNewlines) == manifest, "\(source): \(log)")
        }
        let (ran, output) = try await shell(
            """
            podman run --rm --network none '\(host)/\(reference)' python3 -c 'print("ran from the mirror")'; s=$?
            podman rmi -f '\(host)/\(reference)' >/dev/null 2>&1; exit $s
            """,
            in: dir.path, environment: environment
        )
        #expect(ran == 0 && output.contains("ran from the mirror"), "\(output)")
        #expect(await serve.stop() == 0)
    }
}
