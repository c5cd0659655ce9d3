// `airlock image build` for a Python v2-model app: the image the Core Tools Dockerfile template
// makes (`FROM` the Functions base, `ENV AzureWebJobsScriptRoot=/home/site/wwwroot
// AzureFunctionsJobHost__Logging__Console__IsEnabled=true`, `pip install -r requirements.txt`,
// `COPY . /home/site/wwwroot`), made from the store without a daemon or a network.
//
// It starts from the app's current `airlock build` (its zip, checked against its provenance and
// today's lock), so the wheels it installs are the ones the build installed, audited and
// smoke-tested. The base image's own `python3` is asked, in the sandbox, which Python it is, which
// glibc it has and where it installs packages (sysconfig's purelib); the zip's
// `.python_packages/lib/site-packages/` goes there, everything else to /home/site/wwwroot, as one
// deterministic tar+gzip layer: entries in a fixed order, owner 0:0, the build's SOURCE_DATE_EPOCH
// as every mtime, parent directories with the base's own modes. A base whose /FuncExtensionBundles
// cannot satisfy host.json's extensionBundle range is refused. The smoke test then runs in the
// built image's own rootfs, with the image's Python and site-packages, as the host would load it.
//
// The result is kept in the action cache under every input (the zip's digest, the base's manifest,
// format, time, Python paths): the same inputs name the same manifest again without writing a byte.

public import AirlockContainer
public import AirlockCore
import Foundation

public struct PythonImageBuildOptions: Sendable {
    public var project: String
    public var outDirectory: String?
    /// The base image in the store (NAME[:TAG] or digest).
    public var base: String
    public var name: ImageName
    public var format: ImageFormat
    public var runtime: any ContainerRuntime
    public var output: SandboxOutput
    public var sourceDateEpoch: Int64
    public var useCache: Bool
    public var toolVersion: String
    /// App settings the smoke test's environment gets.
    public var settings: [String: String]

    public init(
        project: String, outDirectory: String? = nil, base: String, name: ImageName, format: ImageFormat = .oci,
        runtime: any ContainerRuntime, output: SandboxOutput = .discard, sourceDateEpoch: Int64? = nil, useCache: Bool = true,
        toolVersion: String, settings: [String: String] = [:]
    ) {
        self.project = project
        self.outDirectory = outDirectory
        self.base = base
        self.name = name
        self.format = format
        self.runtime = runtime
        self.output = output
        self.sourceDateEpoch = sourceDateEpoch ?? SandboxSpec.defaultSourceDateEpoch
        self.useCache = useCache
        self.toolVersion = toolVersion
        self.settings = settings
    }
}

/// What `image build` made.
public struct ImageBuildResult: Sendable, Codable {
    /// `NAME:TAG`.
    public var image: String
    public var manifest: SHA256Digest
    public var config: SHA256Digest
    /// The app layer (the top one).
    public var layer: OCIDescriptor
    public var size: Int
    public var format: ImageFormat
    /// `NAME:TAG@sha256:...` of the base.
    public var base: String
    /// Where the wheels went (the base Python's purelib); nil for a Go handler.
    public var sitePackages: String?
    /// The extension bundle version of the base that satisfies host.json's range, if it names one.
    public var extensionBundle: String?
    public var functions: [AppFunction]
    public var cacheHit: Bool
}

public enum PythonImageBuild {
    public static let appRoot = PythonSandbox.appRoot
    static let environment = [
        ("AzureWebJobsScriptRoot", appRoot), ("AzureFunctionsJobHost__Logging__Console__IsEnabled", "true"),
    ]

    public static func build(
        _ options: PythonImageBuildOptions, store: Store, progress: ProgressReporter? = nil
    ) async throws -> ImageBuildResult {
        let built = try PythonBuild.built(project: options.project, outDirectory: options.outDirectory, store: store)
        try checkAppFilesUnchanged(project: options.project, outDirectory: options.outDirectory, since: built)
        let base = try ImageCatalog.resolve(options.base, in: store)
        let baseReference = "\(base.reference)@\(base.manifest)"
        let rootfs = try ImageRootfs.unpack(image: base, in: store)
        let scriptFile = built.provenance.inputs?.script ?? "function_app.py"

        // The base's Python, asked in the sandbox: it must be the lock's, with a glibc the wheels fit.
        progress?.note("image build: asking \(base.reference)'s python3 where it installs packages")
        let baseSandbox = PythonSandbox(
            runtime: options.runtime, imageReference: base.reference, imageDigest: base.manifest,
            runtimeImage: try await options.runtime.prepare(base, from: store), output: options.output,
            sourceDateEpoch: options.sourceDateEpoch
        )
        let paths = try await baseSandbox.installPaths()
        try check(paths, base: base.reference, target: built.target)

        // The extension bundle host.json asks for must be one the base ships (when it ships any).
        let hostPath = options.project + "/host.json"
        let bundle = try checkExtensionBundle(
            hostJSON: try FileSystem.readFile(hostPath, limit: 1 << 20), path: hostPath, rootfs: rootfs, base: base.reference
        )

        let zipDigest = built.provenance.output.sha256
        let key = try cacheKey(
            zip: zipDigest, base: base.manifest, paths: paths, options: options, scriptFile: scriptFile
        )
        if options.useCache, let hit = try cached(key, as: options.name, store: store) {
            progress?.note("image build: \(options.name) unchanged (action cache hit)")
            return ImageBuildResult(
                image: options.name.description, manifest: hit.image.manifest, config: hit.image.config,
                layer: hit.image.layers.last!, size: hit.image.size, format: options.format, base: baseReference,
                sitePackages: paths.purelib, extensionBundle: bundle, functions: hit.functions, cacheHit: true
            )
        }

        progress?.note("image build: writing the app layer (\(appRoot), wheels into \(paths.purelib))")
        let layer = try writeLayer(
            zip: built.zipPath, sitePackages: paths.purelib, rootfs: rootfs, mtime: options.sourceDateEpoch, store: store
        )
        let spec = DerivedImageSpec(
            base: base, name: options.name, format: options.format, environment: environment,
            created: Timestamp.format(epochSeconds: options.sourceDateEpoch),
            createdBy: "airlock image build (\(built.name).zip sha256:\(zipDigest.hex) into \(appRoot) and \(paths.purelib))"
        )
        let image = try ImageBuilder.commit(spec, layer: layer, into: store)

        // The smoke test in the built image itself.
        progress?.note("image build: smoke test of \(scriptFile) in \(options.name)")
        let sandbox = PythonSandbox(
            runtime: options.runtime, imageReference: options.name.description, imageDigest: image.manifest,
            runtimeImage: try await options.runtime.prepare(image, from: store), output: options.output,
            sourceDateEpoch: options.sourceDateEpoch
        )
        let scratch = try FileSystem.makeTemporaryDirectory(prefix: "image-build", in: FileSystem.absolute(store.temporaryDirectory))
        defer { FileSystem.removeTree(scratch) }
        let functions: [AppFunction]
        do {
            functions = try await sandbox.smokeTest(tree: nil, scriptFile: scriptFile, scratch: scratch, settings: options.settings)
        } catch {
            // An image whose app does not load is not kept under the name.
            _ = try? ImageCatalog.forget(options.name.description, in: store)
            throw error
        }
        let metadata = String(decoding: try JSONEncoder().encode(CachedImage.Metadata(functions: functions)), as: UTF8.self)
        try store.index.recordAction(key, output: image.manifest, metadata: metadata)
        return ImageBuildResult(
            image: options.name.description, manifest: image.manifest, config: image.config, layer: layer.descriptor,
            size: image.size, format: options.format, base: baseReference, sitePackages: paths.purelib,
            extensionBundle: bundle, functions: functions, cacheHit: false
        )
    }

    /// The layer is made from the build's zip, so the app's files must still be the ones it was
    /// built from (the provenance lists each with its sha256).
    static func checkAppFilesUnchanged(project: String, outDirectory: String?, since built: BuiltPythonApp) throws {
        guard let recorded = built.provenance.inputs?.files else { return }
        let now = try PythonBuild.listFiles(project: project, outDirectory: outDirectory).included
        var current: [BuildInputFile] = []
        for file in now {
            let bytes = try FileSystem.readFile(project + "/" + file.path, limit: 256 << 20)
            current.append(BuildInputFile(path: file.path, executable: file.isExecutable, sha256: SHA256Hasher.hash(bytes)))
        }
        let before = Dictionary(recorded.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let changed = current.filter { before[$0.path] != $0 }.map(\.path) + Set(before.keys).subtracting(current.map(\.path)).sorted()
        guard changed.isEmpty else {
            throw UsageError(
                PythonBuildErrorCode.stale,
                "\(built.zipPath): built before \(changed.prefix(5).joined(separator: ", "))\(changed.count > 5 ? " and \(changed.count - 5) more" : "") changed; run `airlock build --project \(project)` again"
            )
        }
    }

    /// The base's Python minor must be the lock's, its glibc no older than the one the wheels were
    /// audited for, and its purelib one of the directories site.py puts on sys.path.
    static func check(_ paths: PythonInstallPaths, base: String, target: PythonTarget) throws {
        let minor = paths.version.split(separator: ".").prefix(2).joined(separator: ".")
        guard minor == target.pythonVersion else {
            throw ImageError.usage(
                .baseMismatch,
                "base image \(base) has Python \(paths.version), but the app is locked for Python \(target.pythonVersion): pick a base for Python \(target.pythonVersion) (e.g. mcr.microsoft.com/azure-functions/python:4-python\(target.pythonVersion))"
            )
        }
        if let glibc = paths.glibc, let have = GlibcVersion(glibc), let want = GlibcVersion(target.glibc), have < want {
            throw ImageError.usage(
                .baseMismatch,
                "base image \(base) has glibc \(glibc), older than the glibc \(target.glibc) the lock's wheels were chosen for: pick a newer base, or lock with --glibc \(glibc)"
            )
        }
        guard paths.purelib.hasPrefix("/"), PythonSandbox.isCleanRelative(String(paths.purelib.dropFirst())),
            paths.sitePackages.contains(paths.purelib)
        else {
            throw ImageError.usage(
                .baseMismatch,
                "base image \(base): python3 installs into \(paths.purelib), which is not on its sys.path (\(paths.sitePackages.joined(separator: ", ")))"
            )
        }
    }

    /// The version of the base's extension bundle that satisfies host.json's range; nil when
    /// host.json names none or the base ships none. Refuses a base that ships bundles but none
    /// in the range.
    public static func checkExtensionBundle(hostJSON: [UInt8], path: String, rootfs: String, base: String) throws -> String? {
        guard let (id, range) = try ExtensionBundles.requested(hostJSON: hostJSON, path: path),
            let shipped = try ExtensionBundles.shipped(id: id, rootfs: rootfs)
        else { return nil }
        guard let best = try ExtensionBundles.best(of: shipped, in: range, path: path) else {
            throw ImageError.usage(
                .extensionBundle,
                "\(path): extensionBundle \(id) \(range) is not in base image \(base), which has \(shipped.isEmpty ? "no version of it" : shipped.joined(separator: ", ")) under \(ExtensionBundles.root)/\(id); the host would download the bundle at start, which a closed network cannot: change the range or the base"
            )
        }
        return best
    }

    // MARK: The layer

    /// One deterministic tar+gzip layer from the zip: site-packages entries under `sitePackages`,
    /// the rest under /home/site/wwwroot; every parent directory first (the base's mode where the
    /// base has it), then the files in the zip's own (sorted, deterministic) order.
    static func writeLayer(zip: String, sitePackages: String, rootfs: String, mtime: Int64, store: Store) throws -> LayerWriter.Layer {
        let reader = try ZipReader(path: zip)
        let site = String(sitePackages.dropFirst())  // no leading "/"
        let wwwroot = String(appRoot.dropFirst())
        func placed(_ name: String) -> String? {
            if name.hasPrefix(PythonBuild.site) { return site + "/" + name.dropFirst(PythonBuild.site.count) }
            if name.hasPrefix(".python_packages/") { return nil }  // the folders above site-packages
            return wwwroot + "/" + name
        }
        var directories: Set<String> = []
        func addAncestors(of path: String) {
            var up = FileSystem.parentPath(path)
            while !up.isEmpty, up != "/" {
                directories.insert(up)
                up = FileSystem.parentPath(up)
            }
        }
        addAncestors(of: site + "/-")
        addAncestors(of: wwwroot + "/-")
        for entry in reader.entries {
            guard let path = placed(entry.name) else { continue }
            if entry.isDirectory { directories.insert(String(path.dropLast())) }
            addAncestors(of: path)
        }
        let writer = try LayerWriter(store: store, gzip: true, name: "app layer")
        do {
            for directory in directories.sorted() {
                let onBase = rootfs + "/" + directory
                switch FileSystem.kind(of: onBase) {
                case .symlink?, .regular?, .other?:
                    throw ImageError.usage(
                        .baseMismatch, "/\(directory) is not a directory in the base image; the app layer needs one there"
                    )
                case .directory?:
                    try writer.tar.add(TarHeader(path: directory + "/", kind: .directory, mode: try FileSystem.mode(of: onBase), mtime: mtime))
                case nil:
                    try writer.tar.add(TarHeader(path: directory + "/", kind: .directory, mode: 0o755, mtime: mtime))
                }
            }
            let archive = try ArchiveReader(paths: [zip], format: .zip)
            while let entry = try archive.next() {
                guard let name = entry.path, entry.kind == .regular, let path = placed(name) else { continue }
                try writer.tar.addFile(path: path, size: entry.size, mode: entry.mode & 0o111 != 0 ? 0o755 : 0o644, mtime: mtime) { tar in
                    try archive.readData { try tar.writeData($0) }
                }
            }
            return try writer.finish()
        } catch {
            writer.discard()
            throw error
        }
    }

    // MARK: The action cache

    struct CachedImage {
        struct Metadata: Codable { var functions: [AppFunction] }
        var image: ImageRecord
        var functions: [AppFunction]
    }

    static func cacheKey(
        zip: SHA256Digest, base: SHA256Digest, paths: PythonInstallPaths, options: PythonImageBuildOptions, scriptFile: String
    ) throws -> String {
        let inputs: JSONValue = .object([
            "kind": .string("image-build:python"), "layout": .int(1), "zip": .string(zip.description),
            "base": .string(base.description), "format": .string(options.format.rawValue),
            "sourceDateEpoch": .int(options.sourceDateEpoch), "purelib": .string(paths.purelib),
            "script": .string(scriptFile), "tool": .string(options.toolVersion),
            "settings": .string(SHA256Hasher.hash(JSONValue.object(options.settings.mapValues(JSONValue.string)).canonicalBytes).hex),
        ])
        return "image-build:" + SHA256Hasher.hash(inputs.canonicalBytes).hex
    }

    /// The image the cache has for `key`, named `name` again; nil on a miss or when its blobs are gone.
    static func cached(_ key: String, as name: ImageName, store: Store) throws -> CachedImage? {
        guard let (manifest, metadata) = try store.index.cachedAction(key), store.contains(manifest),
            let decoded = try? JSONDecoder().decode(CachedImage.Metadata.self, from: Data(metadata.utf8))
        else { return nil }
        guard let image = try? ImageBuilder.rename(manifest: manifest, as: name, in: store) else { return nil }
        return CachedImage(image: image, functions: decoded.functions)
    }
}

/// `2.31` as numbers, for comparing glibc versions.
struct GlibcVersion: Comparable {
    var major: Int
    var minor: Int

    init?(_ text: String) {
        let parts = text.split(separator: ".")
        guard parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.major = major
        self.minor = minor
    }

    static func < (a: GlibcVersion, b: GlibcVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }
}
