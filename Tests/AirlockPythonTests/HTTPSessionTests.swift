// AirlockCore's HTTP client on its own, against the fetch tests' server on 127.0.0.1 (which lives
// in this target): what `fetch` relies on and what it does not exercise (HEAD, the redirect limit,
// the size cap, the idle timeout, a CA file that does not load, a closed session).

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.timeLimit(.minutes(2)))
struct HTTPSessionTests {
    /// Keeps what a GET handed it; stops after `stopAfter` bytes when set.
    final class Collector: HTTPBodySink {
        var responses: [HTTPResponse] = []
        var bytes: [UInt8] = []
        var stopAfter: Int? = nil

        func accept(_ response: HTTPResponse) -> Bool {
            responses.append(response)
            return true
        }

        func receive(_ chunk: UnsafeRawBufferPointer) -> Bool {
            bytes.append(contentsOf: chunk)
            return stopAfter.map { bytes.count < $0 } ?? true
        }
    }

    final class Fixture {
        let dir: TemporaryDirectory
        let server: TestHTTPServer

        init(tls: TestCertificates? = nil, in dir: TemporaryDirectory? = nil) async throws {
            let dir = try dir ?? TemporaryDirectory()
            self.dir = dir
            try FileSystem.makeDirectory(dir.path + "/served")
            server = try await TestHTTPServer(
                serving: dir.path + "/served",
                scratch: dir,
                tls: tls.map { ($0.certificate, $0.key) }
            )
        }

        func serve(_ name: String, size: Int, seed: UInt64) throws -> [UInt8] {
            let bytes = pseudoRandom(size, seed: seed)
            try FileSystem.writeAtomically(dir.path + "/served/" + name, bytes)
            return bytes
        }

        func url(_ mode: String, _ name: String) throws -> URL { try #require(URL(string: server.url(mode, name))) }
    }

    @Test func aGetStreamsTheWholeBodyAndAResumeOnlyTheRest() async throws {
        let f = try await Fixture()
        let bytes = try f.serve("a.bin", size: 300_000, seed: 1)
        try await HTTPSession.with(.init()) { session in
            let whole = Collector()
            let end = await session.get(try f.url("files", "a.bin"), into: whole)
            #expect(end.error == nil && !end.isStoppedBySink)
            #expect(end.status == 200 && end.bytesReceived == bytes.count)
            #expect(whole.bytes == bytes)
            #expect(whole.responses.first?.value(of: "content-length") == "300000")

            let rest = Collector()
            let resumed = await session.get(try f.url("files", "a.bin"), resumingAt: 100_000, into: rest)
            #expect(resumed.error == nil && resumed.status == 206)
            #expect(resumed.response?.contentRange == ContentRange("bytes 100000-299999/300000"))
            #expect(rest.bytes == Array(bytes[100_000...]))
        }
        #expect(try f.server.requests().map(\.range) == [nil, "bytes=100000-"])
    }

    @Test func headFollowsASameSchemeRedirectAndReportsTheSize() async throws {
        let f = try await Fixture()
        _ = try f.serve("h.bin", size: 12_345, seed: 2)
        let response = try await HTTPSession.with(.init()) { session in
            try await session.head(try f.url("redirect-same", "h.bin"))
        }
        #expect(response.status == 200)
        #expect(response.contentLength == 12_345)
        #expect(response.url.absoluteString == f.server.url("files", "h.bin"))
        #expect(try f.server.requests().map(\.method) == ["HEAD", "HEAD"])
    }

    @Test func moreThanTheRedirectLimitIsRefusedBeforeTheNextRequest() async throws {
        let f = try await Fixture()
        let url = try f.url("redirect-loop", "x")
        let end = try await HTTPSession.with(.init()) { session in await session.get(url, into: Collector()) }
        let error = try #require(end.error)
        #expect(error.is(.redirectRefused))
        #expect(error.description == "more than 5 redirects (the last to \(url.absoluteString))")
        #expect(try f.server.requests().count == HTTPSession.defaultMaxRedirects + 1)
    }

    @Test func aSizeLimitRefusesALargerFileBeforeItsBody() async throws {
        let f = try await Fixture()
        _ = try f.serve("big.bin", size: 50_000, seed: 3)
        let sink = Collector()
        let end = try await HTTPSession.with(.init()) { session in
            await session.get(try f.url("files", "big.bin"), sizeLimit: 49_999, into: sink)
        }
        let error = try #require(end.error)
        #expect(error.is(.tooLarge), "\(error)")
        #expect(error.description.hasSuffix("has 50000 bytes, more than the 49999-byte limit"), "\(error)")
        #expect(sink.responses.isEmpty && sink.bytes.isEmpty)
    }

    @Test func theSinkCanStopATransferAndTheSessionCarriesOn() async throws {
        let f = try await Fixture()
        let bytes = try f.serve("s.bin", size: 400_000, seed: 4)
        try await HTTPSession.with(.init(connectionsPerHost: 1)) { session in
            let stopping = Collector()
            stopping.stopAfter = 1
            let stopped = await session.get(try f.url("files", "s.bin"), into: stopping)
            #expect(stopped.isStoppedBySink && stopped.error == nil)
            #expect(stopping.bytes.count < bytes.count)
            let again = Collector()
            let end = await session.get(try f.url("files", "s.bin"), into: again)
            #expect(end.error == nil && again.bytes == bytes)
        }
    }

    @Test func theIdleTimeoutEndsAStalledTransfer() async throws {
        let f = try await Fixture()
        let bytes = try f.serve("stall.bin", size: 100_000, seed: 5)
        let sink = Collector()
        let end = try await HTTPSession.with(.init(idleTimeout: .milliseconds(400))) { session in
            await session.get(try f.url("stall", "stall.bin"), into: sink)
        }
        let error = try #require(end.error)
        #expect(error.is(.timeout), "\(error)")
        #expect(error.description.contains("(the idle timeout)"), "\(error)")
        #expect(end.status == 200 && sink.bytes == Array(bytes[..<10_000]))
    }

    @Test func aRefusedConnectionIsNamed() async throws {
        let url = try #require(URL(string: "http://127.0.0.1:1/x"))
        let end = try await HTTPSession.with(.init()) { session in await session.get(url, into: Collector()) }
        let error = try #require(end.error)
        #expect(error.is(.connect), "\(error)")
        #expect(error.description == "cannot connect to 127.0.0.1:1: connection refused")
    }

    @Test func aCAFileThatIsNotPEMFailsHTTPSButNotHTTP() async throws {
        let dir = try TemporaryDirectory()
        let certificates = try await TestCertificates(in: dir.path)
        let https = try await Fixture(tls: certificates, in: dir)
        let plain = try await Fixture()
        _ = try https.serve("t.bin", size: 1_000, seed: 6)
        _ = try plain.serve("t.bin", size: 1_000, seed: 6)
        let junk = try dir.file("junk.pem", "not a certificate\n")
        try await HTTPSession.with(.init(caFile: junk)) { session in
            #expect(session.trustError?.is(.caFile) == true)
            let refused = await session.get(try https.url("files", "t.bin"), into: Collector())
            #expect(refused.error?.is(.caFile) == true, "\(String(describing: refused.error))")
            #expect(refused.error?.description.hasPrefix(junk + ": ") == true)
            let fine = await session.get(try plain.url("files", "t.bin"), into: Collector())
            #expect(fine.error == nil && fine.status == 200)
        }
        #expect(try https.server.requests().isEmpty)
        // The right CA file: trusted.
        try await HTTPSession.with(.init(caFile: certificates.ca)) { session in
            #expect(session.trustError == nil)
            let response = try await session.head(try https.url("files", "t.bin"))
            #expect(response.status == 200)
        }
    }

    @Test func aShutDownSessionRefusesRequests() async throws {
        let kept = try await HTTPSession.with(.init()) { $0 }
        let url = try #require(URL(string: "http://127.0.0.1:1/x"))
        await #expect(throws: HTTPError(.closed, "the HTTP session is shut down")) { try await kept.head(url) }
        let end = await kept.get(url, into: Collector())
        #expect(end.error?.is(.closed) == true)
    }
}
