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
// Each transfer runs on a thread of its own: the reads block, and at most `jobs` run at once. A child
// started by Foundation's Process may start with SIGTERM blocked, so stopping one is SIGKILL.

import AirlockCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif
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

    /// The running child, shared by the transfer's thread and the cancellation handler.
    private final class Child: Sendable {
        private struct State {
            var pid: Int32?
            var isCancelled = false
        }
        private let state = Mutex(State())

        /// Records the started child; false when the transfer was cancelled first (the child is killed).
        func started(_ pid: Int32) -> Bool {
            let cancelled = state.withLock { s in
                s.pid = pid
                return s.isCancelled
            }
            if cancelled { kill(pid, SIGKILL) }
            return !cancelled
        }

        func cancel() {
            if let pid = state.withLock({ s -> Int32? in
                s.isCancelled = true
                return s.pid
            }) {
                kill(pid, SIGKILL)
            }
        }

        var isCancelled: Bool { state.withLock { $0.isCancelled } }
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
        let child = Child()
        let transport = self
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    let end = transport.transfer(
                        url,
                        request: String(decoding: json, as: UTF8.self),
                        child: child,
                        sink: sink
                    )
                    continuation.resume(returning: end)
                }
            }
        } onCancel: {
            child.cancel()
        }
    }

    /// Runs the script and pumps its output into `sink`; blocks the calling thread.
    private func transfer(_ url: URL, request: String, child: Child, sink: some HTTPBodySink) -> HTTPTransferEnd {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", Self.script, request]
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        do {
            try process.run()
        } catch {
            return HTTPTransferEnd(transportError: "cannot run \(python) for pip's network session: \(error)")
        }
        guard child.started(process.processIdentifier) else {
            process.waitUntilExit()
            return HTTPTransferEnd(transportError: "cancelled")
        }
        var reports = Reports(fd: stderr.fileHandleForReading.fileDescriptor)
        let bodyFD = stdout.fileHandleForReading.fileDescriptor

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        func exited() -> String {
            process.waitUntilExit()
            let status = process.terminationStatus
            let how =
                process.terminationReason == .uncaughtSignal ? "was killed by signal \(status)" : "exited \(status)"
            let tail = reports.diagnostics.suffix(6).joined(separator: "\n")
            return "\(python) (pip's network session) \(how) without an answer" + (tail.isEmpty ? "" : ":\n" + tail)
        }

        guard let head = reports.next() else { return HTTPTransferEnd(transportError: exited()) }
        if let refused = head.refused {
            process.waitUntilExit()
            return HTTPTransferEnd(refusedRedirect: refused)
        }
        guard let status = head.status else {
            process.waitUntilExit()
            return HTTPTransferEnd(transportError: child.isCancelled ? "cancelled" : head.error ?? exited())
        }
        let responseURL = head.url.flatMap { URL(string: $0) } ?? url
        guard
            let response = HTTPURLResponse(
                url: responseURL,
                statusCode: status,
                httpVersion: "HTTP/1.1",
                headerFields: head.headers ?? [:]
            ), sink.accept(response)
        else {
            stop()
            return HTTPTransferEnd(status: status)
        }

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = readRetrying(bodyFD, buffer)
            if n < 0 {
                stop()
                return HTTPTransferEnd(
                    transportError: "reading pip's output: \(String(cString: strerror(errno)))",
                    status: status
                )
            }
            if n == 0 { break }
            if !sink.receive(Data(UnsafeRawBufferPointer(rebasing: buffer[..<n]))) {
                stop()
                return HTTPTransferEnd(status: status)
            }
        }
        let tail = reports.next()
        process.waitUntilExit()
        if child.isCancelled { return HTTPTransferEnd(transportError: "cancelled", status: status) }
        guard let tail, tail.end != nil else {
            return HTTPTransferEnd(transportError: tail?.error ?? exited(), status: status)
        }
        return HTTPTransferEnd(status: status)
    }

    /// The script's standard error, read a line at a time: `@airlock` records, and the rest kept.
    private struct Reports {
        let fd: Int32
        var pending: [UInt8] = []
        var diagnostics: [String] = []
        var isAtEnd = false

        init(fd: Int32) { self.fd = fd }

        /// The next record, or nil at the end of the stream.
        mutating func next() -> Record? {
            let marker = Array("@airlock ".utf8)
            while true {
                if let newline = pending.firstIndex(of: 0x0A) {
                    let line = Array(pending[..<newline])
                    pending.removeSubrange(...newline)
                    if line.starts(with: marker),
                        let record = try? JSONDecoder().decode(Record.self, from: Data(line[marker.count...]))
                    {
                        return record
                    }
                    diagnostics.append(String(decoding: line, as: UTF8.self))
                    continue
                }
                if isAtEnd {
                    if !pending.isEmpty { diagnostics.append(String(decoding: pending, as: UTF8.self)) }
                    pending = []
                    return nil
                }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = chunk.withUnsafeMutableBytes { readRetrying(fd, $0) }
                if n <= 0 {
                    isAtEnd = true
                } else {
                    pending += chunk[..<n]
                }
            }
        }
    }

    static let script = #"""
        # Airlock's fetch through pip's network session: one GET, the body raw on stdout, reports on
        # stderr as `@airlock <json>` lines. See FetchViaPip.swift.
        import json, sys, urllib.parse


        def say(record):
            sys.stderr.write("@airlock " + json.dumps(record) + "\n")
            sys.stderr.flush()


        def main():
            request = json.loads(sys.argv[1])
            try:
                from pip._internal.commands import create_command
            except Exception as e:
                say({"error": "%s cannot import pip (%s)" % (sys.executable, e)})
                return
            command = create_command("download")
            options, _ = command.parse_args(["--no-input", "--no-cache-dir"])
            with command.main_context():
                session = command.get_default_session(options)
                fetch(session, request)


        def fetch(session, request):
            url, headers = request["url"], request["headers"]
            extra = {"verify": request["bundle"]} if request.get("bundle") else {}
            hops = 0
            while True:
                try:
                    r = session.get(url, headers=headers, stream=True, allow_redirects=False, **extra)
                except Exception as e:
                    say({"error": str(e)})
                    return
                location = r.headers.get("Location")
                if not (r.is_redirect and location):
                    break
                r.close()
                target = urllib.parse.urljoin(url, location)
                # Judge the scheme by the header as sent, as the URLSession path does.
                shown = location if urllib.parse.urlsplit(location).scheme else target
                old = urllib.parse.urlsplit(url).scheme.lower()
                new = urllib.parse.urlsplit(shown).scheme.lower()
                hops += 1
                if new not in ("http", "https") or new != old:
                    say({"refused": "redirect from %s to %s refused: it changes the scheme" % (url, shown)})
                    return
                if hops > request["maxRedirects"]:
                    say({"refused": "more than %d redirects (the last to %s)" % (request["maxRedirects"], shown)})
                    return
                url = target
            names = ("Content-Range", "Content-Length", "Content-Encoding", "Content-Type")
            say({"status": r.status_code, "url": url, "headers": {n: r.headers[n] for n in names if n in r.headers}})
            out, n = sys.stdout.buffer, 0
            try:
                for chunk in r.raw.stream(1 << 16, decode_content=False):
                    out.write(chunk)
                    n += len(chunk)
                out.flush()
            except BrokenPipeError:
                return
            except Exception as e:
                say({"error": str(e)})
                return
            length = r.headers.get("Content-Length", "")
            if length.isdigit() and n < int(length):
                say({"error": "the connection closed after %d of %s bytes" % (n, length)})
                return
            say({"end": n})


        main()
        """#
}

/// `read(2)`, retried on EINTR; the count, 0 at the end, -1 on error.
private func readRetrying(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer) -> Int {
    while true {
        let n = read(fd, buffer.baseAddress, buffer.count)
        if n < 0, errno == EINTR { continue }
        return n
    }
}
