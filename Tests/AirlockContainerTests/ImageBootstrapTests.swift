// `image bootstrap` without the network: a stand-in `mmdebstrap` (a shell script passed as the
// request's executable) records its arguments and environment and copies a tar the test built,
// shaped like mmdebstrap's (`./` names, /dev nodes first, a dpkg status, mtimes after the epoch).

import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

private let fixtureEpoch: Int64 = 1_600_000_000
private let laterMtime: Int64 = 1_700_000_000

private let dpkgStatus = """
    Package: libpython3.11-minimal
    Status: install ok installed
    Priority: optional
    Architecture: amd64
    Version: 3.11.2-6+deb12u5
    Description: A minimal subset of the Python language
     continuation line: Status: deinstall ok config-files

    Package: old-tool
    Status: deinstall ok config-files
    Architecture: amd64
    Version: 1.0-1

    Package: python3
    Status: install ok installed
    Architecture: amd64
    Version: 3.11.2-1+b1
    Multi-Arch: allowed

    """

/// A tar shaped like mmdebstrap's: /dev nodes before the root, `./` names, an owner other than
/// root, a hard link after its target, mtimes later than the epoch.
private func makeRootfsTar(_ path: String, python: String = "#!python 3.11\n") throws {
    // Device nodes and a FIFO, which libarchive's writer (ours) never makes: by hand, no end marker.
    var bytes = RawTar.build(
        [
            RawMember(name: "./dev/", type: UInt8(ascii: "5"), mode: 0o755),
            RawMember(name: "./dev/null", type: UInt8(ascii: "3"), mode: 0o666, device: (1, 3)),
            RawMember(name: "./dev/fifo", type: UInt8(ascii: "6"), mode: 0o600),
        ],
        endMarker: false
    )
    let rest = path + ".rest"
    let writer = try TarWriter(output: try FileArchiveOutput(path: rest), name: rest, compression: .none)
    func add(_ path: String, _ kind: TarHeader.Kind, mode: UInt32, gid: Int = 0, data: [UInt8] = []) throws {
        try writer.add(TarHeader(path: path, kind: kind, mode: mode, gid: gid, mtime: laterMtime)) { w in
            try data.withUnsafeBytes { try w.writeData($0) }
        }
    }
    try add("./", .directory, mode: 0o755)
    try add("./dev/fd", .symlink(target: "/proc/self/fd"), mode: 0o777)
    try add("./etc/", .directory, mode: 0o755)
    try add("./etc/shadow", .regular(size: 7), mode: 0o640, gid: 42, data: Array("root:*\n".utf8))
    try add("./usr/", .directory, mode: 0o755)
    try add("./usr/bin/", .directory, mode: 0o755)
    let pythonBytes = Array(python.utf8)
    try add("./usr/bin/python3.11", .regular(size: pythonBytes.count), mode: 0o755, data: pythonBytes)
    try add("./usr/bin/python3", .symlink(target: "python3.11"), mode: 0o777)
    try add("./usr/bin/python3.11-again", .hardlink(target: "./usr/bin/python3.11"), mode: 0o755)
    try add("./var/", .directory, mode: 0o755)
    try add("./var/lib/", .directory, mode: 0o755)
    try add("./var/lib/dpkg/", .directory, mode: 0o755)
    let status = Array(dpkgStatus.utf8)
    try add("./var/lib/dpkg/status", .regular(size: status.count), mode: 0o644, data: status)
    try writer.close()
    bytes += try FileSystem.readFile(rest)
    try FileSystem.remove(rest)
    try FileSystem.writeAtomically(path, bytes)
}

/// A stand-in mmdebstrap in `dir`: answers `--version`, records argv and SOURCE_DATE_EPOCH, says a
/// line on stderr and copies `fixture` to its second operand (the output tar), or fails.
private func makeStandIn(_ dir: TemporaryDirectory, fixture: String, fails: Bool = false) throws -> String {
    let script = """
        #!/bin/sh
        if [ "$1" = "--version" ]; then echo "mmdebstrap 0.0-standin"; exit 0; fi
        printf '%s\\n' "$@" > '\(dir.path)/args'
        echo "$SOURCE_DATE_EPOCH" > '\(dir.path)/epoch'
        echo "I: stand-in bootstrapping" >&2
        n=0; out=""
        for a in "$@"; do case "$a" in --*) ;; *) n=$((n+1)); [ "$n" -eq 2 ] && out="$a";; esac; done
        \(fails
            ? "echo partial > \"$out\"; echo 'E: cannot download packages' >&2; echo 'E: mirror unreachable' >&2; exit 1"
            : "cp '\(fixture)' \"$out\"")
        """
    let path = try dir.file("bin/mmdebstrap", script)
    chmod(path, 0o755)
    return path
}

/// A temp dir with the fixture rootfs tar, a stand-in mmdebstrap that writes it, and an empty
/// store; the directory lives as long as this value.
private struct StandInSetUp {
    let dir: TemporaryDirectory
    let fixture: String
    let standIn: String
    let store: Store

    init() throws {
        dir = try TemporaryDirectory()
        fixture = dir.path + "/rootfs.tar"
        try makeRootfsTar(fixture)
        standIn = try makeStandIn(dir, fixture: fixture)
        store = try Store.open(at: dir.path + "/store")
    }
}

private func request(
    _ executable: String,
    name: String = "python:3.11-bookworm",
    epoch: Int64 = fixtureEpoch,
    mirror: String? = nil
) -> BootstrapRequest {
    BootstrapRequest(
        suite: "bookworm",
        packages: ["python3"],
        name: name,
        mirror: mirror,
        sourceDateEpoch: epoch,
        architecture: "amd64",
        executable: executable
    )
}

/// Every entry of a plain tar, with its data for regular files.
private func entries(of path: String) throws -> [(TarEntry, [UInt8])] {
    let reader = try ArchiveReader(paths: [path], format: .layer)
    var out: [(TarEntry, [UInt8])] = []
    while let entry = try reader.next() {
        out.append((entry, entry.kind == .regular ? try reader.readAll(limit: 1 << 20) : []))
    }
    return out
}

@Suite struct ImageBootstrapTests {
    @Test func theArgumentsNameVariantPackagesFormatArchitectureSuiteOutputAndMirror() throws {
        var r = BootstrapRequest(
            suite: "bullseye",
            packages: ["python3", "python3-venv", "python3"],
            name: "py",
            architecture: "amd64"
        )
        #expect(
            try ImageBootstrap.mmdebstrapArguments(for: r, output: "/s/tmp/x.tar") == [
                "--variant=minbase", "--include=python3,python3-venv", "--format=tar", "--architectures=amd64",
                "bullseye", "/s/tmp/x.tar",
            ]
        )
        r.mirror = "http://mirror.example/debian"
        #expect(
            try ImageBootstrap.mmdebstrapArguments(for: r, output: "o.tar").suffix(3) == [
                "bullseye", "o.tar", "http://mirror.example/debian",
            ]
        )
        // No packages: minbase alone, with no --include.
        r.packages = []
        #expect(try ImageBootstrap.mmdebstrapArguments(for: r, output: "o.tar").first { $0.hasPrefix("--include") } == nil)
    }

    @Test(
        arguments: [
            ("sid", ["python3"], "py", nil, .badOption),
            ("bookworm", ["python3;rm"], "py", nil, .badOption),
            ("bookworm", ["--no-check"], "py", nil, .badOption),
            ("bookworm", ["Python3"], "py", nil, .badOption),
            ("bookworm", ["p"], "py", nil, .badOption),
            ("bookworm", ["python3", ""], "py", nil, .badOption),
            ("bookworm", ["python3"], "py thon", nil, .badName),
            ("bookworm", ["python3"], "py:", nil, .badName),
            ("bookworm", ["python3"], "", nil, .badName),
            ("bookworm", ["python3"], "py", "deb http://x bookworm main", .badOption),
            ("bookworm", ["python3"], "py", "-", .badOption),
            ("bookworm", ["python3"], "py", "ftp://x/debian", .badOption),
        ] as [(String, [String], String, String?, ImageErrorCode)]
    )
    func badSuitesPackagesNamesAndMirrorsAreRefusedBeforeMmdebstrapRuns(
        suite: String,
        packages: [String],
        name: String,
        mirror: String?,
        code: ImageErrorCode
    ) async throws {
        let setUp = try StandInSetUp()
        let (dir, standIn, store) = (setUp.dir, setUp.standIn, setUp.store)
        defer { withExtendedLifetime(setUp) {} }
        var r = request(standIn, name: name, mirror: mirror)
        r.suite = suite
        r.packages = packages
        let error = await #expect(throws: UsageError.self) { try await ImageBootstrap.bootstrap(r, into: store) }
        #expect(error?.code == code.code, "\(error?.description ?? "")")
        #expect(error?.status == .badInput)
        #expect(!FileSystem.exists(dir.path + "/args"))
        #expect(try ImageCatalog.list(in: store).isEmpty)
    }

    @Test func aBootstrapLandsInTheStoreAsOneCleanLayerWithItsPackages() async throws {
        let setUp = try StandInSetUp()
        let (dir, standIn, store) = (setUp.dir, setUp.standIn, setUp.store)
        defer { withExtendedLifetime(setUp) {} }
        let lines = LineCollector()
        let result = try await ImageBootstrap.bootstrap(
            request(standIn, mirror: "http://mirror.example/debian"),
            into: store,
            output: lines.output
        )

        // What the stand-in was given, and what it said.
        let args = try String(decoding: FileSystem.readFile(dir.path + "/args"), as: UTF8.self)
            .split(separator: "\n").map(String.init)
        #expect(
            args.prefix(5) == [
                "--variant=minbase", "--include=python3", "--format=tar", "--architectures=amd64", "bookworm",
            ]
        )
        #expect(args.count == 7 && args[5].hasPrefix(store.temporaryDirectory + "/") && args[5].hasSuffix(".tar"))
        #expect(args.last == "http://mirror.example/debian")
        #expect(try FileSystem.readFile(dir.path + "/epoch") == Array("\(fixtureEpoch)\n".utf8))
        #expect(lines.lines(of: .standardError).contains("I: stand-in bootstrapping"))

        // The record, the catalog and the store.
        #expect(result.image.reference == "python:3.11-bookworm")
        #expect(result.image.architecture == "amd64" && result.image.os == "linux")
        #expect(try ImageCatalog.list(in: store) == [result.image])
        #expect(try ImageCatalog.resolve("python", in: store) == result.image)
        #expect(result.image.layers.count == 1)
        #expect(result.image.layers.map(\.mediaType) == [OCIMediaType.layer])
        #expect(try FileSystem.list(store.temporaryDirectory).isEmpty)
        #expect(
            result.packages == [
                DebianPackage(name: "libpython3.11-minimal", version: "3.11.2-6+deb12u5", architecture: "amd64"),
                DebianPackage(name: "python3", version: "3.11.2-1+b1", architecture: "amd64"),
            ]
        )
        #expect(result.droppedDevices == 2)

        // The config: labels, the epoch as `created`, the layer as the one diff ID, no history.
        let config = try JSONSerialization.jsonObject(
            with: Data(FileSystem.readFile(store.blobPath(result.image.config)))
        )
        let object = try #require(config as? [String: Any])
        #expect(Set(object.keys) == ["architecture", "os", "created", "config", "rootfs"])
        #expect(object["created"] as? String == "2020-09-13T12:26:40Z")
        let labels = try #require((object["config"] as? [String: Any])?["Labels"] as? [String: String])
        #expect(labels["org.airlock.packages"] == "libpython3.11-minimal=3.11.2-6+deb12u5 python3=3.11.2-1+b1")
        #expect(labels["org.airlock.suite"] == "bookworm")
        #expect(labels["org.airlock.mirror"] == "http://mirror.example/debian")
        #expect(labels["org.airlock.bootstrap"] == "mmdebstrap 0.0-standin")
        let rootfs = try #require(object["rootfs"] as? [String: Any])
        #expect(rootfs["diff_ids"] as? [String] == [result.image.layers[0].digest.description])

        // The layer: no devices, no `./`, no root entry, owners and modes kept, mtimes clamped, the
        // hard link after its target.
        let layer = try entries(of: store.blobPath(result.image.layers[0].digest))
        let names = layer.compactMap(\.0.path)
        #expect(
            names == [
                "dev/", "dev/fd", "etc/", "etc/shadow", "usr/", "usr/bin/", "usr/bin/python3.11", "usr/bin/python3",
                "usr/bin/python3.11-again", "var/", "var/lib/", "var/lib/dpkg/", "var/lib/dpkg/status",
            ]
        )
        #expect(layer.allSatisfy { $0.0.mtime == fixtureEpoch })
        let shadow = try #require(layer.first { $0.0.path == "etc/shadow" })
        #expect(shadow.0.gid == 42 && shadow.0.uid == 0 && shadow.0.mode == 0o640)
        #expect(shadow.1 == Array("root:*\n".utf8))
        let again = try #require(layer.first { $0.0.path == "usr/bin/python3.11-again" })
        #expect(again.0.kind == .hardlink && again.0.linkTarget == "usr/bin/python3.11")
        #expect(layer.first { $0.0.path == "dev/fd" }?.0.linkTarget == "/proc/self/fd")
    }

    @Test func theSameOutputEpochAndNameGiveTheSameManifestDigest() async throws {
        let dir = try TemporaryDirectory()
        let fixture = dir.path + "/rootfs.tar"
        try makeRootfsTar(fixture)
        let standIn = try makeStandIn(dir, fixture: fixture)
        let first = try Store.open(at: dir.path + "/one")
        let second = try Store.open(at: dir.path + "/two")
        let a = try await ImageBootstrap.bootstrap(request(standIn), into: first)
        let b = try await ImageBootstrap.bootstrap(request(standIn), into: first)
        let c = try await ImageBootstrap.bootstrap(request(standIn), into: second)
        #expect(a.image == b.image && b.image == c.image)
        #expect(try ImageCatalog.list(in: first).count == 1)
        let otherEpoch = try await ImageBootstrap.bootstrap(request(standIn, epoch: fixtureEpoch + 1), into: second)
        #expect(otherEpoch.image.manifest != a.image.manifest)
        #expect(otherEpoch.image.layers[0].digest != a.image.layers[0].digest)
    }

    @Test func theImageUnpacksWithItsFilesAndLinksAndWithoutDevices() async throws {
        let setUp = try StandInSetUp()
        let (standIn, store) = (setUp.standIn, setUp.store)
        defer { withExtendedLifetime(setUp) {} }
        let result = try await ImageBootstrap.bootstrap(request(standIn), into: store)
        let root = try ImageRootfs.unpack(image: result.image, in: store)
        #expect(try FileSystem.readFile(root + "/usr/bin/python3.11") == Array("#!python 3.11\n".utf8))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/usr/bin/python3") == "python3.11")
        var original = stat()
        var link = stat()
        #expect(lstat(root + "/usr/bin/python3.11", &original) == 0)
        #expect(lstat(root + "/usr/bin/python3.11-again", &link) == 0)
        #expect(original.st_ino == link.st_ino && original.st_nlink == 2)
        #expect(original.st_mode & 0o777 == 0o755)
        #expect(FileSystem.kind(of: root + "/dev") == .directory)
        #expect(!FileSystem.exists(root + "/dev/null") && !FileSystem.exists(root + "/dev/fifo"))
        #expect(try String(decoding: FileSystem.readFile(root + "/var/lib/dpkg/status"), as: UTF8.self) == dpkgStatus)
    }

    @Test func aFailingMmdebstrapNamesItsStatusAndLastLinesAndLeavesNoTempFiles() async throws {
        let dir = try TemporaryDirectory()
        let standIn = try makeStandIn(dir, fixture: "/nonexistent", fails: true)
        let store = try Store.open(at: dir.path + "/store")
        let error = await #expect(throws: ImageError.self) {
            try await ImageBootstrap.bootstrap(request(standIn), into: store)
        }
        #expect(error?.code == ImageErrorCode.bootstrapFailed.code)
        // The point of the message: mmdebstrap's own last lines, not just a status.
        #expect(error?.description.contains("E: mirror unreachable") == true, "\(error?.description ?? "")")
        #expect(FileSystem.exists(dir.path + "/args"))
        #expect(try FileSystem.list(store.temporaryDirectory).isEmpty)
        #expect(try ImageCatalog.list(in: store).isEmpty)
    }

    @Test func aHardLinkBeforeItsTargetIsRefusedAndNothingIsLeftBehind() async throws {
        let dir = try TemporaryDirectory()
        let fixture = try dir.file(
            "rootfs.tar",
            RawTar.build([
                RawMember(name: "./a", type: UInt8(ascii: "1"), linkName: "./b"),
                RawMember(name: "./b", data: Array("b".utf8)),
            ])
        )
        let standIn = try makeStandIn(dir, fixture: fixture)
        let store = try Store.open(at: dir.path + "/store")
        let error = await #expect(throws: ImageError.self) {
            try await ImageBootstrap.bootstrap(request(standIn), into: store)
        }
        #expect(error?.code == ImageErrorCode.badRootfs.code, "\(error?.description ?? "")")
        #expect(try FileSystem.list(store.temporaryDirectory).isEmpty)
        #expect(try FileSystem.list(store.blobDirectory).isEmpty)
    }

    @Test func aMissingMmdebstrapSaysHowToInstallIt() async throws {
        let dir = try TemporaryDirectory()
        let store = try Store.open(at: dir.path + "/store")
        let error = await #expect(throws: UsageError.self) {
            try await ImageBootstrap.bootstrap(request(dir.path + "/no/mmdebstrap"), into: store)
        }
        #expect(error?.code == ImageErrorCode.missingTool.code)
        #expect(error?.description.contains("apt-get install -y mmdebstrap") == true, "it says how to install it")
    }

    @Test func theJSONResultIsTheImageRecordWithPackagesAndDroppedDevices() async throws {
        let setUp = try StandInSetUp()
        let (standIn, store) = (setUp.standIn, setUp.store)
        defer { withExtendedLifetime(setUp) {} }
        let result = try await ImageBootstrap.bootstrap(request(standIn), into: store)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(result)) as? [String: Any])
        #expect(object["name"] as? String == "python")
        #expect(object["tag"] as? String == "3.11-bookworm")
        #expect(object["manifest"] as? String == result.image.manifest.description)
        #expect(object["droppedDevices"] as? Int == 2)
        let packages = try #require(object["packages"] as? [[String: String]])
        #expect(
            packages.first == ["name": "libpython3.11-minimal", "version": "3.11.2-6+deb12u5", "architecture": "amd64"]
        )
    }

    @Test func theTarWriterCopiesEveryKindWithOwnersModesAndTimes() async throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/kinds.tar"
        let writer = try TarWriter(output: try FileArchiveOutput(path: path), name: path, compression: .none)
        let headers = [
            TarHeader(path: "d/", kind: .directory, mode: 0o750, uid: 7, gid: 8, mtime: 100),
            TarHeader(path: "d/f", kind: .regular(size: 3), mode: 0o4755, uid: 1000, gid: 42, mtime: 200),
            TarHeader(
                path: "d/s",
                kind: .symlink(target: "../elsewhere/" + String(repeating: "x", count: 150)),
                mode: 0o777,
                mtime: 300
            ),
            TarHeader(path: "d/h", kind: .hardlink(target: "d/f"), mode: 0o4755, uid: 1000, gid: 42, mtime: 200),
        ]
        for header in headers {
            try writer.add(header) { w in
                if case .regular = header.kind { try Array("abc".utf8).withUnsafeBytes { try w.writeData($0) } }
            }
        }
        try writer.close()
        let read = try entries(of: path)
        #expect(read.map(\.0.path) == ["d/", "d/f", "d/s", "d/h"])
        #expect(read.map(\.0.kind) == [.directory, .regular, .symlink, .hardlink])
        #expect(read.map(\.0.mode) == [0o750, 0o4755, 0o777, 0o4755])
        #expect(read.map(\.0.uid) == [7, 1000, 0, 1000])
        #expect(read.map(\.0.gid) == [8, 42, 0, 42])
        #expect(read.map(\.0.mtime) == [100, 200, 300, 200])
        #expect(read[1].1 == Array("abc".utf8))
        #expect(read[2].0.linkTarget == "../elsewhere/" + String(repeating: "x", count: 150))
        #expect(read[3].0.linkTarget == "d/f")
        let (status, listing) = try await shell("tar tvf '\(path)'")
        #expect(status == 0, "\(listing)")
        #expect(listing.contains("1000/42") && listing.contains("d/h link to d/f"), "\(listing)")
    }
}
