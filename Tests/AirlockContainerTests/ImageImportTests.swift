import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Testing

@Suite struct ImageImportTests {
    @Test func pruningRemovesOnlyTheRootfsOfImagesNoNamePointsAt() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        _ = try makeOCIArchive(dir.path + "/a.tar", layers: [(LayerTar.build([.file("v", "1")]), OCIMediaType.layer)])
        let kept = try #require(try ImageImporter.importArchive(dir.path + "/a.tar", into: store).first)
        _ = try makeOCIArchive(dir.path + "/b.tar", layers: [(LayerTar.build([.file("v", "2")]), OCIMediaType.layer)], refName: "other:1")
        let dropped = try #require(try ImageImporter.importArchive(dir.path + "/b.tar", into: store).first)
        let keptRoot = try ImageRootfs.unpack(image: kept, in: store)
        let droppedRoot = try ImageRootfs.unpack(image: dropped, in: store)
        // As a bundle import does when it moves a name: the index forgets, the rootfs stays.
        try store.index.forgetImage(name: "other", version: "1", kinds: ["oci-manifest", "oci-config", "oci-layer"], root: "image:other:1")
        #expect(try ImageRootfs.prune(in: store) == [dropped.manifest])
        #expect(FileSystem.exists(keptRoot) && !FileSystem.exists(droppedRoot))
        #expect(try ImageRootfs.prune(in: store).isEmpty)
    }

    @Test func importingANameAgainMovesItToTheNewImage() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let (first, _) = try makeOCIArchive(dir.path + "/a.tar", layers: [(LayerTar.build([.file("v", "1")]), OCIMediaType.layer)])
        let old = try #require(try ImageImporter.importArchive(dir.path + "/a.tar", into: store).first)
        let rootfs = try ImageRootfs.unpack(image: old, in: store)
        let (second, _) = try makeOCIArchive(dir.path + "/b.tar", layers: [(LayerTar.build([.file("v", "2")]), OCIMediaType.layer)])
        _ = try ImageImporter.importArchive(dir.path + "/b.tar", into: store)
        #expect(first != second)
        #expect(try ImageCatalog.list(in: store).map(\.manifest) == [second])
        #expect(try ImageCatalog.resolve("example.org/tools/py:3.11", in: store).manifest == second)
        #expect(!(try store.index.liveDigests()).contains(first))
        #expect(!FileSystem.exists(rootfs), "the old image's unpacked rootfs goes with its name")
    }

    @Test func anOCIArchiveImportsWithEveryBlobNamedInTheIndex() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let plain = LayerTar.build([.dir("usr/"), .file("usr/hello", "hi")])
        let gzipped = try await LayerTar.gzip(LayerTar.build([.file("usr/second", "2")]), in: dir)
        let (manifest, layers) = try makeOCIArchive(
            dir.path + "/py.oci.tar",
            layers: [(plain, OCIMediaType.layer), (gzipped, OCIMediaType.layerGzip)]
        )
        let images = try ImageImporter.importArchive(dir.path + "/py.oci.tar", into: store)
        let image = try #require(images.first)
        #expect(images.count == 1)
        #expect(image.name == "example.org/tools/py")
        #expect(image.tag == "3.11")
        #expect(image.manifest == manifest)
        #expect(image.layers.map(\.digest) == layers)
        #expect(image.architecture == "amd64")
        #expect(image.os == "linux")
        for digest in [manifest, image.config] + layers { #expect(store.contains(digest)) }
        let entries = try store.index.entries().filter { $0.name == "example.org/tools/py" }
        #expect(entries.filter { $0.kind == "oci-manifest" }.map(\.digest) == [manifest])
        #expect(entries.filter { $0.kind == "oci-config" }.map(\.digest) == [image.config])
        #expect(Set(entries.filter { $0.kind == "oci-layer" }.map(\.digest)) == Set(layers))
        #expect(entries.allSatisfy { $0.version == "3.11" })
        let live = try store.index.liveDigests()
        for digest in [manifest, image.config] + layers { #expect(live.contains(digest)) }
        let expectedSize = try ([manifest, image.config] + layers).reduce(0) {
            $0 + (try FileSystem.size(of: store.blobPath($1)))
        }
        #expect(image.size == expectedSize)
        #expect(try ImageCatalog.list(in: store) == [image])
        #expect(try ImageCatalog.resolve("example.org/tools/py", in: store) == image)
        #expect(try ImageCatalog.resolve(String(manifest.hex.prefix(12)), in: store) == image)
        #expect(try FileSystem.list(store.temporaryDirectory).isEmpty)
    }

    @Test func aBareRefNameIsATagAndNameDefaultsToTheFileName() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        _ = try makeOCIArchive(
            dir.path + "/bookworm.tar",
            layers: [(LayerTar.build([.file("f", "x")]), OCIMediaType.layer)],
            refName: "12"
        )
        let image = try #require(try ImageImporter.importArchive(dir.path + "/bookworm.tar", into: store).first)
        #expect(image.reference == "bookworm:12")
        let renamed = try ImageImporter.importArchive(dir.path + "/bookworm.tar", into: store, name: "debian:bookworm")
        #expect(renamed.map(\.reference) == ["debian:bookworm"])
        #expect(try ImageCatalog.list(in: store).map(\.reference) == ["bookworm:12", "debian:bookworm"])
    }

    @Test func aDockerArchiveIsConvertedToAnOCIManifest() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let base = LayerTar.build([.dir("etc/"), .file("etc/os-release", "ID=debian"), .file("etc/gone", "x")])
        let top = try await LayerTar.gzip(LayerTar.build([.whiteout("etc/.wh.gone"), .file("app", "A")]), in: dir)
        let configDigest = try makeDockerArchive(
            dir.path + "/saved.tar",
            layers: [base, top],
            repoTags: ["mcr.example/functions/python:4-python3.11", "py:latest"],
            diffIDs: [SHA256Hasher.hash(base), SHA256Hasher.hash(Array("uncompressed top".utf8))]
        )
        let images = try ImageImporter.importArchive(dir.path + "/saved.tar", into: store)
        #expect(images.map(\.reference) == ["mcr.example/functions/python:4-python3.11", "py:latest"])
        let image = images[0]
        #expect(images[1].manifest == image.manifest)
        #expect(image.config == configDigest)
        #expect(image.layers.map(\.mediaType) == [OCIMediaType.layer, OCIMediaType.layerGzip])
        #expect(image.layers.map(\.digest) == [SHA256Hasher.hash(base), SHA256Hasher.hash(top)])
        let manifestBytes = try FileSystem.readFile(store.blobPath(image.manifest))
        let manifestText = String(decoding: manifestBytes, as: UTF8.self)
        #expect(manifestText.contains(OCIMediaType.manifest))
        #expect(manifestText.contains(OCIMediaType.config))
        let root = try ImageRootfs.unpack(image: image, in: store)
        #expect(try FileSystem.readFile(root + "/etc/os-release") == Array("ID=debian".utf8))
        #expect(!FileSystem.exists(root + "/etc/gone"))
        #expect(try FileSystem.readFile(root + "/app") == Array("A".utf8))
    }

    @Test func aDockerLayerThatDoesNotMatchItsDiffIDIsRefused() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let layer = LayerTar.build([.file("f", "x")])
        _ = try makeDockerArchive(
            dir.path + "/saved.tar",
            layers: [layer],
            repoTags: ["x:1"],
            diffIDs: [SHA256Hasher.hash(Array("other".utf8))]
        )
        let before = try StoreSnapshot(store)
        let error = #expect(throws: ImageError.self) {
            try ImageImporter.importArchive(dir.path + "/saved.tar", into: store)
        }
        #expect(error?.status == .checkFailed)
        #expect(error?.code == ImageErrorCode.digestMismatch.code)
        #expect(try StoreSnapshot(store) == before)
    }

    @Test func aBlobThatDoesNotHashToItsNameRefusesTheWholeImportAndLeavesTheStoreUnchanged() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        _ = try makeOCIArchive(
            dir.path + "/first.tar",
            layers: [(LayerTar.build([.file("a", "1")]), OCIMediaType.layer)],
            refName: "first:1"
        )
        _ = try ImageImporter.importArchive(dir.path + "/first.tar", into: store)
        let before = try StoreSnapshot(store)
        let layer = LayerTar.build([.file("b", "2")])
        let layerDigest = SHA256Hasher.hash(layer)
        _ = try makeOCIArchive(
            dir.path + "/tampered.tar",
            layers: [(LayerTar.build([.file("c", "3")]), OCIMediaType.layer), (layer, OCIMediaType.layer)],
            refName: "second:1",
            tamper: { digest, bytes in digest == layerDigest ? LayerTar.build([.file("b", "evil")]) : bytes }
        )
        let error = #expect(throws: ImageError.self) {
            try ImageImporter.importArchive(dir.path + "/tampered.tar", into: store)
        }
        #expect(error?.status == .checkFailed)
        #expect(error?.code == ImageErrorCode.digestMismatch.code)
        #expect(try StoreSnapshot(store) == before)
    }

    static let badArchives: [(String, [(String, [UInt8])], ImageErrorCode)] = [
        (
            "a stray file", [("oci-layout", Array("{\"imageLayoutVersion\":\"1.0.0\"}".utf8)), ("etc/passwd", [1])],
            .unexpectedMember
        ),
        ("an absolute member", [("/blobs/sha256/" + String(repeating: "0", count: 64), [1])], .unsafePath),
        ("a dot-dot member", [("blobs/../../x", [1])], .unsafePath),
        (
            "an index naming a missing manifest",
            [
                (
                    "index.json",
                    Array(
                        "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:\(String(repeating: "1", count: 64))\",\"size\":2}]}"
                            .utf8
                    )
                )
            ],
            .missingBlob
        ),
        (
            "a docker manifest naming a missing layer",
            [
                ("manifest.json", Array("[{\"Config\":\"c.json\",\"RepoTags\":[\"x:1\"],\"Layers\":[]}]".utf8))
            ],
            .missingBlob
        ),
    ]

    @Test(arguments: badArchives.map(\.0))
    func malformedArchivesAreRefused(_ name: String) throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let row = try #require(Self.badArchives.first { $0.0 == name })
        try writeArchive(dir.path + "/bad.tar", row.1)
        let before = try StoreSnapshot(store)
        let error = #expect(throws: ImageError.self) {
            try ImageImporter.importArchive(dir.path + "/bad.tar", into: store)
        }
        #expect(error?.code == row.2.code, "\(error?.description ?? "")")
        #expect(try StoreSnapshot(store) == before)
    }

    @Test func removingAnImageLetsGCFreeOnlyItsOwnBlobs() throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let shared = LayerTar.build([.file("shared", "S")])
        let (m1, _) = try makeOCIArchive(
            dir.path + "/one.tar",
            layers: [(shared, OCIMediaType.layer), (LayerTar.build([.file("one", "1")]), OCIMediaType.layer)],
            refName: "one:1"
        )
        let (m2, l2) = try makeOCIArchive(
            dir.path + "/two.tar",
            layers: [(shared, OCIMediaType.layer)],
            refName: "two:1"
        )
        let one = try #require(try ImageImporter.importArchive(dir.path + "/one.tar", into: store).first)
        let two = try #require(try ImageImporter.importArchive(dir.path + "/two.tar", into: store).first)
        let rootfs = try ImageRootfs.unpack(image: one, in: store)
        #expect(try store.collectGarbage(dryRun: true).isEmpty)

        let removed = try ImageCatalog.remove("one:1", from: store)
        #expect(removed.map(\.manifest) == [m1])
        #expect(!FileSystem.exists(rootfs))
        #expect(try ImageCatalog.list(in: store).map(\.reference) == ["two:1"])
        let garbage = Set(try store.collectGarbage(dryRun: false).map(\.digest))
        #expect(garbage == Set([m1, one.config, one.layers[1].digest]))
        for digest in [m2, two.config] + l2 { #expect(store.contains(digest)) }
        #expect(try store.index.entries().filter { $0.name == "one" }.isEmpty)
        let gone = #expect(throws: ImageError.self) { try ImageCatalog.resolve("one:1", in: store) }
        #expect(gone?.code == ImageErrorCode.notFound.code)

        try ImageCatalog.remove("sha256:" + m2.hex, from: store)
        #expect(try ImageCatalog.list(in: store).isEmpty)
        _ = try store.collectGarbage(dryRun: false)
        #expect(try FileSystem.list(store.blobDirectory).isEmpty)
    }
}
