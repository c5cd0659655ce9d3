// Which proxy a request goes through, read from the environment as curl and Python's urllib (and so
// pip) read it, since those are the tools a user has already set it up for:
// - https URLs use `https_proxy`, else `HTTPS_PROXY`; http URLs `http_proxy`, else `HTTP_PROXY`;
//   either falls back to `all_proxy`/`ALL_PROXY`. The lower-case name wins, as in curl and urllib.
//   An empty value means none.
// - A proxy is `[http://][user:password@]host[:port]` (port 80 when left out) or `socks5://host[:port]`
//   (`socks5h://` alike; 1080). AsyncHTTPClient reaches a proxy over plain TCP only, so an `https://`
//   proxy is refused by name rather than quietly spoken to in clear text. Requests tunnel with CONNECT
//   (AsyncHTTPClient's one mode), plain http URLs too.
// - `no_proxy`/`NO_PROXY` (lower case first): a comma list, matched against the URL's host as
//   written (no DNS): `*` alone matches every host; `example.com`, `.example.com` and
//   `*.example.com` match that domain and every name under it (a label boundary: not
//   `badexample.com`); `host:port` only that port; an IP address (`10.1.2.3`, `::1`, `[::1]:8080`)
//   that address in any spelling; `10.0.0.0/8` or `fd00::/8` the addresses in that block. Case and
//   a trailing dot do not count. Loopback is not bypassed unless listed (curl and urllib agree).

public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A proxy server named by the environment.
public struct ProxyServer: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// An HTTP proxy, tunnelled through with CONNECT.
        case http
        case socks5
    }

    public var kind: Kind
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    /// The variable that named it (`HTTPS_PROXY`), for messages.
    public var variable: String

    public init(
        kind: Kind,
        host: String,
        port: Int,
        username: String? = nil,
        password: String? = nil,
        variable: String
    ) {
        self.kind = kind
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.variable = variable
    }

    /// Reads a proxy variable's value; throws naming the variable when it is not a proxy Airlock can use.
    public init(parsing value: String, variable: String) throws(HTTPError) {
        let text = value.trimmingCharacters(in: .whitespaces)
        func refuse(_ why: String) -> HTTPError {
            HTTPError(.proxy, "\(variable)=\(Self.redacted(text)): \(why)")
        }
        let withScheme = text.contains("://") ? text : "http://" + text
        guard let components = URLComponents(string: withScheme), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { throw refuse("not a proxy URL ([http://][user:password@]host[:port])") }
        switch scheme {
        case "http": kind = .http
        case "socks5", "socks5h": kind = .socks5
        case "https":
            throw refuse("an https:// proxy is not supported (Airlock reaches proxies over plain TCP); use http://")
        default: throw refuse("the \(scheme):// scheme is not supported (http:// or socks5://)")
        }
        let port = components.port ?? (kind == .http ? 80 : 1080)
        guard (1...65535).contains(port) else { throw refuse("not a valid port") }
        username = components.user.flatMap { $0.isEmpty ? nil : $0 }
        password = components.password
        if kind == .socks5, username != nil { throw refuse("SOCKS5 proxies with a user name are not supported") }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = port
        self.variable = variable
    }

    /// `HTTPS_PROXY (proxy.corp:3128)`: where it was named and where it is, never the password.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(variable) (\(kind == .socks5 ? "socks5://" : "")\(shownHost):\(port))"
    }

    /// The value with any `user:password@` shown as `***@`.
    private static func redacted(_ text: String) -> String {
        let start = text.range(of: "://")?.upperBound ?? text.startIndex
        guard let at = text[start...].firstIndex(of: "@") else { return text }
        return String(text[..<start]) + "***" + String(text[at...])
    }
}

/// The proxy variables of one environment, and the choice they make for each URL.
public struct ProxySettings: Sendable, Equatable {
    /// What a URL's request goes through.
    public enum Route: Sendable, Equatable {
        case direct
        case proxy(ProxyServer)
        /// The variable that applies is set but unusable: the request fails with this error.
        case invalid(HTTPError)
    }

    private var https: Route
    private var http: Route
    public let noProxy: NoProxyList

    /// No proxy for anything.
    public static let direct = ProxySettings(environment: [:])

    public init(environment: [String: String]) {
        func route(_ names: [String]) -> Route {
            for name in names {
                guard let value = environment[name], !value.trimmingCharacters(in: .whitespaces).isEmpty else {
                    continue
                }
                do {
                    return .proxy(try ProxyServer(parsing: value, variable: name))
                } catch {
                    return .invalid(error)
                }
            }
            return .direct
        }
        https = route(["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"])
        http = route(["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"])
        let list = [environment["no_proxy"], environment["NO_PROXY"]].compactMap { $0 }.first { !$0.isEmpty }
        noProxy = NoProxyList(list ?? "")
    }

    /// Whether `url` goes direct, through a proxy, or cannot go (a proxy variable that does not parse).
    public func route(for url: URL) -> Route {
        let scheme = url.scheme?.lowercased()
        let chosen: Route = scheme == "https" ? https : scheme == "http" ? http : .direct
        guard chosen != .direct, let host = url.host else { return chosen }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        return noProxy.matches(host: host, port: port) ? .direct : chosen
    }
}

/// A `NO_PROXY` list (see the file's header for the rules).
public struct NoProxyList: Sendable, Equatable {
    private enum Pattern: Sendable, Equatable {
        case everything
        /// A domain and every name under it.
        case domain(String, port: Int?)
        /// An address, or a block of them: `bits` leading bits of `address` (4 or 16 bytes).
        case addresses([UInt8], bits: Int, port: Int?)
    }

    private let patterns: [Pattern]

    public init(_ list: String) {
        patterns = list.split(separator: ",").compactMap { Self.pattern(String($0)) }
    }

    public var isEmpty: Bool { patterns.isEmpty }

    /// Whether a request to `host` (as written in the URL, brackets allowed) on `port` bypasses the proxy.
    public func matches(host rawHost: String, port: Int) -> Bool {
        let host = Self.normalised(rawHost)
        let address = IPAddress.bytes(host)
        for pattern in patterns {
            switch pattern {
            case .everything:
                return true
            case .domain(let domain, let want):
                if let want, want != port { continue }
                // A name matches the domain and the names under it; an address only itself.
                if host == domain || (address == nil && host.hasSuffix("." + domain)) { return true }
            case .addresses(let block, let bits, let want):
                if let want, want != port { continue }
                if let address, address.count == block.count, IPAddress.prefix(address, block, bits: bits) {
                    return true
                }
            }
        }
        return false
    }

    private static func normalised(_ host: String) -> String {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        while h.hasSuffix(".") { h.removeLast() }
        return h
    }

    private static func pattern(_ raw: String) -> Pattern? {
        var entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard !entry.isEmpty else { return nil }
        if entry == "*" { return .everything }
        // The port: `[v6]:port`, or `name:port` / `v4:port` (one colon; more is a bare IPv6 address).
        var port: Int? = nil
        if entry.hasPrefix("[") {
            guard let close = entry.firstIndex(of: "]") else { return nil }
            let inner = String(entry[entry.index(after: entry.startIndex)..<close])
            let rest = String(entry[entry.index(after: close)...])
            if rest.hasPrefix(":") {
                guard let p = Int(rest.dropFirst()) else { return nil }
                port = p
                entry = inner
            } else if rest.isEmpty || rest.hasPrefix("/") {
                entry = inner + rest
            } else {
                return nil
            }
        } else if entry.count(where: { $0 == ":" }) == 1, let colon = entry.firstIndex(of: ":") {
            guard let p = Int(entry[entry.index(after: colon)...]) else { return nil }
            port = p
            entry = String(entry[..<colon])
        }
        // An address or a block.
        let halves = entry.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        if let address = IPAddress.bytes(String(halves[0])) {
            let bits = halves.count == 2 ? Int(halves[1]) : address.count * 8
            guard let bits, (0...address.count * 8).contains(bits) else { return nil }
            return .addresses(address, bits: bits, port: port)
        }
        guard halves.count == 1 else { return nil }
        if entry.hasPrefix("*.") { entry.removeFirst(2) }
        while entry.hasPrefix(".") { entry.removeFirst() }
        while entry.hasSuffix(".") { entry.removeLast() }
        return entry.isEmpty ? nil : .domain(entry, port: port)
    }
}

/// IP literals as bytes, for comparing addresses however they are spelled.
private enum IPAddress {
    /// 4 bytes for an IPv4 literal, 16 for IPv6, nil for anything else (a name).
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// Whether the first `bits` bits of `a` and `b` agree.
    static func prefix(_ a: [UInt8], _ b: [UInt8], bits: Int) -> Bool {
        let whole = bits / 8
        guard a.prefix(whole) == b.prefix(whole) else { return false }
        let rest = bits % 8
        guard rest > 0 else { return true }
        let mask = UInt8(0xFF) << (8 - rest)
        return a[whole] & mask == b[whole] & mask
    }
}
