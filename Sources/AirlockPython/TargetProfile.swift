// What a build targets: the Python minor version of the Function App, its CPU platform and the glibc
// of its *runtime* image. The defaults are data (manifests/targets.json, embedded here so an
// installed binary needs no files beside it; a test keeps the two equal), overridable by flags.

public import AirlockCore

public struct PythonTarget: Sendable, Equatable, Codable {
    public var pythonVersion: String
    public var platform: String
    public var glibc: String

    /// "3.11" → (3, 11).
    public var versionParts: (major: Int, minor: Int) {
        let parts = pythonVersion.split(separator: ".").compactMap { Int($0) }
        return (parts.first ?? 3, parts.count > 1 ? parts[1] : 0)
    }

    /// The ELF machine name for the platform: x86_64 or aarch64.
    public var architecture: String { platform == "linux/arm64" ? "aarch64" : "x86_64" }

    public var glibcParts: (major: Int, minor: Int) {
        let parts = glibc.split(separator: ".").compactMap { Int($0) }
        return (parts.first ?? 2, parts.count > 1 ? parts[1] : 0)
    }

    public var description: String { "python \(pythonVersion), \(platform), glibc \(glibc)" }

    public var json: JSONValue {
        .object(["python": .string(pythonVersion), "platform": .string(platform), "glibc": .string(glibc)])
    }

    public init(pythonVersion: String, platform: String, glibc: String) {
        self.pythonVersion = pythonVersion
        self.platform = platform
        self.glibc = glibc
    }

    /// A target from flags, filling what is not given from the profile table.
    /// Returns the target and any warnings to show (a deprecated Python, a non-hosted platform).
    public static func resolve(python: String?, platform: String?, glibc: String?) throws -> (PythonTarget, [String]) {
        let version = python ?? TargetProfiles.defaultPython
        guard let profile = TargetProfiles.python[version] else {
            throw UsageError(
                PythonErrorCode.unsupportedPython,
                "--python \(version): not a supported Functions v4 Python (supported: \(TargetProfiles.python.keys.sorted { $0.versionSortKey.lexicographicallyPrecedes($1.versionSortKey) }.joined(separator: ", ")))"
            )
        }
        let platform = platform ?? "linux/amd64"
        guard TargetProfiles.platforms.contains(platform) else {
            throw UsageError(
                PythonErrorCode.unsupportedPlatform,
                "--platform \(platform): use \(TargetProfiles.platforms.joined(separator: " or "))"
            )
        }
        let glibc = glibc ?? profile.glibc
        let parts = glibc.split(separator: ".")
        guard parts.count == 2, parts.allSatisfy({ Int($0) != nil }), parts[0] == "2" else {
            throw UsageError(PythonErrorCode.badGlibc, "--glibc \(glibc): give a glibc version such as 2.31")
        }
        var warnings: [String] = []
        if profile.deprecated {
            warnings.append("Python \(version) is deprecated for Azure Functions; plan a move to 3.11 or later")
        }
        if !TargetProfiles.hostedPlatforms.contains(platform) {
            warnings.append("\(platform) is for containers and Kubernetes: hosted Function Apps run linux/amd64 only")
        }
        return (PythonTarget(pythonVersion: version, platform: platform, glibc: glibc), warnings)
    }
}

/// The embedded copy of manifests/targets.json.
public enum TargetProfiles {
    public struct Profile: Sendable, Equatable {
        public let glibc: String
        public let debian: String
        public let deprecated: Bool
        /// The Debian suite whose own python3 is this minor, for the default build image.
        public let buildSuite: String?
    }

    public static let defaultPython = "3.11"
    public static let python: [String: Profile] = [
        "3.9": Profile(glibc: "2.31", debian: "bullseye", deprecated: true, buildSuite: "bullseye"),
        "3.10": Profile(glibc: "2.31", debian: "bullseye", deprecated: false, buildSuite: nil),
        "3.11": Profile(glibc: "2.31", debian: "bullseye", deprecated: false, buildSuite: "bookworm"),
        "3.12": Profile(glibc: "2.36", debian: "bookworm", deprecated: false, buildSuite: nil),
        "3.13": Profile(glibc: "2.36", debian: "bookworm", deprecated: false, buildSuite: "trixie"),
    ]
    public static let platforms = ["linux/amd64", "linux/arm64"]
    public static let hostedPlatforms = ["linux/amd64"]
}

extension String {
    /// "3.10" sorts after "3.9".
    var versionSortKey: [Int] { split(separator: ".").compactMap { Int($0) } }
}
