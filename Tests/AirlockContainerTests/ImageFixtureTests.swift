// Fixtures for the image tests: layer tars from a hand-made ustar writer (so tests can make the
// members a hostile layer would carry: devices, absolute names, `..`), gzip through the stock
// `gzip -n`, and docker-archive / oci-archive files written with libarchive (TarWriter).

import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Testing

/// One ustar member: type '0' file, '1' hard link, '2' symlink, '3' char device, '4' block device,
/// '5' directory, '6' FIFO.
struct LayerMember {
    var name: String
    var type: UInt8 = UInt8(ascii: "0")
    var mode = 0o644
    var data: [UInt8] = []
    var link = ""

    static func file(_ name: String, _ text: String, mode: Int = 0o644) -> LayerMember {
        LayerMember(name: name, mode: mode, data: Array(text.utf8))
    }
    static func dir(_ name: String, mode: Int = 0o755) -> LayerMember {
        LayerMember(name: name, type: UInt8(ascii: "5"), mode: mode)
    }
    static func symlink(_ name: String, to target: String) -> LayerMember {
        LayerMember(name: name, type: UInt8(ascii: "2"), mode: 0o777, link: target)
    }
    static func hardlink(_ name: String, to target: String) -> LayerMember {
        LayerMember(name: name, type: UInt8(ascii: "1"), link: target)
    }
    static func whiteout(_ name: String) -> LayerMember { LayerMember(name: name) }
}

enum LayerTar {
    static func build(_ members: [LayerMember]) -> [UInt8] {
        RawTar.build(
            members.map {
                // Device members carry 1,3 (/dev/null) so a refusal cannot be blamed on a malformed header.
                RawMember(name: $0.name, type: $0.type, data: $0.data, linkName: $0.link, mode: $0.mode, device: (1, 3))
            }
        )
    }

    /// `gzip -n` (no name, no time), as image tools compress layers.
    static func gzip(_ bytes: [UInt8], in dir: TemporaryDirectory) async throws -> [UInt8] {
        let name = "gz-\(UInt32.random(in: 0...UInt32.max))"
        let path = try dir.file(name, bytes)
        let (status, output) = try await shell("gzip -n -f '\(path)'")
        #expect(status == 0, "\(output)")
        let gz = try FileSystem.readFile(path + ".gz")
        try FileSystem.remove(path + ".gz")
        return gz
    }
}

/// A config blob for a linux/amd64 image with the given diff IDs.
func imageConfig(diffIDs: [SHA256Digest], architecture: String = "amd64") -> [UInt8] {
    let ids = diffIDs.map { "\"\($0)\"" }.joined(separator: ",")
    return Array(
        """
        {"architecture":"\(architecture)","os":"linux","config":{"Env":["PATH=/usr/bin"]},\
        "rootfs":{"type":"layers","diff_ids":[\(ids)]}}
        """.utf8
    )
}

/// Writes a tar with libarchive.
func writeArchive(_ path: String, _ members: [(String, [UInt8])]) throws {
    let writer = try TarWriter(output: try FileArchiveOutput(path: path), name: path, compression: .none)
    for (name, bytes) in members { try writer.addFile(path: name, bytes: bytes, mtime: 1_700_000_000) }
    try writer.close()
}

/// An oci-archive as `skopeo copy ... oci-archive:FILE:REF` writes it. `tamper` replaces a blob's
/// bytes after its digest is taken.
func makeOCIArchive(
    _ path: String,
    layers: [(bytes: [UInt8], mediaType: String)],
    refName: String? = "example.org/tools/py:3.11",
    tamper: ((SHA256Digest, [UInt8]) -> [UInt8])? = nil
) throws -> (manifest: SHA256Digest, layers: [SHA256Digest]) {
    var blobs: [(SHA256Digest, [UInt8])] = []
    let layerDigests = layers.map { SHA256Hasher.hash($0.bytes) }
    let config = imageConfig(diffIDs: layerDigests)
    let configDigest = SHA256Hasher.hash(config)
    blobs.append((configDigest, config))
    var layerJSON: [String] = []
    for (layer, digest) in zip(layers, layerDigests) {
        blobs.append((digest, layer.bytes))
        layerJSON.append(
            "{\"mediaType\":\"\(layer.mediaType)\",\"digest\":\"\(digest)\",\"size\":\(layer.bytes.count)}"
        )
    }
    let manifest = Array(
        """
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
        "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},\
        "layers":[\(layerJSON.joined(separator: ","))]}
        """.utf8
    )
    let manifestDigest = SHA256Hasher.hash(manifest)
    blobs.append((manifestDigest, manifest))
    let annotations = refName.map { ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"\($0)\"}" } ?? ""
    let index = Array(
        """
        {"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",\
        "digest":"\(manifestDigest)","size":\(manifest.count)\(annotations)}]}
        """.utf8
    )
    var members: [(String, [UInt8])] = [("oci-layout", Array("{\"imageLayoutVersion\":\"1.0.0\"}".utf8))]
    for (digest, bytes) in blobs { members.append(("blobs/sha256/\(digest.hex)", tamper?(digest, bytes) ?? bytes)) }
    members.append(("index.json", index))
    try writeArchive(path, members)
    return (manifestDigest, layerDigests)
}

/// A docker-archive as `docker save` (before docker 25) writes it: `<id>/layer.tar`, `<config hex>.json`,
/// `manifest.json` last.
func makeDockerArchive(_ path: String, layers: [[UInt8]], repoTags: [String], diffIDs: [SHA256Digest]? = nil) throws
    -> SHA256Digest
{
    let config = imageConfig(diffIDs: diffIDs ?? layers.map { SHA256Hasher.hash($0) })
    let configDigest = SHA256Hasher.hash(config)
    var members: [(String, [UInt8])] = []
    var layerPaths: [String] = []
    for (i, layer) in layers.enumerated() {
        let id = SHA256Hasher.hash(Array("layer-id-\(i)".utf8)).hex
        members.append(("\(id)/VERSION", Array("1.0".utf8)))
        members.append(("\(id)/json", Array("{}".utf8)))
        members.append(("\(id)/layer.tar", layer))
        layerPaths.append("\(id)/layer.tar")
    }
    members.append(("\(configDigest.hex).json", config))
    let tags = repoTags.map { "\"\($0)\"" }.joined(separator: ",")
    let paths = layerPaths.map { "\"\($0)\"" }.joined(separator: ",")
    members.append(
        (
            "manifest.json",
            Array("[{\"Config\":\"\(configDigest.hex).json\",\"RepoTags\":[\(tags)],\"Layers\":[\(paths)]}]".utf8)
        )
    )
    try writeArchive(path, members)
    return configDigest
}

/// What a store holds: blob names, index entries, roots (via live digests) and tmp/ contents.
struct StoreSnapshot: Equatable {
    var blobs: [String]
    var entries: [BlobEntry]
    var live: Set<SHA256Digest>
    var temporary: [String]

    init(_ store: Store) throws {
        blobs = try FileSystem.list(store.blobDirectory).sorted()
        entries = try store.index.entries()
        live = try store.index.liveDigests()
        temporary = try FileSystem.list(store.temporaryDirectory).sorted()
    }
}

@Suite struct ImageFixtureTests {
    @Test func theUstarWriterMakesLayersLibarchiveReads() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.file(
            "l.tar",
            LayerTar.build([.dir("etc/"), .file("etc/a", "A"), .symlink("etc/b", to: "a")])
        )
        let reader = try ArchiveReader(paths: [path], format: .layer)
        var names: [String] = []
        while let entry = try reader.next() {
            names.append(entry.path ?? "")
            try reader.skipData()
        }
        #expect(names == ["etc/", "etc/a", "etc/b"])
    }
}
