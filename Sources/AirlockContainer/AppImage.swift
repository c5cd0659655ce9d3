// The half of `image build` every kind of Function App shares: a built app's zip as one
// deterministic layer on a base image from the store. What goes where is the caller's: a Python
// app's `.python_packages/lib/site-packages/` goes into the base Python's own site-packages, the
// rest (and everything of a Go handler's zip) to /home/site/wwwroot, as the Core Tools Dockerfile
// templates put them. The layer is one tar+gzip: entries in a fixed order (every parent directory
// first, with the base's own mode where the base has it, then the files in the zip's own sorted
// order), owner 0:0, the build's SOURCE_DATE_EPOCH as every mtime, compressed by Airlock's own
// deflater, so two machines give one digest. A base whose /FuncExtensionBundles cannot satisfy
// host.json's extensionBundle range is refused. After the commit, the caller's smoke test runs in
// the built image; an image whose app does not load is not kept under the name (an older image of
// that name keeps it). The result is
// kept in the action cache under every input, so the same inputs name the same manifest again
// without writing a byte.

public import AirlockCore
import Foundation

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
    /// Where a Python app's wheels went (the base Python's purelib); nil for a Go handler.
    public var sitePackages: String?
    /// The extension bundle version of the base that satisfies host.json's range, if it names one.
    public var extensionBundle: String?
    public var functions: [AppFunction]
    public var cacheHit: Bool
}

/// What `image build` is asked, whatever the kind of app.
public struct AppImageBuildOptions: Sendable {
    public var project: String
    /// Where its build's zip and provenance.json are (default: PROJECT/dist).
    public var outDirectory: String?
    /// The base image in the store (NAME[:TAG] or digest).
    public var base: String
    public var name: ImageName
    public var format: ImageFormat
    public var runtime: any ContainerRuntime
    public var output: SandboxOutput
    /// nil: the build's own SOURCE_DATE_EPOCH.
    public var sourceDateEpoch: Int64?
    public var useCache: Bool
    public var toolVersion: String

    public init(
        project: String, outDirectory: String? = nil, base: String, name: ImageName, format: ImageFormat = .oci,
        runtime: any ContainerRuntime, output: SandboxOutput = .discard, sourceDateEpoch: Int64? = nil, useCache: Bool = true,
        toolVersion: String
    ) {
        self.project = project
        self.outDirectory = outDirectory
        self.base = base
        self.name = name
        self.format = format
        self.runtime = runtime
        self.output = output
        self.sourceDateEpoch = sourceDateEpoch
        self.useCache = useCache
        self.toolVersion = toolVersion
    }
}

/// One app image to build.
public struct AppImageRequest: Sendable {
    public var base: ImageRecord
    public var name: ImageName
    public var format: ImageFormat
    /// FUNCTIONS_WORKER_RUNTIME of the app: `python`, or `custom` for a Go handler.
    public var runtime: String
    /// The built app's zip, and its digest.
    public var zip: String
    public var zipDigest: SHA256Digest
    /// The absolute directory the zip's `.python_packages/lib/site-packages/` goes to; nil puts
    /// every entry under /home/site/wwwroot.
    public var sitePackages: String?
    public var sourceDateEpoch: Int64
    /// The history entry's `created_by`.
    public var createdBy: String
    /// The app's host.json, and its path for messages.
    public var hostJSON: [UInt8]
    public var hostPath: String
    /// Everything else the image depends on (the kind of app, the tool, the script, settings),
    /// for the action-cache key.
    public var cacheInputs: [String: JSONValue]
    /// Look in the action cache first (`--no-cache`: false).
    public var useCache = true

    public init(
        base: ImageRecord, name: ImageName, format: ImageFormat, runtime: String, zip: String, zipDigest: SHA256Digest,
        sitePackages: String?, sourceDateEpoch: Int64, createdBy: String, hostJSON: [UInt8], hostPath: String,
        cacheInputs: [String: JSONValue]
    ) {
        self.base = base
        self.name = name
        self.format = format
        self.runtime = runtime
        self.zip = zip
        self.zipDigest = zipDigest
        self.sitePackages = sitePackages
        self.sourceDateEpoch = sourceDateEpoch
        self.createdBy = createdBy
        self.hostJSON = hostJSON
        self.hostPath = hostPath
        self.cacheInputs = cacheInputs
    }
}

public enum AppImage {
    public static let appRoot = "/home/site/wwwroot"
    /// What the Core Tools Dockerfile templates set.
    static let environment = [
        ("AzureWebJobsScriptRoot", appRoot), ("AzureFunctionsJobHost__Logging__Console__IsEnabled", "true"),
    ]

    /// Builds (or finds in the cache) the image, then runs `smoke` on the built image for the
    /// function list it reports.
    public static func build(
        _ request: AppImageRequest, store: Store, progress: ProgressReporter? = nil,
        smoke: (ImageRecord) async throws -> [AppFunction]
    ) async throws -> ImageBuildResult {
        let base = request.base
        let baseReference = "\(base.reference)@\(base.manifest)"
        let rootfs = try ImageRootfs.unpack(image: base, in: store)
        let bundle = try checkExtensionBundle(hostJSON: request.hostJSON, path: request.hostPath, rootfs: rootfs, base: base.reference)
        let key = cacheKey(request)
        func result(_ image: ImageRecord, functions: [AppFunction], cacheHit: Bool) throws -> ImageBuildResult {
            // What the deploy kits read back: the app's runtime and functions, as the image's provenance.
            try ImageProvenance.record(
                .init(runtime: request.runtime, zip: request.zipDigest, functions: functions), for: image, in: store
            )
            return ImageBuildResult(
                image: request.name.description, manifest: image.manifest, config: image.config, layer: image.layers.last!,
                size: image.size, format: request.format, base: baseReference, sitePackages: request.sitePackages,
                extensionBundle: bundle, functions: functions, cacheHit: cacheHit
            )
        }
        if request.useCache, let hit = try cached(key, as: request.name, store: store) {
            progress?.note("image build: \(request.name) unchanged (action cache hit)")
            return try result(hit.image, functions: hit.functions, cacheHit: true)
        }
        progress?.note("image build: writing the app layer (\(appRoot)\(request.sitePackages.map { ", wheels into " + $0 } ?? ""))")
        let layer = try writeLayer(
            zip: request.zip, sitePackages: request.sitePackages, rootfs: rootfs, mtime: request.sourceDateEpoch, store: store
        )
        let spec = DerivedImageSpec(
            base: base, name: request.name, format: request.format, environment: environment,
            created: Timestamp.format(epochSeconds: request.sourceDateEpoch), createdBy: request.createdBy
        )
        // What the name meant before: given back if the new image's app does not load.
        let previous = try? ImageCatalog.list(in: store).first { $0.reference == request.name.description }
        let image = try ImageBuilder.commit(spec, layer: layer, into: store)
        progress?.note("image build: smoke test in \(request.name)")
        let functions: [AppFunction]
        do {
            functions = try await smoke(image)
        } catch {
            // An image whose app does not load is not kept under the name; an older one is named again.
            _ = try? ImageCatalog.forget(request.name.description, in: store)
            if let previous { _ = try? ImageBuilder.rename(manifest: previous.manifest, as: request.name, in: store) }
            throw error
        }
        let metadata = String(decoding: try JSONEncoder().encode(CachedImage.Metadata(functions: functions)), as: UTF8.self)
        try store.index.recordAction(key, output: image.manifest, metadata: metadata)
        return try result(image, functions: functions, cacheHit: false)
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

    /// One deterministic tar+gzip layer from the zip: site-packages entries under `sitePackages`,
    /// the rest under /home/site/wwwroot; every parent directory first (the base's mode where the
    /// base has it), then the files in the zip's own (sorted, deterministic) order.
    static let pythonSite = ".python_packages/lib/site-packages/"

    static func writeLayer(zip: String, sitePackages: String?, rootfs: String, mtime: Int64, store: Store) throws -> LayerWriter.Layer {
        let reader = try ZipReader(path: zip)
        let site = sitePackages.map { String($0.dropFirst()) }  // no leading "/"
        let wwwroot = String(appRoot.dropFirst())
        func placed(_ name: String) -> String? {
            if let site {
                if name.hasPrefix(pythonSite) { return site + "/" + name.dropFirst(pythonSite.count) }
                if name.hasPrefix(".python_packages/") { return nil }  // the folders above site-packages
            }
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
        if let site { addAncestors(of: site + "/-") }
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

    static func cacheKey(_ request: AppImageRequest) -> String {
        var inputs = request.cacheInputs
        inputs["layout"] = .int(1)
        inputs["zip"] = .string(request.zipDigest.description)
        inputs["base"] = .string(request.base.manifest.description)
        inputs["format"] = .string(request.format.rawValue)
        inputs["sourceDateEpoch"] = .int(request.sourceDateEpoch)
        inputs["sitePackages"] = request.sitePackages.map(JSONValue.string) ?? .null
        return "image-build:" + SHA256Hasher.hash(JSONValue.object(inputs).canonicalBytes).hex
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
