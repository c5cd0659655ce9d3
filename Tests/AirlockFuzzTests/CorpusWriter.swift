// The seed corpus of every harness, written by Airlock's own writers (ZipWriter, TarWriter, the
// sealer, the lock encoders, the OCI model) and the tests' hand-made tar (RawTar), as the other
// test targets build their fixtures. Run only on purpose, by `make fuzz-corpus`
// (AIRLOCK_FUZZ_WRITE_CORPUS=1): it replaces Fuzz/corpus/ with what it writes, a few small files per
// harness. Everything is deterministic (fixed times, fixed key, fixed bundle id) except the ELF
// seeds, which are whatever the host's gcc makes.

import AirlockBundle
import AirlockContainer
import AirlockCore
import AirlockFuzz
import AirlockGo
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

private let epoch: Int64 = 1_700_000_000

/// Bytes of a zip made by ZipWriter from `(path, content, executable)` members.
private func zip(_ members: [(String, [UInt8], Bool)], in dir: TemporaryDirectory) throws -> [UInt8] {
    let path = dir.path + "/zip-\(UInt32.random(in: 0...UInt32.max)).zip"
    let writer = ZipWriter(output: try FileArchiveOutput(path: path), name: path, epochSeconds: epoch)
    for (name, bytes, executable) in members { try writer.add(path: name, bytes: bytes, executable: executable) }
    try writer.finish()
    return try FileSystem.readFile(path)
}

private func text(_ members: [(String, String)]) -> [(String, [UInt8], Bool)] {
    members.map { ($0.0, Array($0.1.utf8), false) }
}

/// Bytes of a tar made by libarchive (TarWriter), as bundles and sdists are written.
private func tar(_ headers: [(TarHeader, [UInt8])], compression: ArchiveCompression = .none, in dir: TemporaryDirectory) throws
    -> [UInt8]
{
    let path = dir.path + "/tar-\(UInt32.random(in: 0...UInt32.max)).tar"
    let writer = try TarWriter(output: try FileArchiveOutput(path: path), name: path, compression: compression)
    for (header, bytes) in headers { try writer.add(header) { try $0.writeData(UnsafeRawBufferPointer(start: bytes, count: bytes.count)) } }
    try writer.close()
    return try FileSystem.readFile(path)
}

private func file(_ path: String, _ content: String, mode: UInt32 = 0o644) -> (TarHeader, [UInt8]) {
    let bytes = Array(content.utf8)
    return (TarHeader(path: path, kind: .regular(size: bytes.count), mode: mode, mtime: epoch), bytes)
}

private func directory(_ path: String) -> (TarHeader, [UInt8]) {
    (TarHeader(path: path, kind: .directory, mode: 0o755, mtime: epoch), [])
}

/// RECORD's hash of `bytes`: `sha256=` and unpadded URL-safe base64.
private func recordHash(_ bytes: [UInt8]) -> String {
    let b64 = Data(SHA256Hasher.hash(bytes).bytes).base64EncodedString()
    return "sha256=" + b64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// A wheel as a wheel builder writes one: members, then RECORD listing each with its hash and size.
private func wheel(_ members: [(String, String)], distInfo: String = "demo-1.0.dist-info", in dir: TemporaryDirectory) throws -> [UInt8] {
    var rows = members.map { "\($0.0),\(recordHash(Array($0.1.utf8))),\($0.1.utf8.count)" }
    rows.append("\(distInfo)/RECORD,,")
    return try zip(text(members + [("\(distInfo)/RECORD", rows.joined(separator: "\n") + "\n")]), in: dir)
}

private let wheelFile = "Wheel-Version: 1.0\nGenerator: airlock-fuzz\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
private let metadataFile = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Python: >=3.9\nRequires-Dist: six\n\nA description.\n"
private let entryPointsFile = """
    [console_scripts]
    demo = demo.cli:main
    demo-extra = demo.cli:run.go [extra]

    [gui_scripts]
    demo-gui = demo:gui

    [other.group]
    plugin = demo.plugins:Plugin
    """

private let goMod = """
    module example.com/demo

    go 1.22.1

    toolchain go1.22.3

    require (
    \tgithub.com/google/uuid v1.6.0
    \tgolang.org/x/text v0.14.0 // indirect
    )

    replace golang.org/x/text => ./text

    exclude example.com/bad v1.0.0
    """

private func goZip(_ files: [(String, String)], in dir: TemporaryDirectory) throws -> [UInt8] {
    try zip(text(files.map { ("example.com/demo@v1.0.0/" + $0.0, $0.1) }), in: dir)
}

/// Bundles sealed with the fuzz key, valid at the harness's scan time.
private func bundles(in dir: TemporaryDirectory) async throws -> [(String, [UInt8])] {
    let keyPath = dir.path + "/fuzz.key"
    let fd = try FileDescriptor.open(keyPath, writing: true, create: true, exclusive: true, mode: 0o600)
    try fd.write(FuzzHarnesses.signingKeyPEM())
    let inputs = [
        try dir.file("in/a.txt", "hello\n"), try dir.file("in/app.zip", try zip(text([("host.json", "{}")]), in: dir)),
    ]
    var out: [(String, [UInt8])] = []
    for compression in ArchiveCompression.allCases {
        let path = dir.path + "/sealed-\(compression.rawValue).airlock"
        let options = SealOptions(
            output: path, keyPaths: [keyPath], channel: "default", sequence: 7, expiresIn: 400 * 86400,
            compression: compression, sourceDateEpoch: FuzzHarnesses.scanTime - 86400, allowExpired: true
        )
        _ = try await Sealer.seal(try SealInput.expand(inputs), options: options, store: nil)
        out.append(("sealed" + (compression == .zstd ? ".tar.zst" : ".tar"), try FileSystem.readFile(path)))
    }
    return out
}

/// An ELF seed compiled by the host's gcc, stripped; nil when there is no gcc.
private func elf(_ name: String, _ source: String, flags: String, in dir: TemporaryDirectory) async throws -> (String, [UInt8])? {
    let c = try dir.file(name + ".c", source)
    let out = dir.path + "/" + name
    let (status, _) = try await shell(
        "gcc -Os -s -Wl,-z,norelro -Wl,-z,noseparate-code -Wl,--build-id=none \(flags) -o '\(out)' '\(c)'"
    )
    guard status == 0 else { return nil }
    return (name, try FileSystem.readFile(out))
}

/// The seeds, by harness name.
private func seeds(in dir: TemporaryDirectory) async throws -> [String: [(String, [UInt8])]] {
    var seeds: [String: [(String, [UInt8])]] = [:]
    func put(_ harness: String, _ name: String, _ bytes: [UInt8]) { seeds[harness, default: []].append((name, bytes)) }
    func put(_ harness: String, _ name: String, _ text: String) { put(harness, name, Array(text.utf8)) }

    let digest = SHA256Hasher.hash(Array("blob".utf8))
    let other = SHA256Hasher.hash(Array("other".utf8))
    let recipe = SHA256Hasher.hash(Array("recipe".utf8))
    let manifests = [
        Manifest(
            bundle: "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", channel: "default", sequence: 1, created: "2026-01-01T00:00:00Z",
            expires: "2026-02-01T00:00:00Z", target: .object(["python": .string("3.11")]),
            artifacts: [
                ManifestArtifact(
                    name: "app.zip", path: "blobs/sha256/\(digest.hex)", kind: "python-zip", sha256: digest, size: 4,
                    mediaType: "application/zip", provenance: .object(["inputs": .array([.string(other.description)])])
                )
            ],
            blobs: [ManifestBlob(sha256: digest, size: 4, kind: "artifact"), ManifestBlob(sha256: other, size: 5, kind: "wheel")],
            sha256sums: other
        ),
        Manifest(
            bundle: "00000000-0000-4000-8000-000000000000", channel: "weekly.delta", sequence: 42, created: "2026-01-01T00:00:00Z",
            expires: "2026-01-08T00:00:00Z", artifacts: [],
            blobs: [
                ManifestBlob(sha256: digest, size: 4, kind: "wheel", delivery: .recipe(recipe)),
                ManifestBlob(sha256: other, size: 5, kind: "wheel", delivery: .store),
                ManifestBlob(sha256: recipe, size: 6, kind: "recipe"),
            ],
            sha256sums: digest, delta: ManifestDelta(inventory: other)
        ),
    ]
    for (i, manifest) in manifests.enumerated() {
        put("manifest", "manifest-\(i).json", manifest.canonicalBytes)
        put("canonical-json", "manifest-\(i).json", manifest.canonicalBytes)
    }
    put("canonical-json", "values.json", #"{"a":[1,-2,3.5e10,true,false,null],"b":{"":"\u0000\u00e9\ud83d\ude00"},"c":"\"\\\/\b\f\n\r\t"}"#)
    put("canonical-json", "nested.json", "[[[[[[[[{\"k\":[[]]}]]]]]]]]")

    for (name, bytes) in try await bundles(in: dir) { put("bundle", name, bytes) }

    put("zip", "deflated.zip", try zip(text([("a.txt", String(repeating: "abc", count: 100)), ("dir/", ""), ("dir/b", "b")]), in: dir))
    put("zip", "executable.zip", try zip([("bin/run", Array("#!/bin/sh\n".utf8), true), ("empty", [], false)], in: dir))

    put("wheel-metadata", "RECORD", "demo/__init__.py,sha256=AAAA,3\n\"demo/a,b.py\",sha256=BBBB,10\r\ndemo-1.0.dist-info/RECORD,,\n")
    put("wheel-metadata", "WHEEL", wheelFile)
    put("wheel-metadata", "METADATA", metadataFile)
    put("wheel-metadata", "entry_points.txt", entryPointsFile)

    let distInfo = "demo-1.0.dist-info"
    put(
        "wheel", "pure.whl",
        try wheel(
            [
                ("demo/__init__.py", "print('hi')\n"), ("demo/cli.py", "def main(): pass\n"), ("\(distInfo)/WHEEL", wheelFile),
                ("\(distInfo)/METADATA", metadataFile), ("\(distInfo)/entry_points.txt", entryPointsFile),
            ],
            in: dir
        )
    )
    put(
        "wheel", "data.whl",
        try wheel(
            [
                ("demo.py", "x = 1\n"), ("demo-1.0.data/scripts/tool", "#!python\nprint(1)\n"),
                ("demo-1.0.data/purelib/extra.py", "y = 2\n"), ("demo-1.0.data/platlib/plat.py", "z = 3\n"),
                ("demo-1.0.data/data/share/demo.txt", "data\n"), ("\(distInfo)/WHEEL", wheelFile), ("\(distInfo)/METADATA", metadataFile),
            ],
            in: dir
        )
    )

    let elfSource = "#include <stdio.h>\nint hello(void) { return puts(\"hi\"); }\n"
    if let so = try await elf("shared.so", elfSource, flags: "-shared -fPIC", in: dir) { put("elf", so.0, so.1) }
    if let exe = try await elf(
        "static", "void _start(void) { for (;;) {} }\n", flags: "-static -nostdlib -fno-pie -no-pie", in: dir
    ) {
        put("elf", exe.0, exe.1)
    }

    let sdistTar = try tar(
        [
            directory("demo-1.0/"), file("demo-1.0/PKG-INFO", metadataFile), file("demo-1.0/pyproject.toml", "[build-system]\nrequires = [\"setuptools\"]\n"),
            file("demo-1.0/demo/__init__.py", "x = 1\n"), file("demo-1.0/run.sh", "#!/bin/sh\n", mode: 0o755),
            (TarHeader(path: "demo-1.0/link.py", kind: .symlink(target: "demo/__init__.py"), mode: 0o777, mtime: epoch), []),
        ],
        in: dir
    )
    put("sdist", "demo-1.0.tar.gz", Gzip.compress(sdistTar))
    put("sdist", "demo-1.0.zip", try zip(text([("demo-1.0/PKG-INFO", metadataFile), ("demo-1.0/setup.py", "from setuptools import setup\n")]), in: dir))

    let config = OCIImageConfig(
        document: [
            "architecture": .string("amd64"), "os": .string("linux"),
            "config": .object(["Env": .array([.string("PATH=/usr/bin")]), "Cmd": .array([.string("/bin/sh")])]),
            "rootfs": .object(["type": .string("layers"), "diff_ids": .array([.string(digest.description)])]),
            "history": .array([.object(["created": .string("2026-01-01T00:00:00Z"), "created_by": .string("airlock")])]),
        ]
    )
    let configBytes = try OCIJSON.encode(config)
    let manifest = OCIManifest(
        config: OCIDescriptor(mediaType: OCIMediaType.config, digest: SHA256Hasher.hash(configBytes), size: configBytes.count),
        layers: [OCIDescriptor(mediaType: OCIMediaType.layerGzip, digest: digest, size: 4, annotations: ["org.opencontainers.image.title": "app"])]
    )
    let manifestBytes = try OCIJSON.encode(manifest)
    var entry = OCIDescriptor(mediaType: OCIMediaType.manifest, digest: SHA256Hasher.hash(manifestBytes), size: manifestBytes.count)
    entry.platform = OCIPlatform(architecture: "arm64", os: "linux", variant: "v8")
    put("oci", "config.json", configBytes)
    put("oci", "manifest.json", manifestBytes)
    put("oci", "index.json", try OCIJSON.encode(OCIIndex(manifests: [entry])))

    let layerTar = RawTar.build(
        [
            RawMember(name: "./", type: UInt8(ascii: "5"), mode: 0o755), RawMember(name: "etc/", type: UInt8(ascii: "5"), mode: 0o755),
            RawMember(name: "etc/passwd", data: Array("root:x:0:0::/root:/bin/sh\n".utf8)),
            RawMember(name: "etc/link", type: UInt8(ascii: "2"), linkName: "passwd"),
            RawMember(name: "etc/hard", type: UInt8(ascii: "1"), linkName: "etc/passwd"),
            RawMember(name: "usr/bin/tool", data: Array("#!/bin/sh\n".utf8), mode: 0o4755),
            RawMember(name: "etc/.wh.old"), RawMember(name: "var/.wh..wh..opq"),
        ]
    )
    put("layer", "layer.tar", layerTar)
    put("layer", "layer.tar.gz", Gzip.compress(layerTar))
    put("layer", "libarchive.tar.zst", try tar([directory("opt/"), file("opt/a", "A"), file("opt/b", "B", mode: 0o755)], compression: .zstd, in: dir))

    put(
        "go-module-zip", "module.zip",
        try goZip([("go.mod", "module example.com/demo\n\ngo 1.21\n"), ("LICENSE", "MIT\n"), ("demo.go", "package demo\n"), ("sub/x.go", "package sub\n")], in: dir)
    )
    put("go-module-zip", "vendor.zip", try goZip([("go.mod", "module example.com/demo\n"), ("vendor/modules.txt", "# x v1\n"), ("a/b/c.go", "package b\n")], in: dir))

    put(
        "go-sum", "go.sum",
        """
        example.com/demo v1.0.0 h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
        example.com/demo v1.0.0/go.mod h1:2d/0iyN7FRcOjZz9EaSY4YLeKjQkAUrh/1NyPXd0hkg=
        github.com/google/uuid v1.6.0 h2:something
        golang.org/x/text v0.14.0/go.mod h1:18ZOQIKpY8NJVqYksKHtTdi31H5itFRjB5/qKTNYzSU=

        """
    )
    put("go-mod", "go.mod", goMod)
    put("go-mod", "quoted.mod", "module \"example.com/q\" // comment\ngo 1.21\nrequire `example.com/r` v1.2.3\nretract [v1.0.0, v1.0.5]\ngodebug default=go1.21\n")
    put(
        "go-mod", "modules.txt",
        "# github.com/google/uuid v1.6.0\n## explicit; go 1.21\ngithub.com/google/uuid\n# golang.org/x/text v0.14.0 => ./text\n## explicit\n# golang.org/x/text => ./text\n"
    )

    let locked = [
        LockedFile(name: "demo", version: "1.0", filename: "demo-1.0-py3-none-any.whl", url: "https://files.example/demo-1.0-py3-none-any.whl", sha256: digest.hex, size: 100),
        LockedFile(name: "six", version: "1.16.0", filename: "six-1.16.0.tar.gz", url: "https://files.example/six-1.16.0.tar.gz", sha256: other.hex, size: 200, yanked: ""),
    ]
    let pythonLock = PythonLock(
        target: PythonTarget(pythonVersion: "3.11", platform: "linux/amd64", glibc: "2.31"), files: locked,
        build: [LockedFile(name: "setuptools", version: "69.0", filename: "setuptools-69.0-py3-none-any.whl", url: nil, sha256: digest.hex, size: nil)]
    )
    put("lock", "python.lock", try pythonLock.encoded())
    let goLock = GoLock(
        module: "example.com/demo", toolchain: GoLock.Toolchain(version: "1.22.3", name: "go1.22.3.linux-amd64.tar.gz", sha256: digest),
        goModSHA256: digest, goSumSHA256: other, vendored: false,
        modules: [
            GoLock.Module(path: "github.com/google/uuid", version: "v1.6.0", goMod: "h1:abc=", zip: "h1:def="),
            GoLock.Module(path: "golang.org/x/text", version: "v0.14.0", goMod: "h1:ghi=", zip: nil, indirect: true),
        ]
    )
    put("lock", "go.lock", try goLock.encoded())
    if case .success(let pylock) = PyLock.text(for: PythonLock(target: pythonLock.target, files: locked)) { put("pylock", "pylock.toml", pylock) }

    put("funcignore", "default.funcignore", ".git*\n.vscode\n__azurite_db*__.json\n__blobstorage__\n__queuestorage__\nlocal.settings.json\ntest\n.venv\n")
    put("funcignore", "patterns.funcignore", "# comment\n!keep.py\n*.pyc\n/build/\ndocs/**\n  spaced  \r\n[abc]?.txt\n\\#literal\n")
    return seeds
}

@Suite struct CorpusWriter {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["AIRLOCK_FUZZ_WRITE_CORPUS"] != nil))
    func writeSeedCorpus() async throws {
        let dir = try TemporaryDirectory()
        let seeds = try await seeds(in: dir)
        #expect(Set(seeds.keys) == Set(FuzzHarnesses.all.map(\.name)), "a harness without seeds, or seeds without a harness")
        let corpus = FuzzCorpus.root + "/corpus"
        FileSystem.removeTree(corpus)
        for (harness, files) in seeds {
            try FileSystem.makeDirectory(corpus + "/" + harness)
            for (name, bytes) in files {
                #expect(bytes.count <= 16 << 10, "\(harness)/\(name) is \(bytes.count) bytes; keep seeds small")
                try FileSystem.writeAtomically(corpus + "/" + harness + "/" + name, bytes)
            }
        }
    }
}
