// `airlock lock`: turns `PROJECT/requirements.txt` into `PROJECT/airlock.lock` for one target.
// Resolution is the user's own client's job: pip (`install --dry-run --report -` for the target's
// tags) or uv (`pip compile` for the target, then pip to pin each line to a file). A requirements
// file that already pins every line with `--hash` is not resolved: pip only picks, for each line,
// the file of the target that matches one of its hashes. Index URLs, proxies and CA files come from
// the user's pip configuration and environment, which pip reads itself. Airlock then checks what the
// resolver chose (wheels only, tags the target accepts, hashes the file pinned) and looks up sizes.
// It does not download the wheels (`airlock fetch` does) or build sdists (the container build does).

public import AirlockCore
import Foundation

/// Who resolves the requirements.
public enum PythonResolver: String, Sendable, CaseIterable, Codable {
    case pip
    case uv
}

public struct PythonLockOptions: Sendable {
    public var project: String
    /// The requirements file (default: PROJECT/requirements.txt).
    public var requirements: String?
    public var target: PythonTarget
    public var resolver: PythonResolver
    /// Changes to the environment pip, uv and the probe run with: a value sets a variable, nil
    /// removes it; everything else is inherited, so the user's PIP_* variables and pip.conf apply.
    public var environment: [String: String?]
    /// The python whose pip resolves (default: $AIRLOCK_PYTHON, else python3 on PATH).
    public var python: String?
    /// The uv executable (default: uv on PATH).
    public var uv: String?
    /// Look up file sizes through pip's session (PEP 691 JSON, else HEAD); off, sizes are null.
    public var lookUpSizes: Bool

    public init(
        project: String,
        requirements: String? = nil,
        target: PythonTarget,
        resolver: PythonResolver = .pip,
        environment: [String: String?] = [:],
        python: String? = nil,
        uv: String? = nil,
        lookUpSizes: Bool = true
    ) {
        self.project = project
        self.requirements = requirements
        self.target = target
        self.resolver = resolver
        self.environment = environment
        self.python = python
        self.uv = uv
        self.lookUpSizes = lookUpSizes
    }

    var requirementsPath: String { requirements ?? (project + "/requirements.txt") }
    var lockPath: String { project + "/" + PythonLock.fileName }
}

public struct PythonLockResult: Sendable {
    /// How the lock was made.
    public enum Method: String, Sendable, Codable {
        /// pip resolved the requirements.
        case pip
        /// uv resolved them, pip pinned the files.
        case uv
        /// Every line was hash-pinned: pinned as it is, without resolving.
        case hashed
    }

    public var lock: PythonLock
    public var path: String
    public var method: Method
    /// False when the lock file already held exactly these bytes (it is then left untouched).
    public var changed: Bool
    /// How many sizes came from where ("pep691", "head", "download", "file"); files with no known
    /// size are counted under "unknown".
    public var sizeSources: [String: Int]
    /// Things the user should know (shown on stderr).
    public var warnings: [String]

    public var totalSize: Int? {
        lock.files.reduce(Optional(0)) { sum, file in sum.flatMap { s in file.size.map { s + $0 } } }
    }
}

public enum PythonLocker {
    /// Locks the project's requirements for `options.target` and writes `PROJECT/airlock.lock`
    /// atomically (left untouched when unchanged).
    public static func lock(_ options: PythonLockOptions, progress: ProgressReporter? = nil) throws -> PythonLockResult
    {
        let project = options.project
        guard FileSystem.kind(of: project) == .directory else {
            throw UsageError("\(project): no such project directory")
        }
        let requirementsPath = options.requirementsPath
        let target = options.target
        let requirements = try LockRequirements(path: requirementsPath)
        var warnings: [String] = []

        if requirements.isPartlyHashed {
            let unhashed = requirements.requirements.filter { $0.hashes.isEmpty }.map(\.location)
            throw UsageError(
                "\(requirementsPath): some requirements carry --hash and some do not; pin every line with --hash=sha256:... or none. Without a hash:\n"
                    + unhashed.prefix(10).joined(separator: "\n")
            )
        }

        let work = try FileSystem.makeTemporaryDirectory(prefix: "airlock-lock")
        defer { FileSystem.removeTree(work) }
        let environment = LockProcess.environment(options.environment)
        let pythonName = options.python ?? environment["AIRLOCK_PYTHON"] ?? "python3"
        guard let python = LockProcess.locate(pythonName, environment: environment) else {
            throw UsageError(
                "\(pythonName): not found on PATH; locking needs python3 with pip (apt-get install -y python3-pip)"
            )
        }

        // Decide how to lock, and what pip is run on.
        let method: PythonLockResult.Method
        var pinned = requirements
        var pipInput = requirementsPath
        if requirements.requirements.isEmpty {
            method = options.resolver == .uv ? .uv : .pip
            warnings.append("\(requirementsPath) lists no requirements: the lock holds no files")
        } else if requirements.isFullyHashed {
            method = .hashed
            try checkPinned(requirements)
            progress?.note(
                "lock: \(requirementsPath) pins every line with --hash: choosing files for \(target.description) without resolving"
            )
        } else {
            try refuseBuilds(requirements)
            switch options.resolver {
            case .pip:
                method = .pip
                progress?.note("lock: resolving \(requirementsPath) with pip for \(target.description)")
            case .uv:
                method = .uv
                progress?.note("lock: resolving \(requirementsPath) with uv for \(target.description)")
                let compiled = try compileWithUV(
                    options,
                    requirements: requirements,
                    python: python,
                    environment: environment,
                    work: work,
                    warnings: &warnings
                )
                pipInput = work + "/requirements.uv.txt"
                try FileSystem.writeAtomically(pipInput, Array(compiled.utf8))
                pinned = try LockRequirements(path: pipInput)
                guard !pinned.requirements.isEmpty, pinned.isFullyHashed else {
                    throw UsageError(
                        "uv pip compile gave no hash-pinned requirements for \(requirementsPath):\n\(compiled.prefix(2000))"
                    )
                }
                try checkPinned(pinned)
            }
        }

        var files: [LockedFile] = []
        var sizeSources: [String: Int] = [:]
        if !pinned.requirements.isEmpty {
            let hashed = method != .pip
            let targetDirectory = work + "/pip-target"
            try FileSystem.makeDirectory(targetDirectory)
            let args =
                ["-m", "pip"]
                + LockPip.installArguments(
                    target: target,
                    requirements: pipInput,
                    hashed: hashed,
                    targetDirectory: targetDirectory
                )
            let result = try LockProcess.run(python, args, environment: environment, workDirectory: work, label: "pip")
            guard result.status == 0 else {
                throw LockPip.failure(
                    result,
                    python: pythonName,
                    target: target,
                    requirements: method == .uv ? "\(requirementsPath) (as uv resolved it)" : requirementsPath
                )
            }
            let report = try LockPip.decodeReport(result.stdout)
            warnings += markerWarnings(report: report, target: target, requirements: pinned, resolving: method == .pip)
            files = try chosenFiles(report, target: target)

            // Sizes, and any sha256 the report lacks, through pip's own session.
            let missingHash = files.contains { $0.sha256.isEmpty }
            var sources: [String: String] = [:]
            if options.lookUpSizes || missingHash {
                let probe = LockIndexProbe(
                    python: python,
                    environment: environment,
                    workDirectory: work,
                    pipOptions: pinned.indexOptions
                )
                do {
                    sources = try complete(&files, with: probe, warnings: &warnings)
                } catch {
                    if missingHash { throw error }
                    warnings.append("file sizes not looked up: \(error)")
                }
            }
            for file in files {
                sizeSources[file.size == nil ? "unknown" : sources[file.filename] ?? "unknown", default: 0] += 1
                guard file.sha256.utf8.count == 64, SHA256Digest(file.sha256) != nil else {
                    throw UsageError("\(file.filename): neither pip's report nor the index gives its sha256")
                }
                if hashed {
                    let pins = Set(pinned.requirements.filter { $0.name == file.name }.flatMap(\.sha256))
                    guard pins.contains(file.sha256) else {
                        throw CheckFailure(
                            "\(file.filename): sha256 \(file.sha256) is none of the --hash=sha256 pins for \(file.name)"
                        )
                    }
                }
            }
        }

        let lock = PythonLock(target: target, files: files)
        let bytes = try lock.encoded()
        let path = options.lockPath
        let changed = (try? FileSystem.readFile(path, limit: 16 << 20)) != bytes
        if changed { try FileSystem.writeAtomically(path, bytes) }
        return PythonLockResult(
            lock: lock,
            path: path,
            method: method,
            changed: changed,
            sizeSources: sizeSources,
            warnings: warnings
        )
    }

    /// Fills in sizes (and missing sha256) from the probe; returns where each size came from.
    private static func complete(
        _ files: inout [LockedFile],
        with probe: LockIndexProbe,
        warnings: inout [String]
    ) throws -> [String: String] {
        let request = files.map {
            (project: $0.name, filename: $0.filename, url: $0.url ?? "", sha256: $0.sha256.isEmpty ? nil : $0.sha256)
        }
        let (probed, probeWarnings) = try probe.files(request)
        warnings += probeWarnings.map { "size lookup: \($0)" }
        var sources: [String: String] = [:]
        for i in files.indices {
            guard let found = probed[files[i].filename] else { continue }
            if files[i].sha256.isEmpty, let sha = found.sha256 { files[i].sha256 = sha.lowercased() }
            files[i].size = found.size
            sources[files[i].filename] = found.source
        }
        return sources
    }

    /// The files pip chose, checked: wheels only, named as pip says, with tags the target accepts.
    private static func chosenFiles(_ report: PipReport, target: PythonTarget) throws -> [LockedFile] {
        let ranking = TagRanking(target)
        return try report.install.map { item in
            let name = WheelName.normalize(item.metadata.name)
            let url = withoutCredentials(item.downloadInfo.url)
            let filename = fileName(ofURL: url)
            guard filename.hasSuffix(".whl") else {
                throw UsageError(
                    "\(name) \(item.metadata.version): pip chose \(filename), not a wheel, for \(target.description); an sdist-only package is built in the matched-version container, not locked here"
                )
            }
            let wheel: WheelName
            do { wheel = try WheelName(filename) } catch { throw UsageError("\(url): \(error)") }
            guard WheelName.normalize(wheel.distribution) == name else {
                throw CheckFailure("\(filename): pip reports it as \(item.metadata.name) \(item.metadata.version)")
            }
            guard ranking.bestRank(of: wheel.tags) != nil else {
                throw CheckFailure("\(filename): pip chose it, but its tags do not fit \(target.description)")
            }
            let sha = item.downloadInfo.archiveInfo?.sha256 ?? ""
            return LockedFile(
                name: name,
                version: item.metadata.version,
                filename: filename,
                url: url,
                sha256: sha,
                size: nil
            )
        }
    }

    /// Hash-pinned lines must each name one version (pip's --require-hashes rule) and a sha256.
    private static func checkPinned(_ requirements: LockRequirements) throws {
        for r in requirements.requirements {
            guard !r.isEditable, !r.name.isEmpty else {
                throw UsageError("\(r.location): a hash-pinned requirement must be NAME==VERSION --hash=sha256:...")
            }
            guard r.pinnedVersion != nil || r.url != nil else {
                throw UsageError(
                    "\(r.location): not pinned with ==; a hash-pinned requirements file pins every line to one version"
                )
            }
            guard !r.sha256.isEmpty else {
                throw UsageError("\(r.location): no --hash=sha256: pin (Airlock locks files by sha256)")
            }
        }
    }

    /// Lines pip would build on this host (editables, local paths, sdist and VCS URLs) are refused
    /// before pip runs: a lock takes wheels only, and sdists are built in the matched container.
    private static func refuseBuilds(_ requirements: LockRequirements) throws {
        for r in requirements.requirements {
            let source = r.isEditable ? r.url ?? "" : (r.url ?? (r.name.isEmpty ? r.text : nil))
            guard let source else { continue }
            let path = source.split(separator: "#").first.map(String.init) ?? source
            guard r.isEditable || !fileName(ofURL: path).hasSuffix(".whl") else { continue }
            throw UsageError(
                "\(r.location): not a wheel; Airlock locks wheels from an index (editables, local paths, sdist and VCS URLs are built in the matched-version container)"
            )
        }
    }

    /// pip evaluates environment markers for the host it runs on, not for the target.
    private static func markerWarnings(
        report: PipReport,
        target: PythonTarget,
        requirements: LockRequirements,
        resolving: Bool
    ) -> [String] {
        let env = report.environment
        let (major, minor) = target.versionParts
        let hostPython = env["python_version"]
        let hostMachine = env["platform_machine"]
        let differs =
            (hostPython.map { $0 != "\(major).\(minor)" } ?? false)
            || (hostMachine.map { $0 != target.architecture } ?? false)
            || (env["sys_platform"].map { $0 != "linux" } ?? false)
        guard differs, resolving || requirements.requirements.contains(where: { $0.text.contains(";") }) else {
            return []
        }
        return [
            "pip evaluated environment markers for this host (python \(hostPython ?? "?"), \(hostMachine ?? "?")), not for \(target.description): check conditional dependencies, or lock with --resolver uv"
        ]
    }

    /// Runs `uv pip compile` for the target with the user's pip settings; returns its hashed output.
    private static func compileWithUV(
        _ options: PythonLockOptions,
        requirements: LockRequirements,
        python: String,
        environment: [String: String],
        work: String,
        warnings: inout [String]
    ) throws -> String {
        let target = options.target
        let uvName = options.uv ?? "uv"
        guard let uv = LockProcess.locate(uvName, environment: environment) else {
            throw UsageError(
                "--resolver uv: \(uvName) is not on PATH; install it with `python3 -m pip install uv`, or lock with --resolver pip"
            )
        }
        guard let (platform, exact) = LockUV.platform(for: target) else {
            throw UsageError(
                "--resolver uv: uv has no manylinux platform for glibc \(target.glibc); lock with --resolver pip"
            )
        }
        if !exact {
            warnings.append(
                "uv names no platform for glibc \(target.glibc): uv resolved for \(platform), and may pass over wheels pip would accept"
            )
        }
        let probe = LockIndexProbe(
            python: python,
            environment: environment,
            workDirectory: work,
            pipOptions: requirements.indexOptions
        )
        let pip = try probe.configuration()
        var uvEnvironment = environment
        for (key, value) in LockUV.environment(pip: pip) { uvEnvironment[key] = value }
        let args = LockUV.compileArguments(
            requirements: options.requirementsPath,
            target: target,
            platform: platform,
            pip: pip
        )
        let result = try LockProcess.run(uv, args, environment: uvEnvironment, workDirectory: work, label: "uv")
        guard result.status == 0 else {
            throw UsageError(
                "uv could not resolve \(options.requirementsPath) for \(target.description) (exit \(result.status)):\n\(result.stderrTail())"
            )
        }
        return String(decoding: result.stdout, as: UTF8.self)
    }

    /// The file name a URL ends in, percent-decoded.
    package static func fileName(ofURL url: String) -> String {
        let path = url.prefix { $0 != "#" && $0 != "?" }
        let last = path.split(separator: "/").last.map(String.init) ?? String(path)
        return last.removingPercentEncoding ?? last
    }

    /// A URL without `user:password@`: a lock never carries index credentials.
    package static func withoutCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + rest[rest.index(after: at)...]
    }
}
