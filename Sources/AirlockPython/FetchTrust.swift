// Which transport each download takes, decided once per run, and why. URLSession on Linux verifies
// against libcurl's built-in bundle and cannot be pointed at another one (see HTTPDownloader.swift),
// so a CA bundle the user names (pip's `cert` setting from pip.conf or PIP_CERT, REQUESTS_CA_BUNDLE,
// SSL_CERT_FILE, CURL_CA_BUNDLE) is honoured by URLSession exactly when the system bundle already holds
// its certificates. When one holds certificates the system bundle lacks, HTTPS downloads go through
// pip's own network session instead (FetchViaPip), verified against that bundle; AIRLOCK_FETCH_VIA=pip
// sends every HTTP(S) download that way. The user hears which path is taken, once. If that path is
// needed and python3 or its pip is missing, the affected files fail naming the bundle and the fix
// (update-ca-certificates). Verification is never relaxed.
//
// pip's `cert` is read from pip itself (LockIndexProbe's configuration mode), and only when an HTTPS
// download is pending: it costs a python start.

import AirlockCore
import Foundation

/// How one run's downloads travel; made by `Fetcher.plan` (or by `fetch` itself).
public struct FetchPlan: Sendable {
    enum Route: Sendable {
        case urlSession
        case pip(FetchViaPip)
        /// The pip path is needed but cannot run; the files fail with this reason.
        case unavailable(String)
    }

    var https: Route = .urlSession
    var http: Route = .urlSession
    /// What the user should hear before the downloads: which path is used and why.
    public var notes: [String] = []

    func route(for url: URL) -> Route {
        switch url.scheme?.lowercased() {
        case "https": https
        case "http": http
        default: .urlSession
        }
    }
}

package enum FetchTrust {
    /// The variables a user's tools read for a CA bundle, in the order they are considered.
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

    /// Decides the routes for a run that has HTTPS (`needsHTTPS`) or plain HTTP downloads pending.
    /// `pipCert` is called at most once, and only when python3 is found: it asks pip for its `cert`
    /// (nil when none) and throws when pip cannot be run.
    package static func plan(
        needsHTTPS: Bool,
        needsHTTP: Bool,
        environment: [String: String],
        systemBundle: String?,
        pipCert: (_ python: String) async throws -> String?
    ) async -> FetchPlan {
        var plan = FetchPlan()
        let via = environment["AIRLOCK_FETCH_VIA"] ?? ""
        let isForced = via == "pip"
        if !via.isEmpty, !isForced {
            plan.notes.append("AIRLOCK_FETCH_VIA=\(via) is not understood (the one value is `pip`); it is ignored")
        }
        guard needsHTTPS || (isForced && needsHTTP) else { return plan }

        let python = await LockProcess.interpreter("python3", environment: environment)
        var cert: String? = nil
        var pipProblem: String? = nil
        if let python {
            do {
                cert = try await pipCert(python)
            } catch {
                let lines = "\(error)".split(separator: "\n").map(String.init)
                pipProblem = "\(python) could not run pip (\(lines.last ?? "no message"))"
            }
        } else {
            pipProblem = "python3 is not on PATH"
        }
        let systemName = systemBundle ?? "libcurl's built-in CA bundle"
        let bundles =
            needsHTTPS ? uncoveredBundles(environment: environment, pipCert: cert, systemBundle: systemBundle) : []
        let chosen = bundles.first { ($0.missing ?? 0) > 0 }
        for bundle in bundles where bundle.missing == nil {
            plan.notes.append(
                "\(bundle.label): not a readable CA bundle file, so Airlock cannot tell whether \(systemName) covers it; \(chosen == nil && !isForced ? "downloads are verified against \(systemName) only" : "it is not used")"
            )
        }
        guard isForced || chosen != nil else { return plan }

        let scope = isForced ? "HTTP and HTTPS" : "HTTPS"
        var why = "AIRLOCK_FETCH_VIA=pip"
        if let chosen, let missing = chosen.missing {
            why =
                "\(chosen.label) holds \(missing) of its \(chosen.total) certificate(s) that \(systemName) lacks, and URLSession on Linux verifies against that bundle only"
            if isForced { why = "AIRLOCK_FETCH_VIA=pip, and " + why }
        }
        let route: FetchPlan.Route
        if let python, pipProblem == nil {
            route = .pip(FetchViaPip(python: python, environment: environment, bundle: chosen?.path))
            let against = chosen.map { "verified against \($0.path)" } ?? "verified as pip verifies"
            plan.notes.append(
                "\(scope) downloads go through pip's network session (\(python)), \(against), not URLSession: \(why)"
            )
            if let chosen {
                for other in bundles where other.missing ?? 0 > 0 && other != chosen {
                    plan.notes.append(
                        "\(other.label) also holds certificates \(systemName) lacks; it is not used (one bundle per session: \(chosen.path))"
                    )
                }
            }
        } else {
            let fix =
                chosen.map {
                    "; or add the certificates of \($0.path) to the system store (copy them to /usr/local/share/ca-certificates/NAME.crt and run update-ca-certificates)"
                } ?? ""
            let reason =
                "\(why), so \(scope) downloads need pip's network session, but \(pipProblem ?? "pip cannot run"); install python3 with pip\(fix)"
            route = .unavailable(reason)
            plan.notes.append(reason)
        }
        if needsHTTPS { plan.https = route }
        if isForced { plan.http = route }
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
