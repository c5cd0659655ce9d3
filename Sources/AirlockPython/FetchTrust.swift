// Which CA bundle downloads are verified against, and whether that covers the bundle the user named.
// URLSession on Linux verifies against libcurl's built-in bundle and cannot be pointed at another one
// (see HTTPDownloader.swift), so a bundle named by PIP_CERT, REQUESTS_CA_BUNDLE, SSL_CERT_FILE or
// CURL_CA_BUNDLE is honoured exactly when the system bundle already holds its certificates. When it
// does not, the user hears so once, with the fix, before the TLS errors; verification is never relaxed.

import AirlockCore
import Foundation

package enum FetchTrust {
    /// The variables a user's tools read for a CA bundle, in the order they are reported.
    package static let bundleVariables = ["PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"]

    /// Where libcurl's bundle lives: the list swift-corelibs-foundation searches (Debian's first).
    package static let systemBundleCandidates = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/usr/share/ssl/certs/ca-bundle.crt",
        "/usr/local/share/certs/ca-root-nss.crt",
        "/etc/ssl/cert.pem",
    ]

    package static var systemBundle: String? {
        systemBundleCandidates.first { FileSystem.kind(of: $0) == .regular }
    }

    /// One warning per named bundle that holds certificates the system bundle lacks (or cannot be read).
    package static func warnings(environment: [String: String], systemBundle: String?) -> [String] {
        var warnings: [String] = []
        var checked: Set<String> = []
        var system: Set<String>? = nil
        for variable in bundleVariables {
            guard let path = environment[variable], !path.isEmpty, checked.insert(path).inserted else { continue }
            if let systemBundle, FileSystem.absolute(path) == systemBundle { continue }
            guard FileSystem.kind(of: path) == .regular, let named = try? certificates(in: path) else {
                // A directory (or an unreadable file) is not something we can compare; say so.
                warnings.append(
                    "\(variable)=\(path): not a readable CA bundle file; downloads are verified against \(systemBundle ?? "libcurl's built-in CA bundle") only"
                )
                continue
            }
            if system == nil { system = systemBundle.flatMap { try? certificates(in: $0) } ?? [] }
            let missing = named.subtracting(system ?? [])
            guard !missing.isEmpty else { continue }
            warnings.append(
                "\(variable)=\(path): \(missing.count) of its \(named.count) certificate(s) are not in \(systemBundle ?? "the system CA bundle"), which is what downloads are verified against (URLSession on Linux reads no CA bundle variable); add them to the system store (copy to /usr/local/share/ca-certificates/NAME.crt, run update-ca-certificates) or HTTPS downloads that need them will fail"
            )
        }
        return warnings
    }

    /// The certificates in a PEM bundle, each as its base64 body without whitespace (one string per DER).
    package static func certificates(in path: String) throws -> Set<String> {
        let text = String(decoding: try FileSystem.readFile(path, limit: 64 << 20), as: UTF8.self)
        var out: Set<String> = []
        var body: String? = nil
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line == "-----BEGIN CERTIFICATE-----" {
                body = ""
            } else if line == "-----END CERTIFICATE-----" {
                if let b = body, !b.isEmpty { out.insert(b) }
                body = nil
            } else if body != nil {
                body? += line
            }
        }
        return out
    }
}
