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
        subcommands: [Add.self, Remove.self, Threshold.self, List.self]
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
            var threshold: Int
            var keys: [TrustedKey]
        }

        func run() throws {
            let store = try storeOptions.openExisting()
            let listing = Listing(threshold: try store.index.threshold(), keys: try store.index.trustedKeys())
            if output.json { return try output.emit(listing) }
            print("threshold: \(listing.threshold)")
            for k in listing.keys {
                print("\(k.keyID)  \(k.name)  channels: \(k.channels.isEmpty ? "*" : k.channels.joined(separator: ","))")
            }
        }
    }
}
