// `airlock serve` as a client meets it: the binary started on 127.0.0.1 (port 0) over a store a
// signed bundle was imported into, asked with curl and with raw sockets (python3) for the requests
// curl will not send, stopped with SIGTERM. The Go path (`go mod download` through `/go/`) is in
// GoHandlerCLITests, where a bundle with Go modules is built.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

/// `airlock serve` over a store; its first line is the base URL. Dropped, it is killed.
final class ServeProcess {
    let process: BackgroundProcess
    let url: String

    init(store: String, in directory: String, extra: [String] = []) async throws {
        process = try await BackgroundProcess.start(
            ChildProcess(
                executable: CLI.binary,
                arguments: ["serve", "--listen", "127.0.0.1:0", "--store", store] + extra,
                environment: ["PATH": "/usr/bin:/bin"], workingDirectory: directory,
                stopSignal: 15, stopGrace: .seconds(10)
            )
        )
        url = process.firstLine
    }

    /// Stops it with SIGTERM; its exit status.
    func stop() async -> Int32? { await process.stop()?.status }
}

@Suite(.serialized, .timeLimit(.minutes(5))) struct ServeCLITests {
    /// A store with a signed bundle of two files imported, and the files.
    func importedStore(_ dir: TempDir) async throws -> (big: [UInt8], bigDigest: String) {
        let big = pseudoRandom(1 << 20, seed: 7)
        try Data(big).write(to: URL(fileURLWithPath: dir.file("in/wheel.whl")).createDirectoryIfNeeded())
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: dir.file("in/hello.txt")))
        for command in [
            ["key", "generate", "--out", "keys/team"],
            ["seal", "--key", "keys/team.key", "--out", "one.airlock", "--store", "outside", "in/wheel.whl", "in/hello.txt"],
            ["trust", "add", "--store", "inside", "--name", "team", "keys/team.pub"],
            ["import", "--store", "inside", "one.airlock"],
        ] {
            let result = try await CLI.run(command, in: dir.path)
            try #require(result.status == 0, "\(command): \(result)")
        }
        return (big, SHA256Hasher.hash(big).hex)
    }

    /// importedStore's store with the host Python image sealed and imported too: its reference
    /// and the store's manifest digest.
    func storeWithImage(_ dir: TempDir) async throws -> (reference: String, manifest: String) {
        _ = try await importedStore(dir)
        let reference = HostPythonImage.reference
        for command in [
            ["image", "import", "--store", "outside", try HostPythonImage.archive()],
            ["seal", "--key", "keys/team.key", "--out", "image.airlock", "--store", "outside", "--image", reference],
            ["import", "--store", "inside", "image.airlock"],
        ] {
            let result = try await CLI.run(command, in: dir.path, timeout: 120)
            try #require(result.status == 0, "\(command): \(result)")
        }
        let listed = try await CLI.run(["image", "ls", "--store", "inside", "--json"], in: dir.path)
        let images = try #require(try parseJSON(listed) as? [[String: Any]], "\(listed)")
        return (reference, try #require(images.first?["manifest"] as? String, "\(listed)"))
    }

    func curl(_ arguments: String, in dir: TempDir) async throws -> (Int32, String) {
        try await shell("curl -s -S --max-time 10 \(arguments)", in: dir.path)
    }

    @Test func blobsAndArtifactsAreServedWithETagsRangesAndHeadOnlyWhenImported() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (big, hex) = try await importedStore(dir)
        let serve = try await ServeProcess(store: "inside", in: dir.path)
        let base = serve.url
        #expect(base.hasPrefix("http://127.0.0.1:"))

        var (status, output) = try await curl("'\(base)/healthz'", in: dir)
        #expect(status == 0 && output == "ok\n", "\(output)")
        (status, output) = try await curl("-o got.whl -w '%{http_code} %{content_type}' '\(base)/artifacts/wheel.whl'", in: dir)
        #expect(output == "200 application/zip", "\(output)")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir.file("got.whl")))) == big)

        (status, output) = try await curl("-D - -o /dev/null '\(base)/blobs/sha256/\(hex)'", in: dir)
        #expect(output.contains("ETag: \"sha256:\(hex)\""), "\(output)")
        #expect(output.contains("Content-Length: 1048576"), "\(output)")
        (status, output) = try await curl("-I '\(base)/blobs/sha256/\(hex)'", in: dir)
        #expect(output.hasPrefix("HTTP/1.1 200") && output.contains("Content-Length: 1048576"), "\(output)")
        (status, output) = try await curl("-o /dev/null -w '%{http_code}' -H 'If-None-Match: \"sha256:\(hex)\"' '\(base)/blobs/sha256/\(hex)'", in: dir)
        #expect(output == "304", "\(output)")
        (status, output) = try await curl("-D - -o part.bin -H 'Range: bytes=10-19' '\(base)/blobs/sha256/\(hex)'", in: dir)
        #expect(output.hasPrefix("HTTP/1.1 206") && output.contains("Content-Range: bytes 10-19/1048576"), "\(output)")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir.file("part.bin")))) == Array(big[10...19]))
        (status, output) = try await curl("-o part.bin -w '%{http_code}' -H 'Range: bytes=-5' '\(base)/blobs/sha256/\(hex)'", in: dir)
        #expect(output == "206")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir.file("part.bin")))) == Array(big.suffix(5)))
        for range in ["bytes=2000000-", "bytes=99999999999999999999999-", "bytes=5-2"] {
            (status, output) = try await curl("-D - -o /dev/null -H 'Range: \(range)' '\(base)/blobs/sha256/\(hex)'", in: dir)
            #expect(output.hasPrefix("HTTP/1.1 416") && output.contains("Content-Range: bytes */1048576"), "\(range): \(output)")
        }

        // In the store, but no imported bundle carried it: not served.
        let loose = dir.file("loose.txt")
        try Data("not imported\n".utf8).write(to: URL(fileURLWithPath: loose))
        let put = try await CLI.run(["store", "put", "--store", "inside", "loose.txt"], in: dir.path)
        #expect(put.status == 0, "\(put)")
        let looseHex = SHA256Hasher.hash(Array("not imported\n".utf8)).hex
        (status, output) = try await curl("-o /dev/null -w '%{http_code}' '\(base)/blobs/sha256/\(looseHex)'", in: dir)
        #expect(output == "404", "\(output)")

        // A bundle imported while it runs is served at once.
        try Data("new\n".utf8).write(to: URL(fileURLWithPath: dir.file("in/new.txt")))
        let second = try await CLI.run(
            ["seal", "--key", "keys/team.key", "--out", "two.airlock", "--store", "outside", "in/new.txt"], in: dir.path
        )
        #expect(second.status == 0, "\(second)")
        let imported = try await CLI.run(["import", "--store", "inside", "two.airlock"], in: dir.path)
        #expect(imported.status == 0, "\(imported)")
        (status, output) = try await curl("'\(base)/artifacts/new.txt'", in: dir)
        #expect(output == "new\n", "\(output)")

        // A second serve on the same store answers too; SIGTERM ends both with exit 0.
        let other = try await ServeProcess(store: "inside", in: dir.path)
        (status, output) = try await curl("'\(other.url)/artifacts/hello.txt'", in: dir)
        #expect(output == "hello\n", "\(output)")
        #expect(await other.stop() == 0)
        #expect(await serve.stop() == 0)
    }

    @Test func hostileRequestsGetAClear4xxAndTheServerKeepsServing() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try await importedStore(dir)
        let serve = try await ServeProcess(store: "inside", in: dir.path, extra: ["--idle-timeout", "2"])
        let base = serve.url
        for target in [
            "/artifacts/../index.sqlite", "/artifacts/%2e%2e/index.sqlite", "/artifacts/%252e%252e/index.sqlite",
            "/artifacts/..%5cindex.sqlite", "/artifacts/a%00b", "/blobs//sha256", "/%ff",
        ] {
            let (_, output) = try await curl("--path-as-is -o /dev/null -w '%{http_code}' '\(base)\(target)'", in: dir)
            #expect(output == "400", "\(target): \(output)")
        }
        let long = String(repeating: "a", count: 10_000)
        var (_, output) = try await curl("-o /dev/null -w '%{http_code}' '\(base)/artifacts/\(long)'", in: dir)
        #expect(output == "414", "\(output)")
        (_, output) = try await curl("-X PROPFIND -o /dev/null -w '%{http_code}' '\(base)/artifacts/hello.txt'", in: dir)
        #expect(output == "405", "\(output)")
        (_, output) = try await curl("-X GET --data-binary 'a body' '\(base)/artifacts/hello.txt'", in: dir)
        #expect(output == "hello\n", "a body on GET is ignored: \(output)")
        (_, output) = try await curl("-o /dev/null -w '%{http_code}' -H 'X-Big: \(String(repeating: "b", count: 40_000))' '\(base)/healthz'", in: dir)
        #expect(output.hasPrefix("4") || output == "000", "a 40 KB header: \(output)")

        // Many headers, and a client that never finishes its request, over raw sockets.
        let port = base.split(separator: ":").last.map(String.init) ?? ""
        let script = dir.file("raw.py")
        try Data(
            #"""
            import socket, sys, time
            port = int(sys.argv[1])
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(500)) + b"\r\n")
            print("many-headers", s.recv(200).split(b"\r\n")[0].decode() or "closed")
            s.close()
            slow = socket.create_connection(("127.0.0.1", port))
            slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            slow.settimeout(10)
            start = time.time()
            data = slow.recv(100)
            print("slow-closed-after", round(time.time() - start), repr(data[:12]))
            """#.utf8
        ).write(to: URL(fileURLWithPath: script))
        (_, output) = try await shell("python3 '\(script)' \(port)", in: dir.path)
        #expect(output.contains("many-headers HTTP/1.1 4") || output.contains("many-headers closed"), "\(output)")
        let slow = output.split(separator: "\n").first { $0.hasPrefix("slow-closed-after") }
        #expect(slow.map { Int($0.split(separator: " ")[1]) ?? 99 }.map { $0 <= 5 } == true, "\(output)")
        (_, output) = try await curl("'\(base)/healthz'", in: dir)
        #expect(output == "ok\n", "still serving: \(output)")
        #expect(await serve.stop() == 0)
    }

    /// ca.pem (a test CA) and mirror.pem/mirror.key (a certificate it signed for 127.0.0.1).
    func makeTestCA(_ dir: TempDir) async throws {
        let (made, output) = try await shell(
            """
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=test-ca \\
                -keyout ca.key -out ca.pem 2>/dev/null &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \\
                -keyout mirror.key -out mirror.csr 2>/dev/null &&
            printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf &&
            openssl x509 -req -in mirror.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf \\
                -out mirror.pem 2>/dev/null
            """,
            in: dir.path
        )
        try #require(made == 0, "\(output)")
    }

    /// A real wheel (hand-made, with a correct RECORD) whose METADATA says Requires-Python >=3.8;
    /// `python3 wheel.py OUT [VERSION]` (1.0 by default).
    static let wheelScript = #"""
        import base64, hashlib, sys, zipfile
        out = sys.argv[1]
        version = sys.argv[2] if len(sys.argv) > 2 else "1.0"
        d = "airlock_demo-%s.dist-info" % version
        files = {
            "airlock_demo/__init__.py": b"GREETING = 'hello from the mirror'\nVERSION = '%s'\n" % version.encode(),
            d + "/METADATA": b"Metadata-Version: 2.1\nName: airlock-demo\nVersion: %s\nRequires-Python: >=3.8\n\n" % version.encode(),
            d + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: airlock-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        }
        record = ""
        for path, data in files.items():
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record += "%s,sha256=%s,%d\n" % (path, digest, len(data))
        files[d + "/RECORD"] = (record + d + "/RECORD,,\n").encode()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for path, data in files.items():
                z.writestr(path, data)
        """#

    @Test func aFileTheLockTookAlthoughYankedIsListedYankedAndPipTakesItOnlyWhenPinned() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try await importedStore(dir)
        try Data(Self.wheelScript.utf8).write(to: URL(fileURLWithPath: dir.file("wheel.py")))
        // Two apps, each locked to one version of airlock-demo: 1.0, and 1.1, which the lock took
        // although the index had yanked it. Each goes through fetch, build, seal --project and import.
        for (app, version, yanked) in [("one", "1.0", nil), ("two", "1.1", "broken import")] as [(String, String, String?)] {
            let wheelName = "airlock_demo-\(version)-py3-none-any.whl"
            let (made, madeOutput) = try await shell("mkdir -p wheels \(app) && python3 wheel.py wheels/\(wheelName) \(version)", in: dir.path)
            try #require(made == 0, "\(madeOutput)")
            let wheelPath = dir.file("wheels/" + wheelName)
            let hex = try Store.hashFile(wheelPath).0.hex
            var file: [String: Any] = [
                "name": "airlock-demo", "version": version, "filename": wheelName, "url": "file://" + wheelPath,
                "sha256": hex, "size": try FileSystem.size(of: wheelPath),
            ]
            if let yanked { file["yanked"] = yanked }
            let lock: [String: Any] = [
                "lockVersion": 1, "target": ["pythonVersion": "3.11", "platform": "linux/amd64", "glibc": "2.31"],
                "files": [file],
            ]
            try JSONSerialization.data(withJSONObject: lock).write(to: URL(fileURLWithPath: dir.file("\(app)/airlock.lock")))
            for (name, text) in [
                ("function_app.py", "import azure.functions as func\napp = func.FunctionApp()\n"), ("host.json", "{\"version\": \"2.0\"}\n"),
                ("requirements.txt", "airlock-demo==\(version)\n"),
            ] {
                try Data(text.utf8).write(to: URL(fileURLWithPath: dir.file("\(app)/\(name)")))
            }
            for command in [
                ["fetch", "--project", app, "--store", "outside"],
                ["build", "--project", app, "--store", "outside", "--no-sandbox", "--no-compile-bytecode"],
                ["seal", "--project", app, "--store", "outside", "--key", "keys/team.key", "--no-build-image", "--out", "\(app).airlock"],
                ["import", "--store", "inside", "\(app).airlock"],
            ] {
                let result = try await CLI.run(command, in: dir.path)
                try #require(result.status == 0, "\(command): \(result)")
            }
        }
        let server = try await ServeProcess(store: "inside", in: dir.path)
        let base = server.url
        var (_, output) = try await curl("'\(base)/simple/airlock-demo/'", in: dir)
        let links = output.split(separator: "\n").filter { $0.hasPrefix("<a ") }
        #expect(links.count == 2, "\(output)")
        #expect(links.first { $0.contains("airlock_demo-1.1-") }?.contains("data-yanked=\"broken import\"") == true, "\(output)")
        #expect(links.first { $0.contains("airlock_demo-1.0-") }?.contains("data-yanked") == false, "\(output)")
        (_, output) = try await curl("-H 'Accept: application/vnd.pypi.simple.v1+json' '\(base)/simple/airlock-demo/'", in: dir)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        let files = try #require(json["files"] as? [[String: Any]], "\(output)")
        let yanked = Dictionary(uniqueKeysWithValues: files.map { ($0["filename"] as? String ?? "", $0["yanked"] as? String) })
        #expect(yanked == ["airlock_demo-1.0-py3-none-any.whl": nil, "airlock_demo-1.1-py3-none-any.whl": "broken import"], "\(output)")
        #expect(json["versions"] as? [String] == ["1.0", "1.1"])
        (_, output) = try await curl("'\(base)/'", in: dir)
        #expect(output.contains("1.0, 1.1 (yanked)"), "\(output)")

        // export-static writes the same page.
        let exported = try await CLI.run(["export-static", "--store", "inside", "--out", "static"], in: dir.path)
        try #require(exported.status == 0, "\(exported)")
        let page = try String(contentsOfFile: dir.file("static/simple/airlock-demo/index.html"), encoding: .utf8)
        #expect(page.contains("data-yanked=\"broken import\""), "\(page)")

        // pip passes over the yanked 1.1 unless it is pinned with ==, and then warns.
        for (name, requirement, expected) in [("free", "airlock-demo", "1.0"), ("pinned", "airlock-demo==1.1", "1.1")] {
            let (installed, log) = try await shell(
                """
                python3 -m venv venv-\(name) && venv-\(name)/bin/pip install --disable-pip-version-check --no-cache-dir \\
                    --index-url '\(base)/simple/' '\(requirement)' 2>&1 &&
                venv-\(name)/bin/python -c 'import airlock_demo; print("version", airlock_demo.VERSION)'
                """,
                in: dir.path,
                environment: ["PATH": "/usr/bin:/bin", "HOME": dir.file("home"), "PIP_CONFIG_FILE": "/dev/null"]
            )
            #expect(installed == 0 && log.contains("version \(expected)"), "\(name): \(log)")
            #expect(log.contains("yanked version") == (expected == "1.1"), "\(name): \(log)")
        }
        #expect(await server.stop() == 0)
    }

    /// uv from scripts/uv-tool.sh (make test-deps).
    static var uv: String? {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path + "/.build/uv-tool/uv"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    @Test func pipAndUvInstallAnImportedWheelWithRequireHashesOverHTTPAndHTTPS() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try await importedStore(dir)
        try Data(Self.wheelScript.utf8).write(to: URL(fileURLWithPath: dir.file("wheel.py")))
        let wheelName = "airlock_demo-1.0-py3-none-any.whl"
        let (made, madeOutput) = try await shell("mkdir -p py && python3 wheel.py py/\(wheelName)", in: dir.path)
        try #require(made == 0, "\(madeOutput)")
        let hex = try Store.hashFile(dir.file("py/" + wheelName)).0.hex
        for command in [
            ["seal", "--key", "keys/team.key", "--out", "py.airlock", "--store", "outside", "py/" + wheelName],
            ["import", "--store", "inside", "py.airlock"],
        ] {
            let result = try await CLI.run(command, in: dir.path)
            try #require(result.status == 0, "\(command): \(result)")
        }
        // The import recorded the wheel's METADATA in the index (the mirror reads it from there).
        let recorded = try Store.openExisting(at: dir.file("inside")).index.wheelMetadata(of: try #require(SHA256Digest(hex)))
        #expect(recorded?.requiresPython == ">=3.8", "\(String(describing: recorded))")
        try await makeTestCA(dir)
        let plain = try await ServeProcess(store: "inside", in: dir.path)
        let base = plain.url

        var (_, output) = try await curl("'\(base)/simple/'", in: dir)
        #expect(output.contains("<a href=\"airlock-demo/\">airlock-demo</a>"), "\(output)")
        (_, output) = try await curl("'\(base)/simple/airlock-demo/'", in: dir)
        #expect(output.contains("href=\"../../files/\(hex)/\(wheelName)#sha256=\(hex)\""), "\(output)")
        #expect(output.contains("data-requires-python=\"&gt;=3.8\""), "\(output)")
        #expect(output.contains("data-core-metadata=\"sha256="), "\(output)")
        (_, output) = try await curl("-H 'Accept: application/vnd.pypi.simple.v1+json' '\(base)/simple/airlock-demo/'", in: dir)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        let file = try #require((json["files"] as? [[String: Any]])?.first)
        #expect((file["hashes"] as? [String: String])?["sha256"] == hex)
        #expect(file["requires-python"] as? String == ">=3.8")
        #expect(file["size"] as? Int == (try FileSystem.size(of: dir.file("py/" + wheelName))))
        #expect(json["versions"] as? [String] == ["1.0"])
        (_, output) = try await curl("-o /dev/null -w '%{http_code} %{content_type}' '\(base)/simple/airlock-demo/?format=application/vnd.pypi.simple.v1+json'", in: dir)
        #expect(output == "200 application/vnd.pypi.simple.v1+json", "\(output)")
        (_, output) = try await curl("-o /dev/null -w '%{http_code} %{redirect_url}' '\(base)/simple/Airlock_Demo/'", in: dir)
        #expect(output == "301 \(base)/simple/airlock-demo/", "\(output)")
        (_, output) = try await curl("'\(base)/files/\(hex)/\(wheelName).metadata'", in: dir)
        #expect(output.contains("Requires-Python: >=3.8"), "\(output)")
        // Not a wheel of this digest: nothing.
        (_, output) = try await curl("-o /dev/null -w '%{http_code}' '\(base)/files/\(hex)/other-1.0-py3-none-any.whl'", in: dir)
        #expect(output == "404", "\(output)")

        let secure = try await ServeProcess(store: "inside", in: dir.path, extra: ["--tls-cert", "mirror.pem", "--tls-key", "mirror.key"])
        try Data("airlock-demo==1.0 --hash=sha256:\(hex)\n".utf8).write(to: URL(fileURLWithPath: dir.file("requirements.txt")))
        for (name, index, extra) in [("http", base, ""), ("https", secure.url, "--cert ca.pem")] {
            let (installed, log) = try await shell(
                """
                python3 -m venv venv-\(name) && venv-\(name)/bin/pip install -q --disable-pip-version-check --no-cache-dir \\
                    --index-url '\(index)/simple/' \(extra) --require-hashes -r requirements.txt &&
                venv-\(name)/bin/python -c 'import airlock_demo; print(airlock_demo.GREETING)'
                """,
                in: dir.path,
                // Nothing from this machine's pip set-up (PIP_FIND_LINKS, PIP_CERT), and no
                // REQUESTS_CA_BUNDLE, which requests would prefer to --cert.
                environment: ["PATH": "/usr/bin:/bin", "HOME": dir.file("home"), "PIP_CONFIG_FILE": "/dev/null"]
            )
            #expect(installed == 0 && log.contains("hello from the mirror"), "\(name): \(log)")
        }
        // uv too, over HTTP and over HTTPS with the test CA (uv reads SSL_CERT_FILE).
        if let uv = Self.uv {
            for (name, index, extra) in [("http", base, [:]), ("https", secure.url, ["SSL_CERT_FILE": dir.file("ca.pem")])] {
                let (installed, log) = try await shell(
                    """
                    '\(uv)' venv -q --python /usr/bin/python3 uv-\(name) &&
                    '\(uv)' pip install -q --python uv-\(name)/bin/python --no-cache --index-url '\(index)/simple/' \\
                        --require-hashes -r requirements.txt &&
                    uv-\(name)/bin/python -c 'import airlock_demo; print(airlock_demo.GREETING)'
                    """,
                    in: dir.path,
                    environment: [
                        "PATH": "/usr/bin:/bin", "HOME": dir.file("home"), "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never",
                    ].merging(extra) { $1 }
                )
                #expect(installed == 0 && log.contains("hello from the mirror"), "uv \(name): \(log)")
            }
        } else {
            FileHandle.standardError.write(Data("skip: uv pip install from serve: no .build/uv-tool/uv (make test-deps)\n".utf8))
        }
        #expect(await secure.stop() == 0)
        #expect(await plain.stop() == 0)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"), "needs skopeo (scripts/install-deps.sh --test)"))
    func skopeoPullsAnImportedImageByTagAndByDigestWithTheStoresDigest() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (reference, manifest) = try await storeWithImage(dir)
        let (name, tag) = (String(reference.split(separator: ":")[0]), String(reference.split(separator: ":")[1]))

        let serve = try await ServeProcess(store: "inside", in: dir.path)
        let base = serve.url
        let host = base.replacingOccurrences(of: "http://", with: "")
        var (_, output) = try await curl("-D - '\(base)/v2/'", in: dir)
        #expect(output.hasPrefix("HTTP/1.1 200") && output.contains("Docker-Distribution-API-Version: registry/2.0"), "\(output)")
        (_, output) = try await curl("'\(base)/v2/\(name)/tags/list'", in: dir)
        #expect(output == "{\"name\":\"\(name)\",\"tags\":[\"\(tag)\"]}", "\(output)")
        (_, output) = try await curl("-I '\(base)/v2/\(name)/manifests/\(tag)'", in: dir)
        #expect(output.contains("Docker-Content-Digest: \(manifest)"), "\(output)")
        for (target, code) in [
            ("/v2/nobody/manifests/latest", "NAME_UNKNOWN"), ("/v2/\(name)/manifests/no-such-tag", "MANIFEST_UNKNOWN"),
            ("/v2/\(name)/blobs/sha256:\(String(repeating: "0", count: 64))", "BLOB_UNKNOWN"),
        ] {
            (_, output) = try await curl("-w ' %{http_code}' '\(base)\(target)'", in: dir)
            #expect(output.contains("\"code\":\"\(code)\"") && output.hasSuffix(" 404"), "\(target): \(output)")
        }

        let skopeo = "skopeo --insecure-policy"
        (_, output) = try await shell("\(skopeo) inspect --tls-verify=false docker://\(host)/\(reference)", in: dir.path)
        let inspected = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        #expect(inspected["Digest"] as? String == manifest)
        for source in ["\(host)/\(reference)", "\(host)/\(name)@\(manifest)"] {
            // dir: keeps the manifest byte for byte, so its sha256 is the pulled digest.
            let (copied, log) = try await shell(
                "rm -rf pulled && \(skopeo) copy --src-tls-verify=false docker://\(source) dir:pulled && sha256sum pulled/manifest.json",
                in: dir.path
            )
            #expect(copied == 0 && log.contains(manifest.replacingOccurrences(of: "sha256:", with: "") + "  pulled/manifest.json"), "\(source): \(log)")
        }
        #expect(await serve.stop() == 0)
    }

    @Test func overHTTPSWithATestCAAndAClearErrorForABadKey() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try await importedStore(dir)
        try await makeTestCA(dir)
        let serve = try await ServeProcess(store: "inside", in: dir.path, extra: ["--tls-cert", "mirror.pem", "--tls-key", "mirror.key"])
        #expect(serve.url.hasPrefix("https://127.0.0.1:"))
        let (status, answer) = try await curl("--cacert ca.pem '\(serve.url)/artifacts/hello.txt'", in: dir)
        #expect(status == 0 && answer == "hello\n", "\(answer)")
        let (untrusted, _) = try await curl("-o /dev/null '\(serve.url)/healthz'", in: dir)
        #expect(untrusted != 0, "curl without the test CA must not trust the mirror")
        #expect(await serve.stop() == 0)

        let bad = try await CLI.run(
            ["serve", "--listen", "127.0.0.1:0", "--store", "inside", "--tls-cert", "ca.key", "--tls-key", "ca.key"], in: dir.path
        )
        #expect(bad.status == 2 && bad.stderr.contains("--tls-cert ca.key"), "\(bad)")
    }
}

extension URL {
    fileprivate func createDirectoryIfNeeded() throws -> URL {
        try FileManager.default.createDirectory(at: deletingLastPathComponent(), withIntermediateDirectories: true)
        return self
    }
}