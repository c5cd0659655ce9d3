// Images leave the store as one tar that docker, podman, skopeo and Airlock all read; the docker
// backend loads an image the daemon lacks from it (a stand-in `docker` CLI plays the daemon here).

import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct ImageExportTests {
    private func storeWithImage(_ dir: TemporaryDirectory) async throws -> (Store, ImageRecord) {
        let store = try Store.open(at: dir.path + "/store")
        let layers = [
            (LayerTar.build([.dir("usr/"), .file("usr/hello", "hi")]), OCIMediaType.layer),
            (try await LayerTar.gzip(LayerTar.build([.file("usr/second", "2")]), in: dir), OCIMediaType.layerGzip),
        ]
        _ = try makeOCIArchive(dir.path + "/in.tar", layers: layers)
        let image = try #require(try ImageImporter.importArchive(dir.path + "/in.tar", into: store).first)
        return (store, image)
    }

    @Test func anExportedImageImportsElsewhereWithTheSameDigestsAndName() async throws {
        let dir = try TemporaryDirectory()
        let (store, image) = try await storeWithImage(dir)
        try ImageExporter.write(image, from: store, to: dir.path + "/out.tar")
        let other = try Store.open(at: dir.path + "/other")
        let again = try #require(try ImageImporter.importArchive(dir.path + "/out.tar", into: other).first)
        #expect(again.manifest == image.manifest && again.layers == image.layers && again.reference == image.reference)

        let members = try await RawTar.members(of: dir.path + "/out.tar")
        let docker = try #require(members.first { $0.name == "manifest.json" })
        let list = try #require(try JSONSerialization.jsonObject(with: Data(docker.data)) as? [[String: Any]])
        #expect(list.first?["RepoTags"] as? [String] == [image.reference])
        #expect(list.first?["Config"] as? String == "blobs/sha256/" + image.config.hex)
        #expect(members.contains { $0.name == "oci-layout" } && members.contains { $0.name == "index.json" })
        #expect(try FileSystem.list(dir.path).allSatisfy { !$0.contains(".tmp-") })
    }

    @Test func aBlobDamagedOnDiskFailsTheExportAndLeavesNoFile() async throws {
        let dir = try TemporaryDirectory()
        let (store, image) = try await storeWithImage(dir)
        let layer = store.blobPath(image.layers[0].digest)
        var bytes = try FileSystem.readFile(layer)
        bytes[600] ^= 0xFF
        try FileSystem.remove(layer)
        try FileSystem.writeAtomically(layer, bytes)
        let error = #expect(throws: ImageError.self) {
            try ImageExporter.write(image, from: store, to: dir.path + "/out.tar")
        }
        #expect(error?.code == ImageErrorCode.digestMismatch.code)
        #expect(!FileSystem.exists(dir.path + "/out.tar"))
        #expect(try FileSystem.list(dir.path).allSatisfy { !$0.contains(".tmp-") })
    }

    @Test func theDockerBackendLoadsAnImageTheDaemonLacksOnce() async throws {
        let dir = try TemporaryDirectory()
        let (store, image) = try await storeWithImage(dir)
        // A stand-in CLI: `image inspect` answers once `load` has been given a readable archive.
        let cli = try dir.file(
            "bin/docker",
            """
            #!/bin/sh
            echo "$*" >> '\(dir.path)/calls'
            case "$1" in
            image) [ -f '\(dir.path)/loaded' ] && echo "$5" ;;
            load) tar tf "$3" | grep -qx manifest.json && touch '\(dir.path)/loaded' ;;
            *) exit 9 ;;
            esac
            """
        )
        #expect(chmod(cli, 0o755) == 0)
        let docker = DockerRuntime(cli: "docker", executable: cli, user: nil)
        #expect(try await docker.prepare(image, from: store) == "sha256:" + image.config.hex)
        #expect(try await docker.prepare(image, from: store) == "sha256:" + image.config.hex)
        let calls = String(decoding: try FileSystem.readFile(dir.path + "/calls"), as: UTF8.self).split(separator: "\n")
        #expect(calls.count == 4, "\(calls)")  // inspect (no), load, inspect (yes); then inspect (yes)
        #expect(calls.filter { $0.hasPrefix("load --input ") }.count == 1, "\(calls)")
        #expect(try FileSystem.list(store.temporaryDirectory).isEmpty)
        #expect(docker.inspectArguments(image) == [cli, "image", "inspect", "--format", "{{.Id}}", "sha256:" + image.config.hex])
    }
}
