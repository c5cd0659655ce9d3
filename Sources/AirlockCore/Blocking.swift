// Work that blocks a thread for a long time (waiting on pip, uv or another child process) must not
// run on Swift's cooperative pool: it has one thread per core, and two such waits on a 2-core machine
// stall every other task in the process. `Blocking.run` moves that work to a thread of its own and
// suspends the caller until it is done.

import Foundation

public enum Blocking {
    /// Runs `body` on a new thread; the calling task suspends (without holding a pool thread).
    public static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
