import AirlockBundle
import AirlockCore
import ArgumentParser
import Foundation

struct InventoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory",
        abstract: "Write what the store holds, by digest, for the connected host's `seal --delta`.",
        discussion: Example.discussion(
            """
            The inventory lists every blob of the store by sha256 and size, and the last sequence \
            imported on each channel. It carries no content and needs no signature: a delta cut \
            against a wrong inventory is refused at import, which re-hashes every blob the delta \
            relies on.
            """,
            Example("Inside: write the inventory to carry out", "airlock inventory --out inventory.json"),
            Example("Outside: seal only what the enclave lacks", "airlock seal --project app --key keys/team.key \\\n    --delta inventory.json --out week-2.airlock")
        )
    )

    @Option(help: "The inventory file to write.") var out: String
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let store = try storeOptions.openExisting()
        let inventory = try StoreInventory.of(store)
        let bytes = inventory.canonicalBytes
        try FileSystem.writeAtomically(out, bytes)
        let total = inventory.blobs.values.reduce(0, +)
        if output.json {
            return try output.emit(["path": out, "sha256": SHA256Hasher.hash(bytes).hex, "blobs": "\(inventory.blobs.count)", "bytes": "\(total)"])
        }
        print(out)
        printError("inventory of \(storeOptions.root): \(inventory.blobs.count) blob(s), \(ByteCount.format(total)); sha256 \(SHA256Hasher.hash(bytes).hex)")
    }
}
