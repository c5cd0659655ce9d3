// The connected host's Go module settings, read as the go command reads them:
//
// - GOPROXY: a list of proxy URLs (https, http, file) separated by `,` (try the next only when this
//   one answers 404 or 410) or `|` (try the next after any failure). `direct` and `off` are
//   refused when nothing else is listed: Airlock fetches through a module proxy only, since there
//   is no version-control client on this path. A list that ends in `direct` (the default,
//   `https://proxy.golang.org,direct`) is used up to it, and a module no proxy has is named with
//   that said.
// - GONOPROXY (default GOPRIVATE): modules the go command would fetch from their VCS. Airlock
//   cannot, so they are refused by name (`GONOPROXY=none` sends them through the proxy).
// - GONOSUMDB and GOPRIVATE's checksum-database half change nothing here: Airlock never asks a
//   checksum database; go.sum alone vouches for every module, and each must be in it.
// - .netrc (NETRC, else ~/.netrc): `machine HOST login USER password PASS`, sent as basic
//   authentication to that host only (a redirect elsewhere drops it).

public import AirlockCore
public import Foundation
import Glibc

/// A GOPROXY list.
public struct GoProxyList: Sendable, Equatable {
    /// The go command's default.
    public static let defaultValue = "https://proxy.golang.org,direct"

    public struct Entry: Sendable, Equatable {
        public var url: URL
        /// True after `|`: the next entry is tried after any failure, not only a 404 or 410.
        public var fallsThroughOnError: Bool
    }

    public var entries: [Entry]
    /// `direct` or `off` when the list reaches one (the go command's next step Airlock does not take).
    public var stopsAt: String?
    /// The value as given.
    public let value: String

    public init(_ value: String?) throws {
        let text = (value?.isEmpty ?? true) ? Self.defaultValue : value!
        self.value = text
        entries = []
        stopsAt = nil
        var rest = Substring(text)
        while !rest.isEmpty {
            let end = rest.firstIndex(where: { $0 == "," || $0 == "|" }) ?? rest.endIndex
            let item = rest[..<end].trimmingCharacters(in: .whitespaces)
            let separator = end < rest.endIndex ? rest[end] : ","
            rest = end < rest.endIndex ? rest[rest.index(after: end)...] : ""
            if item.isEmpty { continue }
            if item == "direct" || item == "off" {
                stopsAt = item
                break
            }
            guard let url = URL(string: item.hasSuffix("/") ? String(item.dropLast()) : item),
                let scheme = url.scheme?.lowercased(), ["https", "http", "file"].contains(scheme)
            else {
                throw UsageError(
                    GoModuleErrorCode.proxyRefused,
                    "GOPROXY=\(text): '\(item)' is not an https, http or file URL"
                )
            }
            entries.append(Entry(url: url, fallsThroughOnError: separator == "|"))
        }
        guard !entries.isEmpty else {
            let what = stopsAt == "off" ? "turns module downloads off" : "asks for version control (direct)"
            throw UsageError(
                GoModuleErrorCode.proxyRefused,
                "GOPROXY=\(text) \(what): Airlock fetches modules through a module proxy only (there is no VCS on this path); set GOPROXY to your module proxy's URL"
            )
        }
    }

    /// The list as the go command takes it, without what Airlock does not do (for `go list` on the
    /// connected host, so it asks the same proxies and nothing else).
    public var goValue: String {
        var text = ""
        for (index, entry) in entries.enumerated() {
            if index > 0 { text += entries[index - 1].fallsThroughOnError ? "|" : "," }
            text += entry.url.absoluteString
        }
        return text
    }
}

/// Comma-separated glob patterns over module path prefixes (GOPRIVATE, GONOPROXY, GONOSUMDB), as
/// golang.org/x/mod/module.MatchPrefixPatterns reads them: a pattern of N path elements matches a
/// path whose first N elements it matches with path.Match.
public struct GoPathPatterns: Sendable, Equatable {
    public let patterns: [String]

    public init(_ value: String?) {
        patterns = (value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
    }

    public func matches(_ path: String) -> Bool {
        for raw in patterns {
            let pattern = raw.hasSuffix("/") ? String(raw.dropLast()) : raw
            let count = pattern.split(separator: "/", omittingEmptySubsequences: false).count
            let elements = path.split(separator: "/", omittingEmptySubsequences: false)
            guard elements.count >= count else { continue }
            let prefix = elements.prefix(count).joined(separator: "/")
            // FNM_PATHNAME: `*` and `?` never match `/`, as in path.Match.
            if fnmatch(pattern, prefix, FNM_PATHNAME) == 0 { return true }
        }
        return false
    }

    /// GONOPROXY as the go command reads it: GOPRIVATE when unset, nothing for `none`.
    public static func noProxy(environment: [String: String]) -> GoPathPatterns {
        let value = environment["GONOPROXY"] ?? environment["GOPRIVATE"]
        return GoPathPatterns(value == "none" ? nil : value)
    }
}

/// Credentials from a .netrc file, by host.
public struct Netrc: Sendable, Equatable {
    public struct Login: Sendable, Equatable {
        public var user: String
        public var password: String
    }

    public private(set) var machines: [String: Login] = [:]
    public private(set) var fallback: Login? = nil

    public init(text: String) {
        var tokens: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if fields.first?.hasPrefix("#") == true { continue }
            tokens += fields
        }
        var machine: String? = nil
        var isDefault = false
        var login = Login(user: "", password: "")
        func flush() {
            if let machine { machines[machine.lowercased()] = machines[machine.lowercased()] ?? login }
            if isDefault { fallback = fallback ?? login }
            machine = nil
            isDefault = false
            login = Login(user: "", password: "")
        }
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            let value = index + 1 < tokens.count ? tokens[index + 1] : ""
            switch token {
            case "machine":
                flush()
                machine = value
                index += 2
            case "default":
                flush()
                isDefault = true
                index += 1
            case "login":
                login.user = value
                index += 2
            case "password":
                login.password = value
                index += 2
            case "account":
                index += 2
            case "macdef":
                // A macro runs to the next blank line; its words are not tokens here. Rare enough
                // to end the file's reading, as the go command's reader does.
                flush()
                return
            default:
                index += 1
            }
        }
        flush()
    }

    /// NETRC's file, else ~/.netrc; empty when there is none.
    public static func load(environment: [String: String]) -> Netrc {
        let path = environment["NETRC"] ?? ((environment["HOME"] ?? "") + "/.netrc")
        guard let bytes = try? FileSystem.readFile(path, limit: 1 << 20) else { return Netrc(text: "") }
        return Netrc(text: String(decoding: bytes, as: UTF8.self))
    }

    /// The `Authorization` header for `url`'s host, if the file has a login for it.
    public func authorization(for url: URL) -> (name: String, value: String)? {
        guard let host = url.host?.lowercased(), let login = machines[host] ?? fallback, !login.user.isEmpty else {
            return nil
        }
        let token = Data((login.user + ":" + login.password).utf8).base64EncodedString()
        return ("Authorization", "Basic " + token)
    }
}
