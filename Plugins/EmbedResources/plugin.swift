// Embeds a target's `Resources/` files in its code at build time: each file becomes a string
// constant of a generated `<Target>Resources` enum (see Sources/EmbedResourcesTool/main.swift).
//
// Why not `resources:` and `Bundle.module`: on Linux, Bundle.module looks for a resource bundle
// directory beside the executable and traps when it is missing, so a binary copied elsewhere (the
// static, self-contained release) would lose its resources. Why not a checked-in generated file:
// it needs a regeneration step and a staleness test, and two copies can disagree. A build-tool plugin
// keeps the `.py` files the one source, needs no package and no network, and reruns whenever one of
// them changes.

import Foundation
import PackagePlugin

@main
struct EmbedResources: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        guard let module = target as? SourceModuleTarget else { return [] }
        let resources = module.directoryURL.appending(path: "Resources").standardizedFileURL.path
        let inputs = module.sourceFiles.map(\.url)
            .filter { $0.standardizedFileURL.deletingLastPathComponent().path == resources }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let enumName = target.name.replacingOccurrences(of: "Airlock", with: "") + "Resources"
        let output = context.pluginWorkDirectoryURL.appending(path: enumName + ".swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) resource file(s) of \(target.name)",
                executable: try context.tool(named: "EmbedResourcesTool").url,
                arguments: [output.path, enumName] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
