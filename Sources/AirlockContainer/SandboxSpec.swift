// What one sandboxed run is: an image (a rootfs directory for bwrap, an image reference for
// docker/podman), a command, mounts, extra environment, a time limit and where output goes. Every
// backend turns the same spec into the same guarantees: network off, every mount read-only except at
// most one output directory, and an environment built from nothing but `cleanEnvironment` and what
// the caller adds.

public import AirlockCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A host path made visible inside the sandbox.
public struct Mount: Sendable, Equatable {
    /// An absolute path on the host.
    public var source: String
    /// An absolute path inside the sandbox, without `.` or `..` components.
    public var target: String
    /// Every mount is read-only except the one output directory.
    public var isReadOnly: Bool

    public init(source: String, target: String, readOnly: Bool = true) {
        self.source = source
        self.target = target
        self.isReadOnly = readOnly
    }

    /// The one writable mount of a run.
    public static func output(_ source: String, at target: String) -> Mount {
        Mount(source: source, target: target, readOnly: false)
    }
}

/// Which of the container's streams a line came from.
public typealias SandboxStream = ChildStream

/// Where the container's output goes, line by line, as it comes (without the newline).
public struct SandboxOutput: Sendable {
    /// The runner's form of this output.
    var childOutput: ChildProcess.Output {
        guard let handler else { return .discard }
        return .lines(handler)
    }

    /// Called on a reader thread, in order for each stream; it should return quickly.
    public let handler: (@Sendable (SandboxStream, String) -> Void)?

    public init(_ handler: @escaping @Sendable (SandboxStream, String) -> Void) { self.handler = handler }
    private init() { handler = nil }

    /// Drops every line (the result's `tail` still has the last of them).
    public static let discard = SandboxOutput()

    /// Forwards standard output to Airlock's standard output and standard error to its standard error.
    public static let terminal = SandboxOutput { stream, line in
        let fd: Int32 = stream == .standardOutput ? 1 : 2
        writeAll(fd, Array((line + "\n").utf8))
    }
}

/// One run in a sandbox.
public struct SandboxSpec: Sendable {
    /// SOURCE_DATE_EPOCH when the caller gives none: 1980-01-01 00:00:00 UTC, as the zip writer uses.
    public static let defaultSourceDateEpoch: Int64 = 315_532_800

    /// For bwrap, a directory holding an unpacked image (the host's `/` works for tests); for docker
    /// and podman, an image reference (`sha256:…` or a name) already loaded into the daemon.
    public var image: String
    /// The command, resolved on the sandbox's PATH.
    public var arguments: [String]
    public var workingDirectory: String
    /// Mounted in order, after the image's own directories; at most one may be writable.
    public var mounts: [Mount]
    /// Added on top of `cleanEnvironment` (a caller's value wins); nothing comes from the host.
    public var environment: [String: String]
    public var sourceDateEpoch: Int64
    /// After this the run is killed and reported as timed out.
    public var timeLimit: Duration
    public var output: SandboxOutput
    /// How many bytes of the end of the combined output the result keeps for messages.
    public var tailLimit: Int

    public init(
        image: String,
        arguments: [String],
        workingDirectory: String = "/",
        mounts: [Mount] = [],
        environment: [String: String] = [:],
        sourceDateEpoch: Int64 = SandboxSpec.defaultSourceDateEpoch,
        timeLimit: Duration = .seconds(600),
        output: SandboxOutput = .discard,
        tailLimit: Int = 16 << 10
    ) {
        self.image = image
        self.arguments = arguments
        self.workingDirectory = workingDirectory
        self.mounts = mounts
        self.environment = environment
        self.sourceDateEpoch = sourceDateEpoch
        self.timeLimit = timeLimit
        self.output = output
        self.tailLimit = tailLimit
    }

    /// The variables every run gets and nothing else from the host: no bytecode written next to
    /// read-only sources, a fixed build time, a HOME on the sandbox's private /tmp, a UTF-8 locale.
    public var cleanEnvironment: [String: String] {
        [
            "PYTHONDONTWRITEBYTECODE": "1",
            "SOURCE_DATE_EPOCH": String(sourceDateEpoch),
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        ]
    }

    /// `cleanEnvironment` with the caller's variables on top, sorted by name.
    public var effectiveEnvironment: [(name: String, value: String)] {
        cleanEnvironment.merging(environment) { _, caller in caller }.sorted { $0.key < $1.key }.map {
            (name: $0.key, value: $0.value)
        }
    }

    /// The one writable mount, if any.
    public var outputMount: Mount? { mounts.first { !$0.isReadOnly } }

    /// The time limit in seconds.
    var timeLimitSeconds: Double {
        let (seconds, attoseconds) = timeLimit.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Refuses a spec no backend may run: relative or `..` paths, mounts over the sandbox's own
    /// /proc, /dev or /, two writable mounts, a variable name with `=`, no command, no time limit.
    public func validate() throws {
        guard let first = arguments.first, !first.isEmpty else {
            throw UsageError(RuntimeErrorCode.badSpec, "sandbox: no command to run")
        }
        guard !image.isEmpty else { throw UsageError(RuntimeErrorCode.badSpec, "sandbox: no image given") }
        guard Self.isCleanAbsolute(workingDirectory) else {
            throw UsageError(
                RuntimeErrorCode.badSpec,
                "sandbox: working directory '\(workingDirectory)' is not a clean absolute path"
            )
        }
        guard timeLimit > .zero else {
            throw UsageError(RuntimeErrorCode.badSpec, "sandbox: the time limit must be positive")
        }
        var targets: Set<String> = []
        for mount in mounts {
            guard Self.isCleanAbsolute(mount.source) else {
                throw UsageError(
                    RuntimeErrorCode.badSpec,
                    "sandbox: mount source '\(mount.source)' is not a clean absolute path"
                )
            }
            guard FileSystem.exists(mount.source) else {
                throw UsageError(RuntimeErrorCode.badSpec, "sandbox: mount source '\(mount.source)' does not exist")
            }
            let parts = Self.components(mount.target)
            guard Self.isCleanAbsolute(mount.target), let top = parts.first else {
                throw UsageError(
                    RuntimeErrorCode.badSpec,
                    "sandbox: mount target '\(mount.target)' is not a clean absolute path below /"
                )
            }
            guard top != "proc", top != "dev" else {
                throw UsageError(
                    RuntimeErrorCode.badSpec,
                    "sandbox: mount target '\(mount.target)' is inside the sandbox's own /\(top)"
                )
            }
            let normalized = "/" + parts.joined(separator: "/")
            guard targets.insert(normalized).inserted else {
                throw UsageError(RuntimeErrorCode.badSpec, "sandbox: two mounts on '\(mount.target)'")
            }
        }
        let writable = mounts.filter { !$0.isReadOnly }
        guard writable.count <= 1 else {
            let list = writable.map(\.target).joined(separator: ", ")
            throw UsageError(
                RuntimeErrorCode.badSpec,
                "sandbox: only one writable (output) mount is allowed, got \(writable.count): \(list)"
            )
        }
        for (name, value) in environment {
            guard !name.isEmpty, !name.contains("="), !name.utf8.contains(0), !value.utf8.contains(0) else {
                throw UsageError(
                    RuntimeErrorCode.badSpec,
                    "sandbox: environment variable '\(name)' is not a valid name=value pair"
                )
            }
        }
        for argument in arguments where argument.utf8.contains(0) {
            throw UsageError(RuntimeErrorCode.badSpec, "sandbox: an argument contains a NUL byte")
        }
    }

    /// Starts with `/`, and no component is `.` or `..` (or holds a NUL).
    static func isCleanAbsolute(_ path: String) -> Bool {
        guard path.hasPrefix("/"), !path.utf8.contains(0) else { return false }
        return !components(path).contains { $0 == "." || $0 == ".." }
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}

/// Writes every byte to a descriptor, retrying short writes and EINTR; errors are dropped (the
/// terminal went away).
private func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return }
        var offset = 0
        while offset < raw.count {
            let n = write(fd, base + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += n
        }
    }
}
