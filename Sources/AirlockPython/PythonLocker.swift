// `airlock lock`: turns `PROJECT/requirements.txt` into `PROJECT/airlock.lock` for one target.
// Resolution is the user's own client's job: pip (`install --dry-run --report -` for the target's
// tags) or uv (`pip compile` for the target, then pip to pin each line to a file). A requirements
// file that already pins every line with `--hash` is not resolved: pip only picks, for each line,
// the file of the target that matches one of its hashes. Index URLs, proxies and CA files come from
// the user's pip configuration and environment, which pip reads itself. Airlock then checks what the
// resolver chose (wheels only, tags the target accepts, hashes the file pinned) and looks up sizes.
//
// Sdists: pip refuses `--platform` without `--only-binary=:all:`, so its resolver never picks an sdist
// for another target. In a hash-pinned file an sdist is a `NAME @ URL` line naming one (file:, http,
// https), or a `NAME==VERSION` line for which pip finds no wheel for the target (its sdist is then
// looked up with pip's own finder). In a plain file, a requirement pip finds no wheel for is
// resolved around (PythonLocker+Sdists.swift): its sdist is taken from the index and its own
// dependencies read from its metadata. Airlock fetches an sdist through pip's session, checks it
// against the pins or the index's sha256 and as a hostile archive, reads its pyproject.toml's build
// system, and resolves every sdist's build requirements together, as wheels for the target, into
// the lock's `build` list. It does not download the wheels (`airlock fetch` does, except the build
// wheels a sandboxed metadata step needs) or build the sdists (the sandboxed build does, see
// SdistBuilder).

public import AirlockContainer
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
    /// Where an sdist's build backend runs when its PKG-INFO does not give its dependencies
    /// statically (a runtime and an image in `store`), and the store the build wheels it needs are
    /// fetched into. Needed only then: a lock of wheels and static sdists never touches them.
    public var sandbox: SandboxRequest?
    public var store: Store?
    /// Called at most once, and only when an sdist needs the sandbox and `sandbox` or `store` is
    /// nil: so the CLI selects a runtime (which probes) and opens a store only when one is needed.
    public var prepareSandbox: (@Sendable () async throws -> (SandboxRequest, Store))?

    public init(
        project: String,
        requirements: String? = nil,
        target: PythonTarget,
        resolver: PythonResolver = .pip,
        environment: [String: String?] = [:],
        python: String? = nil,
        uv: String? = nil,
        lookUpSizes: Bool = true,
        sandbox: SandboxRequest? = nil,
        store: Store? = nil,
        prepareSandbox: (@Sendable () async throws -> (SandboxRequest, Store))? = nil
    ) {
        self.sandbox = sandbox
        self.store = store
        self.prepareSandbox = prepareSandbox
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

    /// What `airlock fetch` downloads: the files and the build files.
    public var totalSize: Int? {
        lock.everyFile.reduce(Optional(0)) { sum, file in sum.flatMap { s in file.size.map { s + $0 } } }
    }
}

public enum PythonLocker {
    /// Locks the project's requirements for `options.target` and writes `PROJECT/airlock.lock`
    /// atomically (left untouched when unchanged).
    /// pip and uv run as child processes; the task suspends while they run.
    public static func lock(_ options: PythonLockOptions, progress: ProgressReporter? = nil) async throws -> PythonLockResult {
        var run = try await LockRun(options: options, progress: progress)
        defer { run.removeWork() }
        try await run.chooseMethod()
        try await run.pinFiles()
        try await run.lockSdistsAndTheirBuildRequirements()
        return try run.write()
    }

    /// What every pip, uv and probe run of one lock shares.
    struct Context {
        var project: String
        var target: PythonTarget
        var python: String
        var pythonName: String
        var uv: String?
        var environment: [String: String]
        var work: String
        var lookUpSizes: Bool
        /// The index options the requirements set, for the probes and for files Airlock writes.
        var indexOptions: [String]
    }

    enum PinOutcome {
        /// The files pip chose, completed and checked, and where their sizes came from; and which
        /// of the `standIns` pip chose (left out of the files).
        case pinned([LockedFile], sizeSources: [String: Int], standIns: Set<String>)
        /// pip found no wheel for the target for this hash-pinned line (one of `sdistCandidates`).
        case noWheel(LockRequirement)
        /// pip found no distribution for this requirement (only when asked to `takeSdists`); `failure`
        /// is the error to show if no sdist can be taken for it either.
        case noDistribution(name: String, requirement: String, result: LockProcessResult)
    }

    /// Runs pip on `input` for the target and returns the files it chose, with sizes and sha256,
    /// checked against the `--hash` pins when `hashed`. `requirements` is what `input` holds.
    /// `standIns` are the file names of stand-in wheels for sdists (see PythonLocker+Sdists.swift):
    /// pip's choice of one is reported, not locked. With `takeSdists`, pip's "no matching
    /// distribution" is returned, not thrown.
    static func pinWheels(
        input: String,
        described: String,
        requirements: LockRequirements,
        hashed: Bool,
        resolving: Bool,
        sdistCandidates: [LockRequirement],
        sdistHint: Bool = true,
        standIns: Set<String> = [],
        takeSdists: Bool = false,
        context: Context,
        label: String,
        warnings: inout [String]
    ) async throws -> PinOutcome {
        let target = context.target
        let targetDirectory = context.work + "/\(label)-target"
        try FileSystem.makeDirectory(targetDirectory)
        let args =
            ["-m", "pip"]
            + LockPip.installArguments(
                target: target,
                requirements: input,
                hashed: hashed,
                targetDirectory: targetDirectory
            )
        let result = try await LockProcess.run(
            context.python,
            args,
            environment: context.environment,
            workDirectory: context.work,
            label: label
        )
        guard result.status == 0 else {
            if let name = LockPip.requirementWithNoDistribution(result),
                let line = sdistCandidates.first(where: { $0.name == name && $0.pinnedVersion != nil })
            {
                return .noWheel(line)
            }
            if takeSdists, let (name, requirement) = LockPip.unmatchedRequirement(result) {
                return .noDistribution(name: name, requirement: requirement, result: result)
            }
            throw LockPip.failure(
                result,
                python: context.pythonName,
                target: target,
                requirements: described,
                sdistHint: sdistHint
            )
        }
        let report = try LockPip.decodeReport(result.stdout)
        warnings += markerWarnings(report: report, target: target, requirements: requirements, resolving: resolving)
        var files = try chosenFiles(report, target: target)
        let chosenStandIns = Set(files.map(\.filename)).intersection(standIns)
        files.removeAll { chosenStandIns.contains($0.filename) }

        // Sizes, and any sha256 the report lacks, through pip's own session.
        let missingHash = files.contains { $0.sha256.isEmpty }
        var sources: [String: String] = [:]
        if context.lookUpSizes || missingHash {
            let probe = LockIndexProbe(
                python: context.python,
                environment: context.environment,
                workDirectory: context.work,
                pipOptions: context.indexOptions
            )
            do {
                sources = try await complete(&files, with: probe, warnings: &warnings)
            } catch {
                if missingHash { throw error }
                warnings.append("file sizes not looked up: \(error)")
            }
        }
        var sizeSources: [String: Int] = [:]
        for file in files {
            sizeSources[file.size == nil ? "unknown" : sources[file.filename] ?? "unknown", default: 0] += 1
            guard file.sha256.utf8.count == 64, SHA256Digest(file.sha256) != nil else {
                throw UsageError(
                    PythonErrorCode.noSHA256,
                    "\(file.filename): neither pip's report nor the index gives its sha256"
                )
            }
            if hashed {
                let pins = Set(requirements.requirements.filter { $0.name == file.name }.flatMap(\.sha256))
                guard pins.contains(file.sha256) else {
                    throw CheckFailure(
                        PythonErrorCode.pinMismatch,
                        "\(file.filename): sha256 \(file.sha256) is none of the --hash=sha256 pins for \(file.name)"
                    )
                }
            }
        }
        return .pinned(files, sizeSources: sizeSources, standIns: chosenStandIns)
    }

    /// Writes a requirements file of `lines` after the index options; returns its path.
    static func writeRequirements(_ lines: [String], indexOptions: [String], to path: String) throws -> String {
        var options: [String] = []
        var i = 0
        while i < indexOptions.count {
            if indexOptions[i] == "--no-index" || i + 1 == indexOptions.count {
                options.append(indexOptions[i])
                i += 1
            } else {
                options.append(indexOptions[i] + " " + indexOptions[i + 1])
                i += 2
            }
        }
        try FileSystem.writeAtomically(path, Array((options + lines).map { $0 + "\n" }.joined().utf8))
        return path
    }

    /// A hash-pinned `NAME @ URL` line whose URL names an sdist.
    static func isSdistLine(_ r: LockRequirement) -> Bool {
        guard let url = r.url, !r.isEditable else { return false }
        let name = fileName(ofURL: url).lowercased()
        return !name.hasSuffix(".whl") && !name.isEmpty
    }

    /// An sdist the lock takes, and the build system its pyproject.toml names.
    struct LockedSdist {
        var file: LockedFile
        /// Where its size came from: "file" or "download".
        var source: String
        var system: BuildSystemAnswer
    }

    /// The `build_system()` of SdistBuilder for one pyproject.toml, as JSON.
    struct BuildSystemAnswer: Decodable {
        var requires: [String]?
        var backend: String?
        var error: String?
        var hasPyproject = false

        enum CodingKeys: String, CodingKey {
            case requires
            case backend = "build-backend"
            case error
        }
    }

    /// Fetches (or reads) each hash-pinned sdist, checks it against its pins and as an archive, and
    /// reads its build system.
    static func lockSdists(_ lines: [LockRequirement], context: Context) async throws -> [LockedSdist] {
        for line in lines {
            guard let url = line.url else { continue }
            let name = fileName(ofURL: url)
            guard SdistName.extensions.contains(where: { name.lowercased().hasSuffix($0) }) else {
                throw UsageError(
                    SdistErrorCode.badName,
                    "\(line.location): \(name): Airlock builds sdists named .tar.gz or .zip only"
                )
            }
        }
        let fetched = try await LockPip.fetchSdists(
            lines.map {
                LockPip.SdistQuery(
                    name: $0.name,
                    version: $0.pinnedVersion,
                    url: $0.url.map { String($0.prefix { $0 != "#" }) },
                    sha256: $0.sha256.sorted()
                )
            },
            python: context.python,
            environment: context.environment,
            workDirectory: context.work,
            pipOptions: context.indexOptions
        )
        var sdists: [LockedSdist] = []
        var pyprojects: [String] = []
        for (index, (line, found)) in zip(lines, fetched).enumerated() {
            guard line.sha256.contains(found.sha256) else {
                throw CheckFailure(
                    PythonErrorCode.pinMismatch,
                    "\(found.filename): sha256 \(found.sha256) is none of the --hash=sha256 pins of \(line.location)"
                )
            }
            guard let split = SdistName(found.filename, project: line.name),
                WheelName.normalize(split.name) == line.name
            else {
                throw UsageError(
                    PythonErrorCode.sdistMetadata,
                    "\(line.location): \(found.filename) is not an sdist of \(line.name) (NAME-VERSION.tar.gz)"
                )
            }
            if let pinned = line.pinnedVersion, !SdistName.sameVersion(pinned, split.version) {
                throw UsageError(
                    PythonErrorCode.sdistMetadata,
                    "\(line.location): \(found.filename) is version \(split.version), not \(pinned)"
                )
            }
            let contents = try SdistArchive.read(
                path: found.path,
                filename: found.filename,
                name: split.name,
                version: split.version,
                extractTo: nil
            )
            var pyproject = ""
            if let bytes = contents.pyproject {
                pyproject = context.work + "/pyproject-\(index).toml"
                try FileSystem.writeAtomically(pyproject, bytes)
            }
            pyprojects.append(pyproject)
            let file = LockedFile(
                name: line.name,
                version: split.version,
                filename: found.filename,
                url: withoutCredentials(found.url),
                sha256: found.sha256,
                size: found.size,
                yanked: found.yanked
            )
            sdists.append(LockedSdist(file: file, source: found.source, system: BuildSystemAnswer()))
        }

        let systems = try await buildSystems(pyprojects, of: sdists.map(\.file.filename), context: context)
        for i in sdists.indices { sdists[i].system = systems[i] }
        return sdists
    }

    /// Every pyproject.toml (a path, or "" for an sdist without one) read by the one function the
    /// build's frontend uses too.
    static func buildSystems(
        _ pyprojects: [String],
        of filenames: [String],
        context: Context
    ) async throws -> [BuildSystemAnswer] {
        let script = context.work + "/airlock-build-system.py"
        try FileSystem.writeAtomically(script, Array(SdistBuilder.buildSystemPython.utf8))
        let result = try await LockProcess.run(
            context.python,
            [script, "build-system"] + pyprojects,
            environment: context.environment,
            workDirectory: context.work,
            label: "build-system"
        )
        guard result.status == 0,
            var answers = try? JSONDecoder().decode([BuildSystemAnswer].self, from: Data(result.stdout)),
            answers.count == pyprojects.count
        else {
            throw UsageError(
                PythonErrorCode.helperFailed,
                "\(context.pythonName): reading the sdists' pyproject.toml failed (exit \(result.status)):\n\(result.stderrTail())"
            )
        }
        for i in answers.indices {
            if let error = answers[i].error {
                throw UsageError(PythonErrorCode.badBuildSystem, "\(filenames[i]): \(error)")
            }
            answers[i].hasPyproject = !pyprojects[i].isEmpty
        }
        return answers
    }

    /// Every sdist's build requirements, as one requirements list: the `requires` of each, plus the
    /// ones the build will ask for that a lock can know in advance. setuptools' backends ask for
    /// `wheel` (setuptools before 70.1), and the frontend reads pyproject.toml with `tomli` on a
    /// Python without tomllib (before 3.11). Any other requirement a backend returns from
    /// get_requires_for_build_wheel is not known here; the build names it if it is missing.
    static func buildRequirements(_ systems: [BuildSystemAnswer], target: PythonTarget) -> [String] {
        func name(_ requirement: String) -> String {
            WheelName.normalize(String(requirement.prefix { $0.isLetter || $0.isNumber || "._-".contains($0) }))
        }
        var requirements: [String] = []
        for system in systems {
            let requires = system.requires ?? []
            requirements += requires
            if (system.backend ?? "").hasPrefix("setuptools.build_meta"),
                !requires.contains(where: { name($0) == "wheel" })
            {
                requirements.append("wheel")
            }
        }
        let (major, minor) = target.versionParts
        if (major, minor) < (3, 11), systems.contains(where: \.hasPyproject),
            !requirements.contains(where: { name($0) == "tomli" })
        {
            requirements.append("tomli")
        }
        return Array(Set(requirements)).sorted()
    }

    /// Resolves the build requirements (in `input`) to wheels for the target, with the resolver
    /// the runtime requirements use when they are resolved (pip otherwise).
    static func lockBuildRequirements(
        _ input: String,
        of names: String,
        resolver: PythonResolver,
        label: String,
        context: Context,
        warnings: inout [String],
        sizeSources: inout [String: Int]
    ) async throws -> [LockedFile] {
        let described = "the build requirements of \(names)"
        let requirements = try LockRequirements(path: input)
        var pipInput = input
        var pinned = requirements
        if resolver == .uv {
            let compiled = try await compileWithUV(input, requirements: requirements, context: context, warnings: &warnings)
            pipInput = context.work + "/build-requirements.uv.txt"
            try FileSystem.writeAtomically(pipInput, Array(compiled.utf8))
            pinned = try LockRequirements(path: pipInput)
            try checkPinned(pinned)
        }
        let outcome: PinOutcome
        do {
            outcome = try await pinWheels(
                input: pipInput,
                described: described,
                requirements: pinned,
                hashed: resolver == .uv,
                resolving: resolver == .pip,
                sdistCandidates: [],
                sdistHint: false,
                context: context,
                label: label,
                warnings: &warnings
            )
        } catch let error as UsageError {
            throw PrefixedError(described, error)
        }
        guard case .pinned(let files, let sources, _) = outcome else {
            preconditionFailure("no sdist candidates were given")
        }
        for (source, count) in sources { sizeSources[source, default: 0] += count }
        return files
    }

    /// Fills in sizes (and missing sha256) from the probe; returns where each size came from.
    static func complete(
        _ files: inout [LockedFile],
        with probe: LockIndexProbe,
        warnings: inout [String]
    ) async throws -> [String: String] {
        let request = files.map {
            (project: $0.name, filename: $0.filename, url: $0.url ?? "", sha256: $0.sha256.isEmpty ? nil : $0.sha256)
        }
        let (probed, probeWarnings) = try await probe.files(request)
        warnings += probeWarnings.map { "size lookup: \($0)" }
        var sources: [String: String] = [:]
        for i in files.indices {
            guard let found = probed[files[i].filename] else { continue }
            if files[i].sha256.isEmpty, let sha = found.sha256 { files[i].sha256 = sha.lowercased() }
            files[i].size = found.size
            files[i].yanked = found.yanked
            if let reason = found.yanked { warnings.append(Self.yankedWarning(files[i].filename, reason: reason)) }
            sources[files[i].filename] = found.source
        }
        return sources
    }

    /// What the lock says about a yanked file it takes (pip takes one only for an exact `==` pin).
    static func yankedWarning(_ filename: String, reason: String) -> String {
        "\(filename): yanked on the index\(reason.isEmpty ? "" : " (\(reason))"), but pinned with ==; the mirror lists it as yanked"
    }

    /// The files pip chose, checked: wheels only, named as pip says, with tags the target accepts.
    static func chosenFiles(_ report: PipReport, target: PythonTarget) throws -> [LockedFile] {
        let ranking = TagRanking(target)
        return try report.install.map { item in
            let name = WheelName.normalize(item.metadata.name)
            let url = withoutCredentials(item.downloadInfo.url)
            let filename = fileName(ofURL: url)
            guard filename.hasSuffix(".whl") else {
                throw UsageError(
                    PythonErrorCode.notAWheel,
                    "\(name) \(item.metadata.version): pip chose \(filename), not a wheel, for \(target.description); \(LockPip.sdistHint)"
                )
            }
            let wheel: WheelName
            do { wheel = try WheelName(filename) } catch {
                throw UsageError(PythonErrorCode.notAWheel, "\(url): \(error)")
            }
            guard WheelName.normalize(wheel.distribution) == name else {
                throw CheckFailure(
                    PythonErrorCode.nameMismatch,
                    "\(filename): pip reports it as \(item.metadata.name) \(item.metadata.version)"
                )
            }
            guard ranking.bestRank(of: wheel.tags) != nil else {
                throw CheckFailure(
                    WheelErrorCode.tagsDoNotFit,
                    "\(filename): pip chose it, but its tags do not fit \(target.description)"
                )
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
    static func checkPinned(_ requirements: LockRequirements) throws {
        for r in requirements.requirements {
            guard !r.isEditable, !r.name.isEmpty else {
                throw UsageError(
                    PythonErrorCode.notPinned,
                    "\(r.location): a hash-pinned requirement must be NAME==VERSION --hash=sha256:..."
                )
            }
            guard r.pinnedVersion != nil || r.url != nil else {
                throw UsageError(
                    PythonErrorCode.notPinned,
                    "\(r.location): not pinned with ==; a hash-pinned requirements file pins every line to one version"
                )
            }
            guard !r.sha256.isEmpty else {
                throw UsageError(
                    PythonErrorCode.noSHA256Pin,
                    "\(r.location): no --hash=sha256: pin (Airlock locks files by sha256)"
                )
            }
        }
    }

    /// Lines pip would build on this host (editables, local paths, sdist and VCS URLs) are refused
    /// before pip runs: pip picks wheels only for another platform, so a resolved lock takes wheels
    /// only, and an sdist is locked when it is pinned by hash (then the sandbox builds it).
    static func refuseBuilds(_ requirements: LockRequirements) throws {
        for r in requirements.requirements {
            let source = r.isEditable ? r.url ?? "" : (r.url ?? (r.name.isEmpty ? r.text : nil))
            guard let source else { continue }
            let path = source.split(separator: "#").first.map(String.init) ?? source
            guard r.isEditable || !fileName(ofURL: path).hasSuffix(".whl") else { continue }
            throw UsageError(
                PythonErrorCode.notAWheel,
                "\(r.location): not a wheel; \(LockPip.sdistHint) (editables and VCS URLs are not locked)"
            )
        }
    }

    /// pip evaluates environment markers for the host it runs on, not for the target.
    static func markerWarnings(
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

    /// Runs `uv pip compile` on `requirementsPath` for the target with the user's pip settings;
    /// returns its hashed output.
    static func compileWithUV(
        _ requirementsPath: String,
        requirements: LockRequirements,
        context: Context,
        warnings: inout [String]
    ) async throws -> String {
        let target = context.target
        let uvName = context.uv ?? "uv"
        guard let uv = LockProcess.locate(uvName, environment: context.environment) else {
            throw UsageError(
                PythonErrorCode.noUV,
                "--resolver uv: \(uvName) is not on PATH; install it with `python3 -m pip install uv`, or lock with --resolver pip"
            )
        }
        guard let (platform, exact) = LockUV.platform(for: target) else {
            throw UsageError(
                PythonErrorCode.uvNoPlatform,
                "--resolver uv: uv has no manylinux platform for glibc \(target.glibc); lock with --resolver pip"
            )
        }
        if !exact {
            let warning =
                "uv names no platform for glibc \(target.glibc): uv resolved for \(platform), and may pass over wheels pip would accept"
            if !warnings.contains(warning) { warnings.append(warning) }
        }
        let probe = LockIndexProbe(
            python: context.python,
            environment: context.environment,
            workDirectory: context.work,
            pipOptions: requirements.indexOptions
        )
        let pip = try await probe.configuration()
        var uvEnvironment = context.environment
        for (key, value) in LockUV.environment(pip: pip) { uvEnvironment[key] = value }
        let args = LockUV.compileArguments(
            requirements: requirementsPath,
            target: target,
            platform: platform,
            pip: pip
        )
        let result = try await LockProcess.run(uv, args, environment: uvEnvironment, workDirectory: context.work, label: "uv")
        guard result.status == 0 else {
            throw UsageError(
                PythonErrorCode.uvFailed,
                "uv could not resolve \(requirementsPath) for \(target.description) (exit \(result.status); uv takes wheels only: a requirement with only an sdist is locked from it with --resolver pip):\n\(result.stderrTail())"
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
