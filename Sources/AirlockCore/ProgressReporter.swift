// Human progress on standard error: a redrawn bar on a terminal, and on anything else one plain
// line when a step ends, so CI logs stay readable. Machine output (--json)
// goes to standard output and never mixes with this.

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

public final class ProgressReporter: Sendable {
    private struct State {
        var label = ""
        var unit = ""
        var total = 0
        var done = 0
        var lastDraw: UInt64 = 0
        var started: UInt64 = 0
    }

    private let state = Mutex(State())
    private let isTerminal: Bool
    private let quiet: Bool

    /// `quiet` silences everything (for --json runs that want a clean stderr too).
    public init(label: String, quiet: Bool = false) {
        self.isTerminal = isatty(2) == 1
        self.quiet = quiet
        state.withLock { $0.label = label }
    }

    public func start(total: Int, unit: String) {
        guard !quiet else { return }
        state.withLock { s in
            s.total = total
            s.unit = unit
            s.done = 0
            s.started = Self.nanoseconds()
        }
    }

    public func advance(by amount: Int) {
        guard !quiet, isTerminal else {
            state.withLock { $0.done += amount }
            return
        }
        let line = state.withLock { s -> String? in
            s.done += amount
            let now = Self.nanoseconds()
            guard now - s.lastDraw > 100_000_000 || s.done >= s.total else { return nil }
            s.lastDraw = now
            let fraction = s.total > 0 ? min(1, Double(s.done) / Double(s.total)) : 1
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            let amount = s.unit == "bytes" ? "\(ByteCount.format(s.done))/\(ByteCount.format(s.total))" : "\(s.done)/\(s.total) \(s.unit)"
            return "\r\(s.label) [\(bar)] \(amount)\u{1B}[K"
        }
        if let line { Self.write(line) }
    }

    public func finish(_ message: String? = nil) {
        guard !quiet else { return }
        let line = state.withLock { s -> String in
            let seconds = Double(Self.nanoseconds() - s.started) / 1e9
            let text = message ?? "\(s.done) \(s.unit)"
            return "\(s.label): \(text) in \(String(format: "%.2f", seconds)) s"
        }
        Self.write((isTerminal ? "\r\u{1B}[K" : "") + line + "\n")
    }

    /// A plain note on standard error.
    public func note(_ message: String) {
        guard !quiet else { return }
        Self.write(message + "\n")
    }

    private static func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    private static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
