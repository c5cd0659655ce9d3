// The Python steps of `airlock build` that must run on the target's own Python: asking the image
// for its version (a different minor refuses the build), compiling `.pyc` files with checked-hash
// invalidation, and the smoke test that loads the app the way the Functions Python worker does and
// lists its functions. Each runs in the sandbox (network off, the built tree read-only at
// /home/site/wwwroot, one writable output directory, the clean environment). The Python programs
// are small and embedded here (PythonSandboxScripts.swift); everything they print on standard
// output and standard error is streamed to the user and kept for messages.

public import AirlockContainer
public import AirlockCore
import Foundation
import Synchronization

/// One function the smoke test found, as the worker would report it to the host.
public typealias SmokeFunction = AppFunction

/// What `--compile-bytecode` produced: each `.pyc` by its path in the zip.
public struct CompiledBytecode: Sendable {
    public var files: [(path: String, bytes: [UInt8])]
    /// Sources the image's Python could not compile (left without a `.pyc`, as pip does).
    public var skipped: [String]
}

/// The image and runtime a build's Python steps run in.
public struct PythonSandbox: Sendable {
    /// Where the deployment tree is mounted: the Function App's own path.
    public static let appRoot = "/home/site/wwwroot"
    static let outputRoot = "/airlock/out"

    public let runtime: any ContainerRuntime
    /// The image's name as the user gave it or the profile chose it, and its manifest digest.
    public let imageReference: String
    public let imageDigest: SHA256Digest
    /// What the runtime runs: for bwrap the unpacked rootfs, for docker/podman an image reference.
    public let runtimeImage: String
    public var output: SandboxOutput
    public var sourceDateEpoch: Int64

    public init(
        runtime: any ContainerRuntime,
        imageReference: String,
        imageDigest: SHA256Digest,
        runtimeImage: String,
        output: SandboxOutput = .discard,
        sourceDateEpoch: Int64 = SandboxSpec.defaultSourceDateEpoch
    ) {
        self.runtime = runtime
        self.imageReference = imageReference
        self.imageDigest = imageDigest
        self.runtimeImage = runtimeImage
        self.output = output
        self.sourceDateEpoch = sourceDateEpoch
    }

    /// The image named by `reference`, or the target's default, from the store, made ready for
    /// `runtime` (for bwrap: unpacked once into the store's rootfs cache).
    public static func prepare(
        image reference: String?,
        runtime: any ContainerRuntime,
        target: PythonTarget,
        store: Store
    ) async throws -> PythonSandbox {
        let (name, image) = try resolveImage(reference, target: target, store: store)
        let runtimeImage = try await runtime.prepare(image, from: store)
        return PythonSandbox(
            runtime: runtime, imageReference: name, imageDigest: image.manifest, runtimeImage: runtimeImage
        )
    }

    /// The image named by `reference`, or the target's default, from the store; an error that
    /// says how to make the default when the store lacks it.
    public static func resolveImage(_ reference: String?, target: PythonTarget, store: Store) throws -> (name: String, image: ImageRecord) {
        let name: String
        if let reference {
            name = reference
        } else if let profile = DefaultImage.forPython(target.pythonVersion) {
            name = profile.reference
        } else {
            throw UsageError(
                PythonBuildErrorCode.noDefaultImage,
                "Python \(target.pythonVersion): no default build image (Debian has no system Python \(target.pythonVersion)); "
                    + "import the Functions image (on a connected host with Docker: docker save mcr.microsoft.com/azure-functions/python:4-python\(target.pythonVersion) -o python.tar; "
                    + "then airlock image import python.tar) and pass --image"
            )
        }
        do {
            return (name, try ImageCatalog.resolve(name, in: store))
        } catch let error as ImageError where reference == nil && error.code == ImageErrorCode.notFound.code {
            guard let profile = DefaultImage.forPython(target.pythonVersion) else { throw error }
            throw UsageError(
                ImageErrorCode.notFound,
                "\(error.description); the default build image for Python \(target.pythonVersion) is made once with: "
                    + "airlock image bootstrap --suite \(profile.suite) --packages \(profile.packages.joined(separator: ",")) --name \(profile.reference)"
            )
        }
    }

    private func spec(
        _ arguments: [String],
        mounts: [Mount] = [],
        workingDirectory: String = "/",
        environment: [String: String] = [:],
        timeLimit: Duration,
        output: SandboxOutput? = nil
    ) -> SandboxSpec {
        SandboxSpec(
            image: runtimeImage, arguments: arguments, workingDirectory: workingDirectory, mounts: mounts,
            environment: environment, sourceDateEpoch: sourceDateEpoch, timeLimit: timeLimit, output: output ?? self.output
        )
    }

    private func failure(_ code: PythonBuildErrorCode, _ what: String, _ result: SandboxResult) -> CheckFailure {
        let why = result.timedOut ? "timed out" : "exited with status \(result.status)"
        let tail = result.tail.trimmingCharacters(in: .whitespacesAndNewlines)
        return CheckFailure(
            code,
            "\(what) in \(imageReference) (\(runtime.name)) \(why)" + (tail.isEmpty ? "" : ":\n" + tail)
        )
    }

    /// The image's `python3` version (`3.11.2`).
    public func pythonVersion() async throws -> String {
        let lines = LineBox()
        let result = try await runtime.run(
            spec(
                ["python3", "-I", "-S", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                timeLimit: .seconds(60), output: SandboxOutput { stream, line in if stream == .standardOutput { lines.append(line) } }
            )
        )
        guard result.succeeded, let version = lines.last, version.split(separator: ".").count == 3 else {
            throw failure(.pythonCheckFailed, "asking python3 for its version", result)
        }
        return version
    }

    /// Where the image's own `python3` installs and finds packages, as `pip install` in a
    /// Dockerfile would put them: its version, sysconfig's purelib and platlib, the directories
    /// site.py puts on sys.path (whether they exist yet or not), and its C library.
    public func installPaths() async throws -> PythonInstallPaths {
        let lines = LineBox()
        let probe = """
            import json, os, site, sys, sysconfig
            paths = sysconfig.get_paths()
            libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
            print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "purelib": paths["purelib"],
                              "platlib": paths["platlib"], "sitePackages": site.getsitepackages(), "libc": libc}))
            """
        let result = try await runtime.run(
            spec(
                ["python3", "-I", "-c", probe], timeLimit: .seconds(60),
                output: SandboxOutput { stream, line in if stream == .standardOutput { lines.append(line) } }
            )
        )
        guard result.succeeded, let line = lines.last,
            let paths = try? JSONDecoder().decode(PythonInstallPaths.self, from: Data(line.utf8))
        else {
            throw failure(.pythonCheckFailed, "asking python3 where it installs packages", result)
        }
        return paths
    }

    /// Refuses an image whose Python minor differs from the target's, naming both.
    @discardableResult
    public func checkPython(matches target: PythonTarget) async throws -> String {
        let version = try await pythonVersion()
        let minor = version.split(separator: ".").prefix(2).joined(separator: ".")
        guard minor == target.pythonVersion else {
            throw UsageError(
                PythonBuildErrorCode.pythonMismatch,
                "image \(imageReference) has Python \(version), but the target is Python \(target.pythonVersion): "
                    + "pick a matching image with --image (see `airlock image ls`), or lock for Python \(minor)"
            )
        }
        return version
    }

    /// Compiles every `.py` under `tree` (mounted read-only) into checked-hash `.pyc` files named
    /// as the image's Python names them, with paths as they will be in the Function App.
    public func compileBytecode(tree: String, scratch: String) async throws -> CompiledBytecode {
        let out = scratch + "/bytecode"
        try FileSystem.makeDirectory(out)
        let result = try await runtime.run(
            spec(
                // Not -I: it would ignore PYTHONHASHSEED (the environment is the sandbox's clean one).
                ["python3", "-s", "-S", "-c", PythonSandboxScripts.compile, Self.appRoot, Self.outputRoot],
                mounts: [Mount(source: tree, target: Self.appRoot), .output(out, at: Self.outputRoot)],
                environment: ["PYTHONHASHSEED": "0"], timeLimit: .seconds(900), output: .discard
            )
        )
        guard result.succeeded else { throw failure(.bytecodeFailed, "compiling bytecode", result) }
        let report = try JSONValue(parsing: try FileSystem.readFile(out + "/report.json", limit: 64 << 20))
        var files: [(path: String, bytes: [UInt8])] = []
        for item in report["compiled"]?.arrayValue ?? [] {
            guard let path = item.stringValue, Self.isCleanRelative(path), path.hasSuffix(".pyc") else {
                throw CheckFailure(
                    PythonBuildErrorCode.bytecodeFailed,
                    "compiling bytecode: the report names an unexpected path \(item)"
                )
            }
            files.append((path, try FileSystem.readFile(out + "/pyc/" + path, limit: 256 << 20)))
        }
        let skipped = (report["skipped"]?.arrayValue ?? []).compactMap(\.stringValue)
        return CompiledBytecode(files: files, skipped: skipped)
    }

    /// A relative path with no empty, `.` or `..` component: what the compile report may name.
    static func isCleanRelative(_ path: String) -> Bool {
        guard !path.hasPrefix("/"), !path.utf8.contains(0) else { return false }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        return !parts.isEmpty && !parts.contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// Loads the app from `tree` (mounted read-only at /home/site/wwwroot, with nothing but its
    /// `.python_packages/lib/site-packages` and the standard library on `sys.path`) and lists its
    /// functions. No function, more than one app object, or an import error is a failed check
    /// carrying the Python traceback.
    /// `settings` are app settings the app reads while it is imported (as the worker's environment
    /// would have them), on top of the worker's own FUNCTIONS_WORKER_RUNTIME and AzureWebJobsScriptRoot.
    /// With `tree` nil the app is the image's own /home/site/wwwroot, and the image's
    /// site-packages are on `sys.path` too (an image built by `image build`, its wheels installed
    /// where the image's Python finds them).
    public func smokeTest(
        tree: String?, scriptFile: String, scratch: String, settings: [String: String] = [:]
    ) async throws -> [SmokeFunction] {
        let out = scratch + "/smoke"
        try FileSystem.makeDirectory(out)
        let environment = ["FUNCTIONS_WORKER_RUNTIME": "python", "AzureWebJobsScriptRoot": Self.appRoot].merging(settings) { _, given in given }
        let flags = tree == nil ? ["-I"] : ["-I", "-S"]
        let app = tree.map { [Mount(source: $0, target: Self.appRoot)] } ?? []
        let result = try await runtime.run(
            spec(
                ["python3"] + flags + ["-c", PythonSandboxScripts.smoke, Self.appRoot, scriptFile, Self.outputRoot + "/functions.json"],
                mounts: app + [.output(out, at: Self.outputRoot)],
                workingDirectory: Self.appRoot, environment: environment, timeLimit: .seconds(180)
            )
        )
        guard result.succeeded else {
            let tail = result.tail.trimmingCharacters(in: .whitespacesAndNewlines)
            let why = result.timedOut ? "timed out after 180 s" : "failed"
            throw CheckFailure(
                Self.smokeTestCode(result),
                "smoke test of \(scriptFile) in \(imageReference) (\(runtime.name)) \(why); the app would not load in Azure either"
                    + (tail.isEmpty ? "" : ":\n" + tail)
            )
        }
        let data = try FileSystem.readFile(out + "/functions.json", limit: 16 << 20)
        let functions: [SmokeFunction]
        do {
            functions = try JSONDecoder().decode([SmokeFunction].self, from: Data(data))
        } catch {
            throw CheckFailure(
                PythonBuildErrorCode.badFunctionList,
                "smoke test: its function list is not valid: \(error)"
            )
        }
        guard !functions.isEmpty else {
            throw CheckFailure(PythonBuildErrorCode.noFunction, "smoke test: the app registers no function")
        }
        return functions
    }

    /// What a failed smoke test's exit status says (Resources/smoke_test.py): 4, no single
    /// FunctionApp instance; 6, no function; anything else (an import or get_functions() that
    /// raised, a time limit), the app does not load.
    static func smokeTestCode(_ result: SandboxResult) -> PythonBuildErrorCode {
        guard !result.timedOut else { return .smokeTestFailed }
        switch result.status {
        case 4: return .noAppInstance
        case 6: return .noFunction
        default: return .smokeTestFailed
        }
    }
}

/// Where an image's Python installs packages (PythonSandbox.installPaths).
public struct PythonInstallPaths: Codable, Sendable, Equatable {
    public var version: String
    public var purelib: String
    public var platlib: String
    public var sitePackages: [String]
    /// `glibc 2.31`; nil for another C library.
    public var libc: String?

    /// The glibc version (`2.31`), when the C library is glibc.
    public var glibc: String? {
        guard let libc, libc.hasPrefix("glibc ") else { return nil }
        return String(libc.dropFirst(6))
    }
}

/// The default build image of a Python minor: Debian's own `python3` on the suite that has it (the
/// target profile's `buildSuite`), bootstrapped as `airlock-python:<minor>-<suite>`.
public struct DefaultImage: Sendable {
    public let python: String
    public let suite: String
    public var reference: String { "airlock-python:\(python)-\(suite)" }
    /// What is installed on top of minbase: the suite's own python3 is the target's Python.
    public var packages: [String] { ["python3"] }

    public static func forPython(_ version: String) -> DefaultImage? {
        TargetProfiles.python[version]?.buildSuite.map { DefaultImage(python: version, suite: $0) }
    }
}

/// Collects lines from the sandbox's reader thread.
private final class LineBox: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var last: String? { lines.withLock { $0.last } }
}
