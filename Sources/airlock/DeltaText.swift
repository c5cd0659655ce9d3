import AirlockBundle
import AirlockCore

/// The lines `seal` and `verify` print about a delta bundle.
enum DeltaText {
    static func summary(_ cut: DeltaSummary) -> String {
        var text = "delta: left out \(cut.relied) blob(s), \(ByteCount.format(cut.reliedBytes)), that the enclave's store holds"
        if cut.recipes > 0 {
            text += "; carries \(cut.recipes) zip(s) of \(ByteCount.format(cut.recipeOutputBytes)) as recipes of \(ByteCount.format(cut.recipeBytes))"
        }
        return text
    }

    /// What a delta relies on, blob by blob; with `has`, which of them the store at `storeRoot` lacks.
    static func reliance(_ delta: DeltaReport, has: ((SHA256Digest) -> Bool)?, storeRoot: String) -> [String] {
        var lines = [
            "delta cut against inventory sha256:\(delta.inventory.prefix(12))…: relies on \(delta.summary.relied) blob(s), \(ByteCount.format(delta.summary.reliedBytes)), that the importing store must hold (import re-hashes each):"
        ]
        var lacking = 0
        for blob in delta.store {
            let absent = has.map { check in SHA256Digest(blob.sha256).map { !check($0) } ?? true } ?? false
            if absent { lacking += 1 }
            let names = blob.artifacts.isEmpty ? "" : "  " + blob.artifacts.joined(separator: ", ")
            lines.append("  \(absent ? "missing" : "store  ")  \(blob.sha256.prefix(12))  \(ByteCount.format(blob.size))  \(blob.kind)\(names)")
        }
        for blob in delta.recipes {
            let names = blob.artifacts.isEmpty ? "" : "  " + blob.artifacts.joined(separator: ", ")
            lines.append("  recipe   \(blob.sha256.prefix(12))  \(ByteCount.format(blob.size))  \(blob.kind)\(names)  (rebuilt at import from recipe \(blob.recipe?.prefix(12) ?? "?"))")
        }
        if has != nil {
            lines.append(
                lacking == 0
                    ? "the store at \(storeRoot) holds every one of them"
                    : "the store at \(storeRoot) lacks \(lacking) of them: importing there would be refused"
            )
        }
        return lines
    }
}
