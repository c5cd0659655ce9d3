// `airlock build` making its missing default image on the connected host, through the executable:
// a stand-in mmdebstrap first on PATH (it copies a tiny rootfs tar), a `file:` mirror, no network.

import AirlockCore
import Foundation
import Testing

/// An app locked for Python 3.11 with no files, a stand-in mmdebstrap in `dir/bin` that records
/// its arguments in `dir/args`, a rootfs tar for it to copy, and a `file:` mirror directory.
private func setUp(_ dir: TempDir, toml: String? = nil) async throws -> (path: String, mirror: String) {
    try dir.directory("app")
    func write(_ name: String, _ text: String) throws {
        try FileManager.default.createDirectory(
            atPath: (dir.file(name) as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir.file(name)))
    }
    try write("app/function_app.py", "import azure.functions as func\napp = func.FunctionApp()\n")
    try write("app/host.json", "{\"version\": \"2.0\"}\n")
    try write("app/requirements.txt", "")
    try write(
        "app/airlock.lock",
        #"{"lockVersion": 1, "target": {"pythonVersion": "3.11", "platform": "linux/amd64", "glibc": "2.31"}, "files": []}"#
    )
    let mirror = "file://" + dir.file("debian")
    try dir.directory("debian")
    if let toml { try write("app/airlock.toml", toml.replacingOccurrences(of: "MIRROR", with: mirror)) }
    try write(
        "root/var/lib/dpkg/status",
        "Package: python3\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.11.2-1+b1\n\n"
    )
    try write("root/usr/bin/python3", "#!\n")
    let tar = try await Shell.run("tar -C root -cf rootfs.tar .", in: dir.path)
    try #require(tar.status == 0, "\(tar)")
    try write(
        "bin/mmdebstrap",
        """
        #!/bin/sh
        if [ "$1" = "--version" ]; then echo "mmdebstrap 0.0-standin"; exit 0; fi
        printf '%s\\n' "$@" > '\(dir.file("args"))'
        echo "I: stand-in bootstrapping" >&2
        n=0; out=""
        for a in "$@"; do case "$a" in --*) ;; *) n=$((n+1)); [ "$n" -eq 2 ] && out="$a";; esac; done
        cp '\(dir.file("rootfs.tar"))' "$out"
        """
    )
    chmod(dir.file("bin/mmdebstrap"), 0o755)
    return (dir.file("bin") + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"), mirror)
}

@Suite(.timeLimit(.minutes(2))) struct BuildBootstrapTests {
    @Test func buildBootstrapsItsMissingDefaultImageAndSaysHowLongItTook() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        // The mirror comes from airlock.toml's bootstrap-mirror.
        let (path, mirror) = try await setUp(dir, toml: "bootstrap-mirror = \"MIRROR\"\n")
        let build = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--runtime", "bwrap"],
            in: dir.path,
            environment: ["PATH": path]
        )
        let lines = build.stderrLines
        #expect(
            lines.contains(
                "build: airlock-python:3.11-bookworm is not in the store: bootstrapping it with mmdebstrap (bookworm, python3, from \(mirror)); --no-bootstrap refuses instead"
            ),
            "\(build)"
        )
        #expect(lines.contains { $0.hasPrefix("build: bootstrapped airlock-python:3.11-bookworm in ") }, "\(build)")
        #expect(lines.contains("  | I: stand-in bootstrapping"), "\(build)")
        let arguments = try String(contentsOfFile: dir.file("args"), encoding: .utf8)
        #expect(arguments.contains("bookworm\n") && arguments.contains("--include=python3\n"), "\(arguments)")
        let images = try await CLI.run(["image", "ls", "--store", "store"], in: dir.path)
        #expect(images.stdout.hasPrefix("airlock-python:3.11-bookworm "), "\(images)")
        // The stand-in's rootfs has no working python3: the build goes on past the image and stops there.
        #expect(build.status != 0 && hasNoStackTrace(build), "\(build)")
    }

    @Test func noBootstrapRefusesWithTodaysMessage() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (path, mirror) = try await setUp(dir)
        let build = try await CLI.run(
            [
                "build", "--project", "app", "--store", "store", "--no-bootstrap", "--bootstrap-mirror", mirror,
                "--json",
            ],
            in: dir.path,
            environment: ["PATH": path]
        )
        #expect(build.status == 2, "\(build)")
        #expect(errorCode(build) == "image.not-found", "\(build)")
        #expect(
            build.stderr.contains(
                "is made once with: airlock image bootstrap --suite bookworm --packages python3 --name airlock-python:3.11-bookworm"
            ),
            "\(build)"
        )
        #expect(!FileManager.default.fileExists(atPath: dir.file("args")), "mmdebstrap ran")
    }

    @Test func withoutMmdebstrapOnPATHTheBuildRefusesWithTodaysMessageAndWhy() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (_, mirror) = try await setUp(dir)
        let build = try await CLI.run(
            ["build", "--project", "app", "--store", "store", "--bootstrap-mirror", mirror, "--json"],
            in: dir.path,
            environment: ["PATH": dir.file("empty")]
        )
        #expect(build.status == 2, "\(build)")
        #expect(errorCode(build) == "image.not-found", "\(build)")
        #expect(build.stderr.contains("airlock image bootstrap --suite bookworm"), "\(build)")
        #expect(build.stderr.contains("not bootstrapped here: mmdebstrap is not installed"), "\(build)")
    }

    @Test func anUnreachableMirrorRefusesWithTodaysMessageAndWhy() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (path, _) = try await setUp(dir)
        let build = try await CLI.run(
            [
                "build", "--project", "app", "--store", "store", "--bootstrap-mirror", "http://127.0.0.1:1/debian",
                "--json",
            ],
            in: dir.path,
            environment: ["PATH": path]
        )
        #expect(build.status == 2, "\(build)")
        #expect(errorCode(build) == "image.not-found", "\(build)")
        #expect(build.stderr.contains("airlock image bootstrap --suite bookworm"), "\(build)")
        #expect(build.stderr.contains("the Debian mirror http://127.0.0.1:1/debian cannot be reached"), "\(build)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("args")), "mmdebstrap ran")
    }
}
