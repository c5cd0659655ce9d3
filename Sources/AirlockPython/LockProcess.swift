// Runs the user's resolvers (pip, uv, a python probe) for `airlock lock`. Their standard output and
// standard error go to files in the lock's work directory, never to pipes: a pipe that nobody
// drains while the child writes the other one can stall it, and files need no reader threads.

import AirlockCore
import Foundation

/// What a finished child process left.
struct LockProcessResult: Sendable {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String

    /// The last `count` non-empty lines of standard error, for a message.
    func stderrTail(_ count: Int = 12) -> String {
        let lines = stderr.split(separator: "\n").map { String($0) }.filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        return lines.suffix(count).joined(separator: "\n")
    }
}

enum LockProcess {
    /// The environment a child runs with: this process's, changed by `overrides` (a value sets a
    /// variable, nil removes it).
    static func environment(_ overrides: [String: String?]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in overrides {
            if let value { env[key] = value } else { env.removeValue(forKey: key) }
        }
        return env
    }

    /// Finds `program` on the PATH the child will see (or takes it as a path).
    static func locate(_ program: String, environment: [String: String]) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `executable arguments...` with standard input from /dev/null and waits for it.
    /// `label` names the run's output files in `workDirectory` (which the caller removes).
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        workDirectory: String,
        label: String
    ) throws -> LockProcessResult {
        let outPath = workDirectory + "/\(label).stdout"
        let errPath = workDirectory + "/\(label).stderr"
        try FileSystem.writeAtomically(outPath, [])
        try FileSystem.writeAtomically(errPath, [])
        guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
            throw UsageError("\(workDirectory): cannot open the output files for \(label)")
        }
        defer {
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        do {
            try process.run()
        } catch {
            throw UsageError("\(executable): cannot run it (\(error.localizedDescription))")
        }
        process.waitUntilExit()
        let stdout = try FileSystem.readFile(outPath, limit: 256 << 20)
        let stderr = try FileSystem.readFile(errPath, limit: 64 << 20)
        let status =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return LockProcessResult(status: status, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }
}
