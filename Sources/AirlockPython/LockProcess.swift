// Runs the user's resolvers (pip, uv, a python probe) for `airlock lock`, through the one process
// runner (AirlockCore's ChildProcess): standard output is kept whole (pip's report), standard error
// kept for messages; the caller's task suspends while the child runs.

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
        ChildProcess.inheritedEnvironment(overrides)
    }

    /// Finds `program` on the PATH the child will see (or takes it as a path).
    static func locate(_ program: String, environment: [String: String]) -> String? {
        ChildProcess.locate(program, path: environment["PATH"])
    }

    /// The Python interpreter `program` names, resolved to the file that runs (`sys.executable`):
    /// a pyenv shim is a shell script that rehashes its shims after every `pip install`, and two
    /// locks at once race on that rehash and fail; a virtual environment's python resolves to
    /// itself. Nil when it is not on PATH; the located path when it cannot be asked.
    static func interpreter(_ program: String, environment: [String: String]) async -> String? {
        guard let located = locate(program, environment: environment) else { return nil }
        let ask = ChildProcess(
            executable: located, arguments: ["-I", "-c", "import sys; print(sys.executable)"], environment: environment,
            timeLimit: .seconds(30), captureOutput: 4096
        )
        guard let result = try? await ask.run(), result.succeeded else { return located }
        let path = result.outputText.trimmingCharacters(in: .whitespacesAndNewlines)
        return path.hasPrefix("/") && FileManager.default.isExecutableFile(atPath: path) ? path : located
    }

    /// Runs `executable arguments...` with standard input from /dev/null and waits for it (the
    /// task suspends). `label` names the run in messages.
    static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String],
        workDirectory: String,
        label: String
    ) async throws -> LockProcessResult {
        let child = ChildProcess(
            executable: executable, arguments: arguments, environment: environment,
            captureOutput: 256 << 20, captureError: 64 << 20, tailLimit: 0
        )
        let result: ChildResult
        do {
            result = try await child.run()
        } catch let error as ProcessError {
            throw UsageError(CoreErrorCode.cannotStartProcess, "\(executable): cannot run it (\(error.reason))")
        }
        guard result.outputOverflow == 0 else {
            throw UsageError(
                PythonErrorCode.tooMuchOutput,
                "\(label): \(executable) wrote more than 256 MiB on standard output"
            )
        }
        return LockProcessResult(status: result.status, stdout: result.standardOutput, stderr: result.errorText)
    }
}
