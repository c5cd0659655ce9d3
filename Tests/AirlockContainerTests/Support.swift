// Helpers for the sandbox tests: a thread-safe line collector and a TCP listener on the host's
// loopback that can tell whether anyone connected.

import AirlockContainer
import Glibc
import Synchronization

/// Collects the lines a run streams, and can act on one as it arrives.
final class LineCollector: Sendable {
    private let lines = Mutex<[(SandboxStream, String)]>([])
    private let onLine: @Sendable (SandboxStream, String) -> Void

    init(onLine: @escaping @Sendable (SandboxStream, String) -> Void = { _, _ in }) { self.onLine = onLine }

    var output: SandboxOutput {
        SandboxOutput { stream, line in
            self.lines.withLock { $0.append((stream, line)) }
            self.onLine(stream, line)
        }
    }

    func lines(of stream: SandboxStream) -> [String] {
        lines.withLock { $0.filter { $0.0 == stream }.map(\.1) }
    }
}

/// A listening socket on 127.0.0.1 with a kernel-chosen port; closed on deinit.
final class LoopbackListener {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        guard fd >= 0 else { throw ListenerError(step: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else { throw ListenerError(step: "bind/listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw ListenerError(step: "getsockname") }
        port = UInt16(bigEndian: address.sin_port)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    /// Accepts every connection already queued; returns how many there were.
    func drainConnections() -> Int {
        var count = 0
        while true {
            let connection = accept(fd, nil, nil)
            if connection < 0 { return count }
            close(connection)
            count += 1
        }
    }
}

struct ListenerError: Error { var step: String }
