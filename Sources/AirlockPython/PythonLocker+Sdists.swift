// `airlock lock` of a plain requirements file in which some requirement has no wheel for the target
// (pip runs with `--only-binary=:all:` and the target's tags, so it never picks an sdist itself).
//
// pip resolves the file; when it reports no distribution for a requirement, Airlock takes that
// project's sdist from the index instead (pip's own finder: the highest version the requirement's
// specifiers allow for the target's Python, not yanked unless pinned with ==), downloads it through
// pip's session and checks it against the index's sha256 and as a hostile archive. Its own
// dependencies come from its PKG-INFO when that says them statically (Metadata-Version 2.2 or later,
// PEP 643, and Requires-Dist not listed in Dynamic); otherwise its build backend prepares its
// metadata in the sandbox, offline, over its build requirements (resolved as wheels for the target,
// fetched into the store), exactly as the build would run it. Their environment markers are
// evaluated for the target, not this host, for each extra the sdist provides.
//
// Why a stand-in wheel: pip has no way to be told "this project is this sdist with these
// dependencies". So Airlock writes a wheel that holds nothing but that METADATA into a directory it
// adds to the requirements with --find-links, and pip resolves again, choosing versions for the
// sdist's dependencies together with everything else, extras included. pip's choice of a stand-in
// becomes the sdist in the lock; a stand-in never reaches the lock or the store. This repeats until
// pip resolves (a bounded number of rounds).

public import AirlockContainer
public import AirlockCore
import Foundation

extension PythonLocker {
    /// At most this many pip runs: each new sdist-only requirement costs one.
    static let maximumRounds = 24

    /// One project pip found no wheel for, taken as its sdist.
    struct TakenSdist {
        var sdist: LockedSdist
        /// The stand-in wheel's file name.
        var standIn: String
        /// The specifiers it was picked for (from the requirements file and pip's messages).
        var specifiers: [String]
    }

    /// Resolves `requirementsPath` with pip, taking an sdist for every requirement pip finds no wheel
    /// for; returns the wheels pip chose (with sizes), where the sizes came from, and the sdists.
    static func resolveAroundSdists(
        _ requirementsPath: String,
        requirements: LockRequirements,
        options: PythonLockOptions,
        context: Context,
        progress: ProgressReporter?,
        warnings: inout [String]
    ) async throws -> (files: [LockedFile], sizeSources: [String: Int], sdists: [LockedSdist]) {
        let standIns = context.work + "/stand-ins"
        try FileSystem.makeDirectory(standIns)
        var taken: [String: TakenSdist] = [:]
        var sandbox: (PythonSandbox, Store)? = nil
        for round in 1...maximumRounds {
            let input =
                taken.isEmpty
                ? requirementsPath
                : try writeRequirements(
                    ["-r " + FileSystem.absolute(requirementsPath)],
                    indexOptions: ["--find-links", standIns],
                    to: context.work + "/requirements.round-\(round).txt"
                )
            let outcome = try await pinWheels(
                input: input,
                described: requirementsPath,
                requirements: requirements,
                hashed: false,
                resolving: true,
                sdistCandidates: [],
                standIns: Set(taken.values.map(\.standIn)),
                takeSdists: true,
                context: context,
                label: "pip-\(round)",
                warnings: &warnings
            )
            switch outcome {
            case .pinned(let files, let sources, let chosen):
                let sdists = taken.values.filter { chosen.contains($0.standIn) }.map(\.sdist)
                return (files, sources, sdists.sorted { $0.file.name < $1.file.name })
            case .noWheel:
                preconditionFailure("no hash-pinned lines were given")
            case .noDistribution(let name, let requirement, let result):
                try await takeSdist(
                    name: name, requirement: requirement, pipResult: result, requirementsPath: requirementsPath,
                    requirements: requirements, taken: &taken, standIns: standIns, options: options, context: context,
                    sandbox: &sandbox, progress: progress, warnings: &warnings
                )
            }
        }
        throw UsageError(
            PythonErrorCode.notConverged,
            "\(requirementsPath): still finding requirements with no wheel for \(context.target.description) after \(maximumRounds) rounds of pip (sdists taken: \(taken.values.map(\.sdist.file.filename).sorted().joined(separator: ", "))); pin the sdists with --hash to lock without resolving"
        )
    }

    /// pip found no distribution of `name` for `requirement`: the highest sdist the index has that
    /// meets every specifier asked for it is taken (replacing an earlier one of the project), or
    /// the lock fails saying why.
    private static func takeSdist(
        name: String, requirement: String, pipResult: LockProcessResult, requirementsPath: String,
        requirements: LockRequirements, taken: inout [String: TakenSdist], standIns: String, options: PythonLockOptions,
        context: Context, sandbox: inout (PythonSandbox, Store)?, progress: ProgressReporter?, warnings: inout [String]
    ) async throws {
        let result = pipResult
        // The specifiers the sdist must meet: the file's own lines for the project, and
        // every requirement pip could not meet for it.
        var specifiers =
            taken[name]?.specifiers
            ?? requirements.requirements
            .filter { $0.name == name && $0.url == nil }.map { specifier(of: $0.text) }
        let failure = { (why: String) in
            LockPip.failure(
                result,
                python: context.pythonName,
                target: context.target,
                requirements: requirementsPath,
                noWheelHint: why
            )
        }
        let asked = specifier(of: requirement)
        if let already = taken[name], already.specifiers.contains(asked) {
            throw failure(
                "and pip still finds none with its sdist \(already.sdist.file.filename) in its place"
            )
        }
        if !specifiers.contains(asked) { specifiers.append(asked) }
        let wanted = specifiers.filter { !$0.isEmpty }.joined(separator: ",")
        progress?.note(
            "lock: no wheel of \(requirement) fits \(context.target.description): looking for its sdist"
        )
        let found = try await LockPip.findSdists(
            [LockPip.SdistSearch(name: name, specifier: wanted)],
            target: context.target,
            python: context.python,
            environment: context.environment,
            workDirectory: context.work,
            pipOptions: context.indexOptions
        )
        guard case .found(let fetched, let version, let indexSha256)? = found.first else {
            if case .missing(let why)? = found.first { throw failure("and \(why)") }
            throw failure("and the index has no sdist of it either")
        }
        if indexSha256 == nil {
            warnings.append(
                "\(fetched.filename): the index gives no sha256 for it; locked by the sha256 of the download"
            )
        }
        if let reason = fetched.yanked { warnings.append(yankedWarning(fetched.filename, reason: reason)) }
        if let old = taken[name] { try? FileSystem.remove(standIns + "/" + old.standIn) }
        taken[name] = try await take(
            fetched,
            name: name,
            version: version,
            specifiers: specifiers,
            standIns: standIns,
            options: options,
            context: context,
            sandbox: &sandbox,
            progress: progress,
            warnings: &warnings
        )
    }

    /// Checks a downloaded sdist, reads its build system and its dependencies (from PKG-INFO, or
    /// from its backend in the sandbox), and writes its stand-in wheel.
    private static func take(
        _ fetched: LockPip.FetchedSdist,
        name: String,
        version: String,
        specifiers: [String],
        standIns: String,
        options: PythonLockOptions,
        context: Context,
        sandbox: inout (PythonSandbox, Store)?,
        progress: ProgressReporter?,
        warnings: inout [String]
    ) async throws -> TakenSdist {
        guard let split = SdistName(fetched.filename, project: name), WheelName.normalize(split.name) == name else {
            throw UsageError(
                PythonErrorCode.sdistMetadata,
                "\(fetched.url): \(fetched.filename) is not an sdist of \(name) (NAME-VERSION.tar.gz or .zip)"
            )
        }
        let contents = try SdistArchive.read(
            path: fetched.path,
            filename: fetched.filename,
            name: split.name,
            version: split.version,
            extractTo: nil
        )
        let scratch = try FileSystem.makeTemporaryDirectory(prefix: "sdist-\(name)", in: context.work)
        var pyproject = ""
        if let bytes = contents.pyproject {
            pyproject = scratch + "/pyproject.toml"
            try FileSystem.writeAtomically(pyproject, bytes)
        }
        let system = try await buildSystems([pyproject], of: [fetched.filename], context: context)[0]
        let file = LockedFile(
            name: name,
            version: version,
            filename: fetched.filename,
            url: withoutCredentials(fetched.url),
            sha256: fetched.sha256,
            size: fetched.size,
            yanked: fetched.yanked
        )
        let sdist = LockedSdist(file: file, source: fetched.source, system: system)

        // Static dependencies, from PKG-INFO.
        let described = "\(fetched.filename)"
        if let pkgInfo = contents.pkgInfo {
            let path = scratch + "/PKG-INFO"
            try FileSystem.writeAtomically(path, pkgInfo)
            let answer = try await readMetadata(
                path,
                describe: "\(described): PKG-INFO",
                name: name,
                version: version,
                requireStatic: true,
                standIns: standIns,
                context: context
            )
            if answer.isStatic, let standIn = answer.stub {
                progress?.note(
                    "lock: taking \(fetched.filename); its dependencies from PKG-INFO \(answer.metadataVersion): \(describe(answer.requires))"
                )
                return TakenSdist(sdist: sdist, standIn: standIn, specifiers: specifiers)
            }
        }

        return try await takeFromBackend(
            fetched, sdist: sdist, system: system, hasPKGInfo: contents.pkgInfo != nil, specifiers: specifiers,
            standIns: standIns, scratch: scratch, options: options, context: context, sandbox: &sandbox, progress: progress,
            warnings: &warnings
        )
    }

    /// Dynamic metadata: the sdist's backend prepares it in the sandbox, over its build requirements.
    private static func takeFromBackend(
        _ fetched: LockPip.FetchedSdist, sdist: LockedSdist, system: BuildSystemAnswer, hasPKGInfo: Bool, specifiers: [String],
        standIns: String, scratch: String, options: PythonLockOptions, context: Context, sandbox: inout (PythonSandbox, Store)?,
        progress: ProgressReporter?, warnings: inout [String]
    ) async throws -> TakenSdist {
        let (name, version, described) = (sdist.file.name, sdist.file.version, fetched.filename)
        let why =
            !hasPKGInfo
            ? "it has no PKG-INFO" : "its PKG-INFO does not give Requires-Dist statically (PEP 643)"
        let reason =
            "\(described): no wheel of \(name) fits \(context.target.description), and its sdist's dependencies come from its build backend, run offline in the sandbox, since \(why)"
        if sandbox == nil { sandbox = try await preparedSandbox(options: options, context: context, reason: reason) }
        guard let (runner, store) = sandbox else { preconditionFailure("the sandbox was just prepared") }
        let buildWheels = try await buildWheelsInStore(
            for: fetched.filename, name: name, system: system, store: store, scratch: scratch, context: context, warnings: &warnings
        )
        progress?.note(
            "lock: asking the build backend of \(fetched.filename) for its metadata in \(runner.imageReference) (\(runner.runtime.name)), network off"
        )
        let metadata: [UInt8]
        let via: String
        do {
            (metadata, via) = try await SdistBuilder.metadata(
                SdistBuildRequest(
                    sdistPath: fetched.path, sdistFilename: fetched.filename, name: name, version: version,
                    buildWheels: buildWheels, target: context.target, runtime: runner.runtime, image: runner.runtimeImage,
                    imageName: runner.imageReference, imageDigest: runner.imageDigest.description,
                    sourceDateEpoch: runner.sourceDateEpoch
                ),
                scratch: try FileSystem.makeTemporaryDirectory(prefix: "metadata", in: scratch),
                output: runner.output
            )
        } catch let error as SdistError {
            throw SdistMetadataError(error)
        }
        let path = scratch + "/METADATA"
        try FileSystem.writeAtomically(path, metadata)
        let answer = try await readMetadata(
            path, describe: "\(described): the METADATA its backend prepared", name: name, version: version,
            requireStatic: false, standIns: standIns, context: context
        )
        guard let standIn = answer.stub else { preconditionFailure("sdist_metadata.py wrote no stand-in") }
        progress?.note("lock: taking \(fetched.filename); its dependencies from \(via): \(describe(answer.requires))")
        return TakenSdist(sdist: sdist, standIn: standIn, specifiers: specifiers)
    }

    /// An sdist's build requirements, resolved as wheels for the target and fetched into `store`,
    /// for its backend's metadata step.
    private static func buildWheelsInStore(
        for filename: String, name: String, system: BuildSystemAnswer, store: Store, scratch: String, context: Context,
        warnings: inout [String]
    ) async throws -> [(filename: String, path: String)] {
        let buildInput = try writeRequirements(
            buildRequirements([system], target: context.target),
            indexOptions: context.indexOptions,
            to: scratch + "/build-requirements.txt"
        )
        var sizeSources: [String: Int] = [:]
        let buildFiles = try await lockBuildRequirements(
            buildInput, of: filename, resolver: .pip, label: "pip-build-\(name)", context: context, warnings: &warnings,
            sizeSources: &sizeSources
        )
        let report = try await Fetcher.fetch(
            lock: PythonLock(target: context.target, files: buildFiles), projectName: PythonBuild.projectName(context.project),
            store: store, jobs: 4, environment: context.environment
        )
        guard report.failures.isEmpty else {
            let lines = ["the build requirements of \(filename), for its metadata:"] + report.failureLines
            throw UsageError(PythonErrorCode.buildRequirementsNotFetched, lines.joined(separator: "\n"))
        }
        return try buildFiles.map { file in
            guard let digest = SHA256Digest(file.sha256), store.contains(digest) else {
                throw UsageError(
                    CoreErrorCode.notInStore,
                    "\(file.filename): not in the store \(store.root) after fetching it"
                )
            }
            return (filename: file.filename, path: store.blobPath(digest))
        }
    }

    private static func describe(_ requires: [String]) -> String {
        requires.isEmpty ? "none" : requires.joined(separator: ", ")
    }

    /// What sdist_metadata.py read from a PKG-INFO or METADATA.
    struct SdistMetadata: Decodable {
        var metadataVersion: String
        var isStatic: Bool
        var requires: [String]
        var extras: [String: [String]]
        var stub: String?

        enum CodingKeys: String, CodingKey {
            case metadataVersion, requires, extras, stub
            case isStatic = "static"
        }
    }

    /// Reads the core metadata at `path` for the target (its Requires-Dist with markers evaluated
    /// for the target); writes the stand-in wheel into `standIns` unless `requireStatic` and the
    /// dependencies are not static.
    static func readMetadata(
        _ path: String,
        describe: String,
        name: String,
        version: String,
        requireStatic: Bool,
        standIns: String,
        context: Context
    ) async throws -> SdistMetadata {
        struct Request: Encodable {
            var metadata: String
            var describe: String
            var project: String
            var version: String
            var requireStatic: Bool
            var environment: [String: String]
            var stubDirectory: String
        }
        let script = context.work + "/airlock-sdist-metadata.py"
        try FileSystem.writeAtomically(script, Array(PythonResources.sdistMetadata.utf8))
        let requestPath = path + ".request.json"
        let request = Request(
            metadata: path,
            describe: describe,
            project: name,
            version: version,
            requireStatic: requireStatic,
            environment: markerEnvironment(context.target),
            stubDirectory: standIns
        )
        try FileSystem.writeAtomically(requestPath, Array(try JSONEncoder().encode(request)))
        let result = try await LockProcess.run(
            context.python,
            [script, requestPath],
            environment: context.environment,
            workDirectory: context.work,
            label: "sdist-metadata"
        )
        guard result.status == 0 else {
            let own = result.stderr.split(separator: "\n").last { $0.hasPrefix("sdist metadata: ") }
            throw UsageError(
                PythonErrorCode.sdistMetadata,
                own.map { String($0.dropFirst("sdist metadata: ".count)) }
                    ?? "\(describe): reading it failed (exit \(result.status)):\n\(result.stderrTail())"
            )
        }
        do {
            return try JSONDecoder().decode(SdistMetadata.self, from: Data(result.stdout))
        } catch {
            throw UsageError(
                PythonErrorCode.sdistMetadata,
                "\(context.pythonName): the metadata reader printed something that is not its answer (\(error))"
            )
        }
    }

    /// PEP 508's marker variables for the target: its Python (as X.Y.0: a lock knows no patch
    /// level), CPython, Linux, its machine.
    package static func markerEnvironment(_ target: PythonTarget) -> [String: String] {
        let (major, minor) = target.versionParts
        let full = "\(major).\(minor).0"
        return [
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "posix",
            "platform_machine": target.architecture,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": full,
            "python_version": "\(major).\(minor)",
            "sys_platform": "linux",
        ]
    }

    /// The version specifier of a PEP 508 requirement (`name[extra] (>=1, <2) ; marker` -> `>=1,<2`).
    package static func specifier(of requirement: String) -> String {
        var rest = Substring(requirement.prefix { $0 != ";" })
        rest = rest.drop { $0.isLetter || $0.isNumber || "._-".contains($0) }.drop { $0 == " " }
        if rest.first == "[", let close = rest.firstIndex(of: "]") { rest = rest[rest.index(after: close)...] }
        return rest.filter { !$0.isWhitespace && $0 != "(" && $0 != ")" }
    }

    /// The sandbox an sdist's backend runs in, with the store: the options' own, else what
    /// `prepareSandbox` gives; checked to run the target's Python. `reason` says why it is needed
    /// in the error that names what to do without one.
    private static func preparedSandbox(
        options: PythonLockOptions,
        context: Context,
        reason: String
    ) async throws -> (PythonSandbox, Store) {
        let remedy =
            "lock with a sandbox (--runtime auto|bwrap|docker|podman, --image NAME from the store, --store DIR), or pin every line with --hash=sha256:... to lock without resolving"
        var request = options.sandbox
        var store = options.store
        if request == nil || store == nil, let prepare = options.prepareSandbox {
            do {
                let (preparedRequest, preparedStore) = try await prepare()
                request = request ?? preparedRequest
                store = store ?? preparedStore
            } catch let error as any AirlockError {
                throw UsageError(PythonErrorCode.sandboxNeeded, "\(reason); but \(error.description)")
            }
        }
        guard let request, let store else {
            throw UsageError(PythonErrorCode.sandboxNeeded, "\(reason): \(remedy)")
        }
        do {
            var sandbox = try await PythonSandbox.prepare(
                image: request.image,
                runtime: request.runtime,
                target: context.target,
                store: store
            )
            sandbox.output = request.output
            try await sandbox.checkPython(matches: context.target)
            return (sandbox, store)
        } catch let error as any AirlockError {
            throw UsageError(PythonErrorCode.sandboxNeeded, "\(reason); but \(error.description)")
        }
    }
}

/// An sdist's backend could not prepare its metadata (it failed, or left something else): the
/// SdistError's message and exit status, with the python domain's code.
struct SdistMetadataError: AirlockError {
    let description: String
    let status: ExitStatus
    var code: ErrorCode { PythonErrorCode.sdistMetadata.code }

    init(_ error: SdistError) {
        description = error.description
        status = error.status
    }
}
