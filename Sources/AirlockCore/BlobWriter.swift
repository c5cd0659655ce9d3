// Writes one blob into the store's tmp/ while hashing it, in two stages on two threads: the caller
// fills a buffer and hashes it (SHA-256 is the single-core limit), a writer thread writes the same
// buffer. The bytes hashed are exactly the bytes written: a source that changes under us cannot
// produce a blob whose content differs from its address.
//
// Measured here (1 GiB, SHA-NI): a read size of 64 KiB costs ~5% in hashing, 256 KiB-1 MiB is flat,
// so buffers are 1 MiB. Past the first 8 MiB the writer switches to O_DIRECT: buffered writes of a
// large blob cost 1.5-1.8 s of CPU per GiB on this VM (page-cache pages come back slowly from the
// host) against 0.2 s direct, and a blob is written once and rarely read back soon. Small blobs stay
// buffered (and can be made durable in a batch with one syncfs). Where the file system refuses
// O_DIRECT the writer stays buffered and starts write-back early so the final fsync has little left.
//
// Ownership: the writer thread holds only the `WriterChannel` (file, buffers, queue), never the
// BlobWriter, so a BlobWriter dropped without finish() or discard() is still deinitialized; its
// deinit stops the thread and joins it, then the temp file is removed and, as the last reference to
// the channel goes, the descriptor closed. The thread is a joined pthread, not a Foundation Thread,
// so all of that has happened when deinit returns, not some time later on the writer thread.
//
// The thread starts with the first full buffer: a blob that fits one buffer (most of a bundle of
// 100,000 small files) is hashed and written on the caller's thread in finish(), since a thread
// per blob cost more than the write itself (100,000 clone3 calls, 40% of such an import).

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A blob being written: append bytes, then `finish()` for its digest and temp path.
public final class BlobWriter: @unchecked Sendable {
    // @unchecked: the caller's side (append/finish) runs on one thread at a time; the writer thread
    // touches only the channel, whose shared state is guarded by its condition.
    public static let bufferSize = 1 << 20
    static let poolSize = 16

    public let temporaryPath: String
    private let channel: WriterChannel
    private var thread: pthread_t? = nil
    private let hasher = SHA256Hasher()
    private var current: UnsafeMutableRawBufferPointer? = nil
    private var currentFill = 0
    public private(set) var size = 0
    private var finished = false
    private var isJoined = false

    private let syncOnFinish: Bool

    /// Creates `tmpDirectory/<unique>.part`, exclusive, mode 0644. With `syncOnFinish` false the
    /// caller makes the data durable itself (one `syncfs` for a whole batch is far cheaper than an
    /// fsync per small blob).
    public init(tmpDirectory: String, syncOnFinish: Bool = true) throws {
        let name = "\(Environment.processID)-\(UInt64.random(in: 0...UInt64.max)).part"
        let path = tmpDirectory + "/" + name
        let channel = WriterChannel(
            file: try FileDescriptor.open(path, writing: true, create: true, exclusive: true)
        )
        temporaryPath = path
        // Removed if the command is interrupted; Store.commit or discard forgets it.
        Interrupts.track(file: path)
        self.syncOnFinish = syncOnFinish
        self.channel = channel
    }

    /// Starts the writer thread (at the first full buffer).
    private func startWriter() throws {
        let context = Unmanaged.passRetained(channel).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread,
            nil,
            { context in
                guard let context else { return nil }
                let channel = Unmanaged<WriterChannel>.fromOpaque(context).takeRetainedValue()
                _ = linux_pthread_setname_np(pthread_self(), "airlock-blob-wr")
                channel.run()
                return nil
            },
            context
        )
        guard status == 0 else {
            Unmanaged<WriterChannel>.fromOpaque(context).release()
            throw FileError("start a writer thread for", path: temporaryPath, errno: status)
        }
        self.thread = thread
    }

    deinit {
        if !finished { discard() }
    }

    /// The writer thread's kernel id (as in /proc/self/task), for tests that check it is gone.
    package var writerThreadID: Int32? { thread == nil ? nil : channel.threadID() }

    /// Copies `bytes` in, hashing them.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let buffer = try currentBuffer()
            let n = min(buffer.count - currentFill, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: buffer[currentFill..<(currentFill + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            currentFill += n
            offset += n
            if currentFill == buffer.count { try flushCurrent() }
        }
    }

    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Lets `fill` read straight into a free buffer (no extra copy); returns what it filled, 0 at end.
    public func fill(_ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        let buffer = try currentBuffer()
        let n = try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[currentFill...]))
        currentFill += n
        if currentFill == buffer.count { try flushCurrent() }
        return n
    }

    /// Waits for every byte to reach the disk; returns the digest.
    public func finish() throws -> SHA256Digest {
        precondition(!finished, "BlobWriter.finish called twice")
        var directError: (any Error)? = nil
        if thread == nil, let buffer = current {
            // It fits one buffer: hash and write it here, without a thread.
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<currentFill])
            hasher.update(chunk)
            size += currentFill
            do { try channel.file.write(chunk) } catch { directError = error }
            currentFill = 0
        } else if currentFill > 0 {
            try flushCurrent()
        }
        if let current {
            channel.release(current)
            self.current = nil
        }
        stopWriter()
        finished = true
        if let writeError = directError ?? channel.error {
            try? FileSystem.remove(temporaryPath)
            throw writeError
        }
        do {
            if syncOnFinish { try channel.file.sync() }
        } catch {
            try? FileSystem.remove(temporaryPath)
            throw error
        }
        return hasher.finalize()
    }

    /// Stops and removes the temp file.
    public func discard() {
        stopWriter()
        finished = true
        try? FileSystem.remove(temporaryPath)
        Interrupts.forget(file: temporaryPath)
    }

    private func currentBuffer() throws -> UnsafeMutableRawBufferPointer {
        if let current { return current }
        let buffer = try channel.takeFreeBuffer()
        current = buffer
        currentFill = 0
        return buffer
    }

    private func flushCurrent() throws {
        guard let buffer = current else { return }
        let count = currentFill
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        size += count
        current = nil
        currentFill = 0
        if thread == nil { try startWriter() }
        try channel.enqueue(buffer, count: count)
    }

    /// Tells the thread to finish what is queued, and joins it.
    private func stopWriter() {
        guard !isJoined else { return }
        channel.close()
        if let thread { pthread_join(thread, nil) }
        isJoined = true
    }
}

/// What the writer thread shares with its BlobWriter: the file, the buffer pool and the queue, under
/// one condition. The thread holds a reference to this alone.
private final class WriterChannel: @unchecked Sendable {
    // @unchecked: every var below is read and written under `condition` only, except `file`'s
    // writes (the writer thread alone, until it is joined) and `all` (appended under `condition`,
    // freed in deinit when no thread is left).
    private static let writebackStride = 8 << 20
    private static let directThreshold = 8 << 20
    private static let directAlignment = 4096

    let file: FileDescriptor
    private let condition = NSCondition()
    private var free: [UnsafeMutableRawBufferPointer] = []
    private var queued: [(UnsafeMutableRawBufferPointer, Int)] = []
    private var all: [UnsafeMutableRawBufferPointer] = []
    private var writeError: (any Error)? = nil
    private var closed = false
    private var writerThreadID: Int32? = nil

    init(file: FileDescriptor) { self.file = file }

    deinit { for buffer in all { buffer.deallocate() } }

    var error: (any Error)? {
        condition.lock()
        defer { condition.unlock() }
        return writeError
    }

    func threadID() -> Int32 {
        condition.lock()
        defer { condition.unlock() }
        while writerThreadID == nil { condition.wait() }
        return writerThreadID ?? 0
    }

    /// A buffer to fill, waiting for the writer to hand one back when all are in use.
    func takeFreeBuffer() throws -> UnsafeMutableRawBufferPointer {
        condition.lock()
        defer { condition.unlock() }
        if free.isEmpty && all.count < BlobWriter.poolSize {
            // Buffers are made on demand, so a small blob costs one buffer, not the whole pool.
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobWriter.bufferSize, alignment: 4096)
            all.append(buffer)
            free.append(buffer)
        }
        while free.isEmpty && writeError == nil { condition.wait() }
        if let writeError { throw writeError }
        return free.removeLast()
    }

    func release(_ buffer: UnsafeMutableRawBufferPointer) {
        condition.lock()
        free.append(buffer)
        condition.unlock()
    }

    func enqueue(_ buffer: UnsafeMutableRawBufferPointer, count: Int) throws {
        condition.lock()
        queued.append((buffer, count))
        condition.signal()
        let error = writeError
        condition.unlock()
        if let error { throw error }
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// The writer thread: writes queued buffers in order until closed and drained.
    func run() {
        condition.lock()
        writerThreadID = linux_gettid()
        condition.broadcast()
        condition.unlock()
        var written = 0
        var writebackFrom = 0
        var direct = false
        var directRefused = false
        while true {
            condition.lock()
            while queued.isEmpty && !closed { condition.wait() }
            if queued.isEmpty && closed {
                condition.unlock()
                return
            }
            let (buffer, count) = queued.removeFirst()
            let failed = writeError != nil
            condition.unlock()

            var error: (any Error)? = nil
            if !failed {
                do {
                    let aligned = count % Self.directAlignment == 0 && written % Self.directAlignment == 0
                    if !direct, !directRefused, aligned, written >= Self.directThreshold {
                        direct = file.setDirectIO(true)
                        directRefused = !direct
                    } else if direct, !aligned {
                        file.setDirectIO(false)
                        direct = false
                        directRefused = true
                    }
                    let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
                    do {
                        try file.write(chunk)
                    } catch let e as FileError where direct && e.errno == EINVAL {
                        // Some file systems accept the flag but not the write: go on buffered.
                        file.setDirectIO(false)
                        direct = false
                        directRefused = true
                        try file.write(chunk)
                    }
                    written += count
                    if !direct, written - writebackFrom >= Self.writebackStride {
                        file.startWriteback(offset: writebackFrom, count: written - writebackFrom)
                        writebackFrom = written
                    }
                } catch let e {
                    error = e
                }
            }
            condition.lock()
            if let error, writeError == nil { writeError = error }
            free.append(buffer)
            condition.broadcast()
            condition.unlock()
        }
    }
}

// Glibc's module map hides these _GNU_SOURCE calls; their C signatures are plain integers and a
// C string.
@_silgen_name("gettid") private func linux_gettid() -> Int32
@_silgen_name("pthread_setname_np")
private func linux_pthread_setname_np(_ thread: pthread_t, _ name: UnsafePointer<CChar>) -> Int32
