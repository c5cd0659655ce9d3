// `airlock build`'s decision to bootstrap its missing default image, without the network: a
// stand-in mmdebstrap (as ImageBootstrapTests use) records its arguments and copies a small rootfs
// tar; the mirror is a local directory, or a loopback port nothing listens on.

import AirlockContainer
import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A project locked for Python 3.11, an empty store, a rootfs tar shaped like mmdebstrap's, a
/// stand-in mmdebstrap that writes it, and a directory to serve as a `file:` mirror.
private struct SetUp {
    let dir: TemporaryDirectory
    let project: String
    let store: Store
    let standIn: String
    let mirror: String
    var argumentsPath: String { dir.path + "/args" }

    init() throws {
        dir = try TemporaryDirectory()
        project = dir.path + "/app"
        try dir.file(
            "app/airlock.lock",
            #"{"lockVersion": 1, "target": {"pythonVersion": "3.11", "platform": "linux/amd64", "glibc": "2.31"}, "files": []}"#
        )
        store = try Store.open(at: dir.path + "/store")
        let rootfs = dir.path + "/rootfs.tar"
        let writer = try TarWriter(output: try FileArchiveOutput(path: rootfs), name: rootfs, compression: .none)
        func add(_ path: String, _ kind: TarHeader.Kind, mode: UInt32, data: [UInt8] = []) throws {
            try writer.add(TarHeader(path: path, kind: kind, mode: mode, mtime: 1_700_000_000)) { w in
                try data.withUnsafeBytes { try w.writeData($0) }
            }
        }
        let status = Array(
            "Package: python3\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.11.2-1+b1\n\n".utf8
        )
        for directory in ["./", "./usr/", "./usr/bin/", "./var/", "./var/lib/", "./var/lib/dpkg/"] {
            try add(directory, .directory, mode: 0o755)
        }
        try add("./usr/bin/python3", .regular(size: 4), mode: 0o755, data: Array("#!\n\n".utf8))
        try add("./var/lib/dpkg/status", .regular(size: status.count), mode: 0o644, data: status)
        try writer.close()
        let script = """
            #!/bin/sh
            if [ "$1" = "--version" ]; then echo "mmdebstrap 0.0-standin"; exit 0; fi
            printf '%s\\n' "$@" > '\(dir.path)/args'
            n=0; out=""
            for a in "$@"; do case "$a" in --*) ;; *) n=$((n+1)); [ "$n" -eq 2 ] && out="$a";; esac; done
            cp '\(rootfs)' "$out"
            """
        standIn = try dir.file("bin/mmdebstrap", script)
        chmod(standIn, 0o755)
        mirror = "file://" + dir.path + "/debian"
        try FileSystem.makeDirectory(dir.path + "/debian")
    }

    func policy(allowed: Bool = true, mmdebstrap: String? = nil, mirror: String? = nil) -> DefaultImageBootstrap {
        DefaultImageBootstrap(isAllowed: allowed, mirror: mirror ?? self.mirror, mmdebstrap: mmdebstrap ?? standIn)
    }

    var standInRan: Bool { FileSystem.exists(argumentsPath) }
}

@Suite(.timeLimit(.minutes(1))) struct DefaultImageBootstrapTests {
    @Test func aMissingDefaultImageIsBootstrappedWithTheProfilesSuiteAndPython() async throws {
        let setUp = try SetUp()
        let image = try await PythonBuild.buildImage(
            project: setUp.project,
            image: nil,
            store: setUp.store,
            bootstrap: setUp.policy()
        )
        #expect(image.reference == "airlock-python:3.11-bookworm")
        let arguments = try String(decoding: FileSystem.readFile(setUp.argumentsPath), as: UTF8.self)
            .split(separator: "\n").map(String.init)
        #expect(arguments.contains("bookworm") && arguments.contains("--include=python3"), "\(arguments)")
        #expect(arguments.last == setUp.mirror, "\(arguments)")
        #expect(try ImageCatalog.list(in: setUp.store).map(\.reference) == ["airlock-python:3.11-bookworm"])

        // Now in the store: taken as it is, mmdebstrap not run again.
        try FileSystem.remove(setUp.argumentsPath)
        let again = try await PythonBuild.buildImage(
            project: setUp.project,
            image: nil,
            store: setUp.store,
            bootstrap: setUp.policy()
        )
        #expect(again.manifest == image.manifest)
        #expect(!setUp.standInRan)
    }

    @Test func noBootstrapRefusesWithTheMessageThatNamesTheBootstrapCommand() async throws {
        let setUp = try SetUp()
        let error = try await setUp.refusal(setUp.policy(allowed: false))
        #expect(error.code == ImageErrorCode.notFound.code)
        #expect(
            error.description.contains(
                "airlock image bootstrap --suite bookworm --packages python3 --name airlock-python:3.11-bookworm"
            ),
            "\(error)"
        )
        #expect(!setUp.standInRan)
    }

    @Test func withoutMmdebstrapTheBuildRefusesAndSaysWhy() async throws {
        let setUp = try SetUp()
        let error = try await setUp.refusal(setUp.policy(mmdebstrap: setUp.dir.path + "/no-such/mmdebstrap"))
        #expect(error.code == ImageErrorCode.notFound.code)
        #expect(error.description.contains("airlock image bootstrap --suite bookworm"), "\(error)")
        #expect(error.description.contains("not bootstrapped here: mmdebstrap is not installed"), "\(error)")
    }

    @Test(arguments: ["http://127.0.0.1:1/debian", "file:///no/such/mirror"])
    func anUnreachableMirrorRefusesWithoutStartingMmdebstrap(mirror: String) async throws {
        let setUp = try SetUp()
        let error = try await setUp.refusal(setUp.policy(mirror: mirror))
        #expect(error.code == ImageErrorCode.notFound.code)
        #expect(error.description.contains("airlock image bootstrap --suite bookworm"), "\(error)")
        #expect(error.description.contains("the Debian mirror \(mirror)"), "\(error)")
        #expect(!setUp.standInRan)
    }

    @Test func aMissingImageNamedWithImageIsNeverBootstrapped() async throws {
        let setUp = try SetUp()
        let error = try await #require(throws: ImageError.self) {
            try await PythonBuild.buildImage(
                project: setUp.project,
                image: "functions-python:3.11",
                store: setUp.store,
                bootstrap: setUp.policy()
            )
        }
        #expect(error.code == ImageErrorCode.notFound.code)
        #expect(!setUp.standInRan)
    }

    @Test func aMalformedMirrorIsABadOption() async throws {
        let setUp = try SetUp()
        let error = try await setUp.refusal(setUp.policy(mirror: "deb.example.org"))
        #expect(error.code == ImageErrorCode.badOption.code, "\(error)")
    }

    @Test func theProbeFindsTheMirrorsHostPortAndProxy() {
        #expect(
            MirrorProbe.endpoint(of: "http://deb.debian.org/debian")
                == MirrorProbe.Endpoint(scheme: "http", host: "deb.debian.org", port: 80)
        )
        #expect(
            MirrorProbe.endpoint(of: "https://user@[::1]:8443/debian")
                == MirrorProbe.Endpoint(scheme: "https", host: "::1", port: 8443)
        )
        #expect(MirrorProbe.endpoint(of: "ftp://x/") == nil)
        let mirror = MirrorProbe.Endpoint(scheme: "http", host: "deb.debian.org", port: 80)
        let proxy = MirrorProbe.proxyEndpoint(for: mirror, environment: ["http_proxy": "http://proxy.corp:3128"])
        #expect(proxy?.host == "proxy.corp" && proxy?.port == 3128)
        #expect(MirrorProbe.proxyEndpoint(for: mirror, environment: ["HTTP_PROXY": "proxy.corp:8080"])?.port == 8080)
        #expect(
            MirrorProbe.proxyEndpoint(
                for: mirror,
                environment: ["http_proxy": "http://proxy.corp:3128", "no_proxy": "localhost,.debian.org"]
            ) == nil
        )
        #expect(MirrorProbe.proxyEndpoint(for: mirror, environment: ["https_proxy": "http://p:1"]) == nil)
    }
}

extension SetUp {
    /// The error a build with no image and this bootstrap policy stops with.
    func refusal(_ policy: DefaultImageBootstrap) async throws -> UsageError {
        try await #require(throws: UsageError.self) {
            try await PythonBuild.buildImage(project: project, image: nil, store: store, bootstrap: policy)
        }
    }
}
