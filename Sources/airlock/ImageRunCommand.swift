import AirlockContainer
import AirlockCore
import ArgumentParser

extension ImageCommand {
    /// `airlock image run IMAGE -- COMMAND...`: one command in the sandbox a build would use, to
    /// look inside an image (its Python, its packages) and to time the sandbox's start.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a command in an image from the store, in the build sandbox (network off, read-only root).",
            discussion: Example.discussion(
                """
                    Exits with the command's status. Mounts: --mount SRC:DST is read-only; at most one \
                    --output SRC:DST is writable. The environment is the build's clean one (HOME=/tmp, \
                    LANG=C.UTF-8, SOURCE_DATE_EPOCH, PYTHONDONTWRITEBYTECODE) plus --env NAME=VALUE.
                    """,
                Example("The image's Python version", "airlock image run airlock-python:3.11-bookworm -- python3 --version"),
                Example("An app directory, mounted read-only", "airlock image run --mount app:/app airlock-python:3.11-bookworm \\\n    -- ls /app")
            )
        )
        @Argument(help: "NAME[:TAG] or digest of an image in the store.") var image: String
        @Argument(parsing: .postTerminator, help: "The command and its arguments (after --).") var command: [String]
        @Option(help: "The container runtime: auto, bwrap, docker or podman.") var runtime = "bwrap"
        @Option(help: ArgumentHelp("A read-only mount (repeatable).", valueName: "src:dst")) var mount: [String] = []
        @Option(help: ArgumentHelp("The one writable mount.", valueName: "src:dst")) var output: String?
        @Option(help: ArgumentHelp("An environment variable (repeatable).", valueName: "name=value")) var env: [String] = []
        @Option(help: "The working directory inside.") var workdir = "/"
        @Option(help: "Seconds before the run is killed.") var timeout = 600
        @OptionGroup var storeOptions: StoreOptions
        /// Only airlock's own errors become JSON; the command's output is passed through as it is.
        @OptionGroup var reporting: OutputOptions

        func run() async throws {
            guard !command.isEmpty else { throw UsageError("image run: give the command after --") }
            guard timeout > 0 else { throw UsageError("--timeout \(timeout): give a positive number of seconds") }
            // A misspelt runtime is refused before the store or the image is looked at.
            _ = try RuntimeChoice(parsing: runtime)
            let store = try storeOptions.openExisting()
            let record = try ImageCatalog.resolve(image, in: store)
            let selected = try await RuntimeSelection.select(runtime, store: store)
            for note in selected.notes { printError("airlock: note: " + note) }
            let backend = selected.runtime
            let root = try await backend.prepare(record, from: store)
            var mounts = try mount.map { try Self.mount($0, option: "--mount", readOnly: true) }
            if let output { mounts.append(try Self.mount(output, option: "--output", readOnly: false)) }
            var environment: [String: String] = [:]
            for pair in env {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                    throw UsageError("--env \(pair): expected NAME=VALUE")
                }
                environment[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            let result = try await backend.run(
                SandboxSpec(
                    image: root, arguments: command, workingDirectory: workdir, mounts: mounts, environment: environment,
                    timeLimit: .seconds(timeout), output: .terminal
                )
            )
            if result.timedOut { printError("image run: killed after \(timeout) s") }
            if result.status != 0 { throw ExitCode(result.status) }
        }

        static func mount(_ text: String, option: String, readOnly: Bool) throws -> Mount {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw UsageError("\(option) \(text): expected SRC:DST")
            }
            return Mount(source: FileSystem.absolute(parts[0]), target: parts[1], readOnly: readOnly)
        }
    }

    /// `airlock image export IMAGE --out FILE`: the image as a docker-archive that is also an
    /// oci-archive, for `docker load`, `podman load` or `skopeo copy oci-archive:`.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write an image from the store as one tar for docker load, podman load or skopeo (docker-archive and oci-archive at once).",
            discussion: Example.discussion(
                Example("Write an image for docker load or podman load", "airlock image export airlock-python:3.11-bookworm --out python.tar")
            )
        )
        @Argument(help: "NAME[:TAG] or digest of an image in the store.") var image: String
        @Option(help: "The archive to write.") var out: String
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let store = try storeOptions.openExisting()
            let record = try ImageCatalog.resolve(image, in: store)
            try ImageExporter.write(record, from: store, to: out)
            if output.json {
                let written = ["path": out, "image": record.reference, "manifest": record.manifest.description]
                return try output.emit(written)
            }
            print(out)
        }
    }
}
