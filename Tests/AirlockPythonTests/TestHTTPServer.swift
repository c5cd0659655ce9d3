// A throwaway HTTP(S) file server on 127.0.0.1 for the fetch tests: Python's http.server, written out
// by the test, bound to port 0 (the port is its first line on standard output), stopped on deinit.
// Paths are `/<mode>/<file>`:
//   files          the file, honouring `Range: bytes=N-` (206 + Content-Range; 416 past the end)
//   norange        the whole file, 200, whatever the Range
//   drop           without Range: the headers for the whole file, half the body, then a closed connection;
//                  with Range: as `files` (so an interrupted download can resume)
//   missing/error  404 / 500
//   redirect-same  302 to /files/<file> on this server (same scheme)
//   redirect-ftp   302 to ftp://127.0.0.1/<file>; redirect-file: 302 to file:///etc/passwd
// Every request is logged (path and Range header) as one JSON line before it is answered.

import AirlockCore
import AirlockTestSupport
import Foundation
import Synchronization

final class TestHTTPServer {
    let port: Int
    let scheme: String
    let logPath: String
    private let server: BackgroundProcess

    private static let script = #"""
        import http.server, json, os, signal, ssl, sys, threading

        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

        root, log_path = sys.argv[1], sys.argv[2]
        tls = sys.argv[3:5] if len(sys.argv) >= 5 else None
        log_lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                with log_lock, open(log_path, "a") as log:
                    log.write(json.dumps({"path": self.path, "range": rng}) + "\n")
                parts = self.path.split("/")
                if len(parts) != 3:
                    return self.reply(400)
                mode, name = parts[1], parts[2]
                if mode == "missing":
                    return self.reply(404)
                if mode == "error":
                    return self.reply(500)
                if mode == "redirect-same":
                    return self.redirect("/files/" + name)
                if mode == "redirect-ftp":
                    return self.redirect("ftp://127.0.0.1/" + name)
                if mode == "redirect-file":
                    return self.redirect("file:///etc/passwd")
                path = os.path.join(root, name)
                if not os.path.isfile(path):
                    return self.reply(404)
                with open(path, "rb") as f:
                    data = f.read()
                if mode == "drop" and rng is None:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if mode in ("files", "drop") and rng and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[len("bytes="):-1])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", "bytes */%d" % len(data))
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
                    self.send_header("Content-Length", str(len(data) - start))
                    self.end_headers()
                    self.wfile.write(data[start:])
                    return
                if mode not in ("files", "drop", "norange"):
                    return self.reply(400)
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def reply(self, code):
                body = ("status %d\n" % code).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def redirect(self, location):
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

        server = Server(("127.0.0.1", 0), Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls[0], tls[1])
            server.socket = context.wrap_socket(server.socket, server_side=True)
        # Die with the test process: SIGKILL when the thread that started us (the runner's) ends.
        import ctypes
        ctypes.CDLL(None).prctl(1, 9)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    /// Serves `root`; scripts and logs go in `scratch`. With `tls` (certificate and key PEM paths), HTTPS.
    init(serving root: String, scratch: TemporaryDirectory, tls: (certificate: String, key: String)? = nil) async throws {
        let name = "server-\(UInt32.random(in: 0...UInt32.max))"
        let scriptPath = try scratch.file(name + ".py", Self.script)
        logPath = scratch.path + "/" + name + ".log"
        try FileSystem.writeAtomically(logPath, [])
        scheme = tls == nil ? "http" : "https"
        server = try await BackgroundProcess.start(
            ChildProcess(
                executable: ChildProcess.locate("python3") ?? "/usr/bin/python3",
                arguments: [scriptPath, root, logPath] + (tls.map { [$0.certificate, $0.key] } ?? []),
                timeLimit: .seconds(1800)
            ),
            within: .seconds(20)
        )
        guard let port = Int(server.firstLine) else { throw UsageError("the test HTTP server did not report its port") }
        self.port = port
    }

    func url(_ mode: String, _ file: String) -> String { "\(scheme)://127.0.0.1:\(port)/\(mode)/\(file)" }

    struct Request: Decodable, Equatable {
        var path: String
        var range: String?
    }

    /// Every request so far, in the order they arrived.
    func requests() throws -> [Request] {
        let text = String(decoding: try FileSystem.readFile(logPath), as: UTF8.self)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }
}
