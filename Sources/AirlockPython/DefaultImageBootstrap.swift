// `airlock build` on the connected host makes the target's default build image when the store
// lacks it (ImageBootstrap over mmdebstrap, the profile's suite plus Debian's python3), instead of
// stopping with the command to run. It does so only when that can work: bootstrapping allowed (no
// `--no-bootstrap`), mmdebstrap installed, and the Debian mirror (or the proxy in front of it)
// accepting a TCP connection within a few seconds. Otherwise the build refuses with the message it
// always gave, which names the bootstrap command, plus the reason it did not bootstrap. An image
// named with `--image` is never made: only the default has a recipe.

public import AirlockContainer
public import AirlockCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Whether, and how, a build may bootstrap its missing default image.
public struct DefaultImageBootstrap: Sendable {
    /// False for `--no-bootstrap`: a missing image is the error, as before.
    public var isAllowed: Bool
    /// The Debian mirror mmdebstrap installs from (http, https or file URL); nil for mmdebstrap's
    /// default (deb.debian.org with -updates and -security).
    public var mirror: String?
    /// The mmdebstrap to run; nil finds it on PATH.
    public var mmdebstrap: String?
    /// SOURCE_DATE_EPOCH of the image, as for `image bootstrap`.
    public var sourceDateEpoch: Int64
    /// How long the mirror may take to accept a connection before it counts as unreachable.
    public var probeTimeout: Duration
    /// Where mmdebstrap's lines go.
    public var output: SandboxOutput

    public init(
        isAllowed: Bool = true,
        mirror: String? = nil,
        mmdebstrap: String? = nil,
        sourceDateEpoch: Int64 = ImageBootstrap.defaultSourceDateEpoch,
        probeTimeout: Duration = .seconds(3),
        output: SandboxOutput = .discard
    ) {
        self.isAllowed = isAllowed
        self.mirror = mirror
        self.mmdebstrap = mmdebstrap
        self.sourceDateEpoch = sourceDateEpoch
        self.probeTimeout = probeTimeout
        self.output = output
    }

    /// Why a bootstrap cannot work here (nil: it can), and the mmdebstrap it would run.
    func readiness() async -> (reason: String?, executable: String?) {
        let found =
            mmdebstrap.map { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
            ?? ChildProcess.locate("mmdebstrap")
        guard let executable = found else {
            return ("mmdebstrap is not installed (apt-get install -y mmdebstrap)", nil)
        }
        let mirror = self.mirror ?? ImageBootstrap.defaultMirror
        if let unreachable = await MirrorProbe.unreachable(mirror, timeout: probeTimeout) {
            return (unreachable, executable)
        }
        return (nil, executable)
    }
}

extension PythonBuild {
    /// The image a sandboxed build of `project` runs in, as `buildImage(project:image:store:)`
    /// finds it; when that is the target's default image and the store lacks it, it is bootstrapped
    /// first if `bootstrap` allows and can (one note before, saying so, and one after, saying how
    /// long it took). Otherwise the missing image is the error, with the reason it was not made.
    public static func buildImage(
        project: String,
        image: String?,
        store: Store,
        bootstrap: DefaultImageBootstrap,
        progress: ProgressReporter? = nil
    ) async throws -> ImageRecord {
        do {
            return try buildImage(project: project, image: image, store: store)
        } catch let missing as UsageError where missing.code == ImageErrorCode.notFound.code && image == nil {
            guard bootstrap.isAllowed else { throw missing }
            let (lock, _) = try PythonLock.read(project: project)
            guard let profile = DefaultImage.forPython(lock.target.pythonVersion) else { throw missing }
            return try await bootstrap.make(
                suite: profile.suite, packages: profile.packages, reference: profile.reference, missing: missing,
                into: store, progress: progress
            )
        }
    }
}

extension DurationText {
    /// A time taken, as a person says it: `850 ms`, `14.2 s`, `3 min 5 s`.
    static func spoken(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        if milliseconds < 60_000 { return "\(milliseconds / 1000).\(milliseconds % 1000 / 100) s" }
        return "\(milliseconds / 60_000) min \(milliseconds % 60_000 / 1000) s"
    }
}

/// The cheap check before mmdebstrap: does the mirror's host (or the proxy apt would use for it,
/// from http_proxy/https_proxy) accept a TCP connection within the timeout? A `file:` mirror must be
/// a directory. mmdebstrap itself would wait minutes on a network that drops packets.
package enum MirrorProbe {
    /// Nil when the mirror looks reachable; otherwise why not, for the message.
    package static func unreachable(_ mirror: String, timeout: Duration) async -> String? {
        if mirror.hasPrefix("file://") {
            let path = String(mirror.dropFirst("file://".count))
            return FileSystem.kind(of: path) == .directory ? nil : "the Debian mirror \(mirror) is not a directory"
        }
        guard let endpoint = endpoint(of: mirror) else { return "the Debian mirror \(mirror) is not an http(s) URL" }
        let proxy = proxyEndpoint(for: endpoint)
        let (host, port) = proxy ?? (endpoint.host, endpoint.port)
        guard await canConnect(host: host, port: port, timeout: timeout) else {
            let via = proxy.map { " through the proxy \($0.host):\($0.port)" } ?? ""
            return
                "the Debian mirror \(mirror) cannot be reached\(via) (no TCP connection within \(DurationText.spoken(timeout)))"
        }
        return nil
    }

    package struct Endpoint: Equatable, Sendable {
        package var scheme: String
        package var host: String
        package var port: UInt16

        package init(scheme: String, host: String, port: UInt16) {
            self.scheme = scheme
            self.host = host
            self.port = port
        }
    }

    /// Scheme, host and port of an http(s) URL (brackets of an IPv6 literal dropped).
    package static func endpoint(of url: String) -> Endpoint? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var authority = url[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = Substring(authority)
        var port: UInt16 = scheme == "https" ? 443 : 80
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if rest.hasPrefix(":") {
                guard let given = UInt16(rest.dropFirst()) else { return nil }
                port = given
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let given = UInt16(host[host.index(after: colon)...]) else { return nil }
            port = given
            host = host[..<colon]
        }
        guard !host.isEmpty else { return nil }
        return Endpoint(scheme: scheme, host: String(host), port: port)
    }

    /// The proxy from the environment that apt would use for `endpoint`, unless no_proxy exempts it.
    package static func proxyEndpoint(
        for endpoint: Endpoint,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> (host: String, port: UInt16)? {
        let names = endpoint.scheme == "https" ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy", "HTTP_PROXY"]
        guard let value = names.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) else { return nil }
        let exempt = (environment["no_proxy"] ?? environment["NO_PROXY"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        }
        let host = endpoint.host.lowercased()
        for entry in exempt where !entry.isEmpty {
            let domain = entry.hasPrefix(".") ? String(entry.dropFirst()) : entry
            if entry == "*" || host == domain || host.hasSuffix("." + domain) { return nil }
        }
        let url = value.contains("://") ? value : "http://" + value
        return Self.endpoint(of: url).map { ($0.host, $0.port) }
    }

    /// Whether a TCP connection to `host:port` opens within `timeout` (name resolution included:
    /// it runs on a thread of its own, abandoned if the time runs out).
    static func canConnect(host: String, port: UInt16, timeout: Duration) async -> Bool {
        let milliseconds = Int32(
            clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        )
        let pending = Mutex<CheckedContinuation<Bool, Never>?>(nil)
        return await withCheckedContinuation { continuation in
            pending.withLock { $0 = continuation }
            let finish: @Sendable (Bool) -> Void = { answer in
                pending.withLock { waiting in
                    waiting?.resume(returning: answer)
                    waiting = nil
                }
            }
            Thread.detachNewThread { finish(connectBlocking(host: host, port: port, milliseconds: milliseconds)) }
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: Double(milliseconds) / 1000)
                finish(false)
            }
        }
    }

    /// getaddrinfo, then a non-blocking connect to each address in turn, each given the time left.
    private static func connectBlocking(host: String, port: UInt16, milliseconds: Int32) -> Bool {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return false }
        defer { freeaddrinfo(first) }
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let address = node {
            node = address.pointee.ai_next
            let fd = socket(
                address.pointee.ai_family,
                address.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
                address.pointee.ai_protocol
            )
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 { return true }
            guard errno == EINPROGRESS else { continue }
            var waiting = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&waiting, 1, milliseconds) == 1 else { continue }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0, failure == 0 { return true }
        }
        return false
    }
}

extension DefaultImageBootstrap {
    /// Bootstraps `reference` (the suite's minbase plus `packages`) into the store, or throws
    /// `missing` with the reason it cannot be made here: one note before, saying so, and one after,
    /// saying how long it took. Any build's default image is made this way (a Go build's base too).
    public func make(
        suite: String, packages: [String], reference: String, missing: UsageError, into store: Store,
        progress: ProgressReporter? = nil
    ) async throws -> ImageRecord {
        guard isAllowed else { throw missing }
        var request = BootstrapRequest(
            suite: suite,
            packages: packages,
            name: reference,
            mirror: mirror,
            sourceDateEpoch: sourceDateEpoch
        )
        // A malformed mirror is its own error (image.bad-option), not a reason to skip.
        _ = try ImageBootstrap.mmdebstrapArguments(for: request, output: "-")
        let (reason, executable) = await readiness()
        guard let executable, reason == nil else {
            throw UsageError(code: missing.code, missing.description + "; not bootstrapped here: " + (reason ?? ""))
        }
        request.executable = executable
        let shownMirror = mirror ?? ImageBootstrap.defaultMirror
        let extra = packages.isEmpty ? "minbase" : packages.joined(separator: ",")
        progress?.note(
            "build: \(reference) is not in the store: bootstrapping it with mmdebstrap "
                + "(\(suite), \(extra), from \(shownMirror)); --no-bootstrap refuses instead"
        )
        let clock = ContinuousClock()
        let started = clock.now
        let result = try await ImageBootstrap.bootstrap(request, into: store, output: output)
        progress?.note(
            "build: bootstrapped \(reference) in \(DurationText.spoken(clock.now - started)) "
                + "(sha256:\(result.image.manifest.hex.prefix(12)), \(result.packages.count) package(s))"
        )
        return result.image
    }
}
