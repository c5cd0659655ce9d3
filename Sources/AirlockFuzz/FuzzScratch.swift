// Where the file-reading harnesses put an input: a fresh directory under $TMPDIR per input,
// removed after it, so no harness sees another input's leftovers and nothing accumulates over a
// million runs. `make fuzz` points TMPDIR at .build/fuzz/tmp.

import AirlockCore

enum FuzzScratch {
    /// Writes `bytes` to `<fresh dir>/<name>` and runs `body(path, dir)`; the directory is removed
    /// after, whatever `body` left in it.
    static func withFile(_ bytes: [UInt8], named name: String, _ body: (String, String) -> Void) {
        guard let directory = try? FileSystem.makeTemporaryDirectory(prefix: "airlock-fuzz") else {
            preconditionFailure("fuzz: cannot create a temporary directory under $TMPDIR")
        }
        defer { FileSystem.removeTree(directory) }
        let path = directory + "/" + name
        do {
            let fd = try FileDescriptor.open(path, writing: true, create: true, exclusive: true)
            try fd.write(bytes)
        } catch {
            preconditionFailure("fuzz: cannot write \(path): \(error)")
        }
        body(path, directory)
    }

    /// The check that an unpack stayed inside `root`: `directory` holds only the root, the empty
    /// `outside` sibling and the named inputs.
    static func expectNothingBeside(_ root: String, outside: String, in directory: String, keeping inputs: Set<String>, harness: String) {
        let expected = inputs.union([FileSystem.baseName(root), FileSystem.baseName(outside)])
        let found = Set((try? FileSystem.list(directory)) ?? [])
        guard found.isSubset(of: expected) else {
            FuzzHarnesses.violated(harness, "wrote \(found.subtracting(expected).sorted()) outside its directory")
        }
        guard ((try? FileSystem.list(outside)) ?? []).isEmpty else {
            FuzzHarnesses.violated(harness, "wrote into a sibling of its directory")
        }
    }
}
