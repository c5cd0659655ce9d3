// The daemonless backend, and the one CI relies on: bubblewrap over an unpacked image. The sandbox's
// root is bwrap's own tmpfs, with each top-level entry of the image bound read-only (or recreated
// as a symlink) and then the root remounted read-only: so mount targets such as /work/src need not
// exist in the image (below an image directory, such as /home/site/wwwroot, the directories on the
// way are rebuilt entry by entry), and nothing outside /tmp and the output mount can be written.
// `--unshare-all` takes every namespace, the network included: only a downed-then-up loopback
// exists inside, with nothing listening on it, and the host's 127.0.0.1 is out of reach.

public import AirlockCore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public struct BwrapRuntime: ContainerRuntime {
    public var name: String { "bwrap" }
    /// The bwrap executable, or nil when it is not installed.
    public let executable: String?

    public init(executable: String? = ChildProcess.locate("bwrap")) {
        self.executable = executable
    }

    /// Top-level image entries the sandbox gets fresh instead of from the image.
    static let freshRoots: Set<String> = ["proc", "dev", "tmp"]

    /// Whether bwrap exists and can create namespaces here; if not, the package or sysctl to change.
    public func probe() async -> RuntimeProbe {
        guard let executable else {
            return RuntimeProbe(
                runtime: name,
                isAvailable: false,
                detail: "bwrap not found on PATH",
                hint: "apt-get install -y bubblewrap"
            )
        }
        let (status, output) = await ChildProcess.capture(
            [executable, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
            timeout: .seconds(10)
        )
        if status == 0 {
            return RuntimeProbe(runtime: name, isAvailable: true, detail: "\(executable) creates namespaces")
        }
        let reason = output.trimmingCharacters(in: .whitespacesAndNewlines)
        return RuntimeProbe(
            runtime: name,
            isAvailable: false,
            detail: "\(executable) cannot create namespaces: \(reason.isEmpty ? "exit status \(status)" : reason)",
            hint: Self.namespaceHint(readSysctl: Self.readProcFile)
        )
    }

    /// What to change when namespaces are refused, from the sysctls that usually cause it.
    package static func namespaceHint(readSysctl: (String) -> String?) -> String {
        if readSysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0" {
            return "sysctl -w kernel.unprivileged_userns_clone=1 (Debian; persist it in /etc/sysctl.d/)"
        }
        if readSysctl("/proc/sys/user/max_user_namespaces") == "0" {
            return "sysctl -w user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)"
        }
        if readSysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" {
            return "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile that "
                + "allows userns for bwrap (Ubuntu 23.10 and later)"
        }
        return "user namespaces are refused: inside a container, run it with --security-opt seccomp=unconfined "
            + "--security-opt apparmor=unconfined (or use --runtime docker/podman where a daemon answers)"
    }

    private static func readProcFile(_ path: String) -> String? {
        guard let bytes = try? FileSystem.readFile(path, limit: 4096) else { return nil }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func arguments(for spec: SandboxSpec) throws -> [String] {
        try spec.validate()
        let root = spec.image
        var isDirectory: ObjCBool = false
        guard root.hasPrefix("/"), FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw UsageError(
                RuntimeErrorCode.badSpec,
                "bwrap: image root '\(root)' is not a directory holding an unpacked image"
            )
        }
        let prefix = root.hasSuffix("/") ? String(root.dropLast()) : root
        // A mount target below an image directory that lacks it (say /home/site/wwwroot where the
        // image has an empty /home) gets its ancestors rebuilt on the tmpfs root: each such
        // directory is made fresh and its image entries bound one by one, so the target can be created.
        var rebuilt: Set<String> = []
        for mount in spec.mounts {
            let parts = SandboxSpec.components(mount.target)
            guard !FileSystem.exists(prefix + mount.target) else { continue }
            for depth in 1..<max(1, parts.count) {
                let ancestor = "/" + parts[0..<depth].joined(separator: "/")
                guard FileSystem.kind(of: prefix + ancestor) == .directory else { break }
                rebuilt.insert(ancestor)
            }
        }

        var args = [executable ?? "bwrap"]
        args += ["--unshare-all", "--die-with-parent", "--new-session", "--hostname", "airlock", "--cap-drop", "ALL"]
        args.append("--clearenv")
        for (name, value) in spec.effectiveEnvironment { args += ["--setenv", name, value] }
        try Self.bindEntries(of: "", imagePrefix: prefix, rebuilt: rebuilt, skipping: Self.freshRoots, into: &args)
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        for mount in spec.mounts {
            args += [mount.isReadOnly ? "--ro-bind" : "--bind", mount.source, mount.target]
        }
        args += ["--remount-ro", "/", "--chdir", spec.workingDirectory, "--"]
        return args + spec.arguments
    }

    public func run(_ spec: SandboxSpec) async throws -> SandboxResult {
        guard let executable else {
            throw UsageError(
                RuntimeErrorCode.unavailable,
                "bwrap: not found on PATH; install it with: apt-get install -y bubblewrap"
            )
        }
        let process = ChildProcess(
            executable: executable,
            arguments: Array(try arguments(for: spec).dropFirst()),
            environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"],
            timeLimit: spec.timeLimit,
            output: spec.output.childOutput,
            tailLimit: spec.tailLimit
        )
        let result = SandboxResult(try await process.run())
        // What looks like bwrap failing to set up the sandbox (exit 1 after a `bwrap: ` line) is
        // checked with a trial run, only then: when namespaces are refused, say what to change.
        if result.status == 1, let line = result.tail.split(separator: "\n").last, line.hasPrefix("bwrap: ") {
            let probe = await probe()
            if !probe.isAvailable {
                throw UsageError(
                    RuntimeErrorCode.cannotRun,
                    "\(probe.detail)" + (probe.hint.map { " (fix: \($0))" } ?? "")
                )
            }
        }
        return result
    }

    public var explainsFailedRuns: Bool { executable != nil }
    public var fingerprint: String { "" }

    public func prepare(_ image: ImageRecord, from store: Store) async throws -> String {
        // Unpacking is blocking file work; it runs on a thread of its own, not the task's.
        try await Blocking.run { try ImageRootfs.unpack(image: image, in: store) }
    }

    public func version() async -> String {
        guard let executable else { return "none" }
        let (status, text) = await ChildProcess.capture([executable, "--version"], timeout: .seconds(10))
        return status == 0 ? text.trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
    }

    /// Binds every entry of the image directory `directory` ("" for the root) read-only at the
    /// same place (symlinks recreated), except the directories in `rebuilt`, which are made fresh
    /// and filled the same way one level down.
    private static func bindEntries(
        of directory: String,
        imagePrefix: String,
        rebuilt: Set<String>,
        skipping: Set<String> = [],
        into args: inout [String]
    ) throws {
        for entry in try FileSystem.list(imagePrefix + (directory.isEmpty ? "/" : directory)).sorted()
        where !skipping.contains(entry) {
            let inside = directory + "/" + entry
            let path = imagePrefix + inside
            switch FileSystem.kind(of: path) {
            case .symlink:
                guard let target = readLink(path) else { continue }
                args += ["--symlink", target, inside]
            case .directory where rebuilt.contains(inside):
                args += ["--dir", inside]
                try bindEntries(of: inside, imagePrefix: imagePrefix, rebuilt: rebuilt, into: &args)
            case .directory, .regular:
                args += ["--ro-bind", path, inside]
            case .other, nil:
                continue  // sockets, devices: an image has none worth binding
            }
        }
    }

    private static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buffer, 4096)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
