import AirlockCore
import ArgumentParser

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Manage Ed25519 signing keys.",
        discussion: Example.discussion(
            Example("Make keys/team.key and keys/team.pub", "airlock key generate --out keys/team")
        ),
        subcommands: [Generate.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (SPKI PEM); print the key id.",
            discussion: Example.discussion(
                Example("Make keys/team.key and keys/team.pub", "airlock key generate --out keys/team")
            )
        )

        @Option(name: .long, help: "Path prefix for the key files.")
        var out: String

        @OptionGroup var output: OutputOptions

        func run() throws {
            let key = try KeyFiles.generate(prefix: out)
            if output.json {
                try output.emit(["keyID": key.keyID, "privateKey": out + ".key", "publicKey": out + ".pub"])
            } else {
                print(key.keyID)
                printError("wrote \(out).key (private, mode 0600) and \(out).pub (public)")
            }
        }
    }
}
