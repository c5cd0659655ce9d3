import AirlockAudit
import AirlockBundle
import AirlockContainer
import AirlockCore
import AirlockGo
import AirlockPython
import ArgumentParser
import Foundation

struct SealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal files (and directories) into one signed bundle.",
        discussion: Example.discussion(
            Example("Seal a directory, signed with your key", "airlock seal --key keys/team.key --out app.airlock dist/"),
            Example("Seal a built app with two signers, in 4 GiB volumes", "airlock seal --project app --key keys/a.key --key keys/b.key \\\n    --out app.airlock --max-volume-size 4GiB")
        )
    )

    @Argument(help: "Files or directories to seal.") var files: [String] = []
    @Option(
        help: "Seal this project's built zip (with its provenance), the wheels and sdists (or Go toolchain and modules) it came from, and its build image; reads PROJECT/airlock.toml."
    )
    var project: String?
    @Option(help: "Also carry this image from the store (NAME[:TAG] or digest; repeatable).") var image: [String] = []
    @Flag(help: "With --project, leave out the image the build ran in (carried by default, for audits and rebuilds inside).")
    var noBuildImage = false
    @Flag(name: .customLong("self"), help: "Also carry this Airlock binary (a static release) for the enclave, checked there with sha256sum before its first run.")
    var carrySelf = false
    @Option(name: .customLong("self-deb"), help: "With --self, also carry this Debian package of the same release.")
    var selfDeb: String?
    @Option(help: "The bundle to write (FILE.airlock).") var out: String
    @Option(name: .long, help: "A private key to sign with; repeat for k-of-n signing.") var key: [String] = []
    @Option(help: "For an encrypted --key: read its passphrase from the first line of this file (default: ask on the terminal).")
    var passphraseFile: String?
    @Option(help: "The channel the bundle is published on (default: default).") var channel: String?
    @Option(help: "Sequence number (default: one more than the last sealed on the channel in this store).") var sequence: Int?
    @Option(help: "How long the bundle stays valid: 30d, 12h, 2w ... (default: 30d)") var expires: String?
    @Flag(help: "Seal even if the bundle has expired already (SOURCE_DATE_EPOCH plus --expires is past): for testing that the enclave refuses it.")
    var allowExpired = false
    @Option(help: "none or zstd (default: none).") var compress: String?
    @Option(help: "Cut the bundle into volumes FILE.001, FILE.002, ... of at most SIZE bytes (e.g. 4GiB).")
    var maxVolumeSize: String?
    @Option(help: "Carry an SBOM of what the bundle holds, signed with it: cyclonedx (1.6 JSON, also what a bare --sbom means) or spdx (2.3 JSON).")
    var sbom: String?
    @Option(
        help: "Seal a delta against the enclave store's inventory (airlock inventory --out there): leave out every blob it lists, and carry app zips as recipes over the wheels and earlier builds it holds."
    )
    var delta: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let sbomFormat = try sbom.map { name in
            guard let format = SBOMFormat(rawValue: name) else {
                throw UsageError(AuditErrorCode.badSBOMFormat, "--sbom '\(name)': use cyclonedx or spdx")
            }
            return format
        }
        // With --project, airlock.toml's values sit under the flags.
        var defaults = try ProjectDefaults(project: project)
        let keys = defaults.paths(key, .key)
        let channel = defaults.string(self.channel, .channel) ?? "default"
        let expires = defaults.string(self.expires, .expires) ?? "30d"
        let compress = defaults.string(self.compress, .compress) ?? ArchiveCompression.none.rawValue
        let maxVolumeSize = defaults.string(self.maxVolumeSize, .maxVolumeSize)
        let expiresIn = try defaults.blaming(.expires) {
            guard let seconds = DurationText.seconds(expires), seconds > 0 else {
                throw UsageError(BundleErrorCode.badExpiry, "--expires '\(expires)': use a duration such as 30d, 12h or 2w")
            }
            return seconds
        }
        let compression = try defaults.blaming(.compress) {
            guard let compression = ArchiveCompression(rawValue: compress) else {
                throw UsageError(BundleErrorCode.badCompression, "--compress '\(compress)': use none or zstd")
            }
            return compression
        }
        let volumeSize = try defaults.blaming(.maxVolumeSize) {
            try maxVolumeSize.map { text in
                guard let size = ByteCount.parse(text) else {
                    throw UsageError(BundleErrorCode.badVolume, "--max-volume-size '\(text)': not a size")
                }
                return size
            }
        }
        let epoch = try sourceDateEpoch()
        var inputs = try SealInput.expand(files)
        let store = try Store.open(at: defaults.storeRoot(storeOptions))
        var target: JSONValue? = nil
        var images = image
        if let project, GoLock.isGoProject(project) {
            let built = try GoBuild.built(project: project, store: store)
            inputs += built.artifacts
            target = built.target
            if !noBuildImage, let digest = built.buildImage { images.append(digest.description) }
        } else if let project {
            let built = try PythonBuild.built(project: project, store: store)
            inputs += built.artifacts
            target = built.target.json
            if !noBuildImage, let digest = built.buildImage { images.append(digest.description) }
        }
        if selfDeb != nil, !carrySelf { throw UsageError(CoreErrorCode.usage, "--self-deb: give --self too") }
        if carrySelf { inputs += try AirlockRelease.bundleInputs(version: AirlockVersion.current, deb: selfDeb) }
        var carried: Set<SHA256Digest> = []
        for reference in images {
            inputs += try ImageArtifacts.inputs(try ImageCatalog.resolve(reference, in: store), store: store, carried: &carried)
        }
        var options = SealOptions(
            output: out, keyPaths: keys, channel: channel, sequence: sequence, expiresIn: expiresIn, compression: compression,
            maximumVolumeSize: volumeSize, target: target, sourceDateEpoch: epoch, allowExpired: allowExpired, jobs: ProcessInfo.processInfo.activeProcessorCount
        )
        options.passphrase = KeyPassphrase(file: passphraseFile)
        if let sbomFormat {
            let tool = "airlock \(AirlockVersion.current)"
            options.derived = { plan in [try AuditReader.sealedSBOM(plan, format: sbomFormat, tool: tool)] }
        }
        if let delta {
            let (inventory, digest) = try StoreInventory.read(delta)
            options.delta = SealDelta(inventory: inventory, inventorySHA256: digest, earlierBuilds: try inventory.earlierBuilds(in: store))
        }
        let result = try await Sealer.seal(inputs, options: options, store: store, progress: ProgressReporter(label: "seal", quiet: output.json))
        if output.json { return try output.emit(result) }
        for file in result.files { print(file) }
        printError(
            "sealed \(result.artifacts) artifact(s), \(result.blobs) blob(s), \(ByteCount.format(result.bytes)): bundle \(result.bundle), channel \(result.channel), sequence \(result.sequence), signed by \(result.signers.joined(separator: ", "))"
        )
        if let cut = result.delta { printError(DeltaText.summary(cut)) }
    }
}

extension SealCommand {
    /// `seal --sbom` alone means `--sbom cyclonedx` (argument-parser has no option with an optional
    /// value): a bare --sbom, one followed by another option or by an existing file, gets the default
    /// format; anything else after it is left as its value, for the parser to accept or refuse.
    static func withDefaultSBOMFormat(_ arguments: [String]) -> [String] {
        guard arguments.first == "seal" else { return arguments }
        var out: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            out.append(argument)
            if argument == "--" {
                out += arguments[(index + 1)...]
                break
            }
            if argument == "--sbom" {
                let next = index + 1 < arguments.count ? arguments[index + 1] : nil
                if next.map({ $0.hasPrefix("-") || FileSystem.exists($0) }) ?? true { out.append(SBOMFormat.cyclonedx.rawValue) }
            }
            index += 1
        }
        return out
    }
}

/// SOURCE_DATE_EPOCH from the environment, if set.
func sourceDateEpoch() throws -> Int64? {
    guard let text = Environment.get("SOURCE_DATE_EPOCH"), !text.isEmpty else { return nil }
    guard let value = Int64(text), value >= 0 else {
        throw UsageError(CoreErrorCode.badSourceDateEpoch, "SOURCE_DATE_EPOCH '\(text)': not a non-negative integer")
    }
    return value
}

struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Cut an existing bundle into volumes BUNDLE.001, BUNDLE.002, ... (cat them to rejoin).",
        discussion: Example.discussion(
            Example("Cut a bundle into 700 MB volumes", "airlock split app.airlock --max-volume-size 700MB")
        )
    )

    @Argument(help: "The bundle to split.") var bundle: String
    @Option(help: "Largest volume size (e.g. 700MB, 4GiB).") var maxVolumeSize: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        guard let size = ByteCount.parse(maxVolumeSize) else {
            throw UsageError(BundleErrorCode.badVolume, "--max-volume-size '\(maxVolumeSize)': not a size")
        }
        guard FileSystem.kind(of: bundle) == .regular else {
            throw UsageError(CoreErrorCode.noSuchFile, "\(bundle): no such bundle file")
        }
        let volumes = try Volumes.split(bundle, maximumSize: size)
        if output.json { return try output.emit(["volumes": volumes]) }
        for path in volumes { print(path) }
    }
}
