// The fetcher's second transport: one GET through pip's own network session, in a python subprocess,
// for when URLSession cannot verify a server (it trusts only the system CA bundle on Linux; see
// HTTPDownloader.swift) or the user asks for it (AIRLOCK_FETCH_VIA=pip). FetchTrust decides which.
//
// The script builds pip's option parser and `PipSession` as LockIndexProbe does, so pip.conf, PIP_*
// variables, the CA bundle (`cert`), client certificate, proxy and trusted hosts apply exactly as for
// `pip install`; `bundle`, when FetchTrust chose one, is passed as `verify=` so that a bundle named
// only by a variable pip ignores (SSL_CERT_FILE) is honoured too. Verification is never turned off
// here (pip turns it off only for hosts the user listed as trusted). pip's HTTP cache is off
// (`--no-cache-dir`): the store is the only copy, and a cached 200 must not answer a Range request.
//
// Only the transfer lives here. The body goes to the script's standard output, raw (no decoding) in
// 64 KiB chunks, and into the same `HTTPBodySink` (PartialDownload) the URLSession path fills, so
// hashing, size checks, partial files, Range resume and the 206 Content-Range check are shared. The
// script reports on standard error, one `@airlock <json>` line each: the final status, URL and
// headers (before any body byte), a refused redirect, or a transport error; and after the body, its
// end or the error that cut it short (urllib3 does not notice a body shorter than Content-Length, so
// the script compares). Redirects are followed by the script, same scheme only, at most
// `HTTPDownloader.maxRedirects`, with the URLSession path's wording: a hop is judged before it is
// requested. Other lines on standard error (pip's warnings, a traceback) are kept for the message.
//
// Each transfer is one child of the process runner (AirlockCore's ChildProcess); at most `jobs` run
// at once, and stopping one (the sink refuses, the task is cancelled) kills its process group.

import AirlockCore
import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// GETs through pip's network session with `python`, one subprocess per transfer.
struct FetchViaPip: Sendable {
    let python: String
    let environment: [String: String]
    /// The CA bundle to verify against instead of pip's own choice (FetchTrust's pick), if any.
    let bundle: String?

    private struct Request: Encodable {
        var url: String
        var headers: [String: String]
        var bundle: String?
        var maxRedirects: Int
    }

    private struct Record: Decodable {
        var status: Int?
        var url: String?
        var headers: [String: String]?
        var refused: String?
        var error: String?
        var end: Int?
    }

    /// GETs `url` as HTTPDownloader.get does: the final response and body go to `sink`; returns when the
    /// child has exited. Cancelling the calling task kills the child.
    func get(_ url: URL, headers: [String: String], into sink: some HTTPBodySink) async -> HTTPTransferEnd {
        let request = Request(
            url: url.absoluteString,
            headers: headers,
            bundle: bundle,
            maxRedirects: HTTPDownloader.maxRedirects
        )
        guard let json = try? JSONEncoder().encode(request) else {
            return HTTPTransferEnd(transportError: "cannot encode the request for pip")
        }
        let transfer = Transfer(url: url, sink: sink)
        let child = ChildProcess(
            executable: python, arguments: ["-c", Self.script, String(decoding: json, as: UTF8.self)],
            environment: environment, output: .chunks { stream, chunk in transfer.take(stream, chunk) }, tailLimit: 0
        )
        let result: ChildResult
        do {
            result = try await child.run()
        } catch is CancellationError {
            return HTTPTransferEnd(transportError: "cancelled", status: transfer.status)
        } catch {
            return HTTPTransferEnd(transportError: "cannot run \(python) for pip's network session: \(error)")
        }
        return transfer.end(result, python: python)
    }

    /// One transfer's state, fed by the runner's reader thread: the script's reports on standard
    /// error (`@airlock` records, the rest kept for messages) and the body on standard output. The
    /// script reports the response before it writes a body byte; body bytes read before that report
    /// (both pipes ready in one poll) wait here, at most `maxEarlyBody` of them.
    private final class Transfer<Sink: HTTPBodySink>: Sendable {
        static var maxEarlyBody: Int { 16 << 20 }

        private struct State {
            var stderr: [UInt8] = []
            var diagnostics: [String] = []
            var head: Record?
            var tail: Record?
            var accepted = false
            var early: [UInt8] = []
            var problem: String?
        }
        private let url: URL
        private let sink: Sink
        private let state = Mutex(State())

        init(url: URL, sink: Sink) {
            self.url = url
            self.sink = sink
        }

        var status: Int? { state.withLock { $0.head?.status } }

        func take(_ stream: ChildStream, _ chunk: UnsafeRawBufferPointer) -> ChildProcess.Flow {
            state.withLock { s in
                switch stream {
                case .standardError:
                    s.stderr.append(contentsOf: chunk)
                    return readRecords(&s)
                case .standardOutput:
                    if s.accepted { return sink.receive(Data(chunk)) ? .proceed : .stop }
                    guard s.head == nil, s.early.count + chunk.count <= Self.maxEarlyBody else {
                        s.problem = "pip's network session sent a body before its response report"
                        return .stop
                    }
                    s.early.append(contentsOf: chunk)
                    return .proceed
                }
            }
        }

        private func readRecords(_ s: inout State) -> ChildProcess.Flow {
            let marker = Array("@airlock ".utf8)
            while let newline = s.stderr.firstIndex(of: 0x0A) {
                let line = Array(s.stderr[..<newline])
                s.stderr.removeSubrange(...newline)
                guard line.starts(with: marker),
                    let record = try? JSONDecoder().decode(Record.self, from: Data(line[marker.count...]))
                else {
                    s.diagnostics.append(String(decoding: line, as: UTF8.self))
                    continue
                }
                guard s.head == nil else {
                    s.tail = record
                    continue
                }
                s.head = record
                guard let status = record.status else { continue }
                let responseURL = record.url.flatMap { URL(string: $0) } ?? url
                guard
                    let response = HTTPURLResponse(
                        url: responseURL, statusCode: status, httpVersion: "HTTP/1.1", headerFields: record.headers ?? [:]
                    ), sink.accept(response)
                else { return .stop }
                s.accepted = true
                let early = s.early
                s.early = []
                if !early.isEmpty, !sink.receive(Data(early)) { return .stop }
            }
            return .proceed
        }

        func end(_ result: ChildResult, python: String) -> HTTPTransferEnd {
            state.withLock { s in
                if !s.stderr.isEmpty { s.diagnostics.append(String(decoding: s.stderr, as: UTF8.self)) }
                func exited() -> String {
                    let how = result.status > 128 ? "was killed by signal \(result.status - 128)" : "exited \(result.status)"
                    let tail = s.diagnostics.suffix(6).joined(separator: "\n")
                    return "\(python) (pip's network session) \(how) without an answer" + (tail.isEmpty ? "" : ":\n" + tail)
                }
                if let problem = s.problem { return HTTPTransferEnd(transportError: problem, status: s.head?.status) }
                guard let head = s.head else { return HTTPTransferEnd(transportError: exited()) }
                if let refused = head.refused { return HTTPTransferEnd(refusedRedirect: refused) }
                guard let status = head.status else { return HTTPTransferEnd(transportError: head.error ?? exited()) }
                // The sink stopped the transfer: what it saw says why.
                if result.stoppedByHandler { return HTTPTransferEnd(status: status) }
                guard let tail = s.tail, tail.end != nil else {
                    return HTTPTransferEnd(transportError: s.tail?.error ?? exited(), status: status)
                }
                return HTTPTransferEnd(status: status)
            }
        }
    }

    /// The transfer program (Resources/pip_fetch.py), run with `python -c`.
    static var script: String { PythonResources.pipFetch }
}
