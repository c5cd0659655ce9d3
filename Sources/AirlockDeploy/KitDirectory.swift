// The one rule for where a kit is written, shared by every kit (Cloud Shell, Kubernetes): --out is
// created if missing, and an existing directory must be empty unless the caller replaces the kit's
// own files in it (--force), so a kit never mixes silently with whatever was there.

import AirlockCore

enum KitDirectory {
    /// Makes `directory` ready for a kit's files, or throws a `UsageError` saying why it is not.
    static func prepare(_ directory: String, replacing: Bool) throws {
        switch FileSystem.kind(of: directory) {
        case nil:
            try FileSystem.makeDirectory(directory)
        case .directory?, .symlink?:
            // A symlink is fine if it leads to a directory; listing it says whether it does.
            let names: [String]
            do { names = try FileSystem.list(directory) } catch {
                throw UsageError(DeployErrorCode.outNotADirectory, "--out \(directory): exists and is not a directory")
            }
            if !names.isEmpty && !replacing {
                throw UsageError(
                    DeployErrorCode.outDirNotEmpty,
                    "--out \(directory): exists and is not empty; name a new directory, or pass --force to replace the kit's files in it"
                )
            }
        case .regular?, .other?:
            throw UsageError(DeployErrorCode.outNotADirectory, "--out \(directory): exists and is not a directory")
        }
    }
}
