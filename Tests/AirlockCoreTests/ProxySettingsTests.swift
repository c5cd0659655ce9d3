import AirlockCore
import Foundation
import Testing

@Suite struct ProxySettingsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var list: String
        var host: String
        var port: Int
        var bypasses: Bool
        var testDescription: String { "NO_PROXY=\(list) \(host):\(port) -> \(bypasses ? "direct" : "proxy")" }
    }

    static let noProxyCases: [Case] = [
        // Everything, nothing.
        .init(list: "*", host: "pypi.org", port: 443, bypasses: true),
        .init(list: " * ", host: "10.1.2.3", port: 80, bypasses: true),
        .init(list: "", host: "pypi.org", port: 443, bypasses: false),
        .init(list: " , ,", host: "pypi.org", port: 443, bypasses: false),
        .init(list: "*.*", host: "pypi.org", port: 443, bypasses: false),
        // A domain and the names under it, on a label boundary; case and trailing dots do not count.
        .init(list: "example.com", host: "example.com", port: 443, bypasses: true),
        .init(list: "example.com", host: "files.example.com", port: 443, bypasses: true),
        .init(list: "example.com", host: "a.b.example.com", port: 443, bypasses: true),
        .init(list: "example.com", host: "badexample.com", port: 443, bypasses: false),
        .init(list: "example.com", host: "example.com.evil.net", port: 443, bypasses: false),
        .init(list: ".example.com", host: "example.com", port: 443, bypasses: true),
        .init(list: ".example.com", host: "www.example.com", port: 443, bypasses: true),
        .init(list: "*.example.com", host: "www.example.com", port: 443, bypasses: true),
        .init(list: "Example.COM.", host: "WWW.example.com.", port: 443, bypasses: true),
        .init(list: "corp, internal.example.com ,other", host: "pkgs.internal.example.com", port: 443, bypasses: true),
        .init(list: "corp", host: "mirror.corp", port: 80, bypasses: true),
        .init(list: "localhost", host: "127.0.0.1", port: 80, bypasses: false),
        // Loopback is not bypassed unless listed.
        .init(list: "example.com", host: "localhost", port: 80, bypasses: false),
        .init(list: "example.com", host: "127.0.0.1", port: 80, bypasses: false),
        // A port narrows the entry to that port.
        .init(list: "example.com:8443", host: "example.com", port: 8443, bypasses: true),
        .init(list: "example.com:8443", host: "example.com", port: 443, bypasses: false),
        .init(list: "example.com:8443", host: "www.example.com", port: 8443, bypasses: true),
        .init(list: "127.0.0.1:8080", host: "127.0.0.1", port: 8080, bypasses: true),
        .init(list: "127.0.0.1:8080", host: "127.0.0.1", port: 8081, bypasses: false),
        .init(list: "example.com:http", host: "example.com", port: 80, bypasses: false),
        // Addresses, however spelled; never a suffix of another address.
        .init(list: "10.1.2.3", host: "10.1.2.3", port: 443, bypasses: true),
        .init(list: "10.1.2.3", host: "110.1.2.3", port: 443, bypasses: false),
        .init(list: "0.2.3", host: "10.0.2.3", port: 443, bypasses: false),
        .init(list: "::1", host: "[::1]", port: 443, bypasses: true),
        .init(list: "[::1]", host: "[0:0:0:0:0:0:0:1]", port: 443, bypasses: true),
        .init(list: "[::1]:8080", host: "[::1]", port: 8080, bypasses: true),
        .init(list: "[::1]:8080", host: "[::1]", port: 80, bypasses: false),
        .init(list: "fe80::1", host: "[fe80::2]", port: 443, bypasses: false),
        // Blocks.
        .init(list: "10.0.0.0/8", host: "10.200.3.4", port: 443, bypasses: true),
        .init(list: "10.0.0.0/8", host: "11.0.0.1", port: 443, bypasses: false),
        .init(list: "192.168.0.0/23", host: "192.168.1.254", port: 443, bypasses: true),
        .init(list: "192.168.0.0/23", host: "192.168.2.1", port: 443, bypasses: false),
        .init(list: "0.0.0.0/0", host: "8.8.8.8", port: 443, bypasses: true),
        .init(list: "fd00::/8", host: "[fd12:3456::1]", port: 443, bypasses: true),
        .init(list: "fd00::/8", host: "[fe80::1]", port: 443, bypasses: false),
        .init(list: "[fd00::]/8", host: "[fd00::5]", port: 443, bypasses: true),
        .init(list: "10.0.0.0/8", host: "[::ffff:10.0.0.1]", port: 443, bypasses: false),
        .init(list: "10.0.0.0/33", host: "10.0.0.1", port: 443, bypasses: false),
        .init(list: "10.0.0.0/8", host: "ten.example.com", port: 443, bypasses: false),
    ]

    @Test(arguments: noProxyCases)
    func noProxyMatching(_ c: Case) {
        #expect(NoProxyList(c.list).matches(host: c.host, port: c.port) == c.bypasses)
    }

    @Test func eachSchemeTakesItsOwnVariableLowerCaseFirstThenAllProxy() throws {
        let https = try #require(URL(string: "https://pypi.org/simple/"))
        let http = try #require(URL(string: "http://mirror.corp:8080/x.whl"))
        func target(_ env: [String: String], _ url: URL) -> String {
            switch ProxySettings(environment: env).route(for: url) {
            case .direct: "direct"
            case .proxy(let server): "\(server.variable) \(server.host):\(server.port)"
            case .invalid(let error): "invalid \(error.code)"
            }
        }
        #expect(target([:], https) == "direct")
        #expect(target(["HTTPS_PROXY": "p:3128"], https) == "HTTPS_PROXY p:3128")
        #expect(target(["HTTPS_PROXY": "p:3128"], http) == "direct")
        #expect(target(["HTTP_PROXY": "p:3128"], https) == "direct")
        #expect(target(["https_proxy": "lower:1", "HTTPS_PROXY": "upper:2"], https) == "https_proxy lower:1")
        #expect(target(["https_proxy": "", "HTTPS_PROXY": "upper:2"], https) == "HTTPS_PROXY upper:2")
        #expect(target(["http_proxy": "h", "ALL_PROXY": "all:9"], http) == "http_proxy h:80")
        #expect(target(["ALL_PROXY": "all:9"], https) == "ALL_PROXY all:9")
        #expect(target(["all_proxy": "a:1", "ALL_PROXY": "b:2"], http) == "all_proxy a:1")
        #expect(target(["HTTPS_PROXY": "p:3128", "NO_PROXY": "pypi.org"], https) == "direct")
        #expect(
            target(["HTTPS_PROXY": "p:3128", "no_proxy": "other", "NO_PROXY": "pypi.org"], https)
                == "HTTPS_PROXY p:3128"
        )
        #expect(target(["HTTP_PROXY": "p:3128", "NO_PROXY": "mirror.corp:8080"], http) == "direct")
        #expect(target(["HTTPS_PROXY": "ftp://p"], https) == "invalid http.proxy")
        #expect(target(["HTTPS_PROXY": "ftp://p", "NO_PROXY": "*"], https) == "direct")
        #expect(target(["HTTPS_PROXY": "p"], try #require(URL(string: "file:///tmp/x"))) == "direct")
    }

    struct Parsed: Sendable, CustomTestStringConvertible {
        var value: String
        var expected: String
        var testDescription: String { value }
    }

    static let parsed: [Parsed] = [
        .init(value: "proxy.corp:3128", expected: "http proxy.corp 3128 - -"),
        .init(value: "http://proxy.corp", expected: "http proxy.corp 80 - -"),
        .init(value: " HTTP://Proxy.Corp:8080/ ", expected: "http Proxy.Corp 8080 - -"),
        .init(value: "http://ops:s%3Acret@proxy.corp:3128", expected: "http proxy.corp 3128 ops s:cret"),
        .init(value: "http://[fd00::1]:3128", expected: "http fd00::1 3128 - -"),
        .init(value: "socks5://127.0.0.1", expected: "socks5 127.0.0.1 1080 - -"),
        .init(value: "socks5h://gate:1081", expected: "socks5 gate 1081 - -"),
        .init(value: "https://proxy.corp:3128", expected: "an https:// proxy is not supported"),
        .init(value: "ftp://proxy.corp", expected: "the ftp:// scheme is not supported"),
        .init(value: "socks5://u:p@gate", expected: "SOCKS5 proxies with a user name are not supported"),
        .init(value: "http://proxy.corp:0", expected: "not a valid port"),
        .init(value: "http://", expected: "not a proxy URL"),
        .init(value: "http://a b:1", expected: "not a proxy URL"),
    ]

    @Test(arguments: parsed)
    func proxyValues(_ p: Parsed) {
        do {
            let s = try ProxyServer(parsing: p.value, variable: "HTTPS_PROXY")
            #expect("\(s.kind) \(s.host) \(s.port) \(s.username ?? "-") \(s.password ?? "-")" == p.expected)
        } catch {
            #expect(error.is(.proxy))
            #expect(error.description.hasPrefix("HTTPS_PROXY="), "\(error)")
            #expect(error.description.contains(p.expected), "\(error)")
        }
    }

    @Test func aPasswordIsNeverShown() {
        #expect(throws: HTTPError.self) { try ProxyServer(parsing: "https://ops:hunter2@p:1", variable: "https_proxy") }
        do {
            _ = try ProxyServer(parsing: "https://ops:hunter2@p:1", variable: "https_proxy")
        } catch {
            #expect(error.description.hasPrefix("https_proxy=https://***@p:1: "), "\(error)")
        }
        let server = ProxyServer(kind: .http, host: "p", port: 1, username: "ops", password: "hunter2", variable: "X")
        #expect(server.description == "X (p:1)")
    }

    @Test(arguments: ["bytes 5-9/9", "bytes */10", "items 0-1/2", "bytes 9-5/10", "bytes 0-9", "bytes a-9/10"])
    func malformedContentRangesAreRejected(header: String) {
        #expect(ContentRange(header) == nil)
    }

    @Test func contentRangeFields() throws {
        let range = try #require(ContentRange("bytes 100-199/200"))
        #expect(range.start == 100 && range.end == 199 && range.total == 200)
        #expect(try #require(ContentRange("bytes 5-9/*")).total == nil)
    }
}
