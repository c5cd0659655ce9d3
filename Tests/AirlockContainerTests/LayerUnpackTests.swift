import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Imports an oci-archive holding `layers` (plain tars) and returns the store and image.
private func makeImage(_ dir: TemporaryDirectory, _ layers: [[LayerMember]]) throws -> (Store, ImageRecord) {
    let store = try Store.open(at: dir.path + "/store")
    let archive = dir.path + "/image.tar"
    _ = try makeOCIArchive(archive, layers: layers.map { (LayerTar.build($0), OCIMediaType.layer) })
    let images = try ImageImporter.importArchive(archive, into: store)
    return (store, try #require(images.first))
}

private func text(_ path: String) throws -> String {
    String(decoding: try FileSystem.readFile(path), as: UTF8.self)
}

@Suite struct LayerUnpackTests {
    @Test func whiteoutsDeleteLowerFilesAndOpaqueDirectoriesHideLowerContent() throws {
        let dir = try TemporaryDirectory()
        let (store, image) = try makeImage(
            dir,
            [
                [
                    .dir("./"), .dir("./etc/"), .file("./etc/a", "A"), .file("etc//b", "B"), .dir("etc/d/"),
                    .file("etc/d/x", "X"), .dir("etc/d/sub/"), .file("etc/d/sub/old", "O"),
                ],
                [.whiteout("etc/.wh.a"), .dir("etc/d/"), .whiteout("etc/d/.wh..wh..opq"), .file("etc/d/y", "Y")],
                // The marker after an entry of its own layer: the entry survives, lower content goes.
                [.file("etc/b2", "B2"), .dir("etc/e/"), .file("etc/e/lower", "L")],
                [.file("etc/e/mine", "M"), .whiteout("etc/e/.wh..wh..opq"), .whiteout("etc/.wh.b2")],
            ]
        )
        let root = try ImageRootfs.unpack(image: image, in: store)
        #expect(root == store.root + "/rootfs/" + image.manifest.hex)
        #expect(!FileSystem.exists(root + "/etc/a"))
        #expect(try text(root + "/etc/b") == "B")
        #expect(!FileSystem.exists(root + "/etc/d/x"))
        #expect(!FileSystem.exists(root + "/etc/d/sub"))
        #expect(try text(root + "/etc/d/y") == "Y")
        #expect(try text(root + "/etc/e/mine") == "M")
        #expect(!FileSystem.exists(root + "/etc/e/lower"))
        #expect(!FileSystem.exists(root + "/etc/b2"))
        #expect(try FileSystem.list(root + "/etc").filter { $0.hasPrefix(".wh.") }.isEmpty)
        // Unpacked once per digest: a second call reuses the cache; no partial dir is left.
        #expect(try ImageRootfs.unpack(image: image, in: store) == root)
        #expect(try FileSystem.list(store.root + "/rootfs") == [image.manifest.hex])
    }

    @Test func linksModesAndReplacementFollowTheLayers() throws {
        let dir = try TemporaryDirectory()
        let (store, image) = try makeImage(
            dir,
            [
                [
                    .file("bin/tool", "v1", mode: 0o4755), .file("bin/shared", "S"), .dir("opt/thing/"),
                    .file("opt/thing/f", "F"), .file("etc/readonly", "R", mode: 0o444),
                ],
                [
                    .symlink("bin/abs", to: "/etc/passwd"), .symlink("bin/rel", to: "../etc/readonly"),
                    .hardlink("bin/again", to: "bin/shared"), .file("opt/thing", "now a file"),
                    .file("bin/tool", "v2", mode: 0o2755), .file("etc/readonly", "R2", mode: 0o444),
                    .dir("locked/", mode: 0o555),
                ],
                [.file("locked/inside", "I")],
            ]
        )
        let root = try ImageRootfs.unpack(image: image, in: store)
        #expect(try text(root + "/bin/tool") == "v2")
        #expect(try FileSystem.mode(of: root + "/bin/tool") == 0o755)
        #expect(try text(root + "/etc/readonly") == "R2")
        #expect(try FileSystem.mode(of: root + "/etc/readonly") == 0o444)
        #expect(FileSystem.kind(of: root + "/bin/abs") == .symlink)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/bin/abs") == "/etc/passwd")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/bin/rel") == "../etc/readonly")
        var a = stat()
        var b = stat()
        #expect(lstat(root + "/bin/again", &a) == 0 && lstat(root + "/bin/shared", &b) == 0)
        #expect(a.st_ino == b.st_ino)
        #expect(try text(root + "/opt/thing") == "now a file")
        #expect(try text(root + "/locked/inside") == "I")
        // image rm removes the unpacked rootfs too.
        try ImageCatalog.remove(image.reference, from: store)
        #expect(!FileSystem.exists(root))
    }

    static let hostile: [(String, [LayerMember], ImageErrorCode)] = [
        ("absolute path", [.file("/etc/passwd", "x")], .unsafePath),
        ("dot-dot", [.file("../escape", "x")], .unsafePath),
        ("dot-dot inside", [.dir("a/"), .file("a/../../escape", "x")], .unsafePath),
        (
            "character device", [LayerMember(name: "dev/null", type: UInt8(ascii: "3"), mode: 0o666)],
            .hostileLayer
        ),
        ("block device", [LayerMember(name: "dev/sda", type: UInt8(ascii: "4"), mode: 0o660)], .hostileLayer),
        ("FIFO", [LayerMember(name: "run/fifo", type: UInt8(ascii: "6"), mode: 0o600)], .hostileLayer),
        (
            "write through a symlink", [.symlink("a", to: "OUTSIDE"), .file("a/passwd", "owned")],
            .hostileLayer
        ),
        (
            "directory through a symlink", [.symlink("a", to: "OUTSIDE"), .dir("a/sub/")],
            .hostileLayer
        ),
        (
            "whiteout through a symlink", [.symlink("a", to: "OUTSIDE"), .whiteout("a/.wh.victim")],
            .hostileLayer
        ),
        ("hard link out of the rootfs", [.hardlink("h", to: "/etc/passwd")], .unsafePath),
        (
            "hard link through a symlink", [.symlink("a", to: "OUTSIDE"), .hardlink("h", to: "a/victim")],
            .hostileLayer
        ),
        ("hard link to nothing", [.hardlink("h", to: "missing")], .hostileLayer),
    ]
    @Test(arguments: hostile.map(\.0))
    func hostileLayersAreRefusedAndLeaveNothing(_ name: String) throws {
        let dir = try TemporaryDirectory()
        let outside = dir.path + "/outside"
        try FileSystem.makeDirectory(outside)
        try dir.file("outside/victim", "keep")
        let row = try #require(Self.hostile.first { $0.0 == name })
        let members = row.1.map { m -> LayerMember in
            var m = m
            m.link = m.link.replacingOccurrences(of: "OUTSIDE", with: outside)
            return m
        }
        let (store, image) = try makeImage(dir, [[.file("base", "B")], members])
        let error = #expect(throws: ImageError.self) { try ImageRootfs.unpack(image: image, in: store) }
        #expect(error?.status == .checkFailed)
        #expect(error?.code == row.2.code, "\(error?.description ?? "")")
        #expect(try FileSystem.list(store.root + "/rootfs").isEmpty)
        #expect(try FileSystem.list(outside) == ["victim"])
        #expect(try text(outside + "/victim") == "keep")
    }

    @Test func gzippedAndZstdLayersUnpack() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let one = try await LayerTar.gzip(LayerTar.build([.file("one", "1")]), in: dir)
        let twoPath = try dir.file("two.tar", LayerTar.build([.file("two", "2")]))
        let (status, output) = try await shell("zstd -q -f '\(twoPath)' -o '\(twoPath).zst'")
        try #require(status == 0, "\(output)")
        let two = try FileSystem.readFile(twoPath + ".zst")
        _ = try makeOCIArchive(
            dir.path + "/image.tar",
            layers: [(one, OCIMediaType.layerGzip), (two, OCIMediaType.layerZstd)]
        )
        let image = try #require(try ImageImporter.importArchive(dir.path + "/image.tar", into: store).first)
        let root = try ImageRootfs.unpack(image: image, in: store)
        #expect(try text(root + "/one") == "1")
        #expect(try text(root + "/two") == "2")
    }

    @Test func aCrashedUnpackLeavesNoRootfsAndIsCleanedUp() throws {
        let dir = try TemporaryDirectory()
        let (store, image) = try makeImage(dir, [[.file("f", "F")]])
        // A partial dir of a process that no longer exists (pid 2^22 + 1 is above pid_max's default).
        let stale = store.root + "/rootfs/.partial-4194305.abcdef"
        try FileSystem.makeDirectory(stale + "/etc")
        let root = try ImageRootfs.unpack(image: image, in: store)
        #expect(try FileSystem.list(store.root + "/rootfs") == [image.manifest.hex])
        #expect(try text(root + "/f") == "F")
    }
}

@Suite struct LayerWriterTests {
    @Test(arguments: [true, false])
    func aLayerWrittenByAirlockIsReadByTheUnpackerAndByStockTarWithOneDigestEveryTime(gzip: Bool) async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        func write() throws -> LayerWriter.Layer {
            let writer = try LayerWriter(store: store, gzip: gzip)
            try writer.tar.add(TarHeader(path: "home/site/wwwroot/", kind: .directory, mode: 0o755, mtime: 315_532_800))
            try writer.tar.addFile(path: "home/site/wwwroot/host.json", bytes: Array("{\"version\": \"2.0\"}\n".utf8), mtime: 315_532_800)
            try writer.tar.addFile(path: "home/site/wwwroot/handler", bytes: pseudoRandom(300_000, seed: 4), mode: 0o755, mtime: 315_532_800)
            return try writer.finish()
        }
        let layer = try write()
        try store.commit([(layer.descriptor.digest, layer.temporaryPath)])
        #expect(layer.descriptor.mediaType == (gzip ? OCIMediaType.layerGzip : OCIMediaType.layer))
        let path = store.blobPath(layer.descriptor.digest)
        #expect(try Store.hashFile(path).0 == layer.descriptor.digest && (try FileSystem.size(of: path)) == layer.descriptor.size)
        // Deterministic: the same layer again has the same digests.
        let again = try write()
        #expect(again.descriptor.digest == layer.descriptor.digest && again.diffID == layer.diffID)
        try FileSystem.remove(again.temporaryPath)

        // The diff ID is the digest of the tar the stock tools see inside.
        let (status, listing) = try await shell(
            (gzip ? "gzip -t '\(path)' && gunzip -c '\(path)'" : "cat '\(path)'") + " | tee '\(dir.path)/plain.tar' | tar -tvf -"
        )
        #expect(status == 0 && listing.contains("home/site/wwwroot/handler") && listing.contains("rwxr-xr-x"), "\(listing)")
        #expect(try Store.hashFile(dir.path + "/plain.tar").0 == layer.diffID)

        // The unpacker applies it as it would any image's layer.
        let image = ImageRecord(
            name: "layer-test", tag: "1", manifest: SHA256Hasher.hash(Array("manifest".utf8)), config: layer.diffID,
            layers: [layer.descriptor], size: layer.descriptor.size, architecture: "amd64", os: "linux"
        )
        let root = try ImageRootfs.unpack(image: image, in: store)
        #expect(try FileSystem.readFile(root + "/home/site/wwwroot/handler") == pseudoRandom(300_000, seed: 4))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/home/site/wwwroot/handler"))
    }
}
