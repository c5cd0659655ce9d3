import AirlockCore
import Foundation

/// A fresh 0700 directory per test, removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = try FileSystem.makeTemporaryDirectory(prefix: "airlock-core-test")
    }

    deinit { FileSystem.removeTree(path) }

    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path + "/" + name
        try FileSystem.makeDirectory(FileSystem.parentPath(p))
        try FileSystem.writeAtomically(p, bytes)
        return p
    }
}

/// Runs a shell command, returning status and standard output.
func shell(_ command: String, in directory: String? = nil) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
