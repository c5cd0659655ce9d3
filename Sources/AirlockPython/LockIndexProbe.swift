// Asks pip, not Airlock, about the network: a small script run by the same python whose pip resolves
// builds pip's own option parser and `PipSession`, so the configuration it reports and the requests
// it makes see the user's pip.conf, PIP_* variables, index URLs, proxy, CA bundle, client
// certificate, trusted hosts and index credentials exactly as `pip install` would. It reports that
// configuration (for uv, which reads no pip.conf) and looks up what pip's report lacks: each file's
// size (the index's PEP 691 JSON `size`, else a HEAD request's Content-Length, else unknown),
// whether the index marks it yanked (PEP 592, on its JSON or HTML page: pip 23's report does not
// say) and, when the report carries no sha256, the sha256 itself (by downloading the file).

import AirlockCore
import Foundation

/// pip's effective index and network settings.
package struct PipConfiguration: Codable, Sendable, Equatable {
    package var indexURL: String?
    package var extraIndexURLs: [String]
    package var findLinks: [String]
    package var noIndex: Bool
    package var cert: String?
    package var clientCert: String?
    package var proxy: String?
    package var trustedHosts: [String]

    package init(
        indexURL: String?,
        extraIndexURLs: [String] = [],
        findLinks: [String] = [],
        noIndex: Bool = false,
        cert: String? = nil,
        clientCert: String? = nil,
        proxy: String? = nil,
        trustedHosts: [String] = []
    ) {
        self.indexURL = indexURL
        self.extraIndexURLs = extraIndexURLs
        self.findLinks = findLinks
        self.noIndex = noIndex
        self.cert = cert
        self.clientCert = clientCert
        self.proxy = proxy
        self.trustedHosts = trustedHosts
    }
}

/// What the probe found for one file.
struct ProbedFile: Codable, Sendable {
    var size: Int?
    var sha256: String?
    /// "pep691", "head", "download" or "file"; nil when the size is unknown.
    var source: String?
    /// The index page marks the file yanked (PEP 592), with this reason ("" for none).
    var yanked: String?
}

struct LockIndexProbe {
    let python: String
    let environment: [String: String]
    let workDirectory: String
    /// pip options from the requirements file (`--index-url`, ...), applied as pip would.
    let pipOptions: [String]

    func configuration() async throws -> PipConfiguration {
        let output = try await run(["mode": "config", "pipOptions": pipOptions], label: "probe-config")
        do {
            return try JSONDecoder().decode(PipConfiguration.self, from: Data(output))
        } catch {
            throw UsageError(
                PythonErrorCode.helperFailed,
                "\(python): pip's configuration probe printed something that is not its answer (\(error))"
            )
        }
    }

    /// Sizes (and any missing sha256) for `files`, keyed by file name; also the probe's warnings.
    func files(_ files: [(project: String, filename: String, url: String, sha256: String?)]) async throws -> (
        [String: ProbedFile], [String]
    ) {
        let list: [[String: Any]] = files.map {
            ["project": $0.project, "filename": $0.filename, "url": $0.url, "sha256": $0.sha256 ?? NSNull()]
        }
        let output = try await run(["mode": "files", "pipOptions": pipOptions, "files": list], label: "probe-files")
        struct Answer: Decodable {
            var files: [String: ProbedFile]
            var warnings: [String]
        }
        do {
            let answer = try JSONDecoder().decode(Answer.self, from: Data(output))
            return (answer.files, answer.warnings)
        } catch {
            throw UsageError(
                PythonErrorCode.helperFailed,
                "\(python): the file probe printed something that is not its answer (\(error))"
            )
        }
    }

    private func run(_ request: [String: Any], label: String) async throws -> [UInt8] {
        let scriptPath = workDirectory + "/airlock-pip-probe.py"
        if !FileSystem.exists(scriptPath) { try FileSystem.writeAtomically(scriptPath, Array(Self.script.utf8)) }
        let requestPath = workDirectory + "/\(label).json"
        try FileSystem.writeAtomically(requestPath, Array(try JSONSerialization.data(withJSONObject: request)))
        let result = try await LockProcess.run(
            python,
            [scriptPath, requestPath],
            environment: environment,
            workDirectory: workDirectory,
            label: label
        )
        guard result.status == 0 else {
            throw UsageError(
                PythonErrorCode.helperFailed,
                "\(python): asking pip about the index failed (exit \(result.status)):\n\(result.stderrTail())"
            )
        }
        return result.stdout
    }

    /// The probe program (Resources/index_probe.py).
    static var script: String { PythonResources.indexProbe }
}
