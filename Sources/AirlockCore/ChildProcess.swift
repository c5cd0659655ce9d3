// The one way Airlock starts a child process: sandboxes (bwrap, docker, podman), mmdebstrap, pip and
// uv for `lock`, pip's network session for `fetch`, the probes of `doctor` and `--runtime auto`, and
// the tests' own stock tools and servers.
//
// Why a runner of our own and not swift-subprocess: a run must end within a bounded time after the
// child exits even when a descendant it left behind (podman's conmon, a daemon a script started)
// still holds the output pipes open; swift-subprocess's streaming `run` returns only when its body's
// reads reach end of file, so such a child would hang the build. The rest is what both do: the
// child leads its own process group (a time-out or a cancellation kills bwrap or the docker client
// with everything it forked), starts with no descriptor beyond 0-2 (a stray pipe end held by a
// sandbox would keep another run's reader waiting), with the signal mask and dispositions reset
// (the test runner blocks SIGTERM), and its pipes are read as the bytes come with poll(): a pipe
// nobody drains while the child fills the other would stall it. Each run's waiting happens on a
// thread of its own, never on Swift's cooperative pool: the caller's task suspends.

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Which of the child's output streams bytes came from.
public enum ChildStream: Sendable, Equatable {
    case standardOutput
    case standardError
}

/// One child process: what to run, with what, for how long, and where its output goes.
public struct ChildProcess: Sendable {
    /// What the child reads on standard input.
    public enum Input: Sendable {
        /// /dev/null.
        case none
        /// These bytes, then end of file.
        case bytes([UInt8])
        /// A file, opened read-only.
        case file(String)
    }

    /// Whether to keep reading after a chunk: `.stop` kills the child (its process group).
    public enum Flow: Sendable {
        case proceed
        case stop
    }

    /// Where output goes as it comes, on the run's reader thread, in order per stream. A handler
    /// should return quickly; returning `.stop` kills the child.
    public struct Output: Sendable {
        let chunk: (@Sendable (ChildStream, UnsafeRawBufferPointer) -> Flow)?
        let line: (@Sendable (ChildStream, String) -> Void)?

        /// Nothing is passed on (the result's captures and tail still have it).
        public static let discard = Output(chunk: nil, line: nil)

        /// Raw chunks as read (binary-safe).
        public static func chunks(_ handler: @escaping @Sendable (ChildStream, UnsafeRawBufferPointer) -> Flow) -> Output {
            Output(chunk: handler, line: nil)
        }

        /// Lines without their newline; a line longer than 64 KiB is passed on in pieces.
        public static func lines(_ handler: @escaping @Sendable (ChildStream, String) -> Void) -> Output {
            Output(chunk: nil, line: handler)
        }
    }

    /// An absolute path to the executable.
    public var executable: String
    /// The arguments after argv[0] (which is `executable`).
    public var arguments: [String]
    /// The child's entire environment.
    public var environment: [String: String]
    /// Where the child starts; nil keeps this process's directory.
    public var workingDirectory: String?
    public var input: Input
    /// After this the process group is killed and the result says `timedOut`; nil runs unbounded.
    public var timeLimit: Duration?
    public var output: Output
    /// How many bytes of standard output / standard error the result keeps (from the start; what
    /// goes past is counted in `outputOverflow`).
    public var captureOutput: Int
    public var captureError: Int
    /// How many bytes of the end of both streams, as they arrived, the result keeps for messages.
    public var tailLimit: Int
    /// The signal a time-out or a cancellation sends to the group first; SIGKILL follows after
    /// `stopGrace` if the child is still there. SIGKILL itself is sent at once.
    public var stopSignal: Int32
    public var stopGrace: Duration
    /// Lets another task stop the child as a time-out would, and still get its result.
    public var stopper: ChildStopper?
    /// Runs once, on the reader thread, just before the group is signalled (time-out, cancellation
    /// or a handler's `.stop`): docker and podman stop the container here, which killing the client
    /// would not.
    public var beforeStop: @Sendable () -> Void

    public init(
        executable: String,
        arguments: [String] = [],
        environment: [String: String] = ChildProcess.inheritedEnvironment(),
        workingDirectory: String? = nil,
        input: Input = .none,
        timeLimit: Duration? = nil,
        output: Output = .discard,
        captureOutput: Int = 0,
        captureError: Int = 0,
        tailLimit: Int = 16 << 10,
        stopSignal: Int32 = ChildProcess.killSignal,
        stopGrace: Duration = .seconds(5),
        stopper: ChildStopper? = nil,
        beforeStop: @escaping @Sendable () -> Void = {}
    ) {
        self.stopper = stopper
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.input = input
        self.timeLimit = timeLimit
        self.output = output
        self.captureOutput = captureOutput
        self.captureError = captureError
        self.tailLimit = tailLimit
        self.stopSignal = stopSignal
        self.stopGrace = stopGrace
        self.beforeStop = beforeStop
    }

    /// Runs to the end, the time limit or a handler's `.stop`. Cancelling the task stops the child
    /// (as a time-out does) and throws `CancellationError`. Throws `ProcessError` when the child
    /// cannot be started.
    public func run() async throws -> ChildResult {
        // An interrupted command starts nothing new (a stop hook's own child runs on its thread).
        guard !Interrupts.isInterrupted else {
            throw ProcessError(executable: executable, reason: "not started: the command was interrupted")
        }
        let control = RunControl()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ChildResult, any Error>) in
                let thread = Thread {
                    do {
                        continuation.resume(returning: try self.runBlocking(control))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.name = "airlock child " + FileSystem.baseName(executable)
                thread.start()
            }
        } onCancel: {
            control.isCancelled.store(true, ordering: .relaxed)
        }
    }

    /// Runs on the calling thread and blocks it: only for a thread of Airlock's own (such as a
    /// run's reader thread, in `beforeStop`), never from a task.
    package func runOnCurrentThread() throws -> ChildResult { try runBlocking(RunControl()) }
}

/// Stops a running child from outside its run (the result says `stoppedByHandler`).
public final class ChildStopper: Sendable {
    fileprivate let isRequested = Atomic<Bool>(false)
    public init() {}
    public func stop() { isRequested.store(true, ordering: .relaxed) }
}

/// How a child ended, and what it printed.
public struct ChildResult: Sendable {
    /// The exit status, or 128 + the signal that ended it (137 after SIGKILL).
    public var status: Int32
    public var timedOut: Bool
    /// True when an output handler returned `.stop` or a `ChildStopper` stopped it.
    public var stoppedByHandler: Bool
    /// The first `captureOutput` / `captureError` bytes of each stream.
    public var standardOutput: [UInt8]
    public var standardError: [UInt8]
    /// Bytes of standard output past `captureOutput` that were not kept.
    public var outputOverflow: Int
    /// The last `tailLimit` bytes of both streams as they arrived, for messages.
    public var tail: String
    public var elapsed: Duration

    public var succeeded: Bool { status == 0 && !timedOut && !stoppedByHandler }
    public var outputText: String { String(decoding: standardOutput, as: UTF8.self) }
    public var errorText: String { String(decoding: standardError, as: UTF8.self) }

    /// The last `count` non-empty lines of the tail, for a message.
    public func tailLines(_ count: Int = 12) -> [String] {
        tail.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .suffix(count)
    }
}

/// A child that could not be started.
public struct ProcessError: AirlockError {
    public let executable: String
    public let reason: String
    public var status: ExitStatus { .badInput }
    public var code: ErrorCode { CoreErrorCode.cannotStartProcess.code }
    public var description: String { "\(executable): cannot run it: \(reason)" }
}

extension ChildProcess {
    /// SIGKILL and SIGTERM, for callers that do not import the C library.
    public static let killSignal: Int32 = SIGKILL
    public static let terminateSignal: Int32 = SIGTERM

    /// Finds `program` on `path` (a PATH value), or takes it as a path when it holds a `/`.
    public static func locate(_ program: String, path: String? = Environment.get("PATH")) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `argv` (found on PATH) with this process's environment, and returns its exit status and
    /// combined output (at most 1 MiB of each stream); 127 when it cannot start, 124 after `timeout`.
    public static func capture(
        _ argv: [String],
        timeout: Duration,
        environment: [String: String] = ChildProcess.inheritedEnvironment()
    ) async -> (status: Int32, output: String) {
        guard let first = argv.first, let executable = locate(first, path: environment["PATH"]) else { return (127, "") }
        let child = ChildProcess(
            executable: executable, arguments: Array(argv.dropFirst()), environment: environment, timeLimit: timeout,
            captureOutput: 1 << 20, captureError: 1 << 20
        )
        guard let result = try? await child.run() else { return (127, "") }
        if result.timedOut { return (124, result.outputText + result.errorText) }
        return (result.status, result.outputText + result.errorText)
    }

    /// This process's environment with `overrides` applied (a value sets a variable, nil removes it).
    public static func inheritedEnvironment(_ overrides: [String: String?] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in overrides {
            if let value { environment[key] = value } else { environment.removeValue(forKey: key) }
        }
        return environment
    }
}

// MARK: - The reader thread

/// Cancellation reaches the reader thread through this flag; the thread polls it.
private final class RunControl: Sendable {
    let isCancelled = Atomic<Bool>(false)
}

extension ChildProcess {
    private func runBlocking(_ control: RunControl) throws -> ChildResult {
        // Kept whole: one poll loop; every turn reads and writes the same fds, exit and stop state.
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = timeLimit.map { start + $0 }
        let child = try spawn()
        // SIGINT or SIGTERM stops it the way a cancellation does (Interrupts.swift).
        let interruptToken = Interrupts.track(child: { control.isCancelled.store(true, ordering: .relaxed) })
        defer { Interrupts.forget(child: interruptToken) }
        var readers = [
            StreamReader(fd: child.stdout, stream: .standardOutput, capture: captureOutput),
            StreamReader(fd: child.stderr, stream: .standardError, capture: captureError),
        ]
        var stdinFD = child.stdin
        var stdinOffset = 0
        let stdinBytes: [UInt8]
        if case .bytes(let bytes) = input { stdinBytes = bytes } else { stdinBytes = [] }
        defer {
            for reader in readers where reader.fd >= 0 { close(reader.fd) }
            if stdinFD >= 0 { close(stdinFD) }
        }
        var tail = TailBuffer(limit: tailLimit)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var status: Int32?
        var exitedAt: ContinuousClock.Instant?
        var stopping: (reason: StopReason, at: ContinuousClock.Instant, killed: Bool)?

        while true {
            if status == nil {
                var raw: Int32 = 0
                let reaped = waitpid(child.pid, &raw, WNOHANG)
                if reaped == child.pid {
                    status = Self.decode(raw)
                    exitedAt = clock.now
                } else if reaped < 0, errno != EINTR {
                    status = 255
                    exitedAt = clock.now
                }
            }
            let open = readers.indices.filter { readers[$0].fd >= 0 }
            if status != nil, open.isEmpty { break }
            // A descendant that escaped the kill may hold a pipe open; stop reading soon after the exit.
            if let exitedAt, clock.now - exitedAt > .seconds(2) { break }
            if status == nil {
                if stopping == nil {
                    var reason: StopReason? = nil
                    if control.isCancelled.load(ordering: .relaxed) {
                        reason = .cancelled
                    } else if let deadline, clock.now >= deadline {
                        reason = .timedOut
                    } else if readers.contains(where: \.wantsStop) || stopper?.isRequested.load(ordering: .relaxed) == true {
                        reason = .handler
                    }
                    if let reason {
                        beforeStop()
                        kill(-child.pid, stopSignal)
                        stopping = (reason, clock.now, stopSignal == SIGKILL)
                    }
                } else if let current = stopping, !current.killed, clock.now - current.at >= stopGrace {
                    kill(-child.pid, SIGKILL)
                    stopping?.killed = true
                }
            }
            var fds = open.map { pollfd(fd: readers[$0].fd, events: Int16(POLLIN), revents: 0) }
            let writesInput = stdinFD >= 0
            if writesInput { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            var waitMs = open.isEmpty && !writesInput ? 2 : 50
            if stopping == nil, let deadline {
                waitMs = min(waitMs, Self.milliseconds(until: deadline, from: clock.now) + 1)
            }
            let ready = poll(&fds, nfds_t(fds.count), Int32(waitMs))
            guard ready > 0 else { continue }
            for (slot, index) in open.enumerated() where fds[slot].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(readers[index].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    buffer.withUnsafeBytes { raw in
                        let chunk = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                        tail.append(chunk)
                        readers[index].feed(chunk, to: output)
                    }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    readers[index].finish(to: output)
                    close(readers[index].fd)
                    readers[index].fd = -1
                }
            }
            if writesInput, let last = fds.last, last.revents != 0 {
                if last.revents & Int16(POLLOUT) != 0, stdinOffset < stdinBytes.count {
                    let n = stdinBytes.withUnsafeBytes { raw in
                        write(stdinFD, raw.baseAddress.map { $0 + stdinOffset }, raw.count - stdinOffset)
                    }
                    if n > 0 { stdinOffset += n } else if n < 0, errno != EINTR, errno != EAGAIN { stdinOffset = stdinBytes.count }
                } else {
                    stdinOffset = stdinBytes.count  // the child closed its end
                }
                if stdinOffset >= stdinBytes.count {
                    close(stdinFD)
                    stdinFD = -1
                }
            }
        }
        for index in readers.indices where readers[index].fd >= 0 { readers[index].finish(to: output) }
        if stopping?.reason == .cancelled { throw CancellationError() }
        return ChildResult(
            status: status ?? 255,
            timedOut: stopping?.reason == .timedOut,
            stoppedByHandler: stopping?.reason == .handler,
            standardOutput: readers[0].captured,
            standardError: readers[1].captured,
            outputOverflow: readers[0].overflow,
            tail: tail.text,
            elapsed: clock.now - start
        )
    }

    private enum StopReason { case cancelled, timedOut, handler }

    private static func milliseconds(until deadline: ContinuousClock.Instant, from now: ContinuousClock.Instant) -> Int {
        let remaining = deadline - now
        let (seconds, attoseconds) = remaining.components
        return max(0, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }

    /// Exit code, or 128 + signal, from a raw wait status (the W* macros do not import).
    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }
}

// MARK: - Starting the child

extension ChildProcess {
    private struct Spawned {
        var pid: pid_t
        var stdout: Int32
        var stderr: Int32
        /// The write end of the child's standard input, for `.bytes`; -1 otherwise.
        var stdin: Int32
    }

    private func spawn() throws -> Spawned {
        var pipes: [[Int32]] = []
        defer { for pair in pipes { for fd in pair where fd >= 0 { close(fd) } } }
        func makePipe() throws -> Int {
            var fds: [Int32] = [-1, -1]
            guard airlock_pipe2(&fds, O_CLOEXEC) == 0 else {
                throw ProcessError(executable: executable, reason: "cannot create a pipe: \(String(cString: strerror(errno)))")
            }
            pipes.append(fds)
            return pipes.count - 1
        }
        let out = try makePipe()
        let err = try makePipe()
        var inputPipe: Int? = nil
        if case .bytes = input { inputPipe = try makePipe() }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch input {
        case .none:
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        case .file(let path):
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ProcessError(executable: executable, reason: "its input \(path) cannot be read")
            }
            posix_spawn_file_actions_addopen(&actions, 0, path, O_RDONLY, 0)
        case .bytes:
            if let inputPipe { posix_spawn_file_actions_adddup2(&actions, pipes[inputPipe][0], 0) }
        }
        posix_spawn_file_actions_adddup2(&actions, pipes[out][1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes[err][1], 2)
        if let workingDirectory {
            guard FileSystem.kind(of: workingDirectory) == .directory else {
                throw ProcessError(executable: executable, reason: "its working directory \(workingDirectory) does not exist")
            }
            airlock_posix_spawn_file_actions_addchdir_np(&actions, workingDirectory)
        }
        airlock_posix_spawn_file_actions_addclosefrom_np(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let argv = [executable] + arguments
        let envp = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        for text in argv + envp where text.utf8.contains(0) {
            throw ProcessError(executable: executable, reason: "an argument or environment value holds a NUL byte")
        }
        var result: Int32 = 0
        // ETXTBSY: an executable just written (a test's script, an unpacked toolchain) is still
        // open for writing in some other child between its fork and its exec, for microseconds,
        // even with O_CLOEXEC. Try again, backing off, for at most about half a second.
        for attempt in 0..<20 {
            result = withCStrings(argv) { argv in
                withCStrings(envp) { envp in posix_spawn(&pid, executable, &actions, &attributes, argv, envp) }
            }
            guard result == ETXTBSY, attempt < 19 else { break }
            usleep(UInt32(1_000 << min(attempt, 5)))
        }
        guard result == 0 else { throw ProcessError(executable: executable, reason: String(cString: strerror(result))) }
        // Hand the parent's ends out of `pipes` so the deferred close leaves them open.
        let spawned = Spawned(
            pid: pid, stdout: pipes[out][0], stderr: pipes[err][0], stdin: inputPipe.map { pipes[$0][1] } ?? -1
        )
        pipes[out][0] = -1
        pipes[err][0] = -1
        if let inputPipe {
            pipes[inputPipe][1] = -1
            _ = fcntl(spawned.stdin, F_SETFL, fcntl(spawned.stdin, F_GETFL) | O_NONBLOCK)
        }
        return spawned
    }
}

/// One pipe's bytes: passed on as chunks or lines, captured up to a limit.
private struct StreamReader {
    /// Lines longer than this are passed on in pieces, so a newline-free stream cannot grow memory.
    static let maxLine = 64 << 10
    var fd: Int32
    let stream: ChildStream
    let capture: Int
    var captured: [UInt8] = []
    var overflow = 0
    var pending: [UInt8] = []
    var wantsStop = false

    init(fd: Int32, stream: ChildStream, capture: Int) {
        self.fd = fd
        self.stream = stream
        self.capture = capture
    }

    mutating func feed(_ bytes: UnsafeRawBufferPointer, to output: ChildProcess.Output) {
        if capture > 0 {
            let room = max(0, capture - captured.count)
            captured.append(contentsOf: bytes.prefix(room))
            overflow += max(0, bytes.count - room)
        }
        if let chunk = output.chunk, !wantsStop, chunk(stream, bytes) == .stop { wantsStop = true }
        guard let handler = output.line else { return }
        var start = bytes.startIndex
        while let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) {
            pending.append(contentsOf: bytes[start..<newline])
            handler(stream, String(decoding: pending, as: UTF8.self))
            pending.removeAll(keepingCapacity: true)
            start = newline + 1
        }
        pending.append(contentsOf: bytes[start...])
        if pending.count >= Self.maxLine {
            handler(stream, String(decoding: pending, as: UTF8.self))
            pending.removeAll(keepingCapacity: true)
        }
    }

    mutating func finish(to output: ChildProcess.Output) {
        guard let handler = output.line, !pending.isEmpty else { return }
        handler(stream, String(decoding: pending, as: UTF8.self))
        pending.removeAll()
    }
}

/// The last `limit` bytes of everything read, in arrival order.
private struct TailBuffer {
    let limit: Int
    var bytes: [UInt8] = []

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
        guard limit > 0 else { return }
        bytes.append(contentsOf: chunk)
        if bytes.count > 2 * limit { bytes.removeFirst(bytes.count - limit) }
    }

    var text: String { String(decoding: bytes.suffix(max(limit, 0)), as: UTF8.self) }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { buffer in
        // The buffer always holds at least the terminating nil.
        guard let base = buffer.baseAddress else { preconditionFailure("empty C string array") }
        return body(base)
    }
}

// Glibc's module map hides this _GNU_SOURCE call: pipe2 makes both ends close-on-exec atomically, so
// a child spawned by another thread at the same moment cannot inherit them.
@_silgen_name("pipe2") private func airlock_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

// glibc 2.34+, hidden behind __USE_MISC in the module map: closes every descriptor from 3 up in the
// child, so the child inherits nothing this process opened without O_CLOEXEC.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func airlock_posix_spawn_file_actions_addclosefrom_np(
    _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>,
    _ from: Int32
) -> Int32

// glibc 2.29+, hidden the same way: the child changes directory after the other file actions.
@_silgen_name("posix_spawn_file_actions_addchdir_np")
private func airlock_posix_spawn_file_actions_addchdir_np(
    _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>,
    _ path: UnsafePointer<CChar>
) -> Int32
