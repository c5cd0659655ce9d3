// Whether anything in one directory was written since the last look, through inotify(7), without
// blocking: `serve` asks it per request so that a catalog snapshot is known to be current without a
// query (another process's commit writes the index's -wal file, or its database file, in the
// store's root, and the kernel queues the event at that write). A non-blocking read of the
// inotify descriptor is one system call; SQLite's data_version is a lock and a query.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

public final class DirectoryWatch: Sendable {
    private let descriptor: Int32

    /// Watches `directory` for files written, created, moved in or removed; nil where inotify
    /// cannot be had (no support, or the watch limit reached): callers then ask the index instead.
    public init?(_ directory: String) {
        #if os(Linux)
            let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard fd >= 0 else { return nil }
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_CLOSE_WRITE)
            guard inotify_add_watch(fd, directory, mask) >= 0 else {
                close(fd)
                return nil
            }
            descriptor = fd
        #else
            return nil
        #endif
    }

    deinit { close(descriptor) }

    /// True when an event came since the last call (all queued events are read); never blocks.
    /// An overflowed or failed read counts as a change.
    public func changed() -> Bool {
        var any = false
        while true {
            let n = withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { read(descriptor, $0.baseAddress, $0.count) }
            if n > 0 {
                any = true
                continue
            }
            if n < 0, errno == EINTR { continue }
            // EAGAIN: nothing more queued. Anything else: say changed, so the caller asks the index.
            return any || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        }
    }
}
