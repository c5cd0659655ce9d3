// Package URLs (purl-spec) for the SBOM and the inventory's ids, and the SPDX licence identifiers
// Airlock recognises. Written here rather than taken from a library because the forms used are few
// and fixed: pkg:pypi (name normalised as PEP 503 does, as the pypi type asks), pkg:golang (the
// module path as namespace/name), pkg:oci (the digest as version), pkg:deb/debian, pkg:generic.

import AirlockCore
import AirlockPython
import Foundation

enum PackageURL {
    /// Percent-encodes every byte but the unreserved ones (and `/` where `keepSlash`), as purl asks.
    static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if (byte < 0x80 && (c.isLetter || c.isNumber)) || "-._~".contains(c) || (keepSlash && c == "/") {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    static func pypi(_ name: String, _ version: String) -> String {
        "pkg:pypi/\(encode(WheelName.normalize(name)))@\(encode(version))"
    }

    static func golang(_ path: String, _ version: String) -> String {
        "pkg:golang/\(encode(path, keepSlash: true))@\(encode(version))"
    }

    static func oci(_ name: String, digest: SHA256Digest, tag: String?) -> String {
        let last = name.split(separator: "/").last.map(String.init) ?? name
        var url = "pkg:oci/\(encode(last.lowercased()))@\(encode(digest.description))"
        var qualifiers: [String] = []
        if last != name { qualifiers.append("repository_url=" + encode(name)) }
        if let tag { qualifiers.append("tag=" + encode(tag)) }
        if !qualifiers.isEmpty { url += "?" + qualifiers.joined(separator: "&") }
        return url
    }

    static func deb(_ name: String, _ version: String, architecture: String) -> String {
        "pkg:deb/debian/\(encode(name))@\(encode(version))?arch=\(encode(architecture))"
    }

    static func generic(_ name: String, _ version: String) -> String {
        "pkg:generic/\(encode(name))@\(encode(version))"
    }
}

enum SPDXLicense {
    /// The licence identifiers of the SPDX list that Python and Go packages commonly declare.
    static let known: Set<String> = [
        "0BSD", "AFL-2.1", "AFL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0", "Artistic-2.0",
        "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear", "BSD-4-Clause", "BSL-1.0", "CC0-1.0",
        "CC-BY-4.0", "CDDL-1.0", "EPL-1.0", "EPL-2.0", "EUPL-1.2", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only",
        "GPL-3.0-or-later", "HPND", "ISC", "LGPL-2.0-only", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only",
        "LGPL-3.0-or-later", "MIT", "MIT-0", "MPL-1.1", "MPL-2.0", "MS-PL", "NCSA", "OpenSSL", "PSF-2.0", "Python-2.0",
        "Unicode-3.0", "Unicode-DFS-2016", "Unlicense", "UPL-1.0", "W3C", "WTFPL", "X11", "Zlib", "ZPL-2.1",
    ]

    /// Whether `text` is an SPDX licence expression made of known identifiers (or LicenseRef-s),
    /// AND, OR, WITH and parentheses.
    static func isExpression(_ text: String) -> Bool {
        let spaced = text.replacingOccurrences(of: "(", with: " ( ").replacingOccurrences(of: ")", with: " ) ")
        let tokens = spaced.split(separator: " ").map(String.init)
        guard !tokens.isEmpty else { return false }
        var expectOperand = true
        var depth = 0
        var afterWith = false
        for token in tokens {
            switch token {
            case "(":
                guard expectOperand else { return false }
                depth += 1
            case ")":
                guard !expectOperand, depth > 0 else { return false }
                depth -= 1
            case "AND", "OR", "WITH":
                guard !expectOperand else { return false }
                afterWith = token == "WITH"
                expectOperand = true
            default:
                guard expectOperand else { return false }
                let identifier = token.hasSuffix("+") ? String(token.dropLast()) : token
                guard afterWith ? exceptions.contains(identifier) : (known.contains(identifier) || identifier.hasPrefix("LicenseRef-"))
                else { return false }
                afterWith = false
                expectOperand = false
            }
        }
        return !expectOperand && depth == 0
    }

    static let exceptions: Set<String> = ["LLVM-exception", "Classpath-exception-2.0", "GCC-exception-3.1"]

    /// The SPDX identifier a trove classifier names unambiguously (`License :: OSI Approved :: MIT License`).
    static func fromClassifier(_ classifier: String) -> String? {
        let table: [String: String] = [
            "MIT License": "MIT", "Apache Software License": "Apache-2.0", "ISC License (ISCL)": "ISC",
            "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0", "Python Software Foundation License": "PSF-2.0",
            "The Unlicense (Unlicense)": "Unlicense", "Zero-Clause BSD (0BSD)": "0BSD", "zlib/libpng License": "Zlib",
            "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0", "MIT No Attribution License (MIT-0)": "MIT-0",
        ]
        guard classifier.hasPrefix("License :: ") else { return nil }
        return classifier.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { table[$0] }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: Swift.max(0, width - count)) + self }
}
