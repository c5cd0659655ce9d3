// Airlock carries itself across the gap: the running release binary (and, when given, its Debian
// package) as bundle artifacts with their provenance, so the operator inside checks them with
// stock `sha256sum` and `openssl` before running them the first time, exports them with
// `airlock export airlock`, and `airlock self verify` compares a running binary with the newest
// one imported.

#if canImport(Glibc)
    import Glibc
#endif

public enum AirlockRelease {
    /// The artifact names and kinds a carried release uses.
    public static let binaryName = "airlock"
    public static let binaryKind = "airlock-release"
    public static let packageName = "airlock.deb"
    public static let packageKind = "airlock-deb"

    /// What the bundle says about a carried binary.
    public struct Provenance: Codable, Sendable, Equatable {
        public var version: String
        public var platform: String
        public var audit: BinaryAudit
    }

    /// The path of the executable this process runs.
    public static func runningExecutable() throws -> String {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink("/proc/self/exe", &buffer, 4096)
        guard n > 0 else { throw FileError("read the link", path: "/proc/self/exe", errno: errno) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `linux/amd64` or `linux/arm64`, from the binary's machine.
    static func platform(_ audit: BinaryAudit) -> String {
        switch audit.machine {
        case "x86_64": "linux/amd64"
        case "aarch64": "linux/arm64"
        default: "linux/" + audit.machine.lowercased()
        }
    }

    /// The running binary (and the package at `deb`) as bundle inputs. A binary that still needs
    /// shared libraries from its host is refused: inside, it would not start.
    public static func bundleInputs(version: String, binary: String? = nil, deb: String? = nil) throws -> [BundleInput] {
        let path = try binary ?? runningExecutable()
        let audit = try BinaryAudit(contentsOf: path)
        guard audit.isSelfContained else {
            throw UsageError(
                CoreErrorCode.notSelfContained,
                "\(path): needs \(([audit.interpreter].compactMap { $0 } + audit.needed).joined(separator: ", ")) from its host; "
                    + "seal --self carries the static release binary (`make release`, dist/airlock-\(version)-linux-*)"
            )
        }
        let platform = platform(audit)
        let provenance = try JSONValue(encoding: Provenance(version: version, platform: platform, audit: audit))
        var inputs = [
            BundleInput(
                sourcePath: path, artifactPath: "airlock/airlock-\(version)-\(platform.split(separator: "/").joined(separator: "-"))",
                name: binaryName, kind: binaryKind, mediaType: "application/x-executable", provenance: provenance
            )
        ]
        if let deb {
            guard FileSystem.kind(of: deb) == .regular else { throw UsageError(CoreErrorCode.noSuchFile, "\(deb): no such package file") }
            inputs.append(
                BundleInput(
                    sourcePath: deb, artifactPath: "airlock/" + FileSystem.baseName(deb), name: packageName, kind: packageKind,
                    mediaType: "application/vnd.debian.binary-package", provenance: provenance
                )
            )
        }
        return inputs
    }

    /// Compares the running binary with the newest release imported into `store`.
    public static func verifyRunning(in store: Store) throws -> (running: SHA256Digest, imported: BlobEntry) {
        let imported = try store.index.entries(kind: "artifact").filter { $0.name == binaryName }
        guard let newest = imported.last else {
            throw UsageError(CoreErrorCode.notInStore, "\(store.root): no Airlock release imported (seal one with `airlock seal --self`)")
        }
        let path = try runningExecutable()
        let (digest, _) = try Store.hashFile(path)
        guard digest == newest.digest else {
            throw CheckFailure(
                CoreErrorCode.notTheImportedRelease,
                "\(path): sha256 \(digest.hex) is not the Airlock release imported last (\(newest.digest.hex), \(newest.filename ?? newest.name))"
            )
        }
        return (digest, newest)
    }
}
