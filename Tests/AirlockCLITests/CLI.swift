// Process-level helpers: run the built `airlock` executable with Foundation `Process` in a private
// temp directory and capture its exit status, standard output and standard error. Output goes to
// files (not pipes), so a chatty child can never block on a full pipe while we wait for it.

import Foundation
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
            _ = try? Shell.run("chmod -R u+rwX . 2>/dev/null; true", in: path)
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

/// A started process: wait for it, or kill it.
final class RunningProcess: @unchecked Sendable {
    // @unchecked: `process` is only touched by the test that started it; `exited` is a semaphore.
    let process: Process
    private let exited: DispatchSemaphore
    private let outputDirectory: String
    private let stdoutPath: String
    private let stderrPath: String

    fileprivate init(process: Process, exited: DispatchSemaphore, outputDirectory: String) {
        self.process = process
        self.exited = exited
        self.outputDirectory = outputDirectory
        self.stdoutPath = outputDirectory + "/stdout"
        self.stderrPath = outputDirectory + "/stderr"
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits for the process to end (at most `timeout` seconds, then SIGKILL and an error).
    func wait(timeout: Double = 50) throws -> CLIResult {
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            try? FileManager.default.removeItem(atPath: outputDirectory)
            throw CLIError(description: "\(process.arguments ?? []) did not finish within \(timeout) s; killed")
        }
        // Balance the semaphore so a second wait() returns at once.
        exited.signal()
        let result = CLIResult(
            status: process.terminationStatus,
            wasSignaled: process.terminationReason == .uncaughtSignal,
            stdoutData: FileManager.default.contents(atPath: stdoutPath) ?? Data(),
            stderrData: FileManager.default.contents(atPath: stderrPath) ?? Data()
        )
        return result
    }

    func removeOutput() { try? FileManager.default.removeItem(atPath: outputDirectory) }
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

    /// Starts `executable` with `arguments` in `directory`; standard input is `stdin` (a file
    /// handle, a Pipe, or nothing: /dev/null).
    static func start(
        executable: String,
        _ arguments: [String],
        in directory: String,
        environment extra: [String: String] = [:],
        stdin: Any? = nil
    ) throws -> RunningProcess {
        // A child that dies while we write into its stdin must not take the test runner with it.
        signal(SIGPIPE, SIG_IGN)
        let outputDirectory = try makeTemporaryDirectory("/tmp/airlock-cli-out-XXXXXX")
        let stdoutPath = outputDirectory + "/stdout"
        let stderrPath = outputDirectory + "/stderr"
        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil),
            FileManager.default.createFile(atPath: stderrPath, contents: nil),
            let out = FileHandle(forWritingAtPath: stdoutPath),
            let err = FileHandle(forWritingAtPath: stderrPath)
        else { throw CLIError(description: "cannot create output files in \(outputDirectory)") }
        defer {
            try? out.close()
            try? err.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment(home: directory, extra: extra)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin ?? FileHandle.nullDevice
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        return RunningProcess(process: process, exited: exited, outputDirectory: outputDirectory)
    }

    /// Runs `airlock ARGUMENTS` in `directory` and waits for it.
    @discardableResult
    static func run(
        _ arguments: [String],
        in directory: String,
        environment: [String: String] = [:],
        stdin: Data? = nil,
        timeout: Double = 50
    ) throws -> CLIResult {
        var input: FileHandle? = nil
        var inputPath: String? = nil
        if let stdin {
            let path = "/tmp/airlock-cli-stdin-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            guard FileManager.default.createFile(atPath: path, contents: stdin),
                let handle = FileHandle(forReadingAtPath: path)
            else { throw CLIError(description: "cannot write stdin file \(path)") }
            input = handle
            inputPath = path
        }
        defer {
            try? input?.close()
            if let inputPath { try? FileManager.default.removeItem(atPath: inputPath) }
        }
        let running = try start(executable: binary, arguments, in: directory, environment: environment, stdin: input)
        defer { running.removeOutput() }
        return try running.wait(timeout: timeout)
    }

    /// Starts `airlock ARGUMENTS` without waiting.
    static func start(
        _ arguments: [String],
        in directory: String,
        environment: [String: String] = [:],
        stdin: Any? = nil
    ) throws -> RunningProcess {
        try start(executable: binary, arguments, in: directory, environment: environment, stdin: stdin)
    }
}

/// Stock tools, run through /bin/sh as an auditor would type them.
enum Shell {
    @discardableResult
    static func run(_ script: String, in directory: String, environment: [String: String] = [:]) throws -> CLIResult {
        let running = try CLI.start(executable: "/bin/sh", ["-c", script], in: directory, environment: environment)
        defer { running.removeOutput() }
        return try running.wait()
    }

    /// `sha256sum FILE`'s hex digest.
    static func sha256(of path: String) throws -> String {
        let result = try run("sha256sum '\(path)'", in: "/")
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
    static func key(_ dir: TempDir, name: String = "team") throws -> (key: String, pub: String, id: String) {
        let prefix = dir.file("keys/" + name)
        let result = try CLI.run(["key", "generate", "--out", prefix], in: dir.path)
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
