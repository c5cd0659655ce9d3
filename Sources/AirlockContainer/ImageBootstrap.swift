// `image bootstrap`: builds a Debian rootfs with mmdebstrap (minbase plus the packages asked for)
// and stores it as a one-layer OCI image, committed exactly as `image import` commits an archive.
// Why not keep mmdebstrap's tar as the layer: it carries device nodes (bwrap brings its own /dev,
// and LayerUnpacker refuses them), `./` prefixes and, unless SOURCE_DATE_EPOCH is honoured
// everywhere, mtimes of the build; the layer is rewritten entry by entry in the tar's own order
// (a hard link stays after its target) with mtimes clamped to the epoch, so the same mmdebstrap
// output, epoch and name always give the same manifest digest. The installed packages, read from
// the rootfs's dpkg status, go into the config's labels, so the image says what it holds.

public import AirlockCore
import Foundation

/// One Debian package installed in a bootstrapped image, from the rootfs's dpkg status.
public struct DebianPackage: Codable, Sendable, Hashable, Comparable {
    public var name: String
    public var version: String
    public var architecture: String

    public init(name: String, version: String, architecture: String) {
        self.name = name
        self.version = version
        self.architecture = architecture
    }

    public static func < (a: DebianPackage, b: DebianPackage) -> Bool {
        (a.name, a.architecture, a.version) < (b.name, b.architecture, b.version)
    }
}

/// What to bootstrap and how to name it.
public struct BootstrapRequest: Sendable {
    /// One of `ImageBootstrap.suites`.
    public var suite: String
    /// Debian package names installed on top of minbase (`python3`, ...).
    public var packages: [String]
    /// `NAME[:TAG]` (TAG defaults to `latest`).
    public var name: String
    /// An http(s) or file URL of a Debian mirror; nil for mmdebstrap's default (deb.debian.org, with
    /// the -updates and -security suites).
    public var mirror: String?
    /// Given to mmdebstrap as SOURCE_DATE_EPOCH; every mtime in the layer is clamped to it and the
    /// config's `created` is it.
    public var sourceDateEpoch: Int64
    /// The Debian architecture to install (`amd64`, `arm64`); the host's by default.
    public var architecture: String
    /// The mmdebstrap to run (a path); nil finds `mmdebstrap` on PATH. Tests pass a stand-in.
    public var executable: String?
    /// Seconds mmdebstrap may take before its process group is killed.
    public var timeLimit: Double

    public init(
        suite: String,
        packages: [String],
        name: String,
        mirror: String? = nil,
        sourceDateEpoch: Int64 = ImageBootstrap.defaultSourceDateEpoch,
        architecture: String = ImageBootstrap.hostArchitecture,
        executable: String? = nil,
        timeLimit: Double = 3600
    ) {
        self.suite = suite
        self.packages = packages
        self.name = name
        self.mirror = mirror
        self.sourceDateEpoch = sourceDateEpoch
        self.architecture = architecture
        self.executable = executable
        self.timeLimit = timeLimit
    }
}

/// The stored image and what is in it. Encodes as the image record's fields plus `packages` and
/// `droppedDevices`, so `--json` reads like `image ls --json` with more.
public struct BootstrapResult: Encodable, Sendable {
    public var image: ImageRecord
    /// Every package dpkg lists as "install ok installed", sorted by name.
    public var packages: [DebianPackage]
    /// Device nodes, FIFOs and sockets left out of the layer.
    public var droppedDevices: Int

    private enum CodingKeys: String, CodingKey {
        case packages
        case droppedDevices
    }

    public func encode(to encoder: any Encoder) throws {
        try image.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(packages, forKey: .packages)
        try container.encode(droppedDevices, forKey: .droppedDevices)
    }
}

public enum ImageBootstrap {
    /// The Debian suites Airlock bootstraps: the ones the Functions Python images run on, and the next.
    public static let suites = ["bookworm", "bullseye", "trixie"]
    /// SOURCE_DATE_EPOCH when the caller gives none (1980-01-01, as everywhere in Airlock), so two
    /// runs against the same mirror state give the same image.
    public static let defaultSourceDateEpoch = SandboxSpec.defaultSourceDateEpoch
    /// What mmdebstrap uses when no mirror is given; recorded in the config's labels.
    public static let defaultMirror = "http://deb.debian.org/debian"
    public static var hostArchitecture: String { ImageImporter.hostArchitecture }

    static let statusPath = "var/lib/dpkg/status"
    static let statusLimit = 64 << 20
    static let installed = "install ok installed"

    /// The mmdebstrap arguments (without the program itself) that write `request`'s rootfs as a tar
    /// to `output`. Checks the suite, package names, architecture and mirror first: they all end up
    /// on a command line.
    public static func mmdebstrapArguments(for request: BootstrapRequest, output: String) throws -> [String] {
        try validate(request)
        var arguments = ["--variant=minbase"]
        // None asked for: minbase alone (what an operator's base system has).
        if !request.packages.isEmpty { arguments.append("--include=" + deduplicated(request.packages).joined(separator: ",")) }
        arguments += [
            "--format=tar",
            "--architectures=" + request.architecture,
            request.suite,
            output,
        ]
        if let mirror = request.mirror { arguments.append(mirror) }
        return arguments
    }

    /// Runs mmdebstrap into a temp tar in the store's tmp/ (removed whatever happens), rewrites its
    /// tar as one deterministic layer, and commits manifest, config and layer under `request.name`.
    /// mmdebstrap's output lines, and a line per step, go to `output` as they come.
    public static func bootstrap(
        _ request: BootstrapRequest,
        into store: Store,
        output: SandboxOutput = .discard
    ) async throws -> BootstrapResult {
        let (name, tag) = try validate(request)
        let executable = try locateExecutable(request.executable)
        let version = await toolVersion(executable)
        let tarPath =
            store.temporaryDirectory + "/bootstrap-\(Environment.processID)-\(UInt64.random(in: 0...UInt64.max)).tar"
        defer { try? FileSystem.remove(tarPath) }
        try await runMmdebstrap(executable, for: request, writingTo: tarPath, output: output)

        note(output, "airlock: writing the rootfs as one layer")
        let layer = try makeLayer(fromRootfsTar: tarPath, epoch: request.sourceDateEpoch, store: store)
        return try commit(layer, for: request, name: name, tag: tag, toolVersion: version, into: store)
    }

    /// Runs mmdebstrap to write `request`'s rootfs tar at `tarPath`; a failure says how it ended and
    /// what mmdebstrap printed last.
    private static func runMmdebstrap(
        _ executable: String,
        for request: BootstrapRequest,
        writingTo tarPath: String,
        output: SandboxOutput
    ) async throws {
        let process = ChildProcess(
            executable: executable,
            arguments: try mmdebstrapArguments(for: request, output: tarPath),
            environment: ChildProcess.inheritedEnvironment(["SOURCE_DATE_EPOCH": String(request.sourceDateEpoch)]),
            timeLimit: .milliseconds(Int64(request.timeLimit * 1000)),
            output: output.childOutput,
            tailLimit: 16 << 10,
            // mmdebstrap cleans up its chroot on SIGTERM; a SIGKILL would leave mounts behind.
            stopSignal: ChildProcess.terminateSignal,
            stopGrace: .seconds(10)
        )
        let run = try await process.run()
        guard run.succeeded else {
            let lines = run.tail.split(separator: "\n").map(String.init).filter {
                !$0.trimmingCharacters(in: .whitespaces).isEmpty
            }
            let what =
                run.timedOut
                ? "did not finish within \(Int(request.timeLimit)) s"
                : "exited with status \(run.status)"
            let tail = lines.suffix(12).map { "  " + $0 }.joined(separator: "\n")
            throw ImageError.usage(
                .bootstrapFailed,
                "mmdebstrap (\(request.suite), \(request.packages.joined(separator: ","))) \(what)"
                    + (tail.isEmpty ? "" : "; its last output:\n" + tail)
            )
        }
        guard FileSystem.kind(of: tarPath) == .regular else {
            throw ImageError.usage(.bootstrapFailed, "mmdebstrap reported success but wrote no tar at \(tarPath)")
        }
    }

    /// The image's config: platform, creation time (the epoch, never the clock), environment and
    /// labels, the one diff ID. No history: it would name the host and the time.
    private static func config(for request: BootstrapRequest, layer: Layer, toolVersion: String) -> OCIImageConfig {
        var config = OCIImageConfig(document: [:])
        config.architecture = request.architecture
        config.os = "linux"
        config.created = Timestamp.format(epochSeconds: request.sourceDateEpoch)
        config.env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        config.labels = [
            "org.airlock.bootstrap": toolVersion,
            "org.airlock.suite": request.suite,
            "org.airlock.mirror": request.mirror ?? defaultMirror,
            "org.airlock.include": deduplicated(request.packages).joined(separator: ","),
            "org.airlock.packages": layer.packages.map { "\($0.name)=\($0.version)" }.joined(separator: " "),
        ]
        config.diffIDs = [layer.digest.description]
        return config
    }

    /// Stages the config and manifest beside the staged layer and commits the three as one image,
    /// as `image import` commits an archive; on any failure nothing staged is left behind.
    private static func commit(
        _ layer: Layer,
        for request: BootstrapRequest,
        name: String,
        tag: String,
        toolVersion: String,
        into store: Store
    ) throws -> BootstrapResult {
        var staged = [(digest: layer.digest, temporaryPath: layer.temporaryPath)]
        do {
            let config = config(for: request, layer: layer, toolVersion: toolVersion)
            let configBlob = try stage(try OCIJSON.encode(config), in: store)
            staged.append(configBlob.staged)
            let layerDescriptor = OCIDescriptor(mediaType: OCIMediaType.layer, digest: layer.digest, size: layer.size)
            let configDescriptor = OCIDescriptor(
                mediaType: OCIMediaType.config,
                digest: configBlob.staged.digest,
                size: configBlob.size
            )
            let manifest = OCIManifest(config: configDescriptor, layers: [layerDescriptor])
            let manifestBytes = try OCIJSON.encode(manifest)
            let manifestBlob = try stage(manifestBytes, in: store)
            staged.append(manifestBlob.staged)
            let image = PendingImage(
                manifest: OCIDescriptor(
                    mediaType: OCIMediaType.manifest,
                    digest: manifestBlob.staged.digest,
                    size: manifestBlob.size
                ),
                manifestBytes: manifestBytes,
                config: configDescriptor,
                layers: [layerDescriptor],
                names: [(name, tag)]
            )
            let origin = "mmdebstrap:\(request.suite):\(request.mirror ?? defaultMirror)"
            let toCommit = staged
            staged = []
            try ImageImporter.commit([image], staged: toCommit, origin: origin, into: store)
            let reference = "\(name):\(tag)"
            guard
                let record = try ImageCatalog.list(in: store).first(where: {
                    $0.reference == reference && $0.manifest == image.manifest.digest
                })
            else {
                throw ImageError.check(
                    .failed,
                    "\(store.root): image \(reference) is not in the index after it was recorded"
                )
            }
            return BootstrapResult(image: record, packages: layer.packages, droppedDevices: layer.droppedDevices)
        } catch {
            for blob in staged { try? FileSystem.remove(blob.temporaryPath) }
            throw error
        }
    }

    // MARK: Checks

    /// Checks every field that reaches mmdebstrap's command line or the store; returns name and tag.
    @discardableResult
    static func validate(_ request: BootstrapRequest) throws -> (name: String, tag: String) {
        guard suites.contains(request.suite) else {
            throw UsageError(
                ImageErrorCode.badOption,
                "suite '\(request.suite)': use one of \(suites.joined(separator: ", "))"
            )
        }
        for package in request.packages where !isPackageName(package) {
            throw UsageError(
                ImageErrorCode.badOption,
                "package '\(package)': not a Debian package name (lowercase letters, digits, '+', '-' and '.', starting with a letter or digit)"
            )
        }
        guard isArchitectureName(request.architecture) else {
            throw UsageError(
                ImageErrorCode.badOption,
                "architecture '\(request.architecture)': not a Debian architecture name"
            )
        }
        if let mirror = request.mirror, !isMirrorURL(mirror) {
            throw UsageError(
                ImageErrorCode.badOption,
                "--mirror '\(mirror)': use an http://, https:// or file:// URL without spaces"
            )
        }
        let (name, tag) = ImageImporter.splitReference(request.name)
        let resolvedTag = tag ?? "latest"
        guard ImageImporter.validName(name, tag: resolvedTag) else {
            throw UsageError(ImageErrorCode.badName, "--name '\(request.name)': not a usable image name (NAME[:TAG])")
        }
        return (name, resolvedTag)
    }

    /// Debian policy 5.6.1: `[a-z0-9][a-z0-9+.-]+`.
    static func isPackageName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.count <= 128 else { return false }
        func alnum(_ b: UInt8) -> Bool { (97...122).contains(b) || (48...57).contains(b) }
        return alnum(bytes[0]) && bytes.dropFirst().allSatisfy { alnum($0) || $0 == 43 || $0 == 45 || $0 == 46 }
    }

    static func isArchitectureName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 32
            && text.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }
    }

    static func isMirrorURL(_ text: String) -> Bool {
        let schemes = ["http://", "https://", "file://"]
        guard let scheme = schemes.first(where: text.hasPrefix), text.utf8.count > scheme.utf8.count else {
            return false
        }
        return text.utf8.count <= 2048 && text.utf8.allSatisfy { $0 > 32 && $0 < 127 }
    }

    private static func deduplicated(_ packages: [String]) -> [String] {
        var seen: Set<String> = []
        return packages.filter { seen.insert($0).inserted }
    }

    private static func locateExecutable(_ explicit: String?) throws -> String {
        let missing = UsageError(
            ImageErrorCode.missingTool,
            "mmdebstrap\(explicit.map { " (\($0))" } ?? "") not found on this machine; install it: apt-get install -y mmdebstrap"
        )
        if let explicit {
            guard FileManager.default.isExecutableFile(atPath: explicit) else { throw missing }
            return FileSystem.absolute(explicit)
        }
        guard let found = ChildProcess.locate("mmdebstrap") else { throw missing }
        return FileSystem.absolute(found)
    }

    /// `mmdebstrap --version`'s first line, recorded in the config ("unknown" if it says nothing).
    private static func toolVersion(_ executable: String) async -> String {
        let (status, text) = await ChildProcess.capture([executable, "--version"], timeout: .seconds(30))
        let first = text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return status == 0 && !first.isEmpty ? first : "unknown"
    }

    private static func note(_ output: SandboxOutput, _ line: String) {
        output.handler?(.standardError, line)
    }

    // MARK: The layer

    struct Layer {
        var digest: SHA256Digest
        var size: Int
        var temporaryPath: String
        var packages: [DebianPackage]
        var droppedDevices: Int
    }

    /// Rewrites mmdebstrap's tar as an uncompressed layer blob staged in the store's tmp/: names
    /// without `./`, no device nodes, FIFOs or sockets, modes and owners kept, mtimes clamped to
    /// `epoch`, entries in the tar's order. Also reads the dpkg status on the way.
    static func makeLayer(fromRootfsTar path: String, epoch: Int64, store: Store) throws -> Layer {
        let what = "mmdebstrap output \(path)"
        let reader = try ArchiveReader(paths: [path], format: .tar)
        let blob = try store.makeWriter(syncOnFinish: false)
        do {
            let writer = try TarWriter(output: BlobArchiveOutput(blob), name: "layer", compression: .none)
            var rewrite = RootfsRewrite(what: what, epoch: epoch)
            while let entry = try reader.next() { try rewrite.copy(entry, from: reader, to: writer) }
            try writer.close()
            guard let status = rewrite.status else {
                throw ImageError.check(.badRootfs, "\(what): no \(statusPath), so it is not a Debian rootfs")
            }
            let digest = try blob.finish()
            return Layer(
                digest: digest,
                size: blob.size,
                temporaryPath: blob.temporaryPath,
                packages: installedPackages(status: status),
                droppedDevices: rewrite.dropped
            )
        } catch {
            blob.discard()
            throw error
        }
    }

    /// One pass over mmdebstrap's tar, entry by entry in its order: what has been written so far
    /// (a hard link may only follow its target), what was dropped, and the dpkg status once seen.
    private struct RootfsRewrite {
        let what: String
        let epoch: Int64
        var regularFiles: Set<String> = []
        var dropped = 0
        var status: [UInt8]? = nil

        init(what: String, epoch: Int64) {
            self.what = what
            self.epoch = epoch
        }

        /// Writes `entry` to the layer under its name without `./`, its mode and owner kept and its
        /// mtime clamped to the epoch; drops device nodes, FIFOs and sockets.
        mutating func copy(_ entry: TarEntry, from reader: ArchiveReader, to writer: TarWriter) throws {
            guard let raw = entry.path else { throw ImageError.check(.badRootfs, "\(what): a member has no name") }
            let parts = try LayerPath.components(raw, in: what)
            // The root itself: the unpacker makes it, with its own mode.
            if parts.isEmpty { return try reader.skipData() }
            let member = parts.joined(separator: "/")
            var header = TarHeader(
                path: member,
                kind: .directory,
                mode: entry.mode & 0o7777,
                uid: entry.uid,
                gid: entry.gid,
                mtime: min(entry.mtime, epoch)
            )
            switch entry.kind {
            case .other:
                dropped += 1
                try reader.skipData()
            case .directory:
                header.path += "/"
                try writer.add(header)
                try reader.skipData()
            case .symlink:
                guard let target = entry.linkTarget, !target.isEmpty else {
                    throw ImageError.check(.badRootfs, "\(what): symlink '\(raw)' points nowhere")
                }
                header.kind = .symlink(target: target)
                try writer.add(header)
                try reader.skipData()
            case .hardlink:
                let target = try LayerPath.components(entry.linkTarget ?? "", in: what).joined(separator: "/")
                guard regularFiles.contains(target) else {
                    throw ImageError.check(
                        .badRootfs,
                        "\(what): hard link '\(raw)' comes before, or without, the regular file it links to"
                    )
                }
                header.kind = .hardlink(target: target)
                try writer.add(header)
                try reader.skipData()
                regularFiles.insert(member)
            case .regular:
                try copyRegular(entry, raw: raw, header: header, from: reader, to: writer)
                regularFiles.insert(member)
            }
        }

        /// A regular file's bytes, streamed; the dpkg status is also kept, to list the packages.
        private mutating func copyRegular(
            _ entry: TarEntry,
            raw: String,
            header: TarHeader,
            from reader: ArchiveReader,
            to writer: TarWriter
        ) throws {
            var header = header
            if header.path == ImageBootstrap.statusPath {
                let bytes = try reader.readAll(limit: ImageBootstrap.statusLimit)
                status = bytes
                header.kind = .regular(size: bytes.count)
                try writer.add(header) { writer in try bytes.withUnsafeBytes { try writer.writeData($0) } }
                return
            }
            header.kind = .regular(size: entry.size)
            var written = 0
            try writer.add(header) { writer in
                try reader.readData { chunk in
                    written += chunk.count
                    try writer.writeData(chunk)
                }
            }
            guard written == entry.size else {
                throw ImageError.check(
                    .badRootfs,
                    "\(what): '\(raw)' holds \(written) bytes, its header says \(entry.size)"
                )
            }
        }
    }

    /// The packages a dpkg status file lists as "install ok installed", sorted by name.
    static func installedPackages(status: [UInt8]) -> [DebianPackage] {
        var packages: [DebianPackage] = []
        let text = String(decoding: status, as: UTF8.self)
        var fields: [String: String] = [:]
        func flush() {
            if fields["Status"] == installed, let name = fields["Package"], let version = fields["Version"] {
                packages.append(DebianPackage(name: name, version: version, architecture: fields["Architecture"] ?? ""))
            }
            fields = [:]
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                flush()
            } else if line.first == " " || line.first == "\t" {
                continue  // a continuation of a multi-line field (Description, Conffiles, ...)
            } else if let colon = line.firstIndex(of: ":") {
                let key = String(line[..<colon])
                fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        flush()
        return packages.sorted()
    }

    private static func stage(_ bytes: [UInt8], in store: Store) throws -> (
        staged: (digest: SHA256Digest, temporaryPath: String), size: Int
    ) {
        let writer = try store.makeWriter(syncOnFinish: false)
        do {
            try writer.append(bytes)
            let digest = try writer.finish()
            return ((digest, writer.temporaryPath), bytes.count)
        } catch {
            writer.discard()
            throw error
        }
    }
}

/// Feeds a tar writer's bytes into a blob being written (hashed as they go).
private final class BlobArchiveOutput: ArchiveOutput {
    let blob: BlobWriter
    init(_ blob: BlobWriter) { self.blob = blob }
    func write(_ bytes: UnsafeRawBufferPointer) throws { try blob.append(bytes) }
    func close() throws {}
}
