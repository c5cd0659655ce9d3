import AirlockCore
import ArgumentParser
import Foundation

/// `airlock self audit|verify`: Airlock's own binary, as carried into the enclave.
struct SelfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "self",
        abstract: "Check Airlock's own binary: what it needs from the host, and that it is the release imported.",
        discussion: Example.discussion(
            Example("What the running binary needs from its host (nothing, for a release)", "airlock self audit"),
            Example("Inside: is this binary the Airlock release imported last?", "airlock self verify --store /srv/airlock")
        ),
        subcommands: [Audit.self, Verify.self]
    )

    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the loader, shared libraries and highest GLIBC_ version a binary needs (default: this one).",
            discussion: Example.discussion(
                Example("The running binary", "airlock self audit"),
                Example("A release before it is carried in", "airlock self audit dist/airlock-0.1.0-linux-amd64 --json")
            )
        )
        @Argument(help: "An ELF file (default: the running airlock).") var file: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let audit = try BinaryAudit(contentsOf: try file ?? AirlockRelease.runningExecutable())
            if output.json { return try output.emit(audit) }
            for line in audit.lines { print(line) }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare the running binary's sha256 with the newest Airlock release imported into the store (exit 1 if not it).",
            discussion: Example.discussion(
                Example("After installing the carried binary inside", "airlock self verify --store /srv/airlock")
            )
        )
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let store = try storeOptions.openExisting()
            let (digest, imported) = try AirlockRelease.verifyRunning(in: store)
            if output.json {
                return try output.emit(["sha256": digest.hex, "imported": imported.filename ?? imported.name])
            }
            print("airlock: this binary is the Airlock release imported last (sha256 \(digest.hex))")
        }
    }
}
