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
// deterministic layer (AirlockContainer's AppImage, which also checks the extension bundles and
// keeps the action cache). The smoke test then runs in the built image's own rootfs, with the
// image's Python and site-packages, as the host would load it.

public import AirlockContainer
public import AirlockCore
import Foundation

public enum PythonImageBuild {
    /// `settings` are app settings the smoke test's environment gets.
    public static func build(
        _ options: AppImageBuildOptions, settings: [String: String] = [:], store: Store, progress: ProgressReporter? = nil
    ) async throws -> ImageBuildResult {
        let built = try PythonBuild.built(project: options.project, outDirectory: options.outDirectory, store: store)
        let epoch = options.sourceDateEpoch ?? built.provenance.inputs?.sourceDateEpoch ?? SandboxSpec.defaultSourceDateEpoch
        try checkAppFilesUnchanged(project: options.project, outDirectory: options.outDirectory, since: built)
        let base = try ImageCatalog.resolve(options.base, in: store)
        let scriptFile = built.provenance.inputs?.script ?? "function_app.py"

        // The base's Python, asked in the sandbox: it must be the lock's, with a glibc the wheels fit.
        progress?.note("image build: asking \(base.reference)'s python3 where it installs packages")
        let baseSandbox = PythonSandbox(
            runtime: options.runtime, imageReference: base.reference, imageDigest: base.manifest,
            runtimeImage: try await options.runtime.prepare(base, from: store), output: options.output,
            sourceDateEpoch: epoch
        )
        let paths = try await baseSandbox.installPaths()
        try check(paths, base: base.reference, target: built.target)

        let hostPath = options.project + "/host.json"
        let zipDigest = built.provenance.output.sha256
        var request = AppImageRequest(
            base: base, name: options.name, format: options.format, runtime: "python", zip: built.zipPath, zipDigest: zipDigest,
            sitePackages: paths.purelib, sourceDateEpoch: epoch,
            createdBy: "airlock image build (\(built.name).zip sha256:\(zipDigest.hex) into \(AppImage.appRoot) and \(paths.purelib))",
            hostJSON: try FileSystem.readFile(hostPath, limit: 1 << 20), hostPath: hostPath,
            cacheInputs: [
                "kind": .string("image-build:python"), "script": .string(scriptFile), "tool": .string(options.toolVersion),
                "settings": .string(SHA256Hasher.hash(JSONValue.object(settings.mapValues(JSONValue.string)).canonicalBytes).hex),
            ]
        )
        request.useCache = options.useCache
        return try await AppImage.build(request, store: store, progress: progress) { image in
            // The smoke test in the built image itself, with its Python and site-packages.
            let sandbox = PythonSandbox(
                runtime: options.runtime, imageReference: options.name.description, imageDigest: image.manifest,
                runtimeImage: try await options.runtime.prepare(image, from: store), output: options.output,
                sourceDateEpoch: epoch
            )
            let scratch = try FileSystem.makeTemporaryDirectory(prefix: "image-build", in: FileSystem.absolute(store.temporaryDirectory))
            defer { FileSystem.removeTree(scratch) }
            return try await sandbox.smokeTest(tree: nil, scriptFile: scriptFile, scratch: scratch, settings: settings)
        }
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
