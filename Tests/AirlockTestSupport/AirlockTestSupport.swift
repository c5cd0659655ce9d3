// Fixtures shared by the in-process test targets: private temp directories, a shell runner for the
// stock tools (tar, openssl, sha256sum) that auditors use, and deterministic pseudo-random bytes.

public import AirlockCore
import Foundation

/// A fresh 0700 directory per test, removed when the value goes away.
public final class TemporaryDirectory {
    public let path: String

    public init() throws { path = try FileSystem.makeTemporaryDirectory(prefix: "airlock-test") }
    deinit { FileSystem.removeTree(path) }

    /// Writes a file (and its parent directories) below the temp dir; returns its path.
    @discardableResult
    public func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let p = path + "/" + name
        try FileSystem.makeDirectory(FileSystem.parentPath(p))
        try FileSystem.writeAtomically(p, bytes)
        return p
    }

    @discardableResult
    public func file(_ name: String, _ text: String) throws -> String { try file(name, Array(text.utf8)) }
}

/// Runs `command` with /bin/sh; returns its status and combined output.
public func shell(_ command: String, in directory: String? = nil) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Deterministic pseudo-random bytes (a 64-bit LCG): fixtures that compress badly and repeat exactly.
public func pseudoRandom(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}
