// What `airlock serve` promises about the answers its event loop gives itself (MirrorFastPath):
// pipelined answers stay in request order when some of them go to Hummingbird and some do not;
// stored files go out with sendfile(2) (strace attached to the running server shows it); a
// shutdown lets an answer being sent finish; the idle timeout closes a keep-alive connection that
// only the event loop answered, but never one in use; HTTP/1.0 and `Connection: close` are
// answered and closed; every answer gets its access-log line.

import AirlockCore
import AirlockTestSupport
import Foundation
import Testing

@Suite(.serialized, .timeLimit(.minutes(5))) struct MirrorFastPathCLITests {
    /// A raw-socket client: pipelined requests, HTTP/1.0, Connection: close, and idle checks.
    static let client = #"""
        import socket, sys, time
        port, hello = int(sys.argv[1]), sys.argv[2]

        def read_answers(s, count):
            data, answers = b"", []
            while len(answers) < count:
                while b"\r\n\r\n" not in data:
                    more = s.recv(65536)
                    if not more: return answers
                    data += more
                head, data = data.split(b"\r\n\r\n", 1)
                lines = head.decode().split("\r\n")
                fields = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
                length = int(fields.get("content-length", "0"))
                if lines[0].split()[0] == "HEAD": length = 0
                while len(data) < length:
                    more = s.recv(65536)
                    if not more: break
                    data += more
                answers.append((lines[0], fields, data[:length]))
                data = data[length:]
            return answers

        # Pipelined: / and the first render go to Hummingbird, the rest the event loop answers.
        s = socket.create_connection(("127.0.0.1", port))
        targets = ["/", "/healthz", "/blobs/sha256/" + hello, "/", "/artifacts/hello.txt", "/no-such", "/healthz"]
        s.sendall(b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % t.encode() for t in targets))
        s.settimeout(10)
        got = read_answers(s, len(targets))
        print("pipelined", " ".join(a[0].split()[1] for a in got))
        print("bodies", [("html" if b.startswith(b"<!DOCTYPE") else b.decode()) for _, _, b in got])
        print("dates", all("date" in f and f["date"].endswith(" GMT") for _, f, _ in got),
              "servers", sorted(set(f.get("server", "-") for _, f, _ in got)))

        # Busy for longer than the idle timeout (2 s), one request every 0.5 s: kept open.
        for i in range(6):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_answers(s, 1)
            if not answer or answer[0][2] != b"ok\n":
                print("busy-closed-at", i)
                break
            time.sleep(0.5)
        else:
            print("busy-kept-open")
        # Then idle: closed after the timeout.
        start = time.time()
        left = s.recv(100)
        print("idle-closed-after", round(time.time() - start), repr(left))

        # HTTP/1.0 and Connection: close: answered, then closed.
        for request in [b"GET /healthz HTTP/1.0\r\n\r\n", b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]:
            c = socket.create_connection(("127.0.0.1", port))
            c.settimeout(5)
            c.sendall(request)
            answer = read_answers(c, 1)
            rest = c.recv(100)
            print("closing", answer[0][0].split()[1] if answer else "none", answer[0][2] if answer else b"", repr(rest))
        """#

    @Test func pipelinedAnswersKeepTheirOrderAndTheIdleTimeoutClosesOnlyIdleConnections() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        _ = try await ServeCLITests().importedStore(dir)
        let hello = SHA256Hasher.hash(Array("hello\n".utf8)).hex
        let serve = try await ServeProcess(store: "inside", in: dir.path, extra: ["--idle-timeout", "2"])
        let port = serve.url.split(separator: ":").last.map(String.init) ?? ""
        try Data(Self.client.utf8).write(to: URL(fileURLWithPath: dir.file("client.py")))
        let (status, output) = try await shell("python3 client.py \(port) \(hello)", in: dir.path)
        #expect(status == 0, "\(output)")
        #expect(output.contains("pipelined 200 200 200 200 200 404 200"), "\(output)")
        #expect(output.contains("bodies ['html', 'ok\\n', 'hello\\n', 'html', 'hello\\n', 'not found\\n', 'ok\\n']"), "\(output)")
        #expect(output.contains("dates True servers ['airlock/0."), "\(output)")
        #expect(output.contains("busy-kept-open"), "\(output)")
        let idle = output.split(separator: "\n").first { $0.hasPrefix("idle-closed-after") }
        #expect(idle.map { (1...5).contains(Int($0.split(separator: " ")[1]) ?? 99) && $0.hasSuffix("b''") } == true, "\(output)")
        #expect(output.contains("closing 200 b'ok\\n' b''\nclosing 200 b'ok\\n' b''"), "\(output)")
        let stopped = await serve.process.stop()
        #expect(stopped?.status == 0)
        // Every answer has its line, whichever path gave it.
        let log = stopped?.tail ?? ""
        #expect(log.components(separatedBy: "\"GET /healthz\" 200").count - 1 >= 10, "\(log)")
        #expect(log.contains("\"GET /blobs/sha256/\(hello)\" 200 6 "), "\(log)")
        #expect(log.contains("\"GET /no-such\" 404"), "\(log)")
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "needs strace (scripts/install-deps.sh --test)"))
    func storedFilesGoOutWithSendfileAndAShutdownLetsTheAnswerBeingSentFinish() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let (big, hex) = try await ServeCLITests().importedStore(dir)
        // 32 MiB: several times what the sockets between serve and a stalled reader hold.
        let large = pseudoRandom(32 << 20, seed: 9)
        try Data(large).write(to: URL(fileURLWithPath: dir.file("in/large.bin")))
        for command in [
            ["seal", "--key", "keys/team.key", "--out", "large.airlock", "--store", "outside", "in/large.bin"],
            ["import", "--store", "inside", "large.airlock"],
        ] {
            let result = try await CLI.run(command, in: dir.path)
            try #require(result.status == 0, "\(command): \(result)")
        }
        let serve = try await ServeProcess(store: "inside", in: dir.path)
        let port = serve.url.split(separator: ":").last.map(String.init) ?? ""
        // strace attached to the running server (its pid from the listening socket), sendfile only.
        let (found, listing) = try await shell("ss -ltnpH 'sport = :\(port)'", in: dir.path)
        let pid = try #require(listing.firstRange(of: #/pid=(\d+)/#).map { String(listing[$0].dropFirst(4)) }, "\(found) \(listing)")
        let strace = try await BackgroundProcess.start(
            ChildProcess(
                executable: "/bin/sh",
                arguments: ["-c", "strace -f -qq -e trace=sendfile -o trace.txt -p \(pid) & sleep 0.5; echo attached; wait"],
                workingDirectory: dir.path, stopSignal: 2, stopGrace: .seconds(5)
            )
        )
        var (status, output) = try await shell(
            "curl -s -S --max-time 10 -o got.bin -w '%{http_code}' '\(serve.url)/blobs/sha256/\(hex)'", in: dir.path
        )
        #expect(output == "200", "\(output)")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir.file("got.bin")))) == big)
        (status, output) = try await shell(
            "curl -s -S --max-time 10 -o part.bin -H 'Range: bytes=100-199' -w '%{http_code}' '\(serve.url)/artifacts/wheel.whl'", in: dir.path
        )
        #expect(output == "206", "\(output)")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir.file("part.bin")))) == Array(big[100...199]))
        await strace.stop()
        let trace = (try? String(contentsOfFile: dir.file("trace.txt"), encoding: .utf8)) ?? ""
        let sent = trace.split(separator: "\n").filter { $0.contains("sendfile(") }.compactMap { line in
            line.split(separator: "=").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        #expect(sent.reduce(0, +) == big.count + 100, "sendfile calls: \(trace)")

        // A reader that stalls (nothing read for a second) after the head of a 32 MiB answer:
        // SIGTERM comes while most of it is unsent, the answer is finished, then serve exits 0.
        // (Default socket buffers: a small receive window would make the rest crawl on a loaded
        // machine, past the 10 s the test gives serve to stop.)
        let reader = #"""
            import hashlib, socket, sys, time
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
            s.sendall(b"GET /artifacts/large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data: data += s.recv(8192)
            print("started", flush=True)
            time.sleep(1)
            head, body = data.split(b"\r\n\r\n", 1)
            while len(body) < 32 << 20:
                more = s.recv(1 << 20)
                if not more: break
                body += more
            print(head.split(b"\r\n")[0].decode(), len(body), hashlib.sha256(body).hexdigest())
            """#
        try Data(reader.utf8).write(to: URL(fileURLWithPath: dir.file("reader.py")))
        // Its first line says the head has come: the event the shutdown waits for.
        let download = try await BackgroundProcess.start(
            ChildProcess(executable: "/usr/bin/python3", arguments: ["reader.py", port], workingDirectory: dir.path)
        )
        #expect(download.firstLine == "started")
        let stopped = await serve.stop()
        let read = await download.wait()
        status = read?.status ?? -1
        // The runner hands standard output to the first-line watcher; the tail keeps the lines.
        output = read?.tail.split(separator: "\n").last.map { String($0) + "\n" } ?? ""
        #expect(status == 0 && output == "HTTP/1.1 200 OK \(32 << 20) \(SHA256Hasher.hash(large).hex)\n", "\(output)")
        #expect(stopped == 0)
    }
}
