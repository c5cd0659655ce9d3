// How `airlock lock` drives pip: `pip install --dry-run --report -` for the target's tags, and how it
// reads the JSON report (installation report version 1) and pip's failures; and how it fetches
// sdists through pip's own finder and session: the ones a hash-pinned file names, and the ones the
// lock takes for requirements pip finds no wheel for (Resources/pip_sdists.py).
//
// pip 23.2.1 matches `--platform` exactly, so every manylinux tag from the target's glibc down is
// passed; it refuses platform options with `--dry-run --report` unless `--target DIR` is given (with
// `--dry-run` it creates nothing there). The report's `environment` block is the host's: pip
// evaluates environment markers for this machine, not for the target.

import AirlockCore
import Foundation

package enum LockPip {
    /// The arguments after `python -m pip`. `hashed` pins each requirement to a file matching one of
    /// its hashes without resolving dependencies (`--no-deps --require-hashes`).
    package static func installArguments(
        target: PythonTarget,
        requirements: String,
        hashed: Bool,
        targetDirectory: String
    ) -> [String] {
        let (major, minor) = target.versionParts
        var args = [
            "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
            "--disable-pip-version-check", "--no-input",
            "--only-binary=:all:", "--target", targetDirectory,
            "--implementation", "cp", "--python-version", "\(major).\(minor)",
        ]
        for abi in ["cp\(major)\(minor)", "abi3", "none"] { args += ["--abi", abi] }
        for platform in target.platformTags { args += ["--platform", platform] }
        if hashed { args += ["--no-deps", "--require-hashes"] }
        args += ["-r", requirements]
        return args
    }

    /// The error for a failed pip run: a requirement with no fitting wheel is named with the target
    /// (exit 2); files that match none of their hashes fail the check (exit 1); anything else shows
    /// pip's last lines (exit 2).
    /// What to do about a requirement that has no wheel for the target.
    static let sdistHint =
        "to build it from its sdist, pin the sdist in a requirements file that pins every line with --hash (NAME==VERSION --hash=sha256:... or NAME @ URL --hash=sha256:...): pip picks only wheels for another platform"

    /// The normalised project name of pip's "No matching distribution found for X", if it said so.
    static func requirementWithNoDistribution(_ result: LockProcessResult) -> String? {
        guard
            let line = result.stderr.split(separator: "\n").first(where: {
                $0.contains("No matching distribution found for ")
            }),
            let range = line.range(of: "No matching distribution found for ")
        else { return nil }
        let name = line[range.upperBound...].drop { $0 == " " }.prefix {
            $0.isLetter || $0.isNumber || "._-".contains($0)
        }
        return name.isEmpty ? nil : WheelName.normalize(String(name))
    }

    /// The requirement of pip's "No matching distribution found for REQ" as pip wrote it
    /// (`sdistonly>=1.0`), and its normalised project name.
    static func unmatchedRequirement(_ result: LockProcessResult) -> (name: String, requirement: String)? {
        guard let name = requirementWithNoDistribution(result),
            let line = result.stderr.split(separator: "\n").first(where: {
                $0.contains("No matching distribution found for ")
            }),
            let range = line.range(of: "No matching distribution found for ")
        else { return nil }
        return (name, line[range.upperBound...].trimmingCharacters(in: .whitespaces))
    }

    /// `noWheelHint`, when given, replaces what is said after "no wheel fits TARGET (from versions: ...)".
    static func failure(
        _ result: LockProcessResult,
        python: String,
        target: PythonTarget,
        requirements: String,
        sdistHint: Bool = true,
        noWheelHint: String? = nil
    ) -> any AirlockError {
        let lines = result.stderr.split(separator: "\n").map { String($0) }
        if lines.contains(where: { $0.contains("No module named pip") }) {
            return UsageError(
                PythonErrorCode.noPip,
                "\(python) has no pip: install it (apt-get install -y python3-pip), or point AIRLOCK_PYTHON at a python that has one"
            )
        }
        if let line = lines.first(where: { $0.contains("No matching distribution found for ") }),
            let range = line.range(of: "No matching distribution found for ")
        {
            let requirement = line[range.upperBound...].trimmingCharacters(in: .whitespaces)
            var versions = ""
            if let detail = lines.first(where: { $0.contains("satisfies the requirement") }),
                let open = detail.range(of: "(from versions:")
            {
                versions =
                    " (" + detail[open.lowerBound...].dropFirst().dropLast().trimmingCharacters(in: .whitespaces) + ")"
            }
            if let noWheelHint {
                return UsageError(
                    PythonErrorCode.noDistribution,
                    "\(requirement): no wheel fits \(target.description)\(versions), \(noWheelHint)"
                )
            }
            return UsageError(
                PythonErrorCode.noDistribution,
                "\(requirement): no wheel fits \(target.description)\(versions); "
                    + (sdistHint ? Self.sdistHint : "build requirements are installed from wheels only")
            )
        }
        if lines.contains(where: { $0.contains("DO NOT MATCH THE HASHES") }) {
            let detail = lines.drop { !$0.contains("DO NOT MATCH THE HASHES") }.dropFirst().filter {
                !$0.trimmingCharacters(in: .whitespaces).isEmpty
            }
            return CheckFailure(
                PythonErrorCode.pinMismatch,
                [
                    "\(requirements): a file pip found does not match the requirement's --hash pins for \(target.description):"
                ] + detail.prefix(12)
            )
        }
        return UsageError(
            PythonErrorCode.pipFailed,
            "pip could not lock \(requirements) for \(target.description) (exit \(result.status)):\n\(result.stderrTail())"
        )
    }

    static func decodeReport(_ bytes: [UInt8]) throws -> PipReport {
        do {
            let report = try JSONDecoder().decode(PipReport.self, from: Data(bytes))
            guard report.version == "1" else {
                throw UsageError(
                    PythonErrorCode.badPipReport,
                    "pip's installation report has version \(report.version); Airlock reads version 1"
                )
            }
            return report
        } catch let error as UsageError {
            throw error
        } catch {
            let head = String(decoding: bytes.prefix(200), as: UTF8.self)
            throw UsageError(
                PythonErrorCode.badPipReport,
                "pip's --report output is not an installation report (\(error)); it begins: \(head)"
            )
        }
    }
}

// MARK: Sdists

extension LockPip {
    /// One hash-pinned sdist to fetch: by URL, or (with a version) from the index.
    struct SdistQuery: Encodable {
        var name: String
        var version: String?
        var url: String?
        var sha256: [String]
    }

    /// An sdist fetched into the work directory.
    struct FetchedSdist: Decodable {
        var filename: String
        var url: String
        var sha256: String
        var size: Int
        var path: String
        /// "file" (a file: URL) or "download".
        var source: String
        /// The index marks it yanked (PEP 592), with this reason ("" for none); nil when it does not
        /// or it was fetched by URL.
        var yanked: String? = nil
    }

    /// Fetches each queried sdist through pip's own finder and session (so the user's index,
    /// credentials, proxy and CA settings apply), into `workDirectory/sdists/`; in query order.
    static func fetchSdists(
        _ queries: [SdistQuery],
        python: String,
        environment: [String: String],
        workDirectory: String,
        pipOptions: [String]
    ) async throws -> [FetchedSdist] {
        struct Request: Encodable {
            var pipOptions: [String]
            var dest: String
            var sdists: [SdistQuery]
        }
        struct Answer: Decodable {
            var sdists: [FetchedSdist]
            var errors: [String]
        }
        let dest = workDirectory + "/sdists"
        let answer: Answer = try await runSdistHelper(
            Request(pipOptions: pipOptions, dest: dest, sdists: queries), label: "fetch-sdists", python: python,
            environment: environment, workDirectory: workDirectory, failure: PythonErrorCode.sdistFetchFailed,
            doing: "fetching the pinned sdists", helper: "the sdist fetcher"
        )
        guard answer.errors.isEmpty else {
            throw UsageError(PythonErrorCode.sdistFetchFailed, answer.errors.joined(separator: "\n"))
        }
        guard answer.sdists.count == queries.count else {
            throw UsageError(
                PythonErrorCode.helperFailed,
                "\(python): the sdist fetcher answered for \(answer.sdists.count) of \(queries.count) sdists"
            )
        }
        return answer.sdists
    }

    /// An unhashed requirement pip found no wheel for: the sdist to look for on the index.
    struct SdistSearch: Encodable {
        var name: String
        /// The version specifier (PEP 440, comma-separated; empty for any version).
        var specifier: String
    }

    /// What the index had for one `SdistSearch`.
    enum FoundSdist {
        /// Downloaded and checked against the index's sha256 (when it gives one).
        case found(FetchedSdist, version: String, indexSha256: String?)
        /// Why there is none to take.
        case missing(String)
    }

    /// Looks up, with pip's own finder and session, the sdist pip would pick for each search (the
    /// highest version the specifier allows for the target's Python, not yanked unless pinned with
    /// ==), downloads it into `workDirectory/sdists/` and checks it against the index's sha256; in
    /// search order. A download that does not match the index's sha256 fails the check.
    static func findSdists(
        _ searches: [SdistSearch],
        target: PythonTarget,
        python: String,
        environment: [String: String],
        workDirectory: String,
        pipOptions: [String]
    ) async throws -> [FoundSdist] {
        struct Request: Encodable {
            var pipOptions: [String]
            var dest: String
            var find: [SdistSearch]
            var python: String
        }
        struct Answer: Decodable {
            var found: [Item]
        }
        struct Item: Decodable {
            var filename: String?
            var url: String?
            var sha256: String?
            var size: Int?
            var path: String?
            var source: String?
            var version: String?
            var indexSha256: String?
            var yanked: String?
            var missing: String?
            var mismatch: String?
        }
        let dest = workDirectory + "/sdists"
        let answer: Answer = try await runSdistHelper(
            Request(pipOptions: pipOptions, dest: dest, find: searches, python: target.pythonVersion), label: "find-sdists",
            python: python, environment: environment, workDirectory: workDirectory, failure: PythonErrorCode.helperFailed,
            doing: "looking up sdists on the index", helper: "the sdist finder"
        )
        guard answer.found.count == searches.count else {
            throw UsageError(
                PythonErrorCode.helperFailed,
                "\(python): the sdist finder answered for \(answer.found.count) of \(searches.count) projects"
            )
        }
        return try answer.found.map { item in
            if let mismatch = item.mismatch { throw CheckFailure(PythonErrorCode.sdistHashMismatch, mismatch) }
            guard let filename = item.filename, let url = item.url, let sha256 = item.sha256, let size = item.size,
                let path = item.path, let source = item.source, let version = item.version
            else { return .missing(item.missing ?? "the sdist finder gave no file") }
            return .found(
                FetchedSdist(
                    filename: filename, url: url, sha256: sha256, size: size, path: path, source: source, yanked: item.yanked
                ),
                version: version,
                indexSha256: item.indexSha256
            )
        }
    }

    /// Runs the sdist helper (Resources/pip_sdists.py) on `request` (written to a JSON file in
    /// `workDirectory`, the sdists going to `workDirectory/sdists/`) and decodes its answer.
    private static func runSdistHelper<Request: Encodable, Answer: Decodable>(
        _ request: Request, label: String, python: String, environment: [String: String], workDirectory: String,
        failure: PythonErrorCode, doing: String, helper: String
    ) async throws -> Answer {
        try FileSystem.makeDirectory(workDirectory + "/sdists")
        let scriptPath = workDirectory + "/airlock-fetch-sdists.py"
        let requestPath = workDirectory + "/\(label).json"
        try FileSystem.writeAtomically(scriptPath, Array(fetchSdistsScript.utf8))
        try FileSystem.writeAtomically(requestPath, Array(try JSONEncoder().encode(request)))
        let result = try await LockProcess.run(
            python, [scriptPath, requestPath], environment: environment, workDirectory: workDirectory, label: label
        )
        guard result.status == 0 else {
            throw UsageError(failure, "\(python): \(doing) failed (exit \(result.status)):\n\(result.stderrTail())")
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: Data(result.stdout))
        } catch {
            throw UsageError(PythonErrorCode.helperFailed, "\(python): \(helper) printed something that is not its answer (\(error))")
        }
    }

    /// The fetcher (Resources/pip_sdists.py).
    static var fetchSdistsScript: String { PythonResources.pipSdists }
}

/// pip's installation report, the parts the lock uses.
struct PipReport: Decodable {
    var version: String
    var install: [Item]
    var environment: [String: String]

    struct Item: Decodable {
        var downloadInfo: DownloadInfo
        var isDirect: Bool
        var metadata: Metadata

        enum CodingKeys: String, CodingKey {
            case downloadInfo = "download_info"
            case isDirect = "is_direct"
            case metadata
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            downloadInfo = try c.decode(DownloadInfo.self, forKey: .downloadInfo)
            isDirect = try c.decodeIfPresent(Bool.self, forKey: .isDirect) ?? false
            metadata = try c.decode(Metadata.self, forKey: .metadata)
        }
    }

    struct DownloadInfo: Decodable {
        var url: String
        var archiveInfo: ArchiveInfo?

        enum CodingKeys: String, CodingKey {
            case url
            case archiveInfo = "archive_info"
        }
    }

    struct ArchiveInfo: Decodable {
        var hash: String?
        var hashes: [String: String]?

        /// The sha256 in `hashes`, else in the legacy `hash` ("sha256=HEX").
        var sha256: String? {
            if let h = hashes?["sha256"] { return h.lowercased() }
            if let h = hash, h.hasPrefix("sha256=") { return String(h.dropFirst(7)).lowercased() }
            return nil
        }
    }

    struct Metadata: Decodable {
        var name: String
        var version: String
    }

    enum CodingKeys: String, CodingKey { case version, install, environment }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decode(String.self, forKey: .version)
        install = try c.decode([Item].self, forKey: .install)
        // Only string values matter here (python_version, platform_machine, ...).
        environment = (try? c.decodeIfPresent([String: String].self, forKey: .environment)) ?? [:]
    }
}
