import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite struct BlobWriterTests {
    /// Kernel ids of this process's threads (/proc/self/task).
    static func threadIDs() -> Set<Int32> {
        Set(((try? FileSystem.list("/proc/self/task")) ?? []).compactMap { Int32($0) })
    }

    /// Open descriptors of this process on files below `directory`.
    static func openFiles(below directory: String) -> Int {
        let fds = (try? FileSystem.list("/proc/self/fd")) ?? []
        return fds.filter { fd in
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? ""
            return target.hasPrefix(directory + "/")
        }.count
    }

    @Test func aWriterDroppedUnfinishedStopsItsThreadClosesItsFileAndRemovesIt() throws {
        let dir = try TemporaryDirectory()
        let tmp = dir.path + "/tmp"
        try FileSystem.makeDirectory(tmp)
        var writerThreads: Set<Int32> = []
        for i in 0..<16 {
            var writer: BlobWriter? = try BlobWriter(tmpDirectory: tmp)
            // More than one buffer, so the writer thread has written some of it when the writer goes.
            try writer?.append(pseudoRandom(BlobWriter.bufferSize * 2 + 17, seed: UInt64(i)))
            let thread = try #require(writer?.writerThreadID)
            #expect(Self.threadIDs().contains(thread))
            writerThreads.insert(thread)
            #expect(Self.openFiles(below: tmp) == 1)
            writer = nil
        }
        #expect(writerThreads.count == 16)
        #expect(Self.threadIDs().isDisjoint(with: writerThreads))
        #expect(Self.openFiles(below: tmp) == 0)
        #expect(try FileSystem.list(tmp).isEmpty)
    }

    @Test func aFinishedWriterLeavesItsBlobAndNoThreadOrDescriptor() throws {
        let dir = try TemporaryDirectory()
        let tmp = dir.path + "/tmp"
        try FileSystem.makeDirectory(tmp)
        let data = pseudoRandom(BlobWriter.bufferSize + 5, seed: 9)
        var path = ""
        do {
            let writer = try BlobWriter(tmpDirectory: tmp)
            try writer.append(data)
            #expect(try writer.finish() == SHA256Hasher.hash(data))
            path = writer.temporaryPath
        }
        #expect(Self.openFiles(below: tmp) == 0)
        #expect(try FileSystem.readFile(path) == data)
    }
}
