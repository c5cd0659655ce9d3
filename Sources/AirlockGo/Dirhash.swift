// The go command's `h1:` hash of a module (golang.org/x/mod/sumdb/dirhash, Hash1): for every file,
// sorted by name as bytes, the line `HEX-SHA256  NAME\n`; the hash is "h1:" and the standard base64
// of the SHA-256 of those lines. A module zip is hashed over its member names as they are in the
// zip (`module@version/...`), a go.mod over the one name `go.mod`.

public import AirlockCore
import Foundation

public enum Dirhash {
    /// `h1:` over files given by name and the SHA-256 of their content.
    public static func hash1(_ files: [(name: String, sha256: SHA256Digest)]) throws -> String {
        let sorted = files.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let summary = SHA256Hasher()
        for file in sorted {
            guard !file.name.contains("\n") else {
                throw CheckFailure(
                    GoModuleErrorCode.badModuleZip,
                    "\(file.name.debugDescription): a file name with a newline cannot be hashed"
                )
            }
            summary.update(Array((file.sha256.hex + "  " + file.name + "\n").utf8))
        }
        return "h1:" + Data(summary.finalize().bytes).base64EncodedString()
    }

    /// `h1:` of a go.mod file's bytes, as go.sum's `VERSION/go.mod` lines give it.
    public static func goMod(_ bytes: [UInt8]) -> String {
        // One name without a newline: hash1 cannot fail.
        (try? hash1([(name: "go.mod", sha256: SHA256Hasher.hash(bytes))])) ?? ""
    }
}
