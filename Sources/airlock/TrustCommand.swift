import AirlockBundle
import AirlockCore
import ArgumentParser
import Foundation

struct TrustCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Manage the store's trust policy: which keys may sign which channels, and how many must.",
        discussion: Example.discussion(
            Example("Trust a key for the prod channel", "airlock trust add keys/team.pub --channels prod"),
            Example("Require two signers", "airlock trust threshold 2")
        ),
        subcommands: [Add.self, Remove.self, Threshold.self, List.self, Rotate.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Trust a public key.",
            discussion: Example.discussion(
                Example("Trust a key for two channels", "airlock trust add keys/team.pub --channels prod,staging"),
                Example("Under a name of its own", "airlock trust add keys/alice.pub --name alice")
            )
        )
        @Argument(help: "The public key (SPKI PEM).") var publicKey: String
        @Option(help: "A name for the key (default: the file name).") var name: String?
        @Option(help: "Channels it may sign, comma-separated (default: all).") var channels: String?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let key = try KeyFiles.loadPublicKey(publicKey)
            let list = (channels ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for c in list where !Manifest.isValidChannel(c) {
                throw UsageError(BundleErrorCode.badChannel, "--channels: '\(c)' is not a valid channel name")
            }
            let store = try storeOptions.open()
            let pem = String(decoding: try key.pem(), as: UTF8.self)
            let keyName = name ?? FileSystem.baseName(publicKey)
            let trusted = TrustedKey(keyID: key.keyID, name: keyName, publicKey: pem, channels: list)
            try store.index.addTrustedKey(trusted)
            if output.json { return try output.emit(trusted) }
            print(key.keyID)
            printError("trusted \(keyName) for \(list.isEmpty ? "every channel" : "channels " + list.joined(separator: ", "))")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop trusting a key.",
            discussion: Example.discussion(
                Example("Stop trusting a key (its id from airlock trust ls)", "airlock trust remove \\\n    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
            )
        )
        @Argument(help: "The key id.") var keyID: String
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let store = try storeOptions.open()
            guard try store.index.removeTrustedKey(keyID) else {
                throw UsageError(BundleErrorCode.unknownKey, "\(keyID): no trusted key with that id in \(store.root)")
            }
            if output.json { return try output.emit(["removed": keyID]) }
            printError("removed \(keyID)")
        }
    }

    struct Threshold: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "How many distinct trusted keys must sign a bundle.",
            discussion: Example.discussion(
                Example("Require two distinct trusted signers", "airlock trust threshold 2")
            )
        )
        @Argument(help: "K, at least 1.") var k: Int
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard k >= 1 else { throw UsageError(BundleErrorCode.badThreshold, "threshold must be at least 1") }
            let store = try storeOptions.open()
            try store.index.setThreshold(k)
            let count = try store.index.trustedKeys().count
            if output.json { return try output.emit(["threshold": k, "keys": count]) }
            printError("threshold set to \(k) of \(count) trusted key(s)" + (k > count ? " (add more keys: no bundle can pass yet)" : ""))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List trusted keys and the threshold.",
            discussion: Example.discussion(
                Example("The trusted keys and the threshold", "airlock trust ls")
            )
        )
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        struct Listing: Encodable {
            var version: Int
            var threshold: Int
            var keys: [TrustedKey]
        }

        func run() throws {
            let store = try storeOptions.openExisting()
            let snapshot = try store.index.trustSnapshot()
            let listing = Listing(version: snapshot.version, threshold: snapshot.threshold, keys: snapshot.keys)
            if output.json { return try output.emit(listing) }
            print("version: \(listing.version)")
            print("threshold: \(listing.threshold)")
            for k in listing.keys {
                print("\(k.keyID)  \(k.name)  channels: \(k.channels.isEmpty ? "*" : k.channels.joined(separator: ","))")
            }
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the trust policy by one the current and the new keys signed (as TUF rotates root).",
            discussion: Example.discussion(
                """
                Outside, sign the next policy: NEW.json is what `airlock trust ls --json` prints, edited, \
                with its version raised. Inside, apply it: it must be signed by the store's threshold of \
                its current keys and the new policy's threshold of the new keys, its version above the \
                store's, and not expired.
                """,
                Example(
                    "Outside: sign the next policy with two keys",
                    "airlock trust rotate --policy next.json --key keys/a.key --key keys/c.key \\\n    --out trust-v2.rotation"
                ),
                Example("Inside: apply it to the store's trust policy", "airlock trust rotate trust-v2.rotation")
            )
        )
        @Argument(help: "Inside: the rotation file to apply.") var rotation: String?
        @Option(help: "Outside: the next policy (trust ls --json plus an integer version) to sign.") var policy: String?
        @Option(name: .long, help: "Outside: a private key to sign with; repeatable.") var key: [String] = []
        @Option(help: "Outside: for an encrypted --key, read its passphrase from the first line of this file.")
        var passphraseFile: String?
        @Option(help: "Outside: how long the rotation stays valid (7d, 12h), or until when (2026-06-01T00:00:00Z); default 7d.")
        var expires: String?
        @Flag(help: "Outside: sign even if --expires has passed (for testing that the store refuses it).")
        var allowExpired = false
        @Option(help: "Outside: the rotation file to write.") var out: String?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if policy != nil {
                guard rotation == nil else {
                    throw ValidationError(
                        "give either --policy NEW.json (to sign) or a ROTATION file (to apply), not both"
                    )
                }
                guard out != nil else { throw ValidationError("--policy needs --out ROTATION, the file to write") }
            } else {
                guard rotation != nil else {
                    throw ValidationError(
                        "give a ROTATION file to apply, or --policy NEW.json --key K.key --out ROTATION to sign one"
                    )
                }
                let signing = !key.isEmpty || out != nil || expires != nil || allowExpired || passphraseFile != nil
                guard !signing else {
                    throw ValidationError(
                        "--key, --out, --expires, --allow-expired and --passphrase-file sign a rotation: "
                            + "give --policy NEW.json too"
                    )
                }
            }
        }

        func run() throws {
            if let policy, let out {
                let signed = try TrustRotation.sign(
                    policy: policy, keyPaths: key, passphrase: KeyPassphrase(file: passphraseFile), expires: expires,
                    allowExpired: allowExpired, output: out
                )
                if output.json { return try output.emit(signed) }
                print(signed.file)
                printError(
                    "signed trust policy version \(signed.version) (\(signed.threshold) of \(signed.keys.count) keys) "
                        + "with \(signed.signers.count) key(s), valid until \(signed.expires)"
                )
                if signed.newKeysSigned < signed.threshold {
                    printError(
                        "warning: only \(signed.newKeysSigned) of the new policy's keys signed; "
                            + "a store refuses the rotation until \(signed.threshold) of them do"
                    )
                }
                return
            }
            guard let rotation else { return }
            // A rotation replaces a policy: there must be a store with one already.
            _ = try storeOptions.openExisting()
            let store = try storeOptions.open()
            let applied = try TrustRotation.apply(rotation, to: store.index)
            if output.json { return try output.emit(applied) }
            printError(
                "trust policy version \(applied.previousVersion) -> \(applied.version): "
                    + "\(applied.threshold) of \(applied.keys.count) keys, \(applied.added.count) added, "
                    + "\(applied.removed.count) removed"
            )
        }
    }
}
