// `airlock rebuild --check`: every artifact a bundle carries with recorded build inputs is built
// again from what the bundle alone carries, and its digest compared bit for bit with the signed one.
//
// The bundle is verified and imported (one strict pass, the scanner import uses) into a scratch
// store of its own, so the auditor's store is never touched and nothing outside the bundle can
// stand in for an input. Each artifact's project is put back together from the bundle's
// `sources/PROJECT/` files (each checked against the hash its inputs record), and built by the
// same pipeline `airlock build` runs: offline, in the image the inputs name (carried in the
// bundle), with the inputs' SOURCE_DATE_EPOCH, bytecode option and platform, and no action cache.
// A wheel the app's build made from an sdist is rebuilt with it and compared with the carried one.
// A Python rebuild runs no smoke test: it changes no byte, and the app settings it may have had
// are carried only as a hash.

public import AirlockContainer
public import AirlockCore
public import AirlockBundle
import AirlockGo
import AirlockPython
import Foundation

public struct RebuildOptions: Sendable {
    public var policy: TrustPolicy
    public var allowExpired: Bool
    /// `auto`, `bwrap`, `docker` or `podman`.
    public var runtime: String
    /// Where the scratch store and projects go (default: $TMPDIR).
    public var workDirectory: String?
    /// Copy each rebuilt artifact here, under its path in the bundle.
    public var keepDirectory: String?
    public var toolVersion: String
    public var jobs: Int
    public var output: SandboxOutput
    /// For a delta bundle: the store the blobs it relies on are copied from into the scratch store
    /// (read only; the import re-hashes each).
    public var baseStore: Store? = nil

    public init(
        policy: TrustPolicy, allowExpired: Bool = false, runtime: String = RuntimeChoice.auto.rawValue, workDirectory: String? = nil,
        keepDirectory: String? = nil, toolVersion: String, jobs: Int = 2, output: SandboxOutput = .discard
    ) {
        self.policy = policy
        self.allowExpired = allowExpired
        self.runtime = runtime
        self.workDirectory = workDirectory
        self.keepDirectory = keepDirectory
        self.toolVersion = toolVersion
        self.jobs = jobs
        self.output = output
    }
}

/// One artifact's rebuild.
public struct RebuiltArtifact: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// Rebuilt to the same digest.
        case reproduced
        /// Rebuilt to another digest.
        case differs
        /// Could not be rebuilt from the bundle (`reason` says why).
        case notRebuilt = "not-rebuilt"
    }

    /// Its path in the bundle (`app.zip`, `wheels/x.whl`).
    public var path: String
    /// The build kind (`python-function-app`, `go-custom-handler`, `python-sdist-wheel`).
    public var kind: String
    public var status: Status
    public var expected: SHA256Digest
    public var rebuilt: SHA256Digest?
    public var reason: String?
    /// The zip entries that differ, when it differs.
    public var differences: [ZipEntryDifference]
    /// The inputs the rebuild read that are not the recorded ones (`files`, `blobs`, ...), when any.
    public var inputsDiffer: [String]
    public var seconds: Double
}

public struct RebuildReport: Codable, Sendable {
    public var bundle: String
    public var channel: String
    public var sequence: Int
    public var artifacts: [RebuiltArtifact]
    public var notes: [String]
    /// Every artifact rebuilt to its digest (and at least one was rebuilt).
    public var isReproduced: Bool { !artifacts.isEmpty && artifacts.allSatisfy { $0.status == .reproduced } }
}

public enum RebuildCheck {
    /// A delta leaves blobs out for the store it is imported into: copies those `base` holds into
    /// the scratch store first. The manifest is read here before its signature is checked, but it
    /// only picks which of the user's own blobs to copy; the import then checks everything.
    static func seedDelta(_ bundle: String, from base: Store, into store: Store, progress: ProgressReporter?) throws {
        let reader = try ArchiveReader(paths: try Volumes.resolve(bundle))
        guard let first = try reader.next(), first.path == "manifest.json", first.size <= Manifest.maximumSize,
            let manifest = try? Manifest(canonicalBytes: try reader.readAll(limit: Manifest.maximumSize)), manifest.delta != nil
        else { return }
        let relied = manifest.blobs.filter { $0.delivery == .store && base.contains($0.sha256) }
        guard !relied.isEmpty else { return }
        progress?.note("rebuild: a delta: copying the \(relied.count) blob(s) it relies on from \(base.root)")
        var staged: [(digest: SHA256Digest, temporaryPath: String)] = []
        defer { for s in staged { try? FileSystem.remove(s.temporaryPath) } }
        for blob in relied {
            let put = try store.put(path: base.blobPath(blob.sha256), syncOnFinish: false)
            staged.append((put.digest, put.temporaryPath))
        }
        try store.commit(staged)
        staged = []
    }

    public static func run(_ bundle: String, options: RebuildOptions, progress: ProgressReporter? = nil) async throws -> RebuildReport {
        let scratch = FileSystem.absolute(try FileSystem.makeTemporaryDirectory(prefix: "airlock-rebuild", in: options.workDirectory))
        defer { FileSystem.removeTree(scratch) }
        let store = try Store.open(at: scratch + "/store")
        if let base = options.baseStore { try seedDelta(bundle, from: base, into: store, progress: progress) }
        progress?.note("rebuild: verifying and unpacking \(bundle) into a scratch store")
        let imported = try Importer.importBundle(
            bundle, into: store, options: ImportOptions(allowRollback: true, allowExpired: options.allowExpired, policy: options.policy)
        )
        guard let digest = SHA256Digest(imported.record.manifestSHA256) else {
            preconditionFailure("an import records its manifest's digest")
        }
        let manifest = try Manifest(canonicalBytes: try FileSystem.readFile(store.blobPath(digest), limit: Manifest.maximumSize))
        var session = Session(bundle: bundle, scratch: scratch, store: store, manifest: manifest, options: options, progress: progress)
        var report = RebuildReport(bundle: manifest.bundle, channel: manifest.channel, sequence: manifest.sequence, artifacts: [], notes: [])
        // An image the user's store has unpacked already (the same manifest digest, so the same
        // layers the bundle carries, verified above): its rootfs is bound read-only rather than
        // unpacked again into the scratch store.
        if let base = options.baseStore {
            for artifact in manifest.artifacts where artifact.kind == ImageArtifacts.imageKind {
                if try ImageRootfs.adopt(artifact.sha256, from: base, into: store) {
                    report.notes.append(
                        "image \(artifact.name): its rootfs was taken from \(base.root), unpacked there from the same manifest digest"
                    )
                }
            }
        }
        var sdistWheels: [(ManifestArtifact, Provenance)] = []
        for artifact in manifest.artifacts {
            guard let value = artifact.provenance, value["schema"] != nil, let provenance = try? Provenance.read(value) else { continue }
            switch provenance.kind {
            case PythonBuild.artifactKind, GoBuild.artifactKind:
                let (row, rebuiltWheels) = try await session.rebuild(artifact, provenance)
                report.artifacts.append(row)
                session.rebuiltWheels += rebuiltWheels
            case SdistBuilder.artifactKind:
                sdistWheels.append((artifact, provenance))
            default:
                continue
            }
        }
        for (artifact, provenance) in sdistWheels { report.artifacts.append(session.compareBuiltWheel(artifact, provenance)) }
        if report.artifacts.isEmpty {
            report.notes.append("the bundle carries no artifact with recorded build inputs: nothing to rebuild")
        }
        // The images builds ran in are inputs; any other (an app image) is checked by digest only.
        let buildImages = Set(session.buildImages)
        let images = manifest.artifacts.filter { $0.kind == ImageArtifacts.imageKind && !buildImages.contains($0.sha256) }.count
        if images > 0 {
            report.notes.append("\(images) image(s) carried besides build images: checked by digest as verified, not rebuilt (an image build records no build inputs)")
        }
        report.notes += session.notes
        return report
    }
}

/// One rebuild run's state: the scratch store and directories, and the runtime (chosen once, when
/// the first artifact needs it).
private struct Session {
    let bundle: String
    let scratch: String
    let store: Store
    let manifest: Manifest
    let options: RebuildOptions
    let progress: ProgressReporter?
    var runtime: (any ContainerRuntime)? = nil
    var notes: [String] = []
    /// The provenance of wheels the app rebuilds made from sdists.
    var rebuiltWheels: [Provenance] = []
    /// The manifest digests of the images the rebuilt artifacts' inputs name.
    var buildImages: [SHA256Digest] = []

    init(bundle: String, scratch: String, store: Store, manifest: Manifest, options: RebuildOptions, progress: ProgressReporter?) {
        self.bundle = bundle
        self.scratch = scratch
        self.store = store
        self.manifest = manifest
        self.options = options
        self.progress = progress
    }

    mutating func rebuild(_ artifact: ManifestArtifact, _ provenance: Provenance) async throws -> (RebuiltArtifact, [Provenance]) {
        let clock = ContinuousClock()
        let start = clock.now
        var row = RebuiltArtifact(
            path: artifact.path, kind: provenance.kind, status: .notRebuilt, expected: artifact.sha256, rebuilt: nil, reason: nil,
            differences: [], inputsDiffer: [], seconds: 0
        )
        guard let inputs = provenance.inputs, provenance.key != nil else {
            row.reason = "its provenance (schema \(provenance.schema)) records no complete build inputs"
            return (row, [])
        }
        let project: String
        do { project = try restore(provenance.project, inputs: inputs) } catch let failure as NotRebuildable {
            row.reason = failure.reason
            return (row, [])
        }
        if let image = inputs.image {
            buildImages.append(image.manifest)
            guard (try? ImageCatalog.resolve(image.manifest.description, in: store)) != nil else {
                row.reason = "the image it was built in (\(image.reference.isEmpty ? "" : image.reference + ", ")\(image.manifest)) is not in the bundle (sealed with --no-build-image?)"
                return (row, [])
            }
        }
        let runtime = inputs.image == nil ? nil : try await selectedRuntime()
        let out = scratch + "/out/" + provenance.project
        progress?.note("rebuild: \(artifact.path) (\(provenance.kind)) in \(inputs.image.map { $0.reference.isEmpty ? $0.manifest.description : $0.reference } ?? "no image")")
        let rebuilt: Provenance
        let zipPath: String
        switch provenance.kind {
        case PythonBuild.artifactKind:
            var build = PythonBuildOptions(
                project: project, outDirectory: out, sourceDateEpoch: inputs.sourceDateEpoch, toolVersion: options.toolVersion,
                useCache: false, jobs: options.jobs,
                sandbox: runtime.flatMap { runtime in
                    inputs.image.map { SandboxRequest(runtime: runtime, image: $0.manifest.description, output: options.output) }
                },
                compileBytecode: inputs.options["bytecode"] != nil
            )
            build.smokeTest = false
            build.scriptFile = inputs.script
            let result = try await PythonBuild.build(build, store: store)
            zipPath = result.zip
            rebuilt = try Provenance.read(try FileSystem.readFile(result.provenance, limit: 16 << 20), what: result.provenance)
        default:
            guard let image = inputs.image, let runtime else {
                row.reason = "its inputs name no build image"
                return (row, [])
            }
            let result = try await GoBuild.build(
                GoBuildOptions(
                    project: project, outDirectory: out, platform: try GoPlatform(parsing: inputs.target.platform),
                    sourceDateEpoch: inputs.sourceDateEpoch, toolVersion: options.toolVersion, useCache: false, runtime: runtime,
                    image: image.manifest.description, output: options.output
                ),
                store: store
            )
            zipPath = result.zip
            rebuilt = try Provenance.read(try FileSystem.readFile(result.provenance, limit: 16 << 20), what: result.provenance)
        }
        row.rebuilt = rebuilt.output.sha256
        row.inputsDiffer = Self.differingInputs(inputs, rebuilt.inputs)
        if inputs.tool != rebuilt.inputs?.tool {
            notes.append("\(artifact.path) was built by \(inputs.tool) and rebuilt by \(rebuilt.inputs?.tool ?? "?"): another Airlock may write other bytes")
        }
        if inputs.options["settings"] != nil {
            notes.append("\(artifact.path): its smoke test had app settings (carried as a hash only); the rebuild ran no smoke test, which changes no byte")
        }
        if rebuilt.output.sha256 == artifact.sha256 {
            row.status = .reproduced
        } else {
            row.status = .differs
            row.differences = try await ZipDiff.compare(expected: store.blobPath(artifact.sha256), rebuilt: zipPath, scratch: scratch)
        }
        if let keep = options.keepDirectory { try keepCopy(of: rebuilt.output.sha256, as: artifact.path, in: keep) }
        row.seconds = Self.seconds(clock.now - start)
        return (row, rebuilt.builtInputs ?? [])
    }

    /// A wheel the bundle carries as built from an sdist, against the one its app's rebuild made.
    func compareBuiltWheel(_ artifact: ManifestArtifact, _ provenance: Provenance) -> RebuiltArtifact {
        var row = RebuiltArtifact(
            path: artifact.path, kind: provenance.kind, status: .notRebuilt, expected: artifact.sha256, rebuilt: nil, reason: nil,
            differences: [], inputsDiffer: [], seconds: 0
        )
        let sdist = provenance.inputs?.blobs.first { $0.role == "sdist" }?.sha256
        guard let sdist, let again = rebuiltWheels.first(where: { $0.inputs?.blobs.contains { $0.role == "sdist" && $0.sha256 == sdist } ?? false })
        else {
            row.reason = "built from an sdist for an app this bundle does not carry; it is rebuilt only with its app"
            return row
        }
        row.rebuilt = again.output.sha256
        row.status = again.output.sha256 == artifact.sha256 ? .reproduced : .differs
        row.inputsDiffer = Self.differingInputs(provenance.inputs, again.inputs)
        return row
    }

    /// The project directory put back from `sources/PROJECT/`: every input file and the lock, each
    /// the bytes the inputs record.
    func restore(_ project: String, inputs: BuildInputs) throws -> String {
        guard !project.isEmpty, project != ".", project != "..", !project.contains("/"), !project.contains("\0") else {
            throw NotRebuildable(reason: "its provenance names the project '\(project)', which is not a directory name")
        }
        let folder = BuildSources.folder(project: project)
        let sources = Dictionary(
            manifest.artifacts.filter { $0.kind == BuildSources.kind && $0.path.hasPrefix(folder) }
                .map { (String($0.path.dropFirst(folder.count)), $0.sha256) },
            uniquingKeysWith: { a, _ in a }
        )
        guard !sources.isEmpty else {
            throw NotRebuildable(reason: "the bundle carries no \(folder) (sealed by an Airlock that did not carry sources): seal it again")
        }
        let directory = scratch + "/projects/" + project
        try FileSystem.makeDirectory(directory)
        func put(_ relative: String, _ digest: SHA256Digest, executable: Bool) throws {
            guard sources[relative] == digest else {
                throw NotRebuildable(reason: "\(folder)\(relative): \(sources[relative] == nil ? "not in the bundle" : "not the file its build read")")
            }
            let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
            guard !relative.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else {
                throw NotRebuildable(reason: "\(folder)\(relative): not a relative path inside the project")
            }
            let path = directory + "/" + relative
            try FileSystem.makeDirectory(FileSystem.parentPath(path))
            try store.copyBlob(digest, to: path, mode: executable ? 0o755 : 0o644)
        }
        for file in inputs.files { try put(file.path, file.sha256, executable: file.isExecutable) }
        if let lock = inputs.lock {
            let name = inputs.kind == GoBuild.artifactKind ? GoLock.fileName : PythonLock.fileName
            try put(name, lock, executable: false)
        }
        return directory
    }

    mutating func selectedRuntime() async throws -> any ContainerRuntime {
        if let runtime { return runtime }
        let selected = try await RuntimeSelection.select(options.runtime, store: store)
        notes += selected.notes
        runtime = selected.runtime
        return selected.runtime
    }

    /// The fields of the recorded inputs the rebuild's differ in, leaving out what cannot change a
    /// byte: the tool's name (noted apart) and the hash of the smoke test's app settings.
    static func differingInputs(_ recorded: BuildInputs?, _ rebuilt: BuildInputs?) -> [String] {
        guard var a = recorded, var b = rebuilt else { return recorded == nil && rebuilt == nil ? [] : ["inputs"] }
        for side in [\BuildInputs.tool] {
            a[keyPath: side] = ""
            b[keyPath: side] = ""
        }
        a.options["settings"] = nil
        b.options["settings"] = nil
        guard a.digest != b.digest, let x = try? JSONValue(encoding: a).objectValue, let y = try? JSONValue(encoding: b).objectValue else {
            return []
        }
        return Set(x.keys).union(y.keys).filter { x[$0] != y[$0] }.sorted()
    }

    /// The rebuilt artifact (in the scratch store, where the pipeline put it) copied to
    /// DIRECTORY/PATH, PATH being its place in the bundle (checked by the manifest's reader).
    func keepCopy(of digest: SHA256Digest, as artifactPath: String, in directory: String) throws {
        let dest = directory + "/" + artifactPath
        try FileSystem.makeDirectory(FileSystem.parentPath(dest))
        try store.copyBlob(digest, to: dest)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Why an artifact cannot be rebuilt from its bundle.
private struct NotRebuildable: Error {
    let reason: String
}
