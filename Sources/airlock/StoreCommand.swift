import AirlockContainer
import AirlockCore
import ArgumentParser
import Foundation

struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Work with the content-addressed store.",
        discussion: Example.discussion(
            Example("What the store holds", "airlock store ls"),
            Example("Re-hash every blob", "airlock store verify")
        ),
        subcommands: [Put.self, List.self, Cat.self, Verify.self, GC.self]
    )

    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add files to the store; print `sha256:<hex>  NAME` for each ('-' reads standard input).",
            discussion: Example.discussion(
                Example("Add a file", "airlock store put notes.txt"),
                Example("Add one under another name, not pinned as a GC root", "airlock store put --name readme --no-root README.md")
            )
        )

        @Argument(help: "Files to add.") var files: [String]
        @Option(help: "What the blobs are (file, wheel, artifact, ...).") var kind = "file"
        @Option(help: "Name to record (default: the file name; needed for '-').") var name: String?
        @Flag(help: "Do not pin the blobs as GC roots.") var noRoot = false
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard !files.isEmpty else { throw UsageError("store put: name at least one file") }
            if name != nil && files.count > 1 { throw UsageError("--name applies to one file at a time") }
            let store = try storeOptions.open()
            var blobs: [(digest: SHA256Digest, temporaryPath: String)] = []
            var entries: [BlobEntry] = []
            defer { for b in blobs { try? FileSystem.remove(b.temporaryPath) } }
            for file in files {
                // One fsync per file: syncfs would also pay for every other process's dirty pages.
                let (digest, size, tmp) = try store.put(path: file, syncOnFinish: true)
                blobs.append((digest, tmp))
                let entryName = name ?? (file == "-" ? "stdin" : FileSystem.baseName(file))
                entries.append(
                    BlobEntry(
                        digest: digest, size: size, kind: kind, name: entryName, filename: file == "-" ? nil : FileSystem.baseName(file),
                        origin: file == "-" ? "stdin" : "file:" + FileSystem.absolute(file)
                    )
                )
            }
            try store.commit(blobs)
            blobs = []
            try store.index.record(entries, roots: noRoot ? [] : entries.map { ($0.digest, "put") })
            if output.json {
                try output.emit(entries)
            } else {
                for e in entries { print("\(e.digest)  \(e.name)") }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List what the store holds.",
            discussion: Example.discussion(
                Example("What the store holds", "airlock store ls"),
                Example("As JSON", "airlock store ls --json")
            )
        )
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let store = try storeOptions.openExisting()
            let entries = try store.index.entries()
            if output.json { return try output.emit(entries) }
            for e in entries {
                let name = e.name.isEmpty ? "-" : e.name + (e.version.map { " " + $0 } ?? "")
                print("\(e.digest.hex.prefix(16))  \(e.kind.padding(toLength: 15, withPad: " ", startingAt: 0)) \(ByteCount.format(e.size).padding(toLength: 10, withPad: " ", startingAt: 0)) \(name)")
            }
        }
    }

    struct Cat: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a blob to standard output.",
            discussion: Example.discussion(
                Example("Write a stored artifact to a file", "airlock store cat app.zip > /tmp/app.zip")
            )
        )
        @Argument(help: "A digest, digest prefix or artifact name.") var reference: String
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let store = try storeOptions.openExisting()
            let entry = try store.resolve(reference)
            try store.writeBlob(entry.digest, to: FileDescriptor.standardOutput)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-hash every blob; name each bad one (exit 1).",
            discussion: Example.discussion(
                Example("Re-hash every blob", "airlock store verify"),
                Example("Four at a time", "airlock store verify --jobs 4")
            )
        )
        @Option(help: "Blobs hashed at once (default: the number of cores).") var jobs: Int?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let store = try storeOptions.openExisting()
            let progress = ProgressReporter(label: "store verify", quiet: output.json)
            let problems = try await store.verify(jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount, progress: progress)
            if output.json { try output.emit(["problems": problems]) }
            guard problems.isEmpty else { throw CheckFailure(CoreErrorCode.corruptBlob, problems) }
            if !output.json { printError("store verify: every blob matches its digest") }
        }
    }

    struct GC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Remove blobs that no imported manifest, artifact or root refers to (and unpacked images no name points at).",
            discussion: Example.discussion(
                Example("See what would be removed", "airlock store gc --dry-run"),
                Example("Keep only what the last 4 bundles of each channel carried", "airlock store gc --keep-last 4")
            )
        )
        @Flag(help: "Only list what would be removed.") var dryRun = false
        @Option(help: "Keep what only the newest N imported bundles of each channel carry (older ones keep their manifest and signatures).")
        var keepLast: Int?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            if let keepLast, keepLast < 1 {
                throw UsageError(CoreErrorCode.usage, "--keep-last \(keepLast): keep at least the newest bundle (1)")
            }
            let store = try storeOptions.open()
            if !dryRun { try ImageRootfs.prune(in: store) }
            let garbage = try store.collectGarbage(dryRun: dryRun, keepLast: keepLast)
            if output.json {
                return try output.emit(garbage.map { ["digest": $0.digest.description, "size": String($0.size)] })
            }
            for g in garbage { print("\(dryRun ? "would remove" : "removed") \(g.digest)  \(ByteCount.format(g.size))") }
            printError("store gc: \(dryRun ? "would free" : "freed") \(garbage.count) blob(s), \(ByteCount.format(garbage.reduce(0) { $0 + $1.size }))\(dryRun ? " (dry run: nothing removed)" : "")")
        }
    }
}
