import AirlockContainer
import AirlockCore
import ArgumentParser
import Foundation

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract:
            "Keep OCI images in the store: bootstrap Debian ones, import docker-archive and oci-archive files, list and remove them.",
        discussion: Example.discussion(
            Example("Make the default build image for Python 3.11 (needs mmdebstrap)", "airlock image bootstrap --suite bookworm --packages python3 \\\n    --name airlock-python:3.11-bookworm"),
            Example("List the images in the store", "airlock image ls")
        ),
        subcommands: [Bootstrap.self, Import.self, Build.self, Push.self, Pull.self, Export.self, List.self, Remove.self, Run.self]
    )

    struct Bootstrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a Debian image with mmdebstrap (minbase plus packages) as a one-layer OCI image.",
            discussion: Example.discussion(
                """
                    Runs `mmdebstrap --variant=minbase --include=PACKAGES --format=tar SUITE` with \
                    SOURCE_DATE_EPOCH set (--source-date-epoch, else $SOURCE_DATE_EPOCH, else 1980-01-01), \
                    rewrites its tar as one layer (device nodes dropped, mtimes clamped to the epoch) and \
                    records the installed packages in the image config's labels. The same mirror state, \
                    epoch and name give the same manifest digest. Needs the network (the mirror) and \
                    mmdebstrap (apt-get install -y mmdebstrap).
                    """,
                Example("The default build image for Python 3.11", "airlock image bootstrap --suite bookworm --packages python3 \\\n    --name airlock-python:3.11-bookworm"),
                Example("The same from your own Debian mirror", "airlock image bootstrap --suite bookworm --packages python3 \\\n    --name airlock-python:3.11-bookworm \\\n    --mirror http://deb.example.org/debian")
            )
        )
        @Option(help: "The Debian suite: \(ImageBootstrap.suites.joined(separator: ", ")).") var suite: String
        @Option(help: "Comma-separated Debian packages to install on top of minbase (e.g. python3; default: minbase alone).")
        var packages: String = ""
        @Option(help: "NAME[:TAG] for the image (TAG defaults to latest).") var name: String
        @Option(help: "A Debian mirror URL (default: \(ImageBootstrap.defaultMirror) with -updates and -security).")
        var mirror: String?
        @Option(help: "Seconds since 1970 for every timestamp in the image (default: $SOURCE_DATE_EPOCH, else 1980).")
        var sourceDateEpoch: Int64?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            if let sourceDateEpoch, sourceDateEpoch < 0 {
                throw UsageError(
                    CoreErrorCode.badSourceDateEpoch,
                    "--source-date-epoch \(sourceDateEpoch): not a non-negative integer"
                )
            }
            let epoch = try sourceDateEpoch ?? environmentSourceDateEpoch() ?? ImageBootstrap.defaultSourceDateEpoch
            let request = BootstrapRequest(
                suite: suite,
                packages: packages.isEmpty ? [] : packages.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
                name: name,
                mirror: mirror,
                sourceDateEpoch: epoch
            )
            let store = try storeOptions.open()
            // mmdebstrap's progress goes to standard error, unless --json asks for a clean run.
            let progress = output.json ? SandboxOutput.discard : SandboxOutput { _, line in printError(line) }
            let result = try await ImageBootstrap.bootstrap(request, into: store, output: progress)
            if output.json { return try output.emit(result) }
            print("\(result.image.manifest)  \(result.image.reference)")
            let python = result.packages.filter { $0.name.hasPrefix("python3.") && !$0.name.contains("-") }
            printError(
                "bootstrapped \(result.image.reference): \(suite), \(result.packages.count) packages"
                    + python.map { ", \($0.name) \($0.version)" }.joined()
                    + ", \(ByteCount.format(result.image.size))"
            )
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a docker-archive (`docker save`) or oci-archive (`skopeo copy ... oci-archive:FILE`).",
            discussion: Example.discussion(
                Example("Import an image saved with docker save", "airlock image import python311.tar --name functions-python:3.11")
            )
        )
        @Argument(help: "The archive file (tar, or gzip/zstd-compressed tar).") var file: String
        @Option(help: "NAME[:TAG] for the image (default: the names in the archive, else the file name).") var name:
            String?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let store = try storeOptions.open()
            let images = try ImageImporter.importArchive(file, into: store, name: name)
            if output.json { return try output.emit(images) }
            for image in images { print("\(image.manifest)  \(image.reference)") }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List the images in the store.",
            discussion: Example.discussion(
                Example("The images in the store", "airlock image ls"),
                Example("As JSON, from another store", "airlock image ls --store /srv/airlock --json")
            )
        )
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let store = try storeOptions.openExisting()
            let images = try ImageCatalog.list(in: store)
            if output.json { return try output.emit(images) }
            for image in images {
                let platform = "\(image.os ?? "?")/\(image.architecture ?? "?")"
                print(
                    [
                        image.reference.padding(toLength: max(30, image.reference.count), withPad: " ", startingAt: 0),
                        String(image.manifest.hex.prefix(16)),
                        ByteCount.format(image.size).padding(toLength: 10, withPad: " ", startingAt: 0),
                        platform,
                    ].joined(separator: "  ")
                )
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Remove an image by NAME[:TAG] or manifest digest (`store gc` then frees its blobs).",
            discussion: Example.discussion(
                Example("Remove an image", "airlock image rm functions-python:3.11"),
                Example("Then free the blobs nothing else refers to", "airlock store gc")
            )
        )
        @Argument(help: "NAME[:TAG], sha256:<hex> or a hex prefix of at least 12 digits.") var reference: String
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let store = try storeOptions.open()
            let removed = try ImageCatalog.remove(reference, from: store)
            if output.json { return try output.emit(removed) }
            for image in removed { print("removed \(image.reference)  \(image.manifest)") }
        }
    }
}

/// SOURCE_DATE_EPOCH from the environment (a name the `--source-date-epoch` option does not shadow).
private func environmentSourceDateEpoch() throws -> Int64? { try sourceDateEpoch() }
