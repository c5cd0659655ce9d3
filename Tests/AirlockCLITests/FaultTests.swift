// Disk faults through the executable (issue 15, scope 2): a store on a size-limited tmpfs the test
// mounts (as root) and unmounts, filled by `store put`, refused up front by `import` and `seal`
// when the signed manifest (or the inputs) need more than is free; and EIO, ENOSPC and short
// writes injected through the one file-writing path's test hook (WriteHooks.swift). Each failure
// is one clear message with its code, the store still verifies, nothing is left in its tmp/ after
// the next command, and the same command succeeds once there is room.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

/// A tmpfs of a given size at a path, as root; the tests that need one skip, saying so, elsewhere.
enum SmallFileSystem {
    static let canMount: Bool = {
        guard getuid() == 0, let dir = try? FileSystem.makeTemporaryDirectory(prefix: "airlock-mount-probe") else { return false }
        defer { FileSystem.removeTree(dir) }
        guard mount(dir, size: "1m") else { return false }
        unmount(dir)
        return true
    }()

    @discardableResult
    static func mount(_ path: String, size: String, remount: Bool = false) -> Bool {
        let arguments = remount ? ["-o", "remount,size=\(size)", path] : ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func unmount(_ path: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/umount")
        process.arguments = ["-l", path]
        try? process.run()
        process.waitUntilExit()
    }
}

@Suite(.enabled(if: SmallFileSystem.canMount, "needs root to mount a size-limited tmpfs (mount -t tmpfs -o size=...)"), .timeLimit(.minutes(5)))
struct FullDiskTests {
    @Test func aStorePutThatFillsTheDiskFailsClearlyLeavesTheStoreSoundAndSucceedsOnceThereIsRoom() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let small = try dir.directory("small")
        try #require(SmallFileSystem.mount(small, size: "48m"))
        defer { SmallFileSystem.unmount(small) }
        try Fixture.write(dir.file("big.bin"), count: 64 << 20, seed: 11)
        let first = try await CLI.run(["store", "put", "--store", "small/store", "--json", "big.bin"], in: dir.path, timeout: 120)
        #expect(first.status == 2 && errorCode(first) == "core.no-space", "\(first)")
        #expect(first.stderr.contains("no space left on its file system") && first.stderr.contains("free there"), "\(first)")
        #expect(try FileSystem.list(dir.file("small/store/tmp")).isEmpty, "the partial blob was removed")
        let verified = try await CLI.run(["store", "verify", "--store", "small/store"], in: dir.path)
        #expect(verified.status == 0, "\(verified)")

        try #require(SmallFileSystem.mount(small, size: "160m", remount: true))
        let again = try await CLI.run(["store", "put", "--store", "small/store", "big.bin"], in: dir.path, timeout: 120)
        #expect(again.status == 0, "\(again)")
        #expect(try FileSystem.list(dir.file("small/store/tmp")).isEmpty)
    }

    @Test func importAndSealRefuseUpFrontWhenTheyNeedMoreThanIsFreeAndSucceedOnceThereIsRoom() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try dir.directory("payload")
        try Fixture.write(dir.file("payload/big.bin"), count: 40 << 20, seed: 12)
        let sealed = try await CLI.run(["seal", "--key", key.key, "--out", "b.airlock", "payload"], in: dir.path, timeout: 120)
        try #require(sealed.status == 0, "\(sealed)")
        let small = try dir.directory("small")
        try #require(SmallFileSystem.mount(small, size: "80m"))
        defer { SmallFileSystem.unmount(small) }
        let trusted = try await CLI.run(["trust", "add", key.pub, "--store", "small/store"], in: dir.path)
        try #require(trusted.status == 0, "\(trusted)")

        // 40 MiB of blobs and 64 MiB of slack do not fit in 80 MiB: refused before a byte is written.
        let imported = try await CLI.run(["import", "--store", "small/store", "--json", "b.airlock"], in: dir.path, timeout: 120)
        #expect(imported.status == 2 && errorCode(imported) == "core.no-space", "\(imported)")
        #expect(imported.stderr.contains("not enough free space for importing bundle") && imported.stderr.contains("needs"), "\(imported)")
        #expect(try FileSystem.list(dir.file("small/store/blobs/sha256")).isEmpty)
        let resealed = try await CLI.run(["seal", "--key", key.key, "--out", "small/b.airlock", "--json", "payload"], in: dir.path, timeout: 120)
        #expect(resealed.status == 2 && errorCode(resealed) == "core.no-space", "\(resealed)")
        #expect(try FileSystem.list(small).filter { $0 != "store" }.isEmpty, "no partial bundle")

        try #require(SmallFileSystem.mount(small, size: "256m", remount: true))
        let importedAgain = try await CLI.run(["import", "--store", "small/store", "b.airlock"], in: dir.path, timeout: 120)
        #expect(importedAgain.status == 0, "\(importedAgain)")
        let resealedAgain = try await CLI.run(["seal", "--key", key.key, "--out", "small/b.airlock", "payload"], in: dir.path, timeout: 120)
        #expect(resealedAgain.status == 0, "\(resealedAgain)")
    }
}

extension FullDiskTests {
    @Test func anImageImportIsRefusedUpFrontWhenTheArchiveNeedsMoreThanIsFree() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let small = try dir.directory("small")
        try #require(SmallFileSystem.mount(small, size: "48m"))
        defer { SmallFileSystem.unmount(small) }
        let archive = try HostPythonImage.archive()
        let refused = try await CLI.run(["image", "import", "--store", "small/store", "--json", archive], in: dir.path, timeout: 120)
        #expect(refused.status == 2 && errorCode(refused) == "core.no-space", "\(refused)")
        #expect(refused.stderr.contains("not enough free space for importing image archive"), "\(refused)")
        #expect(try FileSystem.list(dir.file("small/store/tmp")).isEmpty && (try FileSystem.list(dir.file("small/store/blobs/sha256"))).isEmpty)
        try #require(SmallFileSystem.mount(small, size: "160m", remount: true))
        let imported = try await CLI.run(["image", "import", "--store", "small/store", archive], in: dir.path, timeout: 120)
        #expect(imported.status == 0, "\(imported)")
    }
}

/// A wheel of about `size` bytes on a local file server (python3 -m http.server), and
/// `app/airlock.lock` naming it by URL, sha256 and size, for `fetch`.
enum BigWheel {
    static let name = "bigwheel-1.0-py3-none-any.whl"

    static func serve(in dir: TempDir, size: Int) async throws -> (server: BackgroundProcess, sha256: String) {
        let made = try await Shell.run(
            """
            mkdir -p files app && python3 -c 'import os, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_STORED)
            z.writestr("bigwheel/__init__.py", "")
            z.writestr("bigwheel/data.bin", os.urandom(int(sys.argv[2])))
            z.writestr("bigwheel-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
            z.writestr("bigwheel-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: bigwheel\\nVersion: 1.0\\n")
            z.writestr("bigwheel-1.0.dist-info/RECORD", "")
            z.close()' files/\(name) \(size)
            """,
            in: dir.path
        )
        guard made.status == 0 else { throw CLIError(description: "could not make the wheel: \(made)") }
        let sha = try await Shell.sha256(of: dir.file("files/" + name))
        let bytes = try FileSystem.size(of: dir.file("files/" + name))
        let server = try await StaticServer.python(root: dir.file("files"))
        let lock = #"{"files": [{"filename": "\#(name)", "name": "bigwheel", "sha256": "\#(sha)", "size": \#(bytes), "url": "\#(server.firstLine)/\#(name)", "version": "1.0"}], "lockVersion": 1, "target": {"glibc": "2.31", "platform": "linux/amd64", "pythonVersion": "3.11"}}"#
        try FileSystem.writeAtomically(dir.file("app/airlock.lock"), Array(lock.utf8))
        try FileSystem.writeAtomically(dir.file("app/requirements.txt"), Array("bigwheel==1.0\n".utf8))
        return (server, sha)
    }
}

extension FullDiskTests {
    @Test func aFetchThatFillsTheDiskFailsClearlyAndFetchesOnceThereIsRoom() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (server, sha) = try await BigWheel.serve(in: dir, size: 64 << 20)
        // The server is stopped however the test ends, and before it returns.
        do {
            let small = try dir.directory("small")
            try #require(SmallFileSystem.mount(small, size: "48m"))
            defer { SmallFileSystem.unmount(small) }
            let failed = try await CLI.run(["fetch", "--project", "app", "--store", "small/store", "--json"], in: dir.path, timeout: 120)
            #expect(failed.status != 0 && failed.stderr.contains("no space left on its file system"), "\(failed)")
            #expect(try FileSystem.list(dir.file("small/store/tmp")).isEmpty, "the partial download was removed")
            let verified = try await CLI.run(["store", "verify", "--store", "small/store"], in: dir.path)
            #expect(verified.status == 0, "\(verified)")
            try #require(SmallFileSystem.mount(small, size: "160m", remount: true))
            let fetched = try await CLI.run(["fetch", "--project", "app", "--store", "small/store"], in: dir.path, timeout: 120)
            #expect(fetched.status == 0, "\(fetched)")
            #expect(FileSystem.kind(of: dir.file("small/store/blobs/sha256/" + sha)) == .regular)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }
}

/// A build whose output folder is on a full disk: the zip cannot be written; nothing partial is
/// left there or in the store, and the build succeeds once there is room.
@Suite(
    .containerEngines, .enabled(if: SmallFileSystem.canMount, "needs root to mount a size-limited tmpfs (mount -t tmpfs -o size=...)"),
    .timeLimit(.minutes(5))
)
struct FullDiskBuildTests {
    @Test func aBuildWhoseZipDoesNotFitFailsClearlyAndBuildsOnceThereIsRoom() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try await FunctionsStandIn.project(dir, app: "import azure.functions as func\napp = func.FunctionApp()\n@app.route()\ndef hello(req): pass\n")
        // An app file of 8 MiB of noise: the zip cannot fit in a 4 MiB tmpfs.
        try Fixture.write(dir.file("app/noise.bin"), count: 8 << 20, seed: 16)
        let small = try dir.directory("small")
        try #require(SmallFileSystem.mount(small, size: "4m"))
        defer { SmallFileSystem.unmount(small) }
        let arguments = ["build", "--project", "app", "--store", "store", "--runtime", "bwrap", "--image", HostPythonImage.reference, "--no-cache", "--out", "small/dist"]
        let failed = try await CLI.run(arguments + ["--json"], in: dir.path, timeout: 300)
        #expect(failed.status == 2 && errorCode(failed) == "core.no-space", "\(failed)")
        #expect(failed.stderr.contains("no space left on its file system"), "\(failed)")
        let left = ((try? FileSystem.list(dir.file("small/dist"))) ?? []).filter { !$0.hasPrefix(".") || $0.contains(".tmp-") }
        #expect(left.isEmpty, "\(left)")
        #expect(try FileSystem.list(dir.file("store/tmp")).isEmpty)
        let verified = try await CLI.run(["store", "verify", "--store", "store"], in: dir.path, timeout: 120)
        #expect(verified.status == 0, "\(verified)")
        try #require(SmallFileSystem.mount(small, size: "64m", remount: true))
        let built = try await CLI.run(arguments, in: dir.path, timeout: 300)
        #expect(built.status == 0, "\(built)")
        #expect(FileSystem.kind(of: dir.file("small/dist/app.zip")) == .regular)
    }
}

@Suite(.timeLimit(.minutes(5))) struct WriteFaultTests {
    @Test(arguments: [("EIO", "core.file", "Input/output error"), ("ENOSPC", "core.no-space", "no space left")])
    func aWriteErrorInTheMiddleOfAnImportFailsItWholeAndTheNextImportCompletes(fault: String, code: String, text: String) async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try dir.directory("payload")
        try Fixture.write(dir.file("payload/big.bin"), count: 8 << 20, seed: 13)
        let sealed = try await CLI.run(["seal", "--key", key.key, "--out", "b.airlock", "payload"], in: dir.path, timeout: 120)
        try #require(sealed.status == 0, "\(sealed)")
        let trusted = try await CLI.run(["trust", "add", key.pub, "--store", "inside"], in: dir.path)
        try #require(trusted.status == 0, "\(trusted)")

        let failed = try await CLI.run(
            ["import", "--store", "inside", "--json", "b.airlock"], in: dir.path,
            environment: ["AIRLOCK_TEST_FAIL": fault, "AIRLOCK_TEST_FAIL_AFTER_BYTES": "\(2 << 20)"], timeout: 120
        )
        #expect(failed.status == 2 && errorCode(failed) == code, "\(failed)")
        #expect(failed.stderr.contains(text) && failed.stderr.contains("inside/tmp/"), "\(failed)")
        #expect(try FileSystem.list(dir.file("inside/tmp")).isEmpty, "the staged blobs were removed")
        let history = try await CLI.run(["history", "--store", "inside", "--json"], in: dir.path)
        #expect((try parseJSON(history) as? [Any])?.isEmpty == true, "\(history)")
        let verified = try await CLI.run(["store", "verify", "--store", "inside"], in: dir.path)
        #expect(verified.status == 0, "\(verified)")
        let again = try await CLI.run(["import", "--store", "inside", "b.airlock"], in: dir.path, timeout: 120)
        #expect(again.status == 0, "\(again)")
    }

    @Test func shortWritesGiveTheSameBundleAndTheSameStore() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let key = try await Fixture.key(dir)
        try dir.directory("payload")
        try Fixture.write(dir.file("payload/a.bin"), count: 3 << 20, seed: 14)
        try Fixture.write(dir.file("payload/b.bin"), count: 1000, seed: 15)
        let epoch = ["SOURCE_DATE_EPOCH": Fixture.recentEpoch]
        // The same file name in two folders: VERIFY.md names the bundle's file.
        try dir.directory("whole")
        try dir.directory("short")
        let whole = try await CLI.run(["seal", "--key", key.key, "--sequence", "1", "--out", "whole/b.airlock", "payload"], in: dir.path, environment: epoch, timeout: 120)
        let short = try await CLI.run(
            ["seal", "--key", key.key, "--sequence", "1", "--out", "short/b.airlock", "payload"], in: dir.path,
            environment: epoch.merging(["AIRLOCK_TEST_FAIL": "SHORT"]) { $1 }, timeout: 120
        )
        try #require(whole.status == 0 && short.status == 0, "\(whole)\n\(short)")
        #expect(try await Shell.sha256(of: dir.file("whole/b.airlock")) == (try await Shell.sha256(of: dir.file("short/b.airlock"))))
        let trusted = try await CLI.run(["trust", "add", key.pub, "--store", "inside"], in: dir.path)
        try #require(trusted.status == 0, "\(trusted)")
        let imported = try await CLI.run(["import", "--store", "inside", "short/b.airlock"], in: dir.path, environment: ["AIRLOCK_TEST_FAIL": "SHORT"], timeout: 120)
        #expect(imported.status == 0, "\(imported)")
        let verified = try await CLI.run(["store", "verify", "--store", "inside"], in: dir.path)
        #expect(verified.status == 0, "\(verified)")
    }
}
