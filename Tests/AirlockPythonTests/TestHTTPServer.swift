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
//   redirect-loop  302 to itself, for ever
//   badrange       as `files`, but a 206 always says Content-Range 0-
//   stall          the headers for the whole file, a tenth of the body, then nothing (for 30 s)
// HEAD answers as GET without the body. Every request is logged (method, path and Range header) as
// one JSON line before it is answered. For HTTPS, `TestCertificates` makes a CA and a server
// certificate it signed, so a client trusts the server through the CA file alone.

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
        import http.server, json, os, signal, ssl, sys, threading, time

        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

        root, log_path = sys.argv[1], sys.argv[2]
        tls = sys.argv[3:5] if len(sys.argv) >= 5 else None
        log_lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.answer(send_body=False)

            def do_GET(self):
                self.answer(send_body=True)

            def answer(self, send_body):
                self.send_body = send_body
                rng = self.headers.get("Range")
                with log_lock, open(log_path, "a") as log:
                    log.write(json.dumps({"method": self.command, "path": self.path, "range": rng}) + "\n")
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
                if mode == "redirect-loop":
                    return self.redirect("/redirect-loop/" + name)
                path = os.path.join(root, name)
                if not os.path.isfile(path):
                    return self.reply(404)
                with open(path, "rb") as f:
                    data = f.read()
                if mode in ("drop", "stall") and rng is None:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.write(data[: len(data) // (2 if mode == "drop" else 10)])
                    self.wfile.flush()
                    if mode == "stall":
                        time.sleep(30)
                    self.close_connection = True
                    return
                if mode in ("files", "drop", "badrange") and rng and rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[len("bytes="):-1])
                    if mode == "badrange":
                        self.send_response(206)
                        self.send_header("Content-Range", "bytes 0-%d/%d" % (len(data) - 1, len(data)))
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        return self.write(data)
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
                    return self.write(data[start:])
                if mode not in ("files", "drop", "norange", "badrange"):
                    return self.reply(400)
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.write(data)

            def write(self, data):
                if self.send_body:
                    self.wfile.write(data)

            def reply(self, code):
                body = ("status %d\n" % code).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.write(body)

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
    init(serving root: String, scratch: TemporaryDirectory, tls: (certificate: String, key: String)? = nil) async throws
    {
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
        var method: String
        var path: String
        var range: String?
    }

    /// Every request so far, in the order they arrived.
    func requests() throws -> [Request] {
        let text = String(decoding: try FileSystem.readFile(logPath), as: UTF8.self)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }
}

/// A throwaway certificate authority and a server certificate for 127.0.0.1 that it signed (EC P-256,
/// a day long), made with openssl in `directory`: the server gets `certificate` and `key`, a client
/// that should trust it gets only `ca`.
struct TestCertificates {
    let ca: String
    let certificate: String
    let key: String

    init(in directory: String, name: String = "test") async throws {
        let script = """
            set -e
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \\
              -keyout \(name)-ca.key -out \(name)-ca.pem -subj "/CN=Airlock \(name) CA" \\
              -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>&1
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\
              -keyout \(name)-key.pem -out \(name).csr -subj /CN=127.0.0.1 2>&1
            printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > \(name).ext
            openssl x509 -req -in \(name).csr -CA \(name)-ca.pem -CAkey \(name)-ca.key -CAcreateserial -days 1 \\
              -extfile \(name).ext -out \(name)-cert.pem 2>&1
            """
        let (status, output) = try await shell(script, in: directory)
        guard status == 0 else { throw UsageError("openssl could not make the test certificates: \(output)") }
        ca = directory + "/\(name)-ca.pem"
        certificate = directory + "/\(name)-cert.pem"
        key = directory + "/\(name)-key.pem"
    }
}
