// docker and podman are never run here (no daemon answers in CI): their command lines are checked
// exactly instead.

import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Testing

@Suite struct DockerRuntimeTests {
    static let clis = ["docker", "podman"]

    @Test(arguments: clis)
    func theRunCommandLineHasNoNetworkReadOnlyInputsOneOutputAndTheCleanEnvironment(_ cli: String) throws {
        let dir = try TemporaryDirectory()
        let runtime = DockerRuntime(cli: cli, executable: "/usr/bin/\(cli)", user: "1000:1000")
        let spec = SandboxSpec(
            image: "sha256:" + String(repeating: "ab", count: 32),
            arguments: ["python3", "-c", "print(1)"],
            workingDirectory: "/work/app",
            mounts: [
                Mount(source: dir.path, target: "/work/app"),
                .output(dir.path, at: "/work/out"),
                Mount(source: dir.path, target: "/store"),
            ],
            environment: ["PYTHONPATH": "/work/app"],
            sourceDateEpoch: 1_700_000_000
        )
        let expected = [
            "/usr/bin/\(cli)", "run", "--rm", "--name", "airlock-test",
            "--network", "none", "--pull", "never", "--hostname", "airlock",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--read-only", "--tmpfs", "/tmp",
            "--user", "1000:1000", "--workdir", "/work/app",
            "--env", "HOME=/tmp", "--env", "LANG=C.UTF-8", "--env", "PATH=/usr/local/bin:/usr/bin:/bin",
            "--env", "PYTHONDONTWRITEBYTECODE=1", "--env", "PYTHONPATH=/work/app", "--env",
            "SOURCE_DATE_EPOCH=1700000000",
            "--mount", "type=bind,source=\(dir.path),target=/work/app,readonly",
            "--mount", "type=bind,source=\(dir.path),target=/work/out",
            "--mount", "type=bind,source=\(dir.path),target=/store,readonly",
            "--entrypoint", "python3", "sha256:" + String(repeating: "ab", count: 32), "-c", "print(1)",
        ]
        #expect(try runtime.arguments(for: spec, containerName: "airlock-test") == expected)
        // Without a name the line is the same less `--name`.
        #expect(try runtime.arguments(for: spec) == expected.filter { $0 != "--name" && $0 != "airlock-test" })
    }

    @Test(arguments: clis)
    func theImagesUserIsKeptWhenNoneIsGivenAndTheCLIIsFoundByName(_ cli: String) throws {
        let runtime = DockerRuntime(cli: cli, executable: nil, user: nil)
        let args = try runtime.arguments(for: SandboxSpec(image: "python:3.11", arguments: ["true"]))
        #expect(args.first == cli)
        #expect(!args.contains("--user"))
        #expect(args.suffix(3) == ["--entrypoint", "true", "python:3.11"])
        let network = try #require(args.firstIndex(of: "--network"))
        #expect(args[network + 1] == "none")
    }

    @Test func aMountPathWithACommaOrABadImageIsRefused() throws {
        let dir = try TemporaryDirectory()
        let comma = dir.path + "/a,b"
        try FileSystem.makeDirectory(comma)
        let runtime = DockerRuntime(cli: "docker", executable: "/usr/bin/docker")
        let spec = SandboxSpec(image: "sha256:ab", arguments: ["true"], mounts: [Mount(source: comma, target: "/in")])
        let error = #expect(throws: UsageError.self) { try runtime.arguments(for: spec) }
        #expect(error?.code == RuntimeErrorCode.badSpec.code)
        let option = #expect(throws: UsageError.self) {
            try runtime.arguments(for: SandboxSpec(image: "--privileged", arguments: ["true"]))
        }
        #expect(option?.code == RuntimeErrorCode.badSpec.code)
        let twoOutputs = #expect(throws: UsageError.self) {
            try runtime.arguments(
                for: SandboxSpec(
                    image: "sha256:ab",
                    arguments: ["true"],
                    mounts: [.output(dir.path, at: "/a"), .output(dir.path, at: "/b")]
                )
            )
        }
        #expect(twoOutputs?.code == RuntimeErrorCode.badSpec.code)
    }

    @Test func loadReadsAnArchiveFromTheStore() {
        let runtime = DockerRuntime(cli: "podman", executable: "/usr/bin/podman")
        #expect(
            runtime.loadArguments(archive: "/store/image.tar") == [
                "/usr/bin/podman", "load", "--input", "/store/image.tar",
            ]
        )
    }

    @Test func aMissingCLIIsNotAvailableAndSaysHowToInstallIt() async {
        let probe = await DockerRuntime(cli: "podman", executable: nil).probe()
        #expect(!probe.isAvailable)
        #expect(probe.hint == "apt-get install -y podman")
    }
}
