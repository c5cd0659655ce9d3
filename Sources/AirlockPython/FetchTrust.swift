// Which CA bundle HTTPS downloads trust besides the system's, decided once per run, and why. The
// HTTP client (AirlockCore's HTTPSession) verifies against the system trust store and takes one more
// PEM file directly, so a CA bundle the user named for their other tools (pip's `cert` setting from
// pip.conf or PIP_CERT, REQUESTS_CA_BUNDLE, SSL_CERT_FILE, CURL_CA_BUNDLE) is honoured by handing it
// to the client: the first named bundle that holds certificates the system bundle lacks, as pip
// itself uses one. A bundle the system already covers changes nothing and is not passed. The user
// hears which bundle is used, once. Verification is never relaxed.
//
// pip's `cert` is read from pip itself (LockIndexProbe's configuration mode), and only when an HTTPS
// download is pending: it costs a python start. Without python3 only the environment is read; the
// transfer itself never involves python.

import AirlockCore
import Foundation

/// Which CA bundle a run's HTTPS downloads trust besides the system's; made by `Fetcher.plan` (or
/// by `fetch` itself).
public struct FetchPlan: Sendable {
    /// A PEM bundle trusted besides the system's; nil: the system's alone.
    public var caFile: String?
    /// What the user should hear before the downloads: which bundle is used and why.
    public var notes: [String] = []

    public init(caFile: String? = nil, notes: [String] = []) {
        self.caFile = caFile
        self.notes = notes
    }
}

package enum FetchTrust {
    /// The variables a user's tools read for a CA bundle, in the order they are considered.
    package static let bundleVariables = ["PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"]

    /// Where the system bundle lives: the files swift-nio-ssl searches for its default trust store
    /// (LinuxCABundle.swift), in its order.
    package static let systemBundleCandidates = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ]

    package static var systemBundle: String? {
        systemBundleCandidates.first { FileSystem.kind(of: $0) == .regular }
    }

    /// A CA bundle the user named that the system bundle does not cover.
    package struct NamedBundle: Sendable, Equatable {
        /// Where it was named: a variable, or `pip's cert setting`.
        package var source: String
        package var path: String
        /// Its certificates the system bundle lacks; nil when it cannot be read as a PEM file.
        package var missing: Int?
        package var total: Int

        package init(source: String, path: String, missing: Int?, total: Int) {
            self.source = source
            self.path = path
            self.missing = missing
            self.total = total
        }

        package var label: String { "\(source)=\(path)" }
    }

    /// The bundles named by pip's effective `cert` (`pipCert`) and the variables, each path once, that
    /// hold certificates `systemBundle` lacks or cannot be read; the system bundle itself and bundles it
    /// covers are left out. pip's setting comes first: it is what `pip install` verifies against.
    package static func uncoveredBundles(
        environment: [String: String],
        pipCert: String?,
        systemBundle: String?
    ) -> [NamedBundle] {
        var named: [(String, String)] = []
        if let pipCert, !pipCert.isEmpty {
            named.append((environment["PIP_CERT"] == pipCert ? "PIP_CERT" : "pip's cert setting", pipCert))
        }
        for variable in bundleVariables {
            if let path = environment[variable], !path.isEmpty { named.append((variable, path)) }
        }
        var out: [NamedBundle] = []
        var checked: Set<String> = []
        var system: Set<String>? = nil
        for (source, path) in named {
            guard checked.insert(FileSystem.absolute(path)).inserted else { continue }
            if let systemBundle, FileSystem.absolute(path) == systemBundle { continue }
            guard FileSystem.kind(of: path) == .regular, let certificates = try? certificates(in: path) else {
                out.append(NamedBundle(source: source, path: path, missing: nil, total: 0))
                continue
            }
            if system == nil { system = systemBundle.flatMap { try? self.certificates(in: $0) } ?? [] }
            let missing = certificates.subtracting(system ?? []).count
            if missing > 0 {
                out.append(NamedBundle(source: source, path: path, missing: missing, total: certificates.count))
            }
        }
        return out
    }

    /// Decides the CA bundle for a run that has HTTPS downloads pending (`needsHTTPS`). `pipCert` is
    /// called at most once, and only when python3 is found: it asks pip for its `cert` (nil when
    /// none) and throws when pip cannot be run.
    package static func plan(
        needsHTTPS: Bool,
        environment: [String: String],
        systemBundle: String?,
        pipCert: (_ python: String) async throws -> String?
    ) async -> FetchPlan {
        var plan = FetchPlan()
        if let via = environment["AIRLOCK_FETCH_VIA"], !via.isEmpty {
            plan.notes.append(
                "AIRLOCK_FETCH_VIA=\(via) is no longer used: every download goes through Airlock's own HTTP client"
            )
        }
        guard needsHTTPS else { return plan }

        var cert: String? = nil
        if let python = await LockProcess.interpreter("python3", environment: environment) {
            do {
                cert = try await pipCert(python)
            } catch {
                let lines = "\(error)".split(separator: "\n").map(String.init)
                plan.notes.append(
                    "\(python) could not run pip (\(lines.last ?? "no message")), so pip's `cert` setting is not known; the CA bundles the environment names are still honoured"
                )
            }
        }
        let systemName = systemBundle ?? "the system trust store"
        let bundles = uncoveredBundles(environment: environment, pipCert: cert, systemBundle: systemBundle)
        let chosen = bundles.first { ($0.missing ?? 0) > 0 }
        for bundle in bundles where bundle.missing == nil {
            plan.notes.append(
                "\(bundle.label): not a readable CA bundle file, so it is not used; downloads are verified against \(systemName)\(chosen.map { " and \($0.path)" } ?? "")"
            )
        }
        guard let chosen, let missing = chosen.missing else { return plan }
        plan.caFile = chosen.path
        plan.notes.append(
            "HTTPS downloads are verified against \(systemName) and \(chosen.label), which holds \(missing) of its \(chosen.total) certificate(s) that \(systemName) lacks"
        )
        for other in bundles where other.missing ?? 0 > 0 && other != chosen {
            plan.notes.append(
                "\(other.label) also holds certificates \(systemName) lacks; it is not used (one CA bundle per run: \(chosen.path))"
            )
        }
        return plan
    }

    /// pip's effective `cert` (pip.conf, PIP_CERT), asked of pip itself as LockIndexProbe does.
    static func pipCert(python: String, environment: [String: String]) async throws -> String? {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "airlock-fetch")
        defer { FileSystem.removeTree(directory) }
        let probe = LockIndexProbe(python: python, environment: environment, workDirectory: directory, pipOptions: [])
        return try await probe.configuration().cert
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
