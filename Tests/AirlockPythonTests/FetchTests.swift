import AirlockCore
import AirlockPython
import AirlockTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(5)))
struct FetchTests {
    /// A store, a directory of files served by a test server on 127.0.0.1, and helpers to lock them.
    final class Fixture {
        let dir: TemporaryDirectory
        let served: String
        let store: Store
        let server: TestHTTPServer
        /// The CA that signed the server's certificate (PEM), when it serves HTTPS: the one file a
        /// client needs to trust it.
        let caFile: String?

        init(tls: Bool = false) async throws {
            dir = try TemporaryDirectory()
            served = dir.path + "/served"
            try FileSystem.makeDirectory(served)
            store = try Store.open(at: dir.path + "/store")
            let certificates = tls ? try await TestCertificates(in: dir.path) : nil
            server = try await TestHTTPServer(
                serving: served,
                scratch: dir,
                tls: certificates.map { ($0.certificate, $0.key) }
            )
            caFile = certificates?.ca
        }

        /// This process's environment without any PIP_* setting or pip.conf (as LockTests run pip),
        /// without proxy variables, changed by `overrides`.
        func environment(_ overrides: [String: String] = [:]) -> [String: String] {
            var env = ProcessInfo.processInfo.environment.filter {
                !$0.key.hasPrefix("PIP_") && !$0.key.lowercased().hasSuffix("_proxy")
            }
            env["PIP_CONFIG_FILE"] = "/dev/null"
            env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
            env.removeValue(forKey: "AIRLOCK_FETCH_VIA")
            env.merge(overrides) { $1 }
            return env
        }

        /// Serves a pseudo-random wheel `<name>-1.0-py3-none-any.whl`; returns its lock entry.
        func serve(
            _ name: String,
            size: Int,
            seed: UInt64,
            mode: String = "files",
            recordSize: Bool = true
        ) throws -> (file: LockedFile, bytes: [UInt8]) {
            let bytes = pseudoRandom(size, seed: seed)
            let filename = "\(name)-1.0-py3-none-any.whl"
            try FileSystem.writeAtomically(served + "/" + filename, bytes)
            let file = LockedFile(
                name: name,
                version: "1.0",
                filename: filename,
                url: server.url(mode, filename),
                sha256: SHA256Hasher.hash(bytes).hex,
                size: recordSize ? bytes.count : nil
            )
            return (file, bytes)
        }

        func lock(_ files: [LockedFile]) -> PythonLock {
            PythonLock(
                target: PythonTarget(pythonVersion: "3.11", platform: "linux/amd64", glibc: "2.31"),
                files: files
            )
        }

        func fetch(
            _ files: [LockedFile],
            jobs: Int = 4,
            environment: [String: String]? = nil
        ) async throws -> FetchReport {
            try await Fetcher.fetch(
                lock: lock(files),
                projectName: "app",
                store: store,
                jobs: jobs,
                environment: environment ?? self.environment()
            )
        }

        /// Where an interrupted download of `sha256` waits (the directory is made, as fetch makes it).
        func partial(_ sha256: String) throws -> String {
            try FileSystem.makeDirectory(Fetcher.partialDirectory(of: store))
            return Fetcher.partialPath(of: store, for: try #require(SHA256Digest(sha256)))
        }

        func isStored(_ sha256: String) -> Bool { SHA256Digest(sha256).map(store.contains) ?? false }

        /// The blob's content hashes to its name.
        func verifies(_ sha256: String) throws -> Bool {
            let digest = try #require(SHA256Digest(sha256))
            return try Store.hashFile(store.blobPath(digest)).0 == digest
        }
    }

    static func outcome(_ report: FetchReport, _ file: LockedFile) throws -> FetchedFile {
        try #require(report.files.first { $0.filename == file.filename })
    }

    @Test func fetchesEveryFileInParallelIntoTheStoreAndRecordsIt() async throws {
        let f = try await Fixture()
        var files: [LockedFile] = []
        for i in 0..<6 {
            files.append(try f.serve("Pkg_\(i).Name", size: 40_000 + i * 50_000, seed: UInt64(i + 1)).file)
        }
        let report = try await f.fetch(files, jobs: 3)
        #expect(report.failures.isEmpty, "\(report.failureLines)")
        #expect(report.count(.fetched) == 6)
        let live = try f.store.index.liveDigests()
        for file in files {
            #expect(try f.verifies(file.sha256))
            let digest = try #require(SHA256Digest(file.sha256))
            let entries = try f.store.index.entries(digest: digest)
            let entry = try #require(entries.first)
            #expect(entry.kind == "wheel")
            #expect(entry.name == WheelName.normalize(file.name))
            #expect(entry.name.hasPrefix("pkg-"))
            #expect(entry.version == "1.0")
            #expect(entry.filename == file.filename)
            #expect(entry.origin == file.url)
            #expect(entry.size == file.size)
            #expect(live.contains(digest))
        }
        #expect(try FileSystem.list(Fetcher.partialDirectory(of: f.store)).isEmpty)
        #expect(try f.server.requests().count == 6)

        // Everything is present now: the second run makes no request at all.
        let again = try await f.fetch(files, jobs: 3)
        #expect(again.files.allSatisfy { $0.status == .present })
        #expect(try f.server.requests().count == 6)
    }

    @Test func hashOrSizeMismatchStoresNothingNamesTheFileAndOthersComplete() async throws {
        let f = try await Fixture()
        let good = try f.serve("good", size: 120_000, seed: 1).file
        var badHash = try f.serve("badhash", size: 100_000, seed: 2).file
        badHash.sha256 = SHA256Hasher.hash(pseudoRandom(100_000, seed: 99)).hex
        var tooSmall = try f.serve("toosmall", size: 90_000, seed: 3).file
        tooSmall.size = 90_001
        var tooLarge = try f.serve("toolarge", size: 90_000, seed: 4).file
        tooLarge.size = 80_000
        let report = try await f.fetch([good, badHash, tooSmall, tooLarge])

        #expect(try Self.outcome(report, good).status == .fetched)
        #expect(try f.verifies(good.sha256))
        let codes: [(LockedFile, FetchErrorCode)] = [
            (badHash, .hashMismatch), (tooSmall, .sizeMismatch), (tooLarge, .sizeMismatch),
        ]
        for (file, code) in codes {
            let outcome = try Self.outcome(report, file)
            #expect(outcome.status == .failed)
            #expect(outcome.code == code.code, "\(outcome.reason ?? "")")
            #expect(report.failureLines.contains { $0.hasPrefix(file.filename + ": ") })
            #expect(!f.isStored(file.sha256))
        }
        // The command's error: exit 1, the first failure's code, a line per failed file.
        let error = try #require(report.error)
        #expect(error.status == .checkFailed && error.code == FetchErrorCode.hashMismatch.code)
        #expect(error.reasons == report.failureLines && error.reasons.count == 3)
        // Not under the bytes' own digest either, and no partial is left to resume from bad bytes.
        #expect(!f.isStored(SHA256Hasher.hash(pseudoRandom(100_000, seed: 2)).hex))
        #expect(try FileSystem.list(Fetcher.partialDirectory(of: f.store)).isEmpty)
        #expect(try f.store.index.entries().map(\.filename) == [good.filename])
    }

    @Test func httpErrorsNameTheFileAndTheStatus() async throws {
        let f = try await Fixture()
        let good = try f.serve("good", size: 50_000, seed: 1).file
        let missing = try f.serve("missing", size: 50_000, seed: 2, mode: "missing").file
        let broken = try f.serve("broken", size: 50_000, seed: 3, mode: "error").file
        let report = try await f.fetch([good, missing, broken])
        #expect(try Self.outcome(report, good).status == .fetched)
        for (file, status) in [(missing, "HTTP 404"), (broken, "HTTP 500")] {
            let outcome = try Self.outcome(report, file)
            #expect(outcome.status == .failed)
            #expect(outcome.code == FetchErrorCode.httpStatus.code, "\(outcome.reason ?? "")")
            #expect(outcome.reason?.contains(status) == true, "\(outcome.reason ?? "")")
            #expect(report.failureLines.contains { $0.hasPrefix(file.filename + ": ") })
            #expect(!f.isStored(file.sha256))
        }
        // Nothing arrived, so nothing is kept to resume.
        #expect(try FileSystem.list(Fetcher.partialDirectory(of: f.store)).isEmpty)
    }

    @Test func redirectsAreFollowedWithinTheSchemeAndRefusedAcrossIt() async throws {
        let f = try await Fixture()
        let same = try f.serve("same", size: 60_000, seed: 1, mode: "redirect-same").file
        let ftp = try f.serve("ftp", size: 60_000, seed: 2, mode: "redirect-ftp").file
        let local = try f.serve("local", size: 60_000, seed: 3, mode: "redirect-file").file
        let report = try await f.fetch([same, ftp, local])
        #expect(try Self.outcome(report, same).status == .fetched)
        #expect(try f.verifies(same.sha256))
        #expect(try Self.outcome(report, same).code == nil)
        for (file, target) in [(ftp, "ftp://127.0.0.1/"), (local, "file:///etc/passwd")] {
            let outcome = try Self.outcome(report, file)
            #expect(outcome.status == .failed)
            #expect(outcome.code == FetchErrorCode.redirectRefused.code, "\(outcome.reason ?? "")")
            #expect(outcome.reason?.contains(target) == true)
            #expect(!f.isStored(file.sha256))
        }
    }

    @Test func anInterruptedDownloadResumesWithRangeAndVerifies() async throws {
        let f = try await Fixture()
        let (file, bytes) = try f.serve("flaky", size: 300_000, seed: 7, mode: "drop")
        let first = try await f.fetch([file])
        let failure = try Self.outcome(first, file)
        #expect(failure.status == .failed)
        #expect(failure.code == FetchErrorCode.interrupted.code, "\(failure.reason ?? "")")
        #expect(!f.isStored(file.sha256))
        let kept = try FileSystem.size(of: try f.partial(file.sha256))
        #expect(kept > 0 && kept < bytes.count)

        // A new process would open the store again: tmp/ is emptied, the partial survives.
        let second = try await f.fetch([file])
        let outcome = try Self.outcome(second, file)
        #expect(outcome.status == .fetched, "\(outcome.reason ?? "")")
        #expect(outcome.resumedFrom == kept)
        let requests = try f.server.requests()
        #expect(requests.count == 2)
        #expect(requests.first?.range == nil)
        #expect(requests.last?.range == "bytes=\(kept)-")
        #expect(try f.verifies(file.sha256))
        #expect(!FileSystem.exists(try f.partial(file.sha256)))
    }

    @Test func aCorruptPartialIsDetectedAndFetchedAgainFromZero() async throws {
        let f = try await Fixture()
        let (file, bytes) = try f.serve("corrupt", size: 200_000, seed: 8)
        var half = Array(bytes[..<100_000])
        half[500] ^= 0xFF
        try FileSystem.writeAtomically(try f.partial(file.sha256), half)

        let report = try await f.fetch([file])
        let outcome = try Self.outcome(report, file)
        #expect(outcome.status == .fetched, "\(outcome.reason ?? "")")
        #expect(outcome.resumedFrom == nil)
        let requests = try f.server.requests()
        #expect(requests.map(\.range) == ["bytes=100000-", nil])
        #expect(try f.verifies(file.sha256))
    }

    @Test func aServerThatIgnoresRangeRestartsTheDownload() async throws {
        let f = try await Fixture()
        let (file, bytes) = try f.serve("norange", size: 150_000, seed: 9, mode: "norange")
        try FileSystem.writeAtomically(try f.partial(file.sha256), Array(bytes[..<50_000]))
        let report = try await f.fetch([file])
        #expect(try Self.outcome(report, file).status == .fetched)
        #expect(try f.server.requests().map(\.range) == ["bytes=50000-"])
        #expect(try f.verifies(file.sha256))
    }

    @Test func aCompletePartialIsStoredWithoutARequest() async throws {
        let f = try await Fixture()
        let (file, bytes) = try f.serve("complete", size: 70_000, seed: 10)
        try FileSystem.writeAtomically(try f.partial(file.sha256), bytes)
        let report = try await f.fetch([file])
        #expect(try Self.outcome(report, file).status == .fetched)
        #expect(try f.server.requests().isEmpty)
        #expect(try f.verifies(file.sha256))
    }

    @Test func aLockWithoutSizesStillFetchesAndVerifies() async throws {
        let f = try await Fixture()
        let a = try f.serve("a", size: 80_000, seed: 11, recordSize: false).file
        let b = try f.serve("b", size: 1, seed: 12, recordSize: false).file
        var wrong = try f.serve("wrong", size: 80_000, seed: 13, recordSize: false).file
        wrong.sha256 = SHA256Hasher.hash(pseudoRandom(80_000, seed: 14)).hex
        let report = try await f.fetch([a, b, wrong])
        #expect(try Self.outcome(report, a).status == .fetched)
        #expect(try Self.outcome(report, b).status == .fetched)
        #expect(try Self.outcome(report, wrong).code == FetchErrorCode.hashMismatch.code)
        #expect(try f.verifies(a.sha256) && f.verifies(b.sha256))
        #expect(!f.isStored(wrong.sha256))
    }

    @Test func aFileURLIsCopiedAndVerified() async throws {
        let f = try await Fixture()
        var (file, _) = try f.serve("local", size: 40_000, seed: 15)
        file.url = "file://" + f.served + "/" + file.filename
        var missing = file
        missing.filename = "gone-1.0-py3-none-any.whl"
        missing.url = "file://" + f.served + "/gone-1.0-py3-none-any.whl"
        missing.sha256 = String(repeating: "ab", count: 32)
        let report = try await f.fetch([file, missing])
        #expect(try Self.outcome(report, file).status == .fetched)
        #expect(try f.verifies(file.sha256))
        #expect(try Self.outcome(report, missing).status == .failed)
        #expect(try Self.outcome(report, missing).code == FetchErrorCode.unreadableFile.code)
    }

    @Test func tlsVerificationStaysOnForAnUntrustedServer() async throws {
        let f = try await Fixture(tls: true)
        let file = try f.serve("tls", size: 30_000, seed: 16).file
        #expect(file.url?.hasPrefix("https://") == true)
        let report = try await f.fetch([file])
        let outcome = try Self.outcome(report, file)
        #expect(outcome.status == .failed)
        #expect(outcome.code == FetchErrorCode.noResponse.code, "\(outcome.reason ?? "")")
        #expect(outcome.reason?.lowercased().contains("certificate") == true, "\(outcome.reason ?? "")")
        #expect(!f.isStored(file.sha256))
    }

    @Test func aCABundleTheSystemStoreLacksIsFound() async throws {
        let dir = try TemporaryDirectory()
        let (status, output) = try await shell(
            "openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out corp.pem -days 1 -subj /CN=corp && cat corp.pem > both.pem",
            in: dir.path
        )
        try #require(status == 0, "openssl: \(output)")
        let system = try dir.file("system.pem", try FileSystem.readFile(dir.path + "/corp.pem"))
        let other = try dir.file("other.pem", "")
        // The system bundle holds the corporate certificate: nothing to do.
        let covered = FetchTrust.uncoveredBundles(
            environment: ["PIP_CERT": dir.path + "/corp.pem"],
            pipCert: dir.path + "/corp.pem",
            systemBundle: system
        )
        #expect(covered.isEmpty)
        // It does not: the bundle, where it was named and what it adds.
        let found = FetchTrust.uncoveredBundles(
            environment: ["REQUESTS_CA_BUNDLE": dir.path + "/both.pem", "SSL_CERT_FILE": other],
            pipCert: nil,
            systemBundle: other
        )
        #expect(
            found == [.init(source: "REQUESTS_CA_BUNDLE", path: dir.path + "/both.pem", missing: 1, total: 1)]
        )
        // pip's own setting (from pip.conf here) comes first; a directory cannot be compared.
        let fromPip = FetchTrust.uncoveredBundles(
            environment: ["SSL_CERT_FILE": dir.path],
            pipCert: dir.path + "/corp.pem",
            systemBundle: other
        )
        #expect(fromPip.map(\.label) == ["pip's cert setting=\(dir.path)/corp.pem", "SSL_CERT_FILE=\(dir.path)"])
        #expect(fromPip.map(\.missing) == [1, nil])
        // The system bundle itself, named by a variable, is honoured as it is.
        #expect(
            FetchTrust.uncoveredBundles(environment: ["SSL_CERT_FILE": system], pipCert: system, systemBundle: system)
                .isEmpty
        )
    }

    @Test func thePlanSaysWhichCABundleIsTrustedAndWhy() async throws {
        let dir = try TemporaryDirectory()
        let corp = try await TestCertificates(in: dir.path, name: "corp").ca
        let system = try dir.file("system.pem", "")
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"

        // Nothing named: the system's trust alone, nothing to say.
        var asked = 0
        let plain = await FetchTrust.plan(needsHTTPS: true, environment: ["PATH": path], systemBundle: system) { _ in
            asked += 1
            return nil
        }
        #expect(plain.caFile == nil && plain.notes.isEmpty && asked == 1)
        // No HTTPS download pending: pip is not even asked.
        _ = await FetchTrust.plan(needsHTTPS: false, environment: ["PATH": path], systemBundle: system) { _ in
            asked += 1
            return nil
        }
        #expect(asked == 1)

        // pip's cert holds a certificate the system lacks: the client gets it, and the note says so.
        let fromPip = await FetchTrust.plan(needsHTTPS: true, environment: ["PATH": path], systemBundle: system) {
            _ in corp
        }
        #expect(fromPip.caFile == corp)
        #expect(fromPip.notes.count == 1)
        let note = try #require(fromPip.notes.first)
        #expect(
            note.contains("HTTPS downloads are verified against \(system) and pip's cert setting=\(corp)"),
            "\(note)"
        )
        #expect(note.contains("holds 1 of its 1 certificate(s)"), "\(note)")

        // No python3: the environment's bundle is honoured all the same (python is not needed).
        let noPython = await FetchTrust.plan(
            needsHTTPS: true,
            environment: ["PATH": dir.path, "REQUESTS_CA_BUNDLE": corp],
            systemBundle: system
        ) { _ in
            Issue.record("pip asked without python3")
            return nil
        }
        #expect(noPython.caFile == corp)
        #expect(noPython.notes.first?.contains("REQUESTS_CA_BUNDLE=\(corp)") == true, "\(noPython.notes)")

        // pip cannot run: said so, and the environment still counts.
        struct NoPip: Error, CustomStringConvertible {
            var description: String { "Traceback\nModuleNotFoundError: pip" }
        }
        let noPip = await FetchTrust.plan(
            needsHTTPS: true,
            environment: ["PATH": path, "SSL_CERT_FILE": corp],
            systemBundle: system
        ) { _ in throw NoPip() }
        #expect(noPip.caFile == corp)
        #expect(noPip.notes.first?.contains("could not run pip (ModuleNotFoundError: pip)") == true, "\(noPip.notes)")

        // The retired switch is named as such.
        let retired = await FetchTrust.plan(
            needsHTTPS: false,
            environment: ["PATH": path, "AIRLOCK_FETCH_VIA": "pip"],
            systemBundle: system
        ) { _ in nil }
        #expect(
            retired.notes == [
                "AIRLOCK_FETCH_VIA=pip is no longer used: every download goes through Airlock's own HTTP client"
            ]
        )
    }

    @Test func aCAOnlyServerIsTrustedThroughItsCAFileAloneWithoutPython() async throws {
        let f = try await Fixture(tls: true)
        let caFile = try #require(f.caFile)
        let file = try f.serve("trusted", size: 150_000, seed: 17).file
        let env = f.environment(["PIP_CERT": caFile])
        let plan = await Fetcher.plan(lock: f.lock([file]), store: f.store, environment: env)
        #expect(plan.caFile == caFile)
        #expect(plan.notes.count == 1)
        #expect(plan.notes.first?.contains("PIP_CERT=\(caFile)") == true, "\(plan.notes)")

        let report = try await f.fetch([file], environment: env)
        let outcome = try Self.outcome(report, file)
        #expect(outcome.status == .fetched, "\(outcome.reason ?? "")")
        #expect(try f.verifies(file.sha256))
        #expect(try f.server.requests().map(\.path) == ["/files/" + file.filename])
        #expect(try FileSystem.list(Fetcher.partialDirectory(of: f.store)).isEmpty)

        // REQUESTS_CA_BUNDLE with no python3 on PATH: nothing but Airlock takes part.
        let other = try f.serve("other", size: 20_000, seed: 18).file
        let alone = f.environment(["REQUESTS_CA_BUNDLE": caFile, "PATH": f.dir.path])
        let second = try await f.fetch([other], environment: alone)
        #expect(try Self.outcome(second, other).status == .fetched, "\(second.failureLines)")
        #expect(try f.verifies(other.sha256))
    }

    @Test func anotherCAsFileDoesNotMakeTheServerTrusted() async throws {
        let f = try await Fixture(tls: true)
        let stranger = try await TestCertificates(in: f.dir.path, name: "stranger").ca
        let file = try f.serve("untrusted", size: 30_000, seed: 19).file
        let report = try await f.fetch([file], environment: f.environment(["SSL_CERT_FILE": stranger]))
        let outcome = try Self.outcome(report, file)
        #expect(outcome.status == .failed)
        #expect(outcome.code == FetchErrorCode.noResponse.code, "\(outcome.reason ?? "")")
        #expect(outcome.reason?.contains("certificate verify failed") == true, "\(outcome.reason ?? "")")
        #expect(report.failureLines.contains { $0.hasPrefix(file.filename + ": ") })
        #expect(!f.isStored(file.sha256))
        #expect(try FileSystem.list(Fetcher.partialDirectory(of: f.store)).isEmpty)
        #expect(try f.server.requests().isEmpty)
    }

    @Test func anInterruptedHTTPSDownloadResumesWithRange() async throws {
        let f = try await Fixture(tls: true)
        let env = f.environment(["PIP_CERT": try #require(f.caFile)])
        let (file, bytes) = try f.serve("flaky", size: 300_000, seed: 21, mode: "drop")
        let first = try await f.fetch([file], environment: env)
        let failure = try Self.outcome(first, file)
        #expect(failure.status == .failed)
        #expect(failure.code == FetchErrorCode.interrupted.code, "\(failure.reason ?? "")")
        #expect(!f.isStored(file.sha256))
        let kept = try FileSystem.size(of: try f.partial(file.sha256))
        #expect(kept > 0 && kept < bytes.count)

        let second = try await f.fetch([file], environment: env)
        let outcome = try Self.outcome(second, file)
        #expect(outcome.status == .fetched, "\(outcome.reason ?? "")")
        #expect(outcome.resumedFrom == kept)
        #expect(try f.server.requests().map(\.range) == [nil, "bytes=\(kept)-"])
        #expect(try f.verifies(file.sha256))
        #expect(!FileSystem.exists(try f.partial(file.sha256)))
    }

    @Test func aMismatchOverHTTPSStoresNothing() async throws {
        let f = try await Fixture(tls: true)
        let good = try f.serve("good", size: 60_000, seed: 22).file
        var badHash = try f.serve("badhash", size: 100_000, seed: 23).file
        badHash.sha256 = SHA256Hasher.hash(pseudoRandom(100_000, seed: 99)).hex
        var tooLarge = try f.serve("toolarge", size: 90_000, seed: 24).file
        tooLarge.size = 80_000
        let report = try await f.fetch(
            [good, badHash, tooLarge],
            environment: f.environment(["REQUESTS_CA_BUNDLE": try #require(f.caFile)])
        )
        #expect(try Self.outcome(report, good).status == .fetched)
        let codes: [(LockedFile, FetchErrorCode)] = [(badHash, .hashMismatch), (tooLarge, .sizeMismatch)]
        for (file, code) in codes {
            let outcome = try Self.outcome(report, file)
            #expect(outcome.status == .failed)
            #expect(outcome.code == code.code, "\(outcome.reason ?? "")")
            #expect(!f.isStored(file.sha256))
        }
        // The size is refused from the headers, before the body.
        #expect(
            try Self.outcome(report, tooLarge).reason
                == "size mismatch: the server has 90000 bytes, the lock says 80000"
        )
        #expect(!f.isStored(SHA256Hasher.hash(pseudoRandom(100_000, seed: 23)).hex))
        #expect(try FileSystem.list(Fetcher.partialDirectory(of: f.store)).isEmpty)
        #expect(try f.store.index.entries().map(\.filename) == [good.filename])
    }

    @Test func aWrongContentRangeStartsTheDownloadOverFromZero() async throws {
        let f = try await Fixture()
        let (file, bytes) = try f.serve("badrange", size: 120_000, seed: 29, mode: "badrange")
        try FileSystem.writeAtomically(try f.partial(file.sha256), Array(bytes[..<40_000]))
        let report = try await f.fetch([file])
        let outcome = try Self.outcome(report, file)
        #expect(outcome.status == .fetched, "\(outcome.reason ?? "")")
        #expect(outcome.resumedFrom == nil)
        #expect(try f.server.requests().map(\.range) == ["bytes=40000-", nil])
        #expect(try f.verifies(file.sha256))
    }

    // MARK: Proxies

    @Test func httpsProxyTunnelsEveryDownloadAndReusesItsConnections() async throws {
        let f = try await Fixture(tls: true)
        let proxy = try await TestConnectProxy(scratch: f.dir)
        let env = f.environment(["HTTPS_PROXY": proxy.url, "REQUESTS_CA_BUNDLE": try #require(f.caFile)])
        let target = "127.0.0.1:\(f.server.port)"

        // One at a time: three files, one tunnel, kept open between them.
        var files: [LockedFile] = []
        for i in 0..<3 { files.append(try f.serve("serial\(i)", size: 50_000 + i * 10_000, seed: UInt64(40 + i)).file) }
        let serial = try await f.fetch(files, jobs: 1, environment: env)
        #expect(serial.failures.isEmpty, "\(serial.failureLines)")
        #expect(try proxy.requests() == [.init(method: "CONNECT", target: target, auth: nil)])
        #expect(try f.server.requests().count == 3)

        // Three at a time: at most three tunnels (the one left open, and new ones), never one per file
        // beyond the per-host limit.
        var parallel: [LockedFile] = []
        for i in 0..<6 { parallel.append(try f.serve("par\(i)", size: 40_000, seed: UInt64(50 + i)).file) }
        let report = try await f.fetch(parallel, jobs: 3, environment: env)
        #expect(report.failures.isEmpty, "\(report.failureLines)")
        let tunnels = try proxy.requests()
        #expect(tunnels.allSatisfy { $0.method == "CONNECT" && $0.target == target })
        #expect((2...4).contains(tunnels.count), "\(tunnels)")
        #expect(try f.server.requests().count == 9)
        for file in files + parallel { #expect(try f.verifies(file.sha256)) }
    }

    @Test func noProxyBypassesTheProxyAndOtherHostsStillUseIt() async throws {
        let f = try await Fixture(tls: true)
        let proxy = try await TestConnectProxy(scratch: f.dir)
        let caFile = try #require(f.caFile)
        // Listed by address and by address:port, in either case of variable: no tunnel.
        let lists = [("NO_PROXY", "example.com, 127.0.0.1"), ("no_proxy", "127.0.0.1:\(f.server.port)")]
        for (i, (variable, list)) in lists.enumerated() {
            let file = try f.serve("direct\(i)", size: 30_000, seed: UInt64(60 + i)).file
            let env = f.environment(["https_proxy": proxy.url, variable: list, "SSL_CERT_FILE": caFile])
            let report = try await f.fetch([file], environment: env)
            #expect(try Self.outcome(report, file).status == .fetched, "\(report.failureLines)")
            #expect(try proxy.requests().isEmpty)
        }
        #expect(try f.server.requests().count == 2)
        // Another port of the same address is not listed: through the proxy.
        let file = try f.serve("proxied", size: 30_000, seed: 65).file
        let env = f.environment(["https_proxy": proxy.url, "no_proxy": "127.0.0.1:1", "SSL_CERT_FILE": caFile])
        let report = try await f.fetch([file], environment: env)
        #expect(try Self.outcome(report, file).status == .fetched, "\(report.failureLines)")
        #expect(try proxy.requests().map(\.target) == ["127.0.0.1:\(f.server.port)"])
    }

    @Test func plainHTTPGoesThroughHTTPProxyWithItsCredentials() async throws {
        let f = try await Fixture()
        let proxy = try await TestConnectProxy(scratch: f.dir)
        let file = try f.serve("plain", size: 30_000, seed: 61).file
        let env = f.environment(["http_proxy": "http://ops:s%3Acret@127.0.0.1:\(proxy.port)"])
        let report = try await f.fetch([file], environment: env)
        #expect(try Self.outcome(report, file).status == .fetched, "\(report.failureLines)")
        let basic = "Basic " + Data("ops:s:cret".utf8).base64EncodedString()
        #expect(try proxy.requests() == [.init(method: "CONNECT", target: "127.0.0.1:\(f.server.port)", auth: basic)])
        // HTTPS_PROXY alone does not apply to http URLs.
        let other = try f.serve("other", size: 10_000, seed: 62).file
        _ = try await f.fetch([other], environment: f.environment(["HTTPS_PROXY": proxy.url]))
        #expect(try proxy.requests().count == 1)
        #expect(try f.verifies(other.sha256))
    }

    @Test func aProxyThatRefusesTheTunnelOrCannotBeUsedIsNamed() async throws {
        let f = try await Fixture()
        let proxy = try await TestConnectProxy(scratch: f.dir)
        // The proxy tunnels to 127.0.0.1 only: `localhost` is refused (403), and no DNS is needed.
        var file = try f.serve("refused", size: 10_000, seed: 63).file
        file.url = file.url?.replacingOccurrences(of: "127.0.0.1", with: "localhost")
        let report = try await f.fetch([file], environment: f.environment(["HTTP_PROXY": proxy.url]))
        let outcome = try Self.outcome(report, file)
        #expect(outcome.code == FetchErrorCode.noResponse.code, "\(outcome.reason ?? "")")
        #expect(
            outcome.reason?.contains("HTTP_PROXY (127.0.0.1:\(proxy.port)) refused the tunnel") == true,
            "\(outcome.reason ?? "")"
        )
        #expect(try proxy.requests().map(\.target) == ["localhost:\(f.server.port)"])
        #expect(try f.server.requests().isEmpty)

        // An https:// proxy is refused by name (and its password is not shown), before any request.
        let env = f.environment(["http_proxy": "https://ops:secret@127.0.0.1:\(proxy.port)"])
        let second = try await f.fetch([try f.serve("https-proxy", size: 10_000, seed: 64).file], environment: env)
        let reason = try #require(second.files.first?.reason)
        #expect(
            reason.contains("http_proxy=https://***@127.0.0.1:\(proxy.port): an https:// proxy is not supported"),
            "\(reason)"
        )
        #expect(!reason.contains("secret"))
        #expect(try proxy.requests().count == 1)
    }
}
