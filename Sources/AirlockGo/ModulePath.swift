// Module paths and versions as the go command spells them: the checks of golang.org/x/mod/module
// (CheckPath, a canonical semantic version) and the case encoding GOPROXY URLs and module cache
// directories use (`github.com/Azure/x` -> `github.com/!azure/x`), so that two paths that differ
// only in case never meet on a case-insensitive file system.

import AirlockCore

/// A module path and version, checked; `escapedPath`/`escapedVersion` are what a GOPROXY URL holds.
public struct ModuleVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let path: String
    public let version: String

    public init(path: String, version: String) throws {
        try ModulePath.check(path)
        try ModulePath.checkVersion(version, of: path)
        self.path = path
        self.version = version
    }

    /// For values checked already (a lock read through `GoLock.read`).
    init(checked path: String, version: String) {
        self.path = path
        self.version = version
    }

    public var escapedPath: String { ModulePath.escape(path) }
    public var escapedVersion: String { ModulePath.escape(version) }
    /// `path@version/`: the prefix of every member of this module's zip.
    public var zipPrefix: String { path + "@" + version + "/" }
    public var description: String { path + "@" + version }

    public static func < (a: ModuleVersion, b: ModuleVersion) -> Bool {
        (a.path, a.version) < (b.path, b.version)
    }
}

public enum ModulePath {
    /// The go command's rules for a module path: ASCII letters, digits and `-._~` in slash-separated
    /// elements that are neither empty, `.`-led nor `.`-ended; a first element that is a lower-case
    /// host name with a dot in it.
    public static func check(_ path: String) throws {
        func bad(_ reason: String) -> UsageError {
            UsageError(GoModuleErrorCode.badModulePath, "module path '\(path)': \(reason)")
        }
        guard !path.isEmpty else { throw bad("empty") }
        guard path.utf8.count <= 4096 else { throw bad("longer than 4096 bytes") }
        let elements = path.split(separator: "/", omittingEmptySubsequences: false)
        for element in elements {
            guard !element.isEmpty else { throw bad("an empty path element (a leading, trailing or double slash)") }
            guard element.first != ".", element.last != "." else {
                throw bad("element '\(element)' starts or ends with a dot")
            }
            for byte in element.utf8 where !isPathByte(byte) {
                throw bad("'\(Character(Unicode.Scalar(byte)))' is not allowed (letters, digits and -._~ only)")
            }
        }
        let host = elements[0]
        guard host.contains("."), host.first != "-" else {
            throw bad("the first element '\(host)' is not a host name with a dot")
        }
        guard !host.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5a }) else {
            throw bad("the first element '\(host)' has upper-case letters")
        }
    }

    /// A canonical semantic version (`v1.2.3`, `v1.2.3-pre.1`, `v0.0.0-20240101000000-abcdef123456`,
    /// `v2.0.0+incompatible`), as module proxies serve; `v2+` needs a `/vN` path or `+incompatible`.
    public static func checkVersion(_ version: String, of path: String) throws {
        func bad(_ reason: String) -> UsageError {
            UsageError(GoModuleErrorCode.badVersion, "module \(path): version '\(version)': \(reason)")
        }
        guard let major = canonicalMajor(version) else {
            throw bad("not a canonical semantic version (vMAJOR.MINOR.PATCH)")
        }
        if major >= 2, !version.hasSuffix("+incompatible") {
            let last = path.split(separator: "/").last.map(String.init) ?? ""
            let suffix = "v\(major)"
            let gopkg = path.hasPrefix("gopkg.in/") && last.hasSuffix(".v\(major)")
            guard last == suffix || gopkg else { throw bad("a v\(major) module's path must end in /\(suffix)") }
        }
    }

    /// Upper-case letters become `!` and the lower-case letter; a path or version never holds `!`.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 4)
        for scalar in text.unicodeScalars {
            if scalar.value >= 0x41 && scalar.value <= 0x5a {
                out.append("!")
                out.unicodeScalars.append(Unicode.Scalar(UInt8(scalar.value + 0x20)))
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The inverse of `escape`; nil for text no escaping gives (an upper-case letter, a `!` not
    /// before a lower-case letter).
    public static func unescape(_ text: String) -> String? {
        var out = ""
        var bang = false
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if bang {
                guard v >= 0x61 && v <= 0x7a else { return nil }
                out.unicodeScalars.append(Unicode.Scalar(UInt8(v - 0x20)))
                bang = false
            } else if scalar == "!" {
                bang = true
            } else if v >= 0x41 && v <= 0x5a {
                return nil
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return bang ? nil : out
    }

    static func isPathByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// The major version of a canonical semantic version, or nil when it is not one.
    static func canonicalMajor(_ version: String) -> Int? {
        guard version.hasPrefix("v") else { return nil }
        var rest = Substring(version.dropFirst())
        if rest.hasSuffix("+incompatible") { rest = rest.dropLast("+incompatible".count) }
        guard !rest.contains("+") else { return nil }
        let (core, pre) =
            rest.firstIndex(of: "-").map { (rest[..<$0], Optional(rest[rest.index(after: $0)...])) } ?? (rest, nil)
        let numbers = core.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3, numbers.allSatisfy(isNumber) else { return nil }
        if let pre {
            let identifiers = pre.split(separator: ".", omittingEmptySubsequences: false)
            for id in identifiers {
                guard !id.isEmpty, id.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
                    return nil
                }
                if id.utf8.allSatisfy(isDigit), id.count > 1, id.first == "0" { return nil }
            }
        }
        return Int(numbers[0])
    }

    private static func isNumber(_ s: Substring) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy(isDigit) && (s.count == 1 || s.first != "0") && s.count <= 18
    }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        isDigit(b) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
    }
}
