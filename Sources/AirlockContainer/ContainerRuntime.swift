// The one protocol every sandbox backend implements (bwrap, docker, podman). A backend turns a
// `SandboxSpec` into a command line (pure, so tests check it without a daemon) and runs it.

public import AirlockCore

/// How a sandboxed run ended.
public struct SandboxResult: Sendable {
    /// The command's exit status, or 128 + the signal that ended it (137 after a time-out kill).
    public var status: Int32
    /// True when the time limit ran out and the run was killed.
    public var timedOut: Bool
    /// The last `tailLimit` bytes of standard output and standard error as they arrived, for messages.
    public var tail: String
    public var elapsed: Duration

    public var succeeded: Bool { status == 0 && !timedOut }

    public init(status: Int32, timedOut: Bool, tail: String, elapsed: Duration) {
        self.status = status
        self.timedOut = timedOut
        self.tail = tail
        self.elapsed = elapsed
    }

    init(_ child: ChildResult) {
        self.init(status: child.status, timedOut: child.timedOut, tail: child.tail, elapsed: child.elapsed)
    }
}

/// Whether a backend can run here, and if not, why and what to do about it.
public struct RuntimeProbe: Sendable, Codable, Equatable {
    public var runtime: String
    public var isAvailable: Bool
    /// What was found (a version, "daemon answers") or what failed.
    public var detail: String
    /// How to fix it when it is not available: a package to install, a daemon to start, a sysctl.
    public var hint: String?

    public init(runtime: String, isAvailable: Bool, detail: String, hint: String? = nil) {
        self.runtime = runtime
        self.isAvailable = isAvailable
        self.detail = detail
        self.hint = hint
    }
}

/// A sandbox backend: network off, read-only inputs, one writable output, a clean environment, a
/// time limit, output streamed as it comes.
public protocol ContainerRuntime: Sendable {
    /// `bwrap`, `docker` or `podman`.
    var name: String { get }
    /// Checks, by running the tool, whether this backend answers here (may take a few seconds).
    /// It does not prove a container can run: `RuntimeSelection` does that with a trial run.
    func probe() async -> RuntimeProbe
    /// The full command line (executable first) that runs `spec`; throws on a spec it cannot run.
    func arguments(for spec: SandboxSpec) throws -> [String]
    /// Runs `spec` to the end or the time limit; throws only when the run cannot start.
    func run(_ spec: SandboxSpec) async throws -> SandboxResult
    /// Makes `image` from the store runnable by this backend (bwrap: unpacked once into the
    /// store's rootfs cache; docker and podman: loaded into the daemon unless it has it) and
    /// returns what a `SandboxSpec.image` must name to run it.
    func prepare(_ image: ImageRecord, from store: Store) async throws -> String
    /// The tool's version, recorded with a trial run so a new version is tried again.
    func version() async -> String
    /// True when a failed run says itself why the backend cannot run here (bwrap checks its
    /// namespaces then), so a backend named with `--runtime` is taken without a trial run.
    var explainsFailedRuns: Bool { get }
    /// What in its environment decides where it runs (DOCKER_HOST, CONTAINERS_CONF), so a trial
    /// run is tried again when it changes; empty where nothing does.
    var fingerprint: String { get }
}

extension ContainerRuntime {
    public func isAvailable() async -> Bool { await probe().isAvailable }
}
