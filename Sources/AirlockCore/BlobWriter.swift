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

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A blob being written: append bytes, then `finish()` for its digest and temp path.
public final class BlobWriter: @unchecked Sendable {
    // @unchecked: the caller's side (append/finish) runs on one thread at a time; the writer thread
    // touches only `file` and buffers handed over under `condition`.
    public static let bufferSize = 1 << 20
    private static let poolSize = 16
    private static let writebackStride = 8 << 20
    private static let directThreshold = 8 << 20
    private static let directAlignment = 4096

    public let temporaryPath: String
    private let file: FileDescriptor
    private let hasher = SHA256Hasher()
    private let condition = NSCondition()
    private var free: [UnsafeMutableRawBufferPointer] = []
    private var queued: [(UnsafeMutableRawBufferPointer, Int)] = []
    private var all: [UnsafeMutableRawBufferPointer] = []
    private var writeError: (any Error)? = nil
    private var closed = false
    private var writerDone = false
    private var current: UnsafeMutableRawBufferPointer? = nil
    private var currentFill = 0
    public private(set) var size = 0
    private var finished = false

    private let syncOnFinish: Bool

    /// Creates `tmpDirectory/<unique>.part`, exclusive, mode 0644. With `syncOnFinish` false the
    /// caller makes the data durable itself (one `syncfs` for a whole batch is far cheaper than an
    /// fsync per small blob).
    public init(tmpDirectory: String, syncOnFinish: Bool = true) throws {
        let name = "\(Environment.processID)-\(UInt64.random(in: 0...UInt64.max)).part"
        temporaryPath = tmpDirectory + "/" + name
        self.syncOnFinish = syncOnFinish
        file = try FileDescriptor.open(temporaryPath, writing: true, create: true, exclusive: true)
        let thread = Thread { [self] in writerLoop() }
        thread.name = "airlock-blob-writer"
        thread.start()
    }

    deinit {
        if !finished { discard() }
        for buffer in all { buffer.deallocate() }
    }

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
        if currentFill > 0 { try flushCurrent() }
        if let current {
            condition.lock()
            free.append(current)
            condition.unlock()
            self.current = nil
        }
        stopWriter()
        finished = true
        if let writeError {
            try? FileSystem.remove(temporaryPath)
            throw writeError
        }
        do {
            if syncOnFinish { try file.sync() }
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
    }

    private func currentBuffer() throws -> UnsafeMutableRawBufferPointer {
        if let current { return current }
        condition.lock()
        if free.isEmpty && all.count < Self.poolSize {
            // Buffers are made on demand, so a small blob costs one buffer, not the whole pool.
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 4096)
            all.append(buffer)
            free.append(buffer)
        }
        while free.isEmpty && writeError == nil { condition.wait() }
        if let writeError {
            condition.unlock()
            throw writeError
        }
        let buffer = free.removeLast()
        condition.unlock()
        current = buffer
        currentFill = 0
        return buffer
    }

    private func flushCurrent() throws {
        guard let buffer = current else { return }
        let count = currentFill
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        size += count
        condition.lock()
        queued.append((buffer, count))
        condition.signal()
        let error = writeError
        condition.unlock()
        current = nil
        currentFill = 0
        if let error { throw error }
    }

    private func stopWriter() {
        condition.lock()
        closed = true
        condition.broadcast()
        while !writerDone { condition.wait() }
        condition.unlock()
    }

    private func writerLoop() {
        var written = 0
        var writebackFrom = 0
        var direct = false
        var directRefused = false
        while true {
            condition.lock()
            while queued.isEmpty && !closed { condition.wait() }
            if queued.isEmpty && closed {
                writerDone = true
                condition.broadcast()
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
