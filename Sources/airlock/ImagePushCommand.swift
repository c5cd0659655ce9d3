import AirlockContainer
import AirlockCore
import ArgumentParser
import Foundation

extension ImageCommand {
    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Push an image from the store to a registry (OCI distribution API, no daemon); prints the pinned digest.",
            discussion: Example.discussion(
                """
                Blobs the registry has are skipped (HEAD); the rest are mounted from --mount-from when \
                the registry offers it, else uploaded (one PUT, or PATCHes of --chunk-size). The \
                manifest goes last; the digest the registry answers must be the store's. Credentials: \
                --credentials FILE ({"username": ..., "password": ...}, mode 0600), --token-file FILE \
                (an ACR token, mode 0600), else the registry's entry in $DOCKER_CONFIG/config.json or \
                ~/.docker/config.json. 5xx answers and broken connections are retried with backoff.
                """,
                Example(
                    "To Azure Container Registry, with the token of az acr login --expose-token",
                    "airlock image push app:1 --to myreg.azurecr.io/app:1 \\\n    --token-file token"
                ),
                Example("To a registry on this machine over plain HTTP", "airlock image push app:1 \\\n    --to 127.0.0.1:5000/app:1 --insecure")
            )
        )

        @Argument(help: "NAME[:TAG] or digest of an image in the store.") var image: String
        @Option(help: "REGISTRY/REPOSITORY[:TAG] (TAG defaults to the image's tag).") var to: String
        @OptionGroup var registry: RegistryOptions
        @Option(help: "Upload blobs larger than this in chunks of this size (default: 64MiB).") var chunkSize: String = "64MiB"
        @Option(help: "A repository on the same registry to mount blobs from, where the registry offers it.") var mountFrom: String?
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let store = try storeOptions.openExisting()
            let record = try ImageCatalog.resolve(image, in: store)
            var destination = try RegistryReference(parsing: to)
            if destination.tag == nil, !image.hasPrefix("sha256:") { destination.tag = record.tag }
            guard let chunk = ByteCount.parse(chunkSize), chunk >= 1 << 20 else {
                throw UsageError(ImageErrorCode.badOption, "--chunk-size \(chunkSize): expected a size of at least 1MiB")
            }
            if destination.digest != nil {
                throw UsageError(ImageErrorCode.badName, "--to \(to): a push names a tag (the digest is the image's own)")
            }
            let result = try await registry.with(destination) { client in
                try await ImagePusher.push(
                    record, from: store, with: client, options: PushOptions(chunkSize: chunk, mountFrom: mountFrom),
                    progress: ProgressReporter(label: "image", quiet: output.json)
                )
            }
            if output.json { return try output.emit(result) }
            print(result.pinned)
            printError(
                "pushed \(record.reference) as \(result.pushed): \(result.blobs) blob(s), \(result.present) already there, \(result.mounted) mounted, \(result.uploaded) uploaded (\(ByteCount.format(result.uploadedBytes)))"
            )
        }

    }

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pull an image from a registry into the store, every digest checked.",
            discussion: Example.discussion(
                """
                By digest, the manifest must hash to it; by tag, to the registry's Docker-Content-Digest.                 A multi-platform index gives this machine's image. Config and layers must hash to their                 descriptors. The image is named --name, else REGISTRY/REPOSITORY:TAG (sha256-HEX for a                 pull by digest). Credentials as for image push.
                """,
                Example("Pull back what was pushed", "airlock image pull myreg.azurecr.io/app:1 \\\n    --token-file token")
            )
        )

        @Argument(help: "REGISTRY/REPOSITORY[:TAG] or REGISTRY/REPOSITORY@sha256:HEX.") var reference: String
        @Option(help: "NAME[:TAG] for the image in the store.") var name: String?
        @OptionGroup var registry: RegistryOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let store = try storeOptions.open()
            let source = try RegistryReference(parsing: reference)
            let named = try name.map { text in
                guard let parsed = ImageName(parsing: text) else {
                    throw UsageError(ImageErrorCode.badName, "--name \(text): not NAME[:TAG]")
                }
                return parsed
            }
            let image = try await registry.with(source) { client in
                try await ImagePuller.pull(with: client, into: store, name: named, progress: ProgressReporter(label: "image", quiet: output.json))
            }
            if output.json { return try output.emit(image) }
            print("\(image.manifest)  \(image.reference)")
        }
    }
}

/// Where a registry is and how to talk to it: shared by image push and image pull.
struct RegistryOptions: ParsableArguments {
    @Flag(help: "Plain HTTP, for a registry on 127.0.0.1, ::1 or localhost only.") var insecure = false
    @Option(help: "A PEM file of CA certificates to trust besides the system's.") var caFile: String?
    @Option(help: "A JSON file {\"username\": ..., \"password\": ...} of mode 0600.") var credentials: String?
    @Option(help: "A file of mode 0600 holding a registry token (az acr login --expose-token).") var tokenFile: String?

    /// Runs `body` with a client of `reference`'s repository, in one HTTP session.
    func with<T: Sendable>(_ reference: RegistryReference, _ body: (RegistryClient) async throws -> T) async throws -> T {
        if credentials != nil, tokenFile != nil {
            throw UsageError(ImageErrorCode.badOption, "--credentials and --token-file: give one")
        }
        let found: RegistryCredentials?
        if let credentials {
            found = try RegistryCredentials.read(file: credentials)
        } else if let tokenFile {
            found = try RegistryCredentials.read(tokenFile: tokenFile)
        } else {
            found = try RegistryCredentials.docker(config: Self.dockerConfig, host: reference.host)
        }
        let configuration = HTTPSession.Configuration(
            caFile: caFile, proxies: ProxySettings(environment: ProcessInfo.processInfo.environment),
            userAgent: "airlock/\(AirlockVersion.current)"
        )
        return try await HTTPSession.with(configuration) { session in
            try await body(try RegistryClient(reference, session: session, insecure: insecure, credentials: found))
        }
    }

    static var dockerConfig: String {
        if let dir = Environment.get("DOCKER_CONFIG"), !dir.isEmpty { return dir + "/config.json" }
        return (Environment.get("HOME") ?? "/root") + "/.docker/config.json"
    }
}
