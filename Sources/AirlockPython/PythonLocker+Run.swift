// One `airlock lock`, step by step: read and check the requirements and find the interpreter;
// decide how to lock (as hash pins, with pip, or with uv and then pip); pin every wheel, taking a
// requirement with no wheel for the target as its sdist; lock the sdists and the wheels that build
// them; write the lock. Each step is a method over the run's state.

import AirlockCore
import Foundation

struct LockRun {
    let options: PythonLockOptions
    let progress: ProgressReporter?
    let requirements: LockRequirements
    var context: PythonLocker.Context
    var warnings: [String] = []
    var method: PythonLockResult.Method = .pip
    /// What pip pins: the requirements as given, or as uv resolved them.
    var pinned: LockRequirements
    var pipInput: String
    var files: [LockedFile] = []
    var sizeSources: [String: Int] = [:]
    /// Hash-pinned lines taken as sdists, and sdists found on the index while resolving.
    var sdistLines: [LockRequirement] = []
    var resolvedSdists: [PythonLocker.LockedSdist] = []
    var build: [LockedFile] = []
    private let work: String

    var requirementsPath: String { options.requirementsPath }
    var target: PythonTarget { options.target }

    /// Reads the requirements, refuses a partly hashed file, and finds the interpreter.
    init(options: PythonLockOptions, progress: ProgressReporter?) async throws {
        self.options = options
        self.progress = progress
        let project = options.project
        guard FileSystem.kind(of: project) == .directory else {
            throw UsageError(PythonErrorCode.noProject, "\(project): no such project directory")
        }
        let requirementsPath = options.requirementsPath
        requirements = try LockRequirements(path: requirementsPath)
        if requirements.isPartlyHashed {
            let unhashed = requirements.requirements.filter { $0.hashes.isEmpty }.map(\.location)
            throw UsageError(
                PythonErrorCode.partlyHashed,
                "\(requirementsPath): some requirements carry --hash and some do not; pin every line with --hash=sha256:... or none. Without a hash:\n"
                    + unhashed.prefix(10).joined(separator: "\n")
            )
        }
        let environment = LockProcess.environment(options.environment)
        let pythonName = options.python ?? environment["AIRLOCK_PYTHON"] ?? "python3"
        guard let python = await LockProcess.interpreter(pythonName, environment: environment) else {
            throw UsageError(
                PythonErrorCode.noPython,
                "\(pythonName): not found on PATH; locking needs python3 with pip (apt-get install -y python3-pip)"
            )
        }
        work = try FileSystem.makeTemporaryDirectory(prefix: "airlock-lock")
        context = PythonLocker.Context(
            project: project, target: options.target, python: python, pythonName: pythonName, uv: options.uv,
            environment: environment, work: work, lookUpSizes: options.lookUpSizes, indexOptions: requirements.indexOptions
        )
        pinned = requirements
        pipInput = requirementsPath
    }

    /// Hash pins are taken as they are; otherwise pip resolves, or uv resolves and pip pins.
    mutating func chooseMethod() async throws {
        if requirements.requirements.isEmpty {
            method = options.resolver == .uv ? .uv : .pip
            warnings.append("\(requirementsPath) lists no requirements: the lock holds no files")
            return
        }
        if requirements.isFullyHashed {
            method = .hashed
            try PythonLocker.checkPinned(requirements)
            progress?.note(
                "lock: \(requirementsPath) pins every line with --hash: choosing files for \(target.description) without resolving"
            )
            return
        }
        try PythonLocker.refuseBuilds(requirements)
        switch options.resolver {
        case .pip:
            method = .pip
            progress?.note("lock: resolving \(requirementsPath) with pip for \(target.description)")
        case .uv:
            method = .uv
            progress?.note("lock: resolving \(requirementsPath) with uv for \(target.description)")
            let compiled = try await PythonLocker.compileWithUV(
                requirementsPath, requirements: requirements, context: context, warnings: &warnings
            )
            pipInput = work + "/requirements.uv.txt"
            try FileSystem.writeAtomically(pipInput, Array(compiled.utf8))
            pinned = try LockRequirements(path: pipInput)
            guard !pinned.requirements.isEmpty, pinned.isFullyHashed else {
                throw UsageError(
                    PythonErrorCode.uvFailed,
                    "uv pip compile gave no hash-pinned requirements for \(requirementsPath):\n\(compiled.prefix(2000))"
                )
            }
            try PythonLocker.checkPinned(pinned)
            context.indexOptions = pinned.indexOptions
        }
    }

    /// pip picks each wheel. A plain file pip resolves: a requirement with no wheel for the target
    /// is taken as an sdist from the index and pip resolves again around it. Hash pins: a
    /// NAME==VERSION for which pip finds no wheel for the target is taken as an sdist, and pip runs
    /// again on the lines left.
    mutating func pinFiles() async throws {
        sdistLines = method == .hashed ? pinned.requirements.filter(PythonLocker.isSdistLine) : []
        var wheelLines = pinned.requirements.filter { !sdistLines.contains($0) }
        if method == .pip, !wheelLines.isEmpty {
            let resolved = try await PythonLocker.resolveAroundSdists(
                requirementsPath, requirements: pinned, options: options, context: context, progress: progress,
                warnings: &warnings
            )
            files = resolved.files
            sizeSources = resolved.sizeSources
            resolvedSdists = resolved.sdists
            return
        }
        while !wheelLines.isEmpty {
            let input =
                sdistLines.isEmpty
                ? pipInput
                : try PythonLocker.writeRequirements(
                    wheelLines.map { ([$0.text] + $0.hashes.map { "--hash=" + $0 }).joined(separator: " ") },
                    indexOptions: pinned.indexOptions, to: work + "/requirements.wheels.txt"
                )
            let outcome = try await PythonLocker.pinWheels(
                input: input, described: method == .uv ? "\(requirementsPath) (as uv resolved it)" : requirementsPath,
                requirements: pinned, hashed: method != .pip, resolving: method == .pip,
                sdistCandidates: method == .hashed ? wheelLines : [], context: context, label: "pip", warnings: &warnings
            )
            switch outcome {
            case .pinned(let chosen, let sources, _):
                files = chosen
                sizeSources = sources
                wheelLines = []
            case .noWheel(let line):
                progress?.note(
                    "lock: no wheel of \(line.name) \(line.pinnedVersion ?? "") fits \(target.description): locking its sdist"
                )
                sdistLines.append(line)
                wheelLines.removeAll { $0 == line }
            case .noDistribution:
                preconditionFailure("pinWheels was not asked to take sdists")
            }
        }
    }

    /// The sdists, and the wheels that build them (resolved together, as wheels for the target).
    mutating func lockSdistsAndTheirBuildRequirements() async throws {
        guard !sdistLines.isEmpty || !resolvedSdists.isEmpty else { return }
        let pinnedSdists = sdistLines.isEmpty ? [] : try await PythonLocker.lockSdists(sdistLines, context: context)
        for sdist in pinnedSdists {
            if let reason = sdist.file.yanked { warnings.append(PythonLocker.yankedWarning(sdist.file.filename, reason: reason)) }
        }
        let sdists = pinnedSdists + resolvedSdists
        files += sdists.map(\.file)
        for sdist in sdists { sizeSources[sdist.source, default: 0] += 1 }
        let requirements = PythonLocker.buildRequirements(sdists.map(\.system), target: target)
        let names = sdists.map(\.file.filename).joined(separator: ", ")
        progress?.note("lock: resolving the build requirements of \(names) for \(target.description)")
        let buildInput = try PythonLocker.writeRequirements(
            requirements, indexOptions: pinned.indexOptions, to: work + "/build-requirements.txt"
        )
        build = try await PythonLocker.lockBuildRequirements(
            buildInput, of: names, resolver: options.resolver, label: "pip-build", context: context, warnings: &warnings,
            sizeSources: &sizeSources
        )
    }

    /// The scratch directory pip's inputs and reports go to; removed however the run ends.
    func removeWork() { FileSystem.removeTree(work) }

    /// Writes the lock (left untouched when it already holds these bytes).
    mutating func write() throws -> PythonLockResult {
        let lock = PythonLock(target: target, files: files, build: build)
        let bytes = try lock.encoded()
        let path = options.lockPath
        let changed = (try? FileSystem.readFile(path, limit: 16 << 20)) != bytes
        if changed { try FileSystem.writeAtomically(path, bytes) }
        // The same pins in the standard form (PEP 751), beside it.
        let pylockPath = options.project + "/" + PyLock.fileName
        switch PyLock.text(for: lock) {
        case .success(let text):
            let pylock = Array(text.utf8)
            if (try? FileSystem.readFile(pylockPath, limit: 16 << 20)) != pylock { try FileSystem.writeAtomically(pylockPath, pylock) }
        case .failure(let missing):
            // A pylock.toml of an earlier lock would now disagree with airlock.lock.
            if FileSystem.kind(of: pylockPath) == .regular { try FileSystem.remove(pylockPath) }
            warnings.append(
                "\(pylockPath) not written: \(missing.filename) has no URL in the lock, and PEP 751 needs one for every file"
            )
        }
        return PythonLockResult(
            lock: lock, path: path, method: method, changed: changed, sizeSources: sizeSources,
            warnings: warnings.reduce(into: []) { kept, warning in if !kept.contains(warning) { kept.append(warning) } }
        )
    }
}
