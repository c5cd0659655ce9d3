// A throwaway HTTP CONNECT proxy on 127.0.0.1 for the proxy tests: a few lines of Python, bound to
// port 0 (the port is its first line on standard output), stopped on deinit. It tunnels to
// 127.0.0.1 only (anything else, or any method but CONNECT, gets a 403) and logs each request line
// (method, target, Proxy-Authorization) as one JSON line before it answers, so a test counts the
// tunnels a client opened.

import AirlockCore
import AirlockTestSupport
import Foundation

final class TestConnectProxy {
    let port: Int
    let logPath: String
    private let server: BackgroundProcess

    private static let script = #"""
        import json, select, signal, socket, socketserver, sys, threading

        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        log_path = sys.argv[1]
        log_lock = threading.Lock()

        class Handler(socketserver.StreamRequestHandler):
            rbufsize = 0  # nothing past the request's headers may be read before the tunnel opens

            def handle(self):
                line = self.rfile.readline(65536).decode("latin-1").strip()
                headers = {}
                while True:
                    header = self.rfile.readline(65536)
                    if header in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                method, target = (line.split(" ") + ["", ""])[:2]
                with log_lock, open(log_path, "a") as log:
                    entry = {"method": method, "target": target, "auth": headers.get("proxy-authorization")}
                    log.write(json.dumps(entry) + "\n")
                host, _, port = target.rpartition(":")
                if method != "CONNECT" or host != "127.0.0.1" or not port.isdigit():
                    self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                try:
                    upstream = socket.create_connection((host, int(port)), timeout=10)
                except OSError:
                    self.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                upstream.settimeout(None)
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                ends = [self.connection, upstream]
                try:
                    while True:
                        ready, _, _ = select.select(ends, [], [], 60)
                        if not ready:
                            return
                        for end in ready:
                            data = end.recv(65536)
                            if not data:
                                return
                            (upstream if end is self.connection else self.connection).sendall(data)
                except OSError:
                    return
                finally:
                    upstream.close()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        server = Server(("127.0.0.1", 0), Handler)
        # Die with the test process: SIGKILL when the thread that started us (the runner's) ends.
        import ctypes
        ctypes.CDLL(None).prctl(1, 9)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    init(scratch: TemporaryDirectory) async throws {
        let name = "proxy-\(UInt32.random(in: 0...UInt32.max))"
        let scriptPath = try scratch.file(name + ".py", Self.script)
        logPath = scratch.path + "/" + name + ".log"
        try FileSystem.writeAtomically(logPath, [])
        server = try await BackgroundProcess.start(
            ChildProcess(
                executable: ChildProcess.locate("python3") ?? "/usr/bin/python3",
                arguments: [scriptPath, logPath],
                timeLimit: .seconds(1800)
            ),
            within: .seconds(20)
        )
        guard let port = Int(server.firstLine) else { throw UsageError("the test proxy did not report its port") }
        self.port = port
    }

    /// `http://127.0.0.1:PORT`, for HTTPS_PROXY and friends.
    var url: String { "http://127.0.0.1:\(port)" }

    struct Request: Decodable, Equatable {
        var method: String
        var target: String
        var auth: String?
    }

    /// Every request line so far, in the order they arrived.
    func requests() throws -> [Request] {
        let text = String(decoding: try FileSystem.readFile(logPath), as: UTF8.self)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }
}
