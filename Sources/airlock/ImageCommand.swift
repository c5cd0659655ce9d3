import AirlockContainer
import AirlockCore
import ArgumentParser
import Foundation

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Keep OCI images in the store: import docker-archive and oci-archive files, list and remove them.",
        subcommands: [Import.self, List.self, Remove.self]
    )

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a docker-archive (`docker save`) or oci-archive (`skopeo copy ... oci-archive:FILE`)."
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
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the images in the store.")
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
            abstract: "Remove an image by NAME[:TAG] or manifest digest (`store gc` then frees its blobs)."
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
