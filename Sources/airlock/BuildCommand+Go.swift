import AirlockContainer
import AirlockCore
import AirlockGo
import AirlockPython
import Foundation

extension BuildCommand {
    /// `airlock build` for a Go project: the flags wired to GoBuild, and what it did, printed.
    func buildGo() async throws {
        var defaults = try ProjectDefaults(project: project)
        if noSandbox {
            throw UsageError(
                GoBuildErrorCode.notForGo,
                "--no-sandbox: a Go handler is built in the sandbox only (network off, the locked toolchain and modules); drop it"
            )
        }
        for (given, flag) in [(compileBytecode != nil, "--compile-bytecode"), (!setting.isEmpty, "--setting"), (tree != nil, "--tree")]
        where given {
            throw UsageError(GoBuildErrorCode.notForGo, "\(flag): a Python build's option; \(project) is a Go project (it has a go.mod)")
        }
        if listFiles {
            let app = try GoFunctionsApp(project: project)
            let files = (["host.json", app.handlerPath] + app.functions.map { $0.name + "/function.json" }).sorted()
            if output.json {
                return try output.emit(files.map { ["path": $0, "mode": $0 == app.handlerPath ? "0755" : "0644"] })
            }
            for file in files { print(file) }
            printError("the handler (\(app.handlerPath)) is built by go build; nothing else of the project goes into the zip")
            return
        }
        let platformText = defaults.string(platform, .platform) ?? GoPlatform.linuxAMD64.description
        let target: GoPlatform
        do { target = try GoPlatform(parsing: platformText) } catch let error as UsageError {
            throw UsageError(GoBuildErrorCode.badPlatform, error.description.replacingOccurrences(of: "--target", with: "--platform"))
        }
        let store = try Store.open(at: defaults.storeRoot(storeOptions))
        let image = defaults.string(self.image, .image) ?? GoBuild.defaultImage
        let progress = ProgressReporter(label: "build", quiet: output.json)
        do {
            _ = try ImageCatalog.resolve(image, in: store)
        } catch let missing as ImageError where missing.code == ImageErrorCode.notFound.code && image == GoBuild.defaultImage {
            let bootstrap = DefaultImageBootstrap(
                isAllowed: !noBootstrap,
                mirror: defaults.string(bootstrapMirror, .bootstrapMirror),
                sourceDateEpoch: try sourceDateEpoch() ?? ImageBootstrap.defaultSourceDateEpoch,
                output: output.json ? .discard : SandboxOutput { _, line in printError("  | " + line) }
            )
            _ = try await bootstrap.make(
                suite: GoBuild.defaultImageSuite, packages: [], reference: GoBuild.defaultImage,
                missing: UsageError(
                    code: missing.code,
                    missing.description + "; make it with: airlock image bootstrap --suite \(GoBuild.defaultImageSuite) --name \(GoBuild.defaultImage)"
                ),
                into: store, progress: progress
            )
        }
        let runtime = defaults.string(self.runtime, .runtime) ?? RuntimeChoice.auto.rawValue
        _ = try defaults.blaming(.runtime) { try RuntimeChoice(parsing: runtime) }
        let selected = try await RuntimeSelection.select(runtime, store: store)
        for note in selected.notes { printError("airlock: note: " + note) }
        let options = GoBuildOptions(
            project: project, outDirectory: out, platform: target, sourceDateEpoch: try sourceDateEpoch(),
            toolVersion: AirlockVersion.current, useCache: !noCache, runtime: selected.runtime, image: image,
            output: output.json ? .discard : SandboxOutput { _, line in printError("  | " + line) }
        )
        let result = try await GoBuild.build(options, store: store, progress: progress)
        if output.json { return try output.emit(result) }
        print(result.zip)
        printError(
            "built \(result.name).zip for \(result.platform) with go \(result.go): \(result.handler) (\(result.elf)), \(result.modules) module(s), \(ByteCount.format(result.size)), sha256:\(result.sha256)\(result.cacheHit ? " (cached)" : "")"
        )
        let names = result.functions.map { $0.name + ($0.trigger.map { " (\($0))" } ?? "") }.joined(separator: ", ")
        printError("functions: \(result.functions.count): \(names.isEmpty ? "none" : names)")
        if let skipped = result.smokeSkipped { printError("smoke test " + skipped) }
    }
}
