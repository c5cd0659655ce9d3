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
                Example("Make keys/team.key and keys/team.pub", "airlock key generate --out keys/team"),
                Example(
                    "Encrypt the private key with the first line of a file",
                    "airlock key generate --out keys/team --passphrase-file team.pass"
                )
            )
        )

        @Option(name: .long, help: "Path prefix for the key files.")
        var out: String

        @Option(
            help: "Encrypt the private key (AES-256, PBKDF2) with the first line of this file, as openssl -passin file: reads it."
        )
        var passphraseFile: String?

        @Flag(help: "Encrypt the private key with a passphrase typed twice on the terminal.")
        var encrypt = false

        @OptionGroup var output: OutputOptions

        struct Written: Encodable {
            var keyID: String
            var privateKey: String
            var publicKey: String
            var encrypted: Bool
        }

        func run() throws {
            let passphrase = passphraseFile.map(KeyPassphrase.file) ?? (encrypt ? .terminal : nil)
            let key = try KeyFiles.generate(prefix: out, passphrase: passphrase)
            let kind = passphrase == nil ? "private, mode 0600" : "private, encrypted, mode 0600"
            if output.json {
                try output.emit(
                    Written(
                        keyID: key.keyID, privateKey: out + ".key", publicKey: out + ".pub", encrypted: passphrase != nil
                    )
                )
            } else {
                print(key.keyID)
                printError("wrote \(out).key (\(kind)) and \(out).pub (public)")
            }
        }
    }
}

