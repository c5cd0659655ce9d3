// Test hooks of the one file-writing path (`FileDescriptor.write`): a hold at a known point for
// the signal tests, and injected EIO, ENOSPC and short writes for the fault tests. They exist only
// when their variables are set; Airlock never sets them.

import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Test hooks of the one file-writing path (`FileDescriptor.write`), read once from the
/// environment; unset, they cost one load per write.
/// - AIRLOCK_TEST_HOLD_AFTER_BYTES=N with AIRLOCK_TEST_HOLD_MARKER=PATH: once the process has
///   written N bytes, it creates PATH and holds the writing thread (up to a minute), so a test can
///   send a signal at a known point.
/// - AIRLOCK_TEST_FAIL_AFTER_BYTES=N with AIRLOCK_TEST_FAIL=EIO or ENOSPC: every write once the
///   process has written N bytes fails with that error, as a failing or full disk would.
/// - AIRLOCK_TEST_FAIL=SHORT: every write writes at most half of what it was given (at least one
///   byte), as the kernel may; the data must come out the same.
package enum WriteHooks {
    static let holdAfter: Int? = getenv("AIRLOCK_TEST_HOLD_AFTER_BYTES").flatMap { Int(String(cString: $0)) }
    static let marker: String? = getenv("AIRLOCK_TEST_HOLD_MARKER").map { String(cString: $0) }
    static let failAfter: Int = getenv("AIRLOCK_TEST_FAIL_AFTER_BYTES").flatMap { Int(String(cString: $0)) } ?? 0
    static let failure: String? = getenv("AIRLOCK_TEST_FAIL").map { String(cString: $0) }
    static let written = Atomic<Int>(0)
    static let held = Atomic<Bool>(false)

    /// One write(2), or the failure or short write a test asked for: the count written (or -1)
    /// and the error to report with -1.
    static func write(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) -> (Int, Int32?) {
        guard let failure else { return (systemWrite(fd, base, count), nil) }
        switch failure {
        case "SHORT": return (systemWrite(fd, base, max(1, count / 2)), nil)
        case "EIO" where written.load(ordering: .relaxed) >= failAfter: return (-1, EIO)
        case "ENOSPC" where written.load(ordering: .relaxed) >= failAfter: return (-1, ENOSPC)
        default: return (systemWrite(fd, base, count), nil)
        }
    }

    static func wrote(_ count: Int) {
        guard holdAfter != nil || failure != nil else { return }
        let total = written.wrappingAdd(count, ordering: .relaxed).newValue
        guard let holdAfter else { return }
        guard total >= holdAfter, !held.exchange(true, ordering: .relaxed) else { return }
        if let marker {
            let fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if fd >= 0 { close(fd) }
        }
        for _ in 0..<600 { usleep(100_000) }
    }
}

private func systemWrite(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(fd, base, count)
    #else
        Musl.write(fd, base, count)
    #endif
}
