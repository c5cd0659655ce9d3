import AirlockBundle
import AirlockContainer
import AirlockCore
import AirlockPython
import ArgumentParser
import Foundation

struct SealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Seal files (and directories) into one signed bundle."
    )

    @Argument(help: "Files or directories to seal.") var files: [String] = []
    @Option(help: "Seal this project's built zip (with its provenance), the wheels and sdists it came from, and its build image.")
    var project: String?
    @Option(help: "Also carry this image from the store (NAME[:TAG] or digest; repeatable).") var image: [String] = []
    @Flag(help: "With --project, leave out the image the build ran in (carried by default, for audits and rebuilds inside).")
    var noBuildImage = false
    @Option(help: "The bundle to write (FILE.airlock).") var out: String
    @Option(name: .long, help: "A private key to sign with; repeat for k-of-n signing.") var key: [String] = []
    @Option(help: "The channel the bundle is published on.") var channel = "default"
    @Option(help: "Sequence number (default: one more than the last sealed on the channel in this store).") var sequence: Int?
    @Option(help: "How long the bundle stays valid: 30d, 12h, 2w ...") var expires = "30d"
    @Option(help: "none or zstd.") var compress = "none"
    @Option(help: "Cut the bundle into volumes FILE.001, FILE.002, ... of at most SIZE bytes (e.g. 4GiB).")
    var maxVolumeSize: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        guard let expiresIn = DurationText.seconds(expires), expiresIn > 0 else {
            throw UsageError("--expires '\(expires)': use a duration such as 30d, 12h or 2w")
        }
        guard let compression = ArchiveCompression(rawValue: compress) else {
            throw UsageError("--compress '\(compress)': use none or zstd")
        }
        var volumeSize: Int? = nil
        if let maxVolumeSize {
            guard let size = ByteCount.parse(maxVolumeSize) else { throw UsageError("--max-volume-size '\(maxVolumeSize)': not a size") }
            volumeSize = size
        }
        let epoch = try sourceDateEpoch()
        var inputs = try SealInput.expand(files)
        let store = try storeOptions.open()
        var target: JSONValue? = nil
        var images = image
        if let project {
            let built = try PythonBuild.built(project: project, store: store)
            inputs.append(
                SealInput(
                    sourcePath: built.zipPath, artifactPath: built.name + ".zip", name: built.name, kind: "function-app",
                    mediaType: "application/zip", provenance: built.provenance
                )
            )
            for input in built.inputs {
                let folder = ["sdist": "sdists/", "build-wheel": "build/"][input.kind] ?? "wheels/"
                inputs.append(
                    SealInput(
                        sourcePath: input.path, artifactPath: folder + input.filename, name: input.filename, kind: input.kind,
                        mediaType: input.filename.hasSuffix(".tar.gz") ? "application/gzip" : "application/zip",
                        provenance: input.provenance
                    )
                )
            }
            target = built.target.json
            if !noBuildImage, let digest = built.provenance["sandbox"]?["image"]?["digest"]?.stringValue {
                images.append(digest)
            }
        }
        var carried: Set<SHA256Digest> = []
        for reference in images {
            let record = try ImageCatalog.resolve(reference, in: store)
            inputs += Self.imageInputs(record, store: store, carried: &carried)
        }
        let options = SealOptions(
            output: out, keyPaths: key, channel: channel, sequence: sequence, expiresIn: expiresIn, compression: compression,
            maximumVolumeSize: volumeSize, target: target, sourceDateEpoch: epoch, jobs: ProcessInfo.processInfo.activeProcessorCount
        )
        let result = try await Sealer.seal(inputs, options: options, store: store, progress: ProgressReporter(label: "seal", quiet: output.json))
        if output.json { return try output.emit(result) }
        for file in result.files { print(file) }
        printError(
            "sealed \(result.artifacts) artifact(s), \(result.blobs) blob(s), \(ByteCount.format(result.bytes)): bundle \(result.bundle), channel \(result.channel), sequence \(result.sequence), signed by \(result.signers.joined(separator: ", "))"
        )
    }
}

extension SealCommand {
    /// An image as bundle artifacts: its manifest (kind `oci-image`, provenance naming the image,
    /// its config and layers, so the import can name it), then each config and layer blob once.
    static func imageInputs(_ image: ImageRecord, store: Store, carried: inout Set<SHA256Digest>) -> [SealInput] {
        let provenance = JSONValue.object([
            "image": .object([
                "name": .string(image.name), "tag": .string(image.tag), "config": .string(image.config.description),
                "layers": .array(image.layers.map { .string($0.digest.description) }),
            ])
        ])
        var inputs = [
            SealInput(
                sourcePath: store.blobPath(image.manifest), artifactPath: "images/\(image.name)/\(image.tag)/manifest.json",
                name: image.reference, kind: "oci-image", mediaType: "application/vnd.oci.image.manifest.v1+json",
                provenance: provenance
            )
        ]
        for (digest, kind, mediaType) in [(image.config, "oci-config", "application/vnd.oci.image.config.v1+json")]
            + image.layers.map({ ($0.digest, "oci-layer", $0.mediaType) })
        where carried.insert(digest).inserted {
            inputs.append(
                SealInput(
                    sourcePath: store.blobPath(digest), artifactPath: "images/blobs/sha256/\(digest.hex)", name: digest.description,
                    kind: kind, mediaType: mediaType
                )
            )
        }
        return inputs
    }
}

/// SOURCE_DATE_EPOCH from the environment, if set.
func sourceDateEpoch() throws -> Int64? {
    guard let text = Environment.get("SOURCE_DATE_EPOCH"), !text.isEmpty else { return nil }
    guard let value = Int64(text), value >= 0 else { throw UsageError("SOURCE_DATE_EPOCH '\(text)': not a non-negative integer") }
    return value
}

struct SplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Cut an existing bundle into volumes BUNDLE.001, BUNDLE.002, ... (cat them to rejoin)."
    )

    @Argument(help: "The bundle to split.") var bundle: String
    @Option(help: "Largest volume size (e.g. 700MB, 4GiB).") var maxVolumeSize: String
    @OptionGroup var output: OutputOptions

    func run() throws {
        guard let size = ByteCount.parse(maxVolumeSize) else { throw UsageError("--max-volume-size '\(maxVolumeSize)': not a size") }
        guard FileSystem.kind(of: bundle) == .regular else { throw UsageError("\(bundle): no such bundle file") }
        let volumes = try Volumes.split(bundle, maximumSize: size)
        if output.json { return try output.emit(["volumes": volumes]) }
        for path in volumes { print(path) }
    }
}
