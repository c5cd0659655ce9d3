// Runs a sandbox backend's command line and streams its output. Why not Foundation's Process: the
// child must lead its own process group (so a time-out kills bwrap or the docker client with
// everything it forked), start with no inherited descriptors beyond 0-2 (a stray pipe end held by a
// sandbox would keep another run's reader waiting), and have its two pipes read as the bytes come,
// on one thread with poll(): a pipe nobody drains while the child fills the other would stall it.

import AirlockCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Cancellation reaches the reader thread through this flag; the thread polls it.
private final class SandboxControl: Sendable {
    let isCancelled = Atomic<Bool>(false)
}

/// One child process with streamed output, a time limit and a kill for the whole process group.
struct SandboxProcess: Sendable {
    /// An absolute path to the executable.
    var executable: String
    /// The full argv, `arguments[0]` included.
    var arguments: [String]
    /// The child's entire environment as `NAME=value`.
    var environment: [String]
    var timeLimit: Double
    var output: SandboxOutput
    var tailLimit: Int
    /// Runs once, on the reader thread, just before the process group is killed (time-out or
    /// cancellation): docker and podman stop the container here, which killing the client would not.
    var beforeKill: @Sendable () -> Void = {}

    /// Runs to the end or the time limit. Cancelling the task kills the run and throws
    /// `CancellationError`.
    func run() async throws -> SandboxResult {
        let control = SandboxControl()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<SandboxResult, any Error>) in
                let thread = Thread {
                    do {
                        continuation.resume(returning: try self.runBlocking(control))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.name = "airlock sandbox reader"
                thread.start()
            }
        } onCancel: {
            control.isCancelled.store(true, ordering: .relaxed)
        }
    }

    private func runBlocking(_ control: SandboxControl) throws -> SandboxResult {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + .milliseconds(Int64(timeLimit * 1000))
        let pid = try spawn()
        var streams = [
            PipeReader(fd: pid.stdout, stream: .standardOutput),
            PipeReader(fd: pid.stderr, stream: .standardError),
        ]
        defer { for reader in streams where reader.fd >= 0 { close(reader.fd) } }
        var tail = TailBuffer(limit: tailLimit)
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var status: Int32?
        var exitedAt: ContinuousClock.Instant?
        var killed = false
        var timedOut = false
        var cancelled = false

        while true {
            if status == nil {
                var raw: Int32 = 0
                let reaped = waitpid(pid.pid, &raw, WNOHANG)
                if reaped == pid.pid {
                    status = Self.decode(raw)
                    exitedAt = clock.now
                } else if reaped < 0, errno != EINTR {
                    status = 255
                    exitedAt = clock.now
                }
            }
            let open = streams.indices.filter { streams[$0].fd >= 0 }
            if status != nil, open.isEmpty { break }
            // A descendant that escaped the kill may hold a pipe open; stop reading soon after the exit.
            if let exitedAt, clock.now - exitedAt > .seconds(2) { break }
            if !killed, status == nil {
                if control.isCancelled.load(ordering: .relaxed) {
                    cancelled = true
                } else if clock.now >= deadline {
                    timedOut = true
                }
                if cancelled || timedOut {
                    killed = true
                    beforeKill()
                    kill(-pid.pid, SIGKILL)
                }
            }
            var fds = open.map { pollfd(fd: streams[$0].fd, events: Int16(POLLIN), revents: 0) }
            var waitMs = fds.isEmpty ? 2 : 50
            if !killed {
                let remaining = deadline - clock.now
                let remainingMs = max(
                    0,
                    remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
                )
                waitMs = min(waitMs, Int(remainingMs) + 1)
            }
            let ready = poll(&fds, nfds_t(fds.count), Int32(waitMs))
            guard ready > 0 else { continue }
            for (slot, index) in open.enumerated() where fds[slot].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(streams[index].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    let chunk = buffer[0..<n]
                    tail.append(chunk)
                    streams[index].feed(chunk, to: output)
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    streams[index].finish(to: output)
                    close(streams[index].fd)
                    streams[index].fd = -1
                }
            }
        }
        for index in streams.indices where streams[index].fd >= 0 { streams[index].finish(to: output) }
        if cancelled { throw CancellationError() }
        return SandboxResult(
            status: status ?? 255,
            timedOut: timedOut,
            tail: tail.text,
            elapsed: clock.now - start
        )
    }

    /// Exit code, or 128 + signal, from a raw wait status (the W* macros do not import).
    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    private struct Spawned {
        var pid: pid_t
        var stdout: Int32
        var stderr: Int32
    }

    private func spawn() throws -> Spawned {
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard airlock_pipe2(&outPipe, O_CLOEXEC) == 0 else {
            throw FileError("create a pipe for", path: executable, errno: errno)
        }
        guard airlock_pipe2(&errPipe, O_CLOEXEC) == 0 else {
            let saved = errno
            close(outPipe[0])
            close(outPipe[1])
            throw FileError("create a pipe for", path: executable, errno: saved)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        airlock_posix_spawn_file_actions_addclosefrom_np(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        )

        var pid: pid_t = 0
        let result = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in
                posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
            }
        }
        close(outPipe[1])
        close(errPipe[1])
        guard result == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            throw FileError("start", path: executable, errno: result)
        }
        return Spawned(pid: pid, stdout: outPipe[0], stderr: errPipe[0])
    }
}

/// Splits one pipe's bytes into lines for the handler.
private struct PipeReader {
    /// Lines longer than this are passed on in pieces, so a newline-free stream cannot grow memory.
    static let maxLine = 64 << 10
    var fd: Int32
    let stream: SandboxStream
    var pending: [UInt8] = []

    mutating func feed(_ bytes: ArraySlice<UInt8>, to output: SandboxOutput) {
        guard let handler = output.handler else { return }
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

    mutating func finish(to output: SandboxOutput) {
        guard let handler = output.handler, !pending.isEmpty else { return }
        handler(stream, String(decoding: pending, as: UTF8.self))
        pending.removeAll()
    }
}

/// The last `limit` bytes of everything read, in arrival order.
private struct TailBuffer {
    let limit: Int
    var bytes: [UInt8] = []

    mutating func append(_ chunk: ArraySlice<UInt8>) {
        bytes.append(contentsOf: chunk)
        if bytes.count > 2 * max(limit, 1) { bytes.removeFirst(bytes.count - limit) }
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

/// Writes every byte to a descriptor, retrying short writes and EINTR; errors are dropped (the
/// terminal went away).
func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return }
        var offset = 0
        while offset < raw.count {
            let n = write(fd, base + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += n
        }
    }
}

// Glibc's module map hides this _GNU_SOURCE call: pipe2 makes both ends close-on-exec atomically, so
// a child spawned by another thread at the same moment cannot inherit them.
@_silgen_name("pipe2") private func airlock_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

// glibc 2.34+, hidden behind __USE_MISC in the module map: closes every descriptor from 3 up in the
// child, so the sandbox inherits nothing this process opened without O_CLOEXEC.
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func airlock_posix_spawn_file_actions_addclosefrom_np(
    _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>,
    _ from: Int32
) -> Int32
