// Debian's `docker-registry` (distribution 2.8) for the push and pull tests, started on 127.0.0.1
// by a small Python supervisor that also puts a proxy in front of it: `flaky` answers every third
// request with a 503 and closes every seventh connection without an answer; `token` demands a
// Bearer token that its own /token endpoint gives for one user name and password, or for ACR's
// token user with `acrToken` (as ACR and Docker Hub do); `tamper` flips the last byte of every
// blob it serves. The supervisor picks free ports, writes the registry's config, waits for the
// registry's own "listening on" log line (the test bounds the wait), and prints both ports on its
// first line. Stopping it (or dropping the value)
// ends its process group, the registry with it.

import AirlockCore
import AirlockTestSupport
import Foundation

final class LocalRegistry {
    static let binary = "/usr/bin/docker-registry"
    static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    static let username = "pusher"
    static let password = "s3cret-pass"
    static let acrToken = "acr-token-for-tests"

    enum Proxy: String { case flaky, token, tamper }

    let process: BackgroundProcess
    /// `127.0.0.1:PORT` of the registry itself, and of the proxy in front of it.
    let registry: String
    let proxy: String

    init(in dir: TempDir, proxy mode: Proxy = .flaky) async throws {
        try Data(Self.script.utf8).write(to: URL(fileURLWithPath: dir.file("registry.py")))
        process = try await BackgroundProcess.start(
            ChildProcess(
                executable: "/usr/bin/python3", arguments: [dir.file("registry.py"), dir.file("registry"), mode.rawValue],
                environment: ["PATH": "/usr/bin:/bin"], workingDirectory: dir.path, timeLimit: .seconds(1800)
            ),
            within: .seconds(30)
        )
        let ports = process.firstLine.split(separator: " ")
        guard ports.count == 2 else { throw UsageError("the registry supervisor printed \(process.firstLine)") }
        registry = "127.0.0.1:\(ports[0])"
        proxy = "127.0.0.1:\(ports[1])"
    }

    func stop() async { await process.stop() }

    static let script = #"""
        import base64, http.client, http.server, os, socket, subprocess, sys, threading
        root, mode = sys.argv[1], sys.argv[2]
        def free_port():
            s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
        port = free_port()
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "config.yml"), "w") as f:
            f.write("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s/data\n  delete:\n    enabled: true\n"
                    "http:\n  addr: 127.0.0.1:%d\nlog:\n  level: info\n" % (root, port))
        registry = subprocess.Popen(["/usr/bin/docker-registry", "serve", os.path.join(root, "config.yml")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # Ready when it logs "listening on"; its later lines go on into registry.log.
        log = open(os.path.join(root, "registry.log"), "w")
        for line in registry.stderr:
            log.write(line)
            if "listening on" in line: break
        else:
            log.close()
            sys.exit("docker-registry exited before it listened on %d (see %s)" % (port, log.name))
        threading.Thread(target=lambda: [log.write(l) for l in registry.stderr], daemon=True).start()
        count = [0]
        lock = threading.Lock()
        TOKEN = "t0ken-for-tests"
        WANT = ["Basic " + base64.b64encode(b"pusher:s3cret-pass").decode(),
                "Basic " + base64.b64encode(b"00000000-0000-0000-0000-000000000000:acr-token-for-tests").decode()]
        class Proxy(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *a): pass
            def handle_one(self):
                with lock:
                    count[0] += 1; n = count[0]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if mode == "flaky" and n % 7 == 0:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "flaky" and n % 3 == 0:
                    self.send_response(503); self.send_header("Content-Length", "0"); self.end_headers(); return
                if mode == "token":
                    if self.path.startswith("/token"):
                        if self.headers.get("Authorization") not in WANT:
                            self.send_response(401); self.send_header("Content-Length", "0"); self.end_headers(); return
                        out = ('{"token": "%s"}' % TOKEN).encode()
                        self.send_response(200); self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out); return
                    if self.headers.get("Authorization") != "Bearer " + TOKEN:
                        here = "127.0.0.1:%d" % self.server.server_address[1]
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Bearer realm="http://%s/token",service="test-registry",scope="repository:app:pull,push"' % here)
                        self.send_header("Content-Length", "0"); self.end_headers(); return
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "host", "connection")}
                c.request(self.command, self.path, body=body if body or self.command in ("PUT", "PATCH", "POST") else None, headers=headers)
                r = c.getresponse()
                data = r.read()
                if mode == "tamper" and self.command == "GET" and "/blobs/" in self.path and data:
                    data = data[:-1] + bytes([data[-1] ^ 1])
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in ("content-length", "connection", "transfer-encoding"): continue
                    if k.lower() == "location": v = v.replace("127.0.0.1:%d" % port, "127.0.0.1:%d" % self.server.server_address[1])
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data) if self.command != "HEAD" else r.getheader("Content-Length") or 0))
                self.end_headers()
                if self.command != "HEAD": self.wfile.write(data)
            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_one
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        print(port, server.server_address[1], flush=True)
        try:
            server.serve_forever()
        finally:
            registry.terminate()
        """#
}
