// `airlock image build` for a Go custom handler: the handler's current `airlock build` (its zip,
// checked against its provenance and lock: host.json, every function.json, the static handler at
// defaultExecutablePath with mode 0755) as one layer at /home/site/wwwroot on a base from the
// store (the Functions custom-handler base, or any image with bash for the smoke test), through
// AirlockContainer's AppImage like a Python app. The base must be of the handler's platform. The
// smoke test of the build then runs in the built image: the handler, started from the image's own
// /home/site/wwwroot with FUNCTIONS_CUSTOMHANDLER_PORT set, must listen.

public import AirlockContainer
public import AirlockCore
import Foundation

public enum GoImageBuild {
    /// `smokeTimeLimit`: how long the handler has to listen.
    public static func build(
        _ options: AppImageBuildOptions, smokeTimeLimit: Duration = .seconds(60), store: Store, progress: ProgressReporter? = nil
    ) async throws -> ImageBuildResult {
        let built = try GoBuild.built(project: options.project, outDirectory: options.outDirectory, store: store)
        let base = try ImageCatalog.resolve(options.base, in: store)
        let platform = built.target["platform"]?.stringValue ?? GoPlatform.host.description
        let architecture = String(platform.split(separator: "/").last ?? "")
        guard base.os == nil || base.os == "linux", base.architecture == nil || base.architecture == architecture else {
            throw ImageError.usage(
                .baseMismatch,
                "base image \(base.reference) is \(base.os ?? "?")/\(base.architecture ?? "?"), but the handler is built for \(platform): pick a base of that platform, or build the handler with --platform \(base.os ?? "linux")/\(base.architecture ?? "?")"
            )
        }
        let handler = built.provenance.inputs?.script ?? "handler"
        let epoch = options.sourceDateEpoch ?? built.provenance.inputs?.sourceDateEpoch ?? SandboxSpec.defaultSourceDateEpoch
        let zipDigest = built.provenance.output.sha256
        let hostPath = options.project + "/host.json"
        var request = AppImageRequest(
            base: base, name: options.name, format: options.format, runtime: "custom", zip: built.zipPath, zipDigest: zipDigest,
            sitePackages: nil,
            sourceDateEpoch: epoch, createdBy: "airlock image build (\(built.name).zip sha256:\(zipDigest.hex) into \(AppImage.appRoot))",
            hostJSON: try FileSystem.readFile(hostPath, limit: 1 << 20), hostPath: hostPath,
            cacheInputs: ["kind": .string("image-build:go"), "handler": .string(handler), "tool": .string(options.toolVersion)]
        )
        request.useCache = options.useCache
        let functions = built.provenance.functions ?? []
        return try await AppImage.build(request, store: store, progress: progress) { image in
            guard platform == GoPlatform.host.description else {
                progress?.note("image build: smoke test skipped: the handler's CPU (\(platform)) is not this host's")
                return functions
            }
            let said = try await GoBuild.smokeTest(
                tree: nil, handler: handler, runtime: options.runtime, image: try await options.runtime.prepare(image, from: store),
                imageName: options.name.description, epoch: epoch, timeLimit: smokeTimeLimit, output: options.output
            )
            progress?.note("image build: smoke test: \(said)")
            return functions
        }
    }
}
