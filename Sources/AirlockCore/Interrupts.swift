// SIGINT and SIGTERM: an interrupted command stops cleanly instead of dying where it stands. The
// first signal marks the process interrupted (no new child process starts), asks every running
// child to stop through the same path a time-out takes (the child's process group gets its stop
// signal, a Docker or Podman container is removed by its runtime's stop hook, SIGKILL after the
// grace period) and waits for them, bounded; then removes every temporary file and directory the
// process made and has not renamed into place or removed (the store's `tmp/*.part`, the `.tmp`
// beside a bundle being sealed, scratch directories), reports, and exits 130 (SIGINT) or 143
// (SIGTERM). What the store already committed stays
// committed: blobs are renamed whole and the index commits in one transaction, so a store
// interrupted at any point verifies, and the same command run again completes.
//
// Signals are taken by a dispatch source on a queue of their own (never Swift's cooperative pool),
// so the handler may wait and call anything.

import Dispatch
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

public enum Interrupts {
    /// What a cleanup did, for the message the caller prints.
    public struct Summary: Sendable {
        public var signal: Int32
        public var signalName: String
        public var stoppedChildren: Int
        public var removedPaths: Int
        /// 130 for SIGINT, 143 for SIGTERM.
        public var exitStatus: Int32 { 128 + signal }
    }

    private struct State: ~Copyable {
        var files: Set<String> = []
        var trees: Set<String> = []
        var children: [Int: @Sendable () -> Void] = [:]
        var nextChild = 0
        /// What must be put back before the exit, such as a terminal's echo.
        var restorers: [Int: @Sendable () -> Void] = [:]
        var sources: [any DispatchSourceSignal] = []
        var report: (@Sendable (Summary) -> Void)? = nil
    }

    private static let state = Mutex(State())
    private static let interrupted = Atomic<Int32>(0)
    private static let queue = DispatchQueue(label: "airlock-signals")
    /// How long the handler waits for children to stop before it cleans up anyway.
    static let childWait: Duration = .seconds(15)

    /// Whether a signal has arrived (a child that would start now is refused).
    public static var isInterrupted: Bool { interrupted.load(ordering: .acquiring) != 0 }

    /// Takes SIGINT and SIGTERM from here on; `report` runs once, before the exit.
    public static func install(report: @escaping @Sendable (Summary) -> Void) {
        state.withLock { state in
            guard state.sources.isEmpty else { return }
            state.report = report
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler { handle(signalNumber) }
                source.resume()
                state.sources.append(source)
            }
        }
    }

    /// Once interrupted, waits for the handler to finish and exit: the command's own error or
    /// success exit must not race the cleanup. Returns at once otherwise.
    public static func waitIfInterrupted() {
        guard isInterrupted else { return }
        while true { usleep(100_000) }
    }

    // MARK: What the cleanup covers

    /// A temporary file the process may leave behind; `forget` it once renamed or removed.
    package static func track(file path: String) { state.withLock { _ = $0.files.insert(path) } }
    package static func forget(file path: String) { state.withLock { _ = $0.files.remove(path) } }
    package static func track(tree path: String) { state.withLock { _ = $0.trees.insert(path) } }
    package static func forget(tree path: String) { state.withLock { _ = $0.trees.remove(path) } }

    /// A running child and how to ask it to stop; the returned token forgets it.
    package static func track(child stop: @escaping @Sendable () -> Void) -> Int {
        state.withLock { state in
            state.nextChild += 1
            state.children[state.nextChild] = stop
            return state.nextChild
        }
    }

    package static func forget(child token: Int) { state.withLock { _ = $0.children.removeValue(forKey: token) } }

    /// Something to put back before an interrupted process exits (a terminal left without echo);
    /// the returned token forgets it.
    package static func track(restore: @escaping @Sendable () -> Void) -> Int {
        state.withLock { state in
            state.nextChild += 1
            state.restorers[state.nextChild] = restore
            return state.nextChild
        }
    }

    package static func forget(restore token: Int) { state.withLock { _ = $0.restorers.removeValue(forKey: token) } }

    // MARK: The handler

    private static func handle(_ signalNumber: Int32) {
        guard interrupted.exchange(signalNumber, ordering: .acquiringAndReleasing) == 0 else { return }
        let stops = state.withLock { Array($0.children.values) }
        for stop in stops { stop() }
        let clock = ContinuousClock()
        let deadline = clock.now + childWait
        while clock.now < deadline, state.withLock({ !$0.children.isEmpty }) { usleep(20_000) }
        finish(signalNumber, stopped: stops.count)
    }

    private static func finish(_ signalNumber: Int32, stopped: Int) -> Never {
        let (files, trees, restorers, report) = state.withLock { state in
            let taken = (state.files, state.trees, Array(state.restorers.values), state.report)
            state.files = []
            state.trees = []
            state.restorers = [:]
            state.report = nil
            return taken
        }
        for restore in restorers { restore() }
        for file in files { unlink(file) }
        for tree in trees { FileSystem.removeTree(tree) }
        let name = signalNumber == SIGINT ? "SIGINT" : signalNumber == SIGTERM ? "SIGTERM" : "signal \(signalNumber)"
        let summary = Summary(
            signal: signalNumber, signalName: name, stoppedChildren: stopped, removedPaths: files.count + trees.count
        )
        report?(summary)
        _exit(summary.exitStatus)
    }
}
