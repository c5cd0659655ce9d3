// The mirror's static export and its page for people, as users meet them: `airlock export-static`
// behind Debian's nginx (the export's own snippets included) and behind `python3 -m http.server`,
// each started here on 127.0.0.1 and stopped after, answering pip --require-hashes with the same
// bytes `serve` answers; a second export after one more import writes only what changed; and `/`
// loaded in headless Chromium, screenshotted, its text checked through the DOM. The Go half
// (`go mod download` from both) is in GoHandlerCLITests, where the Go bundle is made.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.serialized, .timeLimit(.minutes(5))) struct MirrorExportCLITests {
    static let wheelName = "airlock_demo-1.0-py3-none-any.whl"

    /// The store of ServeCLITests with the hand-made wheel imported too; the wheel's sha256.
    func storeWithWheel(_ dir: TempDir) async throws -> String {
        _ = try await ServeCLITests().importedStore(dir)
        try Data(ServeCLITests.wheelScript.utf8).write(to: URL(fileURLWithPath: dir.file("wheel.py")))
        let (made, madeOutput) = try await shell("mkdir -p py && python3 wheel.py py/\(Self.wheelName)", in: dir.path)
        try #require(made == 0, "\(madeOutput)")
        for command in [
            ["seal", "--key", "keys/team.key", "--out", "py.airlock", "--store", "outside", "py/" + Self.wheelName],
            ["import", "--store", "inside", "py.airlock"],
        ] {
            let result = try await CLI.run(command, in: dir.path)
            try #require(result.status == 0, "\(command): \(result)")
        }
        return try Store.hashFile(dir.file("py/" + Self.wheelName)).0.hex
    }

    func curl(_ arguments: String, in dir: TempDir) async throws -> String {
        try await shell("curl -s -S --max-time 10 \(arguments)", in: dir.path).1
    }

    /// Installs the wheel into one venv (made on first use; the wheel uninstalled first), so each
    /// server is asked afresh.
    func pipInstall(from index: String, in dir: TempDir) async throws -> (Int32, String) {
        try await shell(
            """
            { [ -x venv/bin/pip ] || python3 -m venv venv; } && venv/bin/pip uninstall -q -y airlock-demo 2>/dev/null;
            venv/bin/pip install -q --disable-pip-version-check --no-cache-dir \\
                --index-url '\(index)/simple/' --require-hashes -r requirements.txt &&
            venv/bin/python -c 'import airlock_demo; print(airlock_demo.GREETING)'
            """,
            in: dir.path, environment: ["PATH": "/usr/bin:/bin", "HOME": dir.file("home"), "PIP_CONFIG_FILE": "/dev/null"]
        )
    }

    @Test(.enabled(if: StaticServer.nginxPath != nil, "needs nginx (scripts/install-deps.sh --test)"))
    func anExportAnswersLikeServeBehindNginxAndHttpServerAndASecondExportWritesOnlyWhatChanged() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let hex = try await storeWithWheel(dir)
        let exported = try await CLI.run(["export-static", "--store", "inside", "--out", "export", "--json"], in: dir.path)
        try #require(exported.status == 0, "\(exported)")
        let first = try #require(try parseJSON(exported) as? [String: Any], "\(exported)")
        #expect((first["copied"] as? Int) == 0 && (first["linked"] as? Int ?? 0) > 0, "one file system: links only, \(first)")

        // The blobs are the store's own files; the pages are serve's bytes.
        let wheelPath = "export/files/\(hex)/\(Self.wheelName)"
        let (_, inodes) = try await shell(
            "stat -c %i '\(wheelPath)' && find inside -type f -name '\(hex)' -exec stat -c %i {} +", in: dir.path
        )
        let lines = inodes.split(separator: "\n")
        #expect(lines.count == 2 && lines[0] == lines[1], "the export's wheel is the store's blob, hard-linked: \(inodes)")
        let serve = try await ServeProcess(store: "inside", in: dir.path)
        for (path, file, accept) in [
            ("/simple/", "simple/index.html", ""), ("/simple/airlock-demo/", "simple/airlock-demo/index.html", ""),
            ("/simple/airlock-demo/", "simple/airlock-demo/index.json", "-H 'Accept: application/vnd.pypi.simple.v1+json'"),
            ("/files/\(hex)/\(Self.wheelName).metadata", "files/\(hex)/\(Self.wheelName).metadata", ""),
            ("/artifacts/hello.txt", "artifacts/hello.txt", ""), ("/healthz", "healthz", ""),
        ] {
            let answered = try await curl("\(accept) '\(serve.url)\(path)'", in: dir)
            let written = String(decoding: try FileSystem.readFile(dir.file("export/" + file)), as: UTF8.self)
            #expect(answered == written, "\(path) vs \(file)")
        }
        #expect(await serve.stop() == 0)

        try Data("airlock-demo==1.0 --hash=sha256:\(hex)\n".utf8).write(to: URL(fileURLWithPath: dir.file("requirements.txt")))
        let root = dir.file("export")
        let nginx = try await StaticServer.nginx(root: root, scratch: dir.file("nginx"))
        var (installed, log) = try await pipInstall(from: nginx.firstLine, in: dir)
        #expect(installed == 0 && log.contains("hello from the mirror"), "nginx: \(log)")
        // PEP 691 negotiation by Accept and ?format=, as serve does it.
        var answer = try await curl("-o /dev/null -w '%{content_type}' -H 'Accept: application/vnd.pypi.simple.v1+json, text/html;q=0.1' '\(nginx.firstLine)/simple/airlock-demo/'", in: dir)
        #expect(answer == "application/vnd.pypi.simple.v1+json", "\(answer)")
        answer = try await curl("-o /dev/null -w '%{content_type}' '\(nginx.firstLine)/simple/airlock-demo/?format=application/vnd.pypi.simple.v1+json'", in: dir)
        #expect(answer == "application/vnd.pypi.simple.v1+json", "\(answer)")
        answer = try await curl("-o /dev/null -w '%{content_type}' '\(nginx.firstLine)/simple/airlock-demo/'", in: dir)
        #expect(answer == "application/vnd.pypi.simple.v1+html", "\(answer)")
        #expect(await nginx.stop()?.status == 0)

        let http = try await StaticServer.python(root: root)
        (installed, log) = try await pipInstall(from: http.firstLine, in: dir)
        #expect(installed == 0 && log.contains("hello from the mirror"), "http.server: \(log)")
        _ = await http.stop()

        // One more import: only its blob, its artifact and the page listing it are written.
        try Data("new\n".utf8).write(to: URL(fileURLWithPath: dir.file("in/new.txt")))
        for command in [
            ["seal", "--key", "keys/team.key", "--out", "two.airlock", "--store", "outside", "in/new.txt"],
            ["import", "--store", "inside", "two.airlock"],
        ] {
            let result = try await CLI.run(command, in: dir.path)
            try #require(result.status == 0, "\(command): \(result)")
        }
        let pageBefore = try await shell("stat -c %i export/simple/airlock-demo/index.html", in: dir.path).1
        let again = try await CLI.run(["export-static", "--store", "inside", "--out", "export", "--json"], in: dir.path)
        let second = try #require(try parseJSON(again) as? [String: Any], "\(again)")
        // Everything of the first export but index.html is kept; the new bundle's blobs, its artifact
        // and index.html are written.
        let (firstPaths, paths) = (first["paths"] as? Int ?? 0, second["paths"] as? Int ?? 0)
        #expect(second["kept"] as? Int == firstPaths - 1, "\(first) then \(second)")
        #expect(second["written"] as? Int == paths - firstPaths + 1 && paths > firstPaths, "\(first) then \(second)")
        #expect(try await shell("stat -c %i export/simple/airlock-demo/index.html", in: dir.path).1 == pageBefore)
        #expect(try await shell("cat export/artifacts/new.txt", in: dir.path).1 == "new\n")
        let leftovers = try await shell("find export -name '.*' -type f", in: dir.path).1
        #expect(leftovers.isEmpty, "no temp files left: \(leftovers)")
    }

    @Test func aBaseURLThatIsNotOneIsRefusedWithExit2() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try await ServeCLITests().importedStore(dir)
        let result = try await CLI.run(["export-static", "--store", "inside", "--out", "export", "--base-url", "mirror:8443"], in: dir.path)
        #expect(result.status == 2 && result.stderr.contains("--base-url mirror:8443"), "\(result)")
        #expect(!FileSystem.exists(dir.file("export")))
    }

    static var chromium: String? { ChildProcess.locate("chromium") }

    @Test(.enabled(if: chromium != nil, "needs Debian's chromium (scripts/install-deps.sh --test)"))
    func thePageForPeopleListsWhatIsServedAndHowToUseItInHeadlessChromium() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let hex = try await storeWithWheel(dir)
        let serve = try await ServeProcess(store: "inside", in: dir.path)
        let url = serve.url + "/"
        let chromium = try #require(Self.chromium)
        let flags = "--headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=\(dir.file("chromium"))"
        let (shot, shotLog) = try await shell(
            "'\(chromium)' \(flags) --window-size=1200,900 --screenshot=\(dir.file("page.png")) '\(url)' 2>&1", in: dir.path
        )
        #expect(shot == 0, "\(shotLog)")
        let png = try FileSystem.readFile(dir.file("page.png"))
        #expect(png.count > 10_000 && Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47], "a real PNG: \(png.count) bytes")
        let (dumped, dom) = try await shell("'\(chromium)' \(flags) --dump-dom '\(url)' 2>/dev/null", in: dir.path)
        #expect(dumped == 0)
        for text in [
            "Airlock mirror", "pip install --index-url \(serve.url)/simple/ PACKAGE",
            "GOPROXY=\(serve.url)/go GOSUMDB=off", "docker pull \(serve.url.replacingOccurrences(of: "http://", with: ""))/NAME:TAG",
            "airlock-demo", ">1.0<", "hello.txt", "wheel.whl", "Import history (2)", "<td>default</td><td>2</td><td>team (",
        ] {
            #expect(dom.contains(text), "the page shows \(text)")
        }
        #expect(dom.contains(hex), "the wheel's artifact row names its sha256")
        #expect(!dom.contains("<script"), "no script")
        #expect(await serve.stop() == 0)
    }
}
