import AirlockCore
import AirlockTestSupport
import Testing

@Suite struct TarWriterTests {
    @Test(arguments: [TarWriterProbe.Failure.setUp, .open])
    func aWriterThatCannotStartFreesItsHandleExactlyOnce(_ failure: TarWriterProbe.Failure) throws {
        let probe = TarWriterProbe(failing: failure)
        let error = #expect(throws: ArchiveError.self) {
            _ = try TarWriter(output: MemoryOutput(), name: "failing.tar", compression: .none, probe: probe)
        }
        #expect(error?.status == .badInput)
        #expect(error?.code == CoreErrorCode.cannotWriteArchive.code)
        #expect(probe.freeCount == 1)
    }

    @Test func aWriterThatStartsFreesItsHandleOnceWhenItGoes() throws {
        let probe = TarWriterProbe(failing: nil)
        let output = MemoryOutput()
        do {
            let writer = try TarWriter(output: output, name: "ok.tar", compression: .none, probe: probe)
            try writer.addFile(path: "a.txt", bytes: Array("a\n".utf8), mtime: 0)
            try writer.close()
            #expect(probe.freeCount == 0)
        }
        #expect(probe.freeCount == 1)
        #expect(output.isClosed && output.bytes.count % 512 == 0 && output.bytes.count >= 1536)
    }
}
