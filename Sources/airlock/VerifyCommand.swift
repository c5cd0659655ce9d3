import AirlockBundle
import AirlockContainer
import AirlockCore
import AirlockPython
import ArgumentParser
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a bundle's signatures, expiry and every member's size and hash; writes nothing.",
        discussion: Example.discussion(
            Example("Check a bundle against the store's trust policy", "airlock verify app.airlock"),
            Example("A delta also lists what it relies on, and what this store lacks of it", "airlock verify --store /srv/airlock week-2.airlock")
        )
    )

    @Argument(help: "The bundle (or any of its volumes).") var bundle: String
    @OptionGroup var trustOptions: TrustOptions
    @Flag(help: "Accept an expired bundle.") var allowExpired = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let paths = try Volumes.resolve(bundle)
        let policy = try trustOptions.policy(storeOptions)
        let scanner = BundleScanner(
            paths: paths,
            options: ScanOptions(policy: policy, allowExpired: allowExpired),
            progress: ProgressReporter(label: "verify", quiet: output.json)
        )
        let report = try scanner.scan()
        if output.json { try output.emit(report) }
        for note in report.notes where !output.json { printError("note: \(note)") }
        guard report.isValid else {
            let code = report.problemCodes.first ?? CoreErrorCode.check.code
            throw CheckFailure(code: code, report.problems.map { "\(bundle): \($0)" })
        }
        if !output.json {
            print("\(bundle): OK")
            printError(
                "bundle \(report.bundle ?? "?"), channel \(report.channel ?? "?"), sequence \(report.sequence ?? 0): \(report.artifacts) artifact(s), \(report.blobs) blob(s), \(ByteCount.format(report.bytes)), signed by \(report.signers.joined(separator: ", ")), expires \(report.expires ?? "?")"
            )
            if let delta = report.delta {
                // Which of them the store here holds, when there is one (presence only: import re-hashes).
                let store = try? storeOptions.openExisting()
                for line in DeltaText.reliance(delta, has: store.map { s in { s.contains($0) } }, storeRoot: storeOptions.root) {
                    printError(line)
                }
            }
        }
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Verify a bundle and import it into the store, all or nothing.",
        discussion: Example.discussion(
            Example("Verify and import a bundle", "airlock import app.airlock"),
            Example("A bundle in volumes, into a shared store", "airlock import --store /srv/airlock app.airlock.001")
        )
    )

    @Argument(help: "The bundle (or any of its volumes).") var bundle: String
    @Flag(help: "Accept a sequence number not above the last imported on its channel.") var allowRollback = false
    @Flag(help: "Accept an expired bundle.") var allowExpired = false
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        _ = try Volumes.resolve(bundle)
        let store = try storeOptions.open()
        let result = try Importer.importBundle(
            bundle, into: store, options: ImportOptions(
                allowRollback: allowRollback, allowExpired: allowExpired, indexers: [WheelMetadataIndexer()]
            ),
            progress: ProgressReporter(label: "import", quiet: output.json)
        )
        // Images the bundle renamed leave their unpacked rootfs behind: drop it.
        try? ImageRootfs.prune(in: store)
        if output.json { return try output.emit(result) }
        print("imported \(result.record.bundle) (channel \(result.record.channel), sequence \(result.record.sequence))")
        printError(
            "\(result.report.artifacts) artifact(s), \(result.report.blobs) blob(s); \(result.newBlobs) new, \(ByteCount.format(result.newBytes)); signed by \(result.record.signers.joined(separator: ", "))"
        )
        if let delta = result.report.delta {
            printError(
                "delta: the \(delta.summary.relied) blob(s) it relies on (\(ByteCount.format(delta.summary.reliedBytes))) were in the store and re-hashed; \(delta.summary.recipes) rebuilt from recipes and checked against their signed digests"
            )
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an imported artifact back out under its file name.",
        discussion: Example.discussion(
            Example("Write the imported app.zip into /tmp/out", "airlock export app.zip --out /tmp/out")
        )
    )

    @Argument(help: "Artifact name, file name or digest.") var reference: String
    @Option(help: "Directory to write into.") var out: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let store = try storeOptions.openExisting()
        let entry = try store.resolve(reference)
        let fileName = entry.filename ?? entry.digest.hex
        guard RelativePath.isSafe(fileName), !fileName.contains("/") else {
            throw UsageError(CoreErrorCode.unsafePath, "\(fileName): not a safe file name")
        }
        try FileSystem.makeDirectory(out)
        let path = out + "/" + fileName
        try store.copyBlob(entry.digest, to: path)
        if output.json { return try output.emit(["path": path, "sha256": entry.digest.hex, "name": entry.name]) }
        print(path)
    }
}

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List every bundle imported into the store: the evidence an auditor asks for.",
        discussion: Example.discussion(
            Example("Every bundle imported into the store", "airlock history"),
            Example("As JSON, for the audit file", "airlock history --json")
        )
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let store = try storeOptions.openExisting()
        let records = try store.index.imports()
        if output.json { return try output.emit(records) }
        for r in records {
            print("\(r.time)  \(r.channel)#\(r.sequence)  bundle \(r.bundle)  manifest sha256:\(r.manifestSHA256)  signers \(r.signers.joined(separator: ","))")
        }
    }
}

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Show which tools this machine has for the later steps, and how to install the missing ones.",
        discussion: Example.discussion(
            Example("What this host has, and how to install what it lacks", "airlock doctor"),
            Example("As JSON", "airlock doctor --json")
        )
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        var tools: [ToolStatus]
        var runtimes: [RuntimeProbe]
        var images: [ImageRecord]
    }

    func run() async throws {
        let tools = await MachineCheck.run()
        let runtimes = await RuntimeSelection.probeAll()
        // Images only from a store that already exists: doctor never creates one.
        let images = (try? storeOptions.openExisting()).flatMap { try? ImageCatalog.list(in: $0) } ?? []
        if output.json { return try output.emit(Report(tools: tools, runtimes: runtimes, images: images)) }
        func pad(_ s: String) -> String { s.padding(toLength: 11, withPad: " ", startingAt: 0) }
        print("tools")
        for t in tools {
            if t.found {
                print("  ok       \(pad(t.name)) \(t.version ?? "")\(t.note.map { "  (\($0))" } ?? "")")
            } else {
                print("  missing  \(pad(t.name)) for \(t.purpose): \(t.install ?? "")")
            }
        }
        print("container runtimes (--runtime auto tries docker, then podman, then bwrap)")
        for r in runtimes {
            print("  \(r.isAvailable ? "ok     " : "no     ")  \(pad(r.runtime)) \(r.detail)\(r.hint.map { "; fix: \($0)" } ?? "")")
        }
        print("images in \(storeOptions.root)")
        if images.isEmpty { print("  none (airlock image import FILE)") }
        for i in images {
            print("  \(i.reference)  sha256:\(i.manifest.hex.prefix(12))  \(ByteCount.format(i.size))  \(i.os ?? "?")/\(i.architecture ?? "?")")
        }
    }
}
