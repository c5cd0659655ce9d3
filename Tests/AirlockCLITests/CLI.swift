// Process-level helpers: run the built `airlock` executable through Airlock's one process runner
// (AirlockCore's ChildProcess) in a private temp directory and capture its exit status, standard
// output and standard error. The test's task suspends while the child runs.

import AirlockCore
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a finished process left behind.
struct CLIResult: Sendable, CustomStringConvertible {
    var status: Int32
    /// True when the process ended by a signal rather than by `exit`.
    var wasSignaled: Bool
    var stdoutData: Data
    var stderrData: Data

    var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    var stderr: String { String(decoding: stderrData, as: UTF8.self) }
    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

    var description: String {
        "exit \(status)\(wasSignaled ? " (signal)" : "")\n--- stdout\n\(stdout)--- stderr\n\(stderr)"
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
}

/// mkdtemp(3): a new directory, mode 0700, from a template ending in XXXXXX.
func makeTemporaryDirectory(_ template: String) throws -> String {
    var buffer = Array(template.utf8CString)
    let made = buffer.withUnsafeMutableBufferPointer { b in b.baseAddress.flatMap { mkdtemp($0) } }
    guard made != nil else { throw CLIError(description: "mkdtemp \(template) failed: errno \(errno)") }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A fresh 0700 directory under /tmp, removed with everything in it by `remove()`.
struct TempDir: Sendable {
    let path: String

    init() throws {
        path = try makeTemporaryDirectory("/tmp/airlock-cli-test-XXXXXX")
    }

    func remove() {
        if (try? FileManager.default.removeItem(atPath: path)) == nil {
            // Something below was made read-only: open it up and try once more.
            if let walker = FileManager.default.enumerator(atPath: path) {
                _ = chmod(path, 0o700)
                while let entry = walker.nextObject() as? String { _ = chmod(path + "/" + entry, 0o700) }
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Creates (with parents) a directory below the temp dir and returns its path.
    @discardableResult
    func directory(_ name: String) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

/// A started process: wait for it, or stop it (SIGKILL to its process group).
final class RunningProcess: Sendable {
    private let task: Task<ChildResult, any Error>
    private let stopper: ChildStopper
    private let label: String

    fileprivate init(_ child: ChildProcess, stopper: ChildStopper, label: String) {
        self.task = Task { try await child.run() }
        self.stopper = stopper
        self.label = label
    }

    /// Kills the process (and its group); `wait()` then returns its result.
    func kill() { stopper.stop() }

    /// Waits for the process to end (at most `timeout` seconds, then SIGKILL and an error).
    func wait(timeout: Double = 50) async throws -> CLIResult {
        let stopper = self.stopper
        let fired = Mutex(false)
        let guardTask = Task {
            try await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
            fired.withLock { $0 = true }
            stopper.stop()
        }
        defer { guardTask.cancel() }
        let result = try await task.value
        if fired.withLock({ $0 }) { throw CLIError(description: "\(label) did not finish within \(timeout) s; killed") }
        return CLIResult(result)
    }

    func removeOutput() {}
}

extension CLIResult {
    init(_ result: ChildResult) {
        let signaled = result.status > 128
        self.init(
            status: signaled ? result.status - 128 : result.status, wasSignaled: signaled,
            stdoutData: Data(result.standardOutput), stderrData: Data(result.standardError)
        )
    }
}

enum CLI {
    /// The `airlock` executable built next to the test bundle (the test target depends on it).
    static let binary: String = {
        if let override = ProcessInfo.processInfo.environment["AIRLOCK_BINARY"], !override.isEmpty { return override }
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Darwin-style bundles the runner sits deeper (X.xctest/Contents/MacOS); walk up a little.
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("airlock").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("airlock").path
    }()

    /// The environment every child gets: PATH inherited, HOME in the test's temp dir, nothing else
    /// from the runner (so AIRLOCK_STORE and SOURCE_DATE_EPOCH are unset unless a test sets them).
    static func environment(home: String, extra: [String: String]) -> [String: String] {
        var env: [String: String] = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "LC_ALL": "C",
        ]
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Starts `executable` with `arguments` in `directory`; standard input is `stdin` (bytes, a
    /// file or FIFO, or nothing: /dev/null). Through Airlock's one process runner.
    static func start(
        executable: String,
        _ arguments: [String],
        in directory: String,
        environment extra: [String: String] = [:],
        stdin: ChildProcess.Input = .none
    ) throws -> RunningProcess {
        let stopper = ChildStopper()
        let child = ChildProcess(
            executable: executable, arguments: arguments, environment: environment(home: directory, extra: extra),
            workingDirectory: directory, input: stdin, captureOutput: 256 << 20, captureError: 64 << 20, tailLimit: 0,
            stopper: stopper
        )
        return RunningProcess(child, stopper: stopper, label: "\(arguments)")
    }

    /// Runs `airlock ARGUMENTS` in `directory` and waits for it.
    @discardableResult
    static func run(
        _ arguments: [String],
        in directory: String,
        environment: [String: String] = [:],
        stdin: Data? = nil,
        timeout: Double = 50
    ) async throws -> CLIResult {
        let running = try start(
            executable: binary, arguments, in: directory, environment: environment, stdin: stdin.map { .bytes(Array($0)) } ?? .none
        )
        return try await running.wait(timeout: timeout)
    }

    /// Starts `airlock ARGUMENTS` without waiting.
    static func start(
        _ arguments: [String],
        in directory: String,
        environment: [String: String] = [:],
        stdin: ChildProcess.Input = .none
    ) throws -> RunningProcess {
        try start(executable: binary, arguments, in: directory, environment: environment, stdin: stdin)
    }
}

/// Stock tools, run through /bin/sh as an auditor would type them.
enum Shell {
    @discardableResult
    static func run(_ script: String, in directory: String, environment: [String: String] = [:]) async throws -> CLIResult {
        try await CLI.start(executable: "/bin/sh", ["-c", script], in: directory, environment: environment).wait()
    }

    /// `sha256sum FILE`'s hex digest.
    static func sha256(of path: String) async throws -> String {
        let result = try await run("sha256sum '\(path)'", in: "/")
        guard result.status == 0, let hex = result.stdout.split(separator: " ").first, hex.count == 64 else {
            throw CLIError(description: "sha256sum \(path) failed: \(result)")
        }
        return String(hex)
    }
}

// MARK: - Fixtures

enum Fixture {
    /// Deterministic pseudo-random bytes (SplitMix64), distinct per seed: cheap to make in bulk and
    /// incompressible enough that sizes on disk are what the test asked for.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            var i = 0
            while i < count {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                withUnsafeBytes(of: z.littleEndian) { word in
                    for j in 0..<min(8, count - i) { raw[i + j] = word[j] }
                }
                i += 8
            }
        }
        return out
    }

    /// Writes `count` pseudo-random bytes to `path` and returns them.
    @discardableResult
    static func write(_ path: String, count: Int, seed: UInt64) throws -> Data {
        let data = Data(bytes(count: count, seed: seed))
        try data.write(to: URL(fileURLWithPath: path))
        return data
    }

    /// A fresh key pair `DIR/NAME.key` and `.pub`; returns the key id `key generate` printed.
    static func key(_ dir: TempDir, name: String = "team") async throws -> (key: String, pub: String, id: String) {
        let prefix = dir.file("keys/" + name)
        let result = try await CLI.run(["key", "generate", "--out", prefix], in: dir.path)
        guard result.status == 0, let id = result.stdoutLines.last, id.count == 64 else {
            throw CLIError(description: "key generate failed: \(result)")
        }
        return (prefix + ".key", prefix + ".pub", id)
    }

    /// A SOURCE_DATE_EPOCH one hour ago: recent, so a bundle with a long --expires is valid now.
    static var recentEpoch: String { String(Int(Date().timeIntervalSince1970) - 3600) }
}

/// Reads a JSON document from standard output.
func parseJSON(_ result: CLIResult) throws -> Any {
    try JSONSerialization.jsonObject(with: result.stdoutData, options: [.fragmentsAllowed])
}

/// The `error.code` of the `{"error": {"code", "message"}}` line that `--json` leaves last on
/// standard output (after any report the command printed first); nil when there is none.
func errorCode(_ result: CLIResult) -> String? {
    guard let last = result.stdoutLines.last,
        let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any],
        let error = object["error"] as? [String: Any]
    else { return nil }
    return error["code"] as? String
}

/// Lists a directory (names only, sorted); empty when it does not exist.
func listing(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

/// True when stderr carries no crash report or Swift runtime trap.
func hasNoStackTrace(_ result: CLIResult) -> Bool {
    let s = result.stderr
    return !s.contains("Fatal error") && !s.contains("Stack dump") && !s.contains("Backtrace")
        && !s.contains("Current stack trace") && !result.wasSignaled
}
