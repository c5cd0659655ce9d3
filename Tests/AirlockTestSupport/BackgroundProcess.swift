// A long-lived child for tests (an HTTP server, a package index, dockerd), started through
// Airlock's one process runner: the test awaits the first line it prints (a port, "ready") with a
// bound, and stopping it is the runner's stop of its whole process group. Dropping the value
// stops the child too, so a failing test leaves no server behind.

public import AirlockCore
import Synchronization

public final class BackgroundProcess: Sendable {
    /// The first line the child printed on standard output.
    public let firstLine: String
    private let stopper: ChildStopper
    private let task: Task<ChildResult, any Error>

    private init(firstLine: String, stopper: ChildStopper, task: Task<ChildResult, any Error>) {
        self.firstLine = firstLine
        self.stopper = stopper
        self.task = task
    }

    deinit { stopper.stop() }

    /// Starts `child` (its `output` and `stopper` are replaced) and waits at most `within` for its
    /// first line on standard output; throws with the child's last output if it exits or stays
    /// silent first.
    public static func start(_ child: ChildProcess, within: Duration = .seconds(30)) async throws -> BackgroundProcess {
        let first = FirstLine()
        let stopper = ChildStopper()
        var child = child
        child.stopper = stopper
        child.output = .lines { stream, line in if stream == .standardOutput { first.offer(line) } }
        if child.tailLimit == 0 { child.tailLimit = 4096 }
        let running = child
        let task = Task {
            defer { first.offer(nil) }
            return try await running.run()
        }
        let timer = Task {
            try await Task.sleep(for: within)
            first.offer(nil)
        }
        defer { timer.cancel() }
        guard let line = await first.value else {
            stopper.stop()
            let tail = (try? await task.value)?.tailLines(8).joined(separator: "\n") ?? ""
            throw UsageError("\(child.executable) printed nothing within \(within) (or exited): \(tail)")
        }
        return BackgroundProcess(firstLine: line, stopper: stopper, task: task)
    }

    /// Waits until the child exits by itself; its result.
    public func wait() async -> ChildResult? {
        try? await task.value
    }

    /// Stops the child (and its group) and waits until it is gone.
    @discardableResult
    public func stop() async -> ChildResult? {
        stopper.stop()
        return try? await task.value
    }
}

/// The first line offered, or nil when the child ended or the time ran out first; awaited once.
private final class FirstLine: Sendable {
    private struct State {
        var value: String??
        var waiter: CheckedContinuation<String?, Never>?
    }
    private let state = Mutex(State())

    func offer(_ line: String?) {
        let waiter = state.withLock { s -> CheckedContinuation<String?, Never>? in
            guard s.value == nil else { return nil }
            s.value = .some(line)
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume(returning: line)
    }

    var value: String? {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { s -> String?? in
                    if let value = s.value { return value }
                    s.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
