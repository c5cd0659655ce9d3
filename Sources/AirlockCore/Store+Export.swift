// Looking blobs up by what users call them, and writing them back out as files.

import Foundation

extension Store {
    /// Finds the blob a user means: an artifact name, an artifact file name, a full digest (with or
    /// without `sha256:`), or an unambiguous hex prefix of at least 8 digits.
    public func resolve(_ reference: String) throws -> BlobEntry {
        let artifacts = try index.entries(kind: "artifact")
        if let exact = artifacts.last(where: { $0.name == reference }) { return exact }
        let byFile = artifacts.filter { $0.filename == reference }
        if Set(byFile.map(\.digest)).count == 1, let match = byFile.last { return match }
        if byFile.count > 1 {
            throw UsageError(
                CoreErrorCode.ambiguousReference,
                "'\(reference)' names several artifacts (\(byFile.map(\.name).joined(separator: ", "))); "
                    + "use the full name or a digest"
            )
        }
        // Then blobs of any kind recorded under that name (`store put` records kind "file").
        let named = try index.entries().filter { $0.name == reference }
        if Set(named.map(\.digest)).count == 1, let match = named.last { return match }
        if named.count > 1 {
            throw UsageError(
                CoreErrorCode.ambiguousReference,
                "'\(reference)' names \(Set(named.map(\.digest)).count) different blobs; use a digest"
            )
        }
        if let digest = SHA256Digest(reference) {
            if let entry = try index.entries(digest: digest).first { return entry }
            if contains(digest) { return BlobEntry(digest: digest, size: try FileSystem.size(of: blobPath(digest)), kind: "blob", name: "") }
        }
        var prefix = Substring(reference)
        if prefix.hasPrefix("sha256:") { prefix = prefix.dropFirst(7) }
        if prefix.count >= 8, prefix.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) {
            let matches = try FileSystem.list(blobDirectory).filter { $0.hasPrefix(prefix) }
            if matches.count == 1, let digest = SHA256Digest(matches[0]) {
                if let entry = try index.entries(digest: digest).first { return entry }
                return BlobEntry(digest: digest, size: try FileSystem.size(of: blobPath(digest)), kind: "blob", name: "")
            }
            if matches.count > 1 {
                throw UsageError(
                    CoreErrorCode.ambiguousReference,
                    "'\(reference)': digest prefix matches \(matches.count) blobs; give more digits"
                )
            }
        }
        throw UsageError(
            CoreErrorCode.notInStore,
            "'\(reference)': no artifact or blob of that name or digest in \(root)"
        )
    }

    /// Copies a blob to `path` through a temp file, re-hashing as it copies: a blob damaged on disk
    /// is refused (exit 1) instead of being handed on.
    public func copyBlob(_ digest: SHA256Digest, to path: String, mode: UInt32 = 0o644) throws {
        let source = try FileDescriptor.open(blobPath(digest))
        let (tmp, out) = try FileSystem.createTemporaryFile(beside: path, mode: mode)
        defer { Interrupts.forget(file: tmp) }
        do {
            let hasher = SHA256Hasher()
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobWriter.bufferSize, alignment: 4096)
            defer { buffer.deallocate() }
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
                hasher.update(chunk)
                try out.write(chunk)
            }
            guard hasher.finalize() == digest else {
                throw CheckFailure(
                    CoreErrorCode.corruptBlob,
                    "\(blobPath(digest)): content no longer matches its digest; run `airlock store verify`"
                )
            }
            try out.sync()
            try FileSystem.rename(tmp, to: path)
        } catch {
            try? FileSystem.remove(tmp)
            throw error
        }
    }

    /// How `place` put a blob at a path.
    public enum Placement: Sendable { case linked, copied }

    /// Puts a blob at `path`, replacing what is there in one rename: a hard link to the stored blob
    /// where the file system allows (the same file system; nothing copied), else a checked copy.
    /// The link shares the blob's inode, so the blob must never be written through `path`.
    @discardableResult
    public func place(_ digest: SHA256Digest, at path: String) throws -> Placement {
        let tmp = FileSystem.parentPath(path) + "/.airlock-link-\(digest.hex.prefix(16))-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileSystem.remove(tmp)
        if FileSystem.hardLink(blobPath(digest), to: tmp) {
            do { try FileSystem.rename(tmp, to: path) } catch {
                try? FileSystem.remove(tmp)
                throw error
            }
            return .linked
        }
        try copyBlob(digest, to: path)
        return .copied
    }

    /// True when `path` is the stored blob itself (a hard link to it).
    public func isPlaced(_ digest: SHA256Digest, at path: String) -> Bool {
        FileSystem.sameFile(blobPath(digest), path)
    }

    /// Streams a blob to standard output, checking its digest at the end.
    public func writeBlob(_ digest: SHA256Digest, to output: FileDescriptor) throws {
        let source = try FileDescriptor.open(blobPath(digest))
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobWriter.bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            hasher.update(chunk)
            try output.write(chunk)
        }
        guard hasher.finalize() == digest else {
            throw CheckFailure(
                CoreErrorCode.corruptBlob,
                "\(blobPath(digest)): content no longer matches its digest; run `airlock store verify`"
            )
        }
    }
}
