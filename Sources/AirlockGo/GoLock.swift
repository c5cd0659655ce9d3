// `airlock.lock` for a Go project: the toolchain (version and sha256) and every module version the
// build needs, with what go.sum says of each. Pretty JSON, sorted keys, modules sorted by path
// then version. It also records the sha256 of go.mod and go.sum, so a build notices a project
// changed since the lock. A module whose go.sum lists its zip needs the zip (it provides packages);
// the others are in the module graph for their go.mod alone, as `go mod download` would treat them.
//
// The module list comes from the stored toolchain's own `go list -m -json all`, run on the
// connected host against the same GOPROXY: the build list is minimal version selection over go.mod
// files with graph pruning (go 1.17+), lazy loading and replacements, which the pinned go command
// gives exactly and a second implementation here could only approximate. It reads go.mod files
// only (small), with go.sum checked (-mod=readonly), into a module cache that is removed after.

public import AirlockCore
import Foundation

public struct GoLock: Codable, Sendable, Equatable {
    public static let fileName = "airlock.lock"

    public struct Toolchain: Codable, Sendable, Equatable {
        /// `1.22.10`.
        public var version: String
        /// `go1.22.10.linux-amd64`.
        public var name: String
        public var sha256: SHA256Digest

        public init(version: String, name: String, sha256: SHA256Digest) {
            self.version = version
            self.name = name
            self.sha256 = sha256
        }
    }

    public struct Module: Codable, Sendable, Equatable {
        public var path: String
        public var version: String
        /// go.sum's `h1:` of its go.mod.
        public var goMod: String
        /// go.sum's `h1:` of its zip; nil when only its go.mod is needed.
        public var zip: String?
        public var indirect: Bool?

        public init(path: String, version: String, goMod: String, zip: String?, indirect: Bool? = nil) {
            self.path = path
            self.version = version
            self.goMod = goMod
            self.zip = zip
            self.indirect = indirect
        }

        public var module: ModuleVersion { ModuleVersion(checked: path, version: version) }
    }

    public var lockVersion: Int
    /// Always `go`: what tells this lock from a Python one.
    public var language: String
    /// The main module's path.
    public var module: String
    public var toolchain: Toolchain
    /// The sha256 of go.mod and go.sum as locked.
    public var goModSHA256: SHA256Digest
    public var goSumSHA256: SHA256Digest?
    /// True when the project vendors its modules (then `modules` is empty: nothing is fetched).
    public var vendored: Bool
    public var modules: [Module]

    public init(
        module: String, toolchain: Toolchain, goModSHA256: SHA256Digest, goSumSHA256: SHA256Digest?, vendored: Bool,
        modules: [Module]
    ) {
        self.lockVersion = 1
        self.language = "go"
        self.module = module
        self.toolchain = toolchain
        self.goModSHA256 = goModSHA256
        self.goSumSHA256 = goSumSHA256
        self.vendored = vendored
        self.modules = modules.sorted { ($0.path, $0.version) < ($1.path, $1.version) }
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }

    /// True when DIR holds a go.mod: the commands take it as a Go project.
    public static func isGoProject(_ project: String) -> Bool {
        FileSystem.kind(of: project + "/go.mod") == .regular
    }

    /// Reads DIR/airlock.lock as a Go lock.
    public static func read(project: String) throws -> (lock: GoLock, bytes: [UInt8]) {
        let path = project + "/" + fileName
        guard FileSystem.exists(path) else {
            throw UsageError(GoModuleErrorCode.noLock, "\(path): no lock; run `airlock lock --project \(project)` first")
        }
        let bytes = try FileSystem.readFile(path, limit: 64 << 20)
        guard let lock = try? JSONDecoder().decode(GoLock.self, from: Data(bytes)), lock.language == "go" else {
            throw UsageError(
                GoModuleErrorCode.noLock,
                "\(path): not a Go lock (the project has a go.mod); run `airlock lock --project \(project)` again"
            )
        }
        for module in lock.modules {
            do { _ = try ModuleVersion(path: module.path, version: module.version) } catch let error as UsageError {
                throw UsageError(code: error.code, "\(path): \(error.description)")
            }
        }
        return (lock, bytes)
    }

    /// Refuses a lock whose go.mod or go.sum is not the project's now.
    public func checkCurrent(project: String) throws {
        let (mod, _) = try Store.hashFile(project + "/go.mod")
        let sumPath = project + "/go.sum"
        let sum = FileSystem.exists(sumPath) ? try Store.hashFile(sumPath).0 : nil
        for (name, locked, now) in [("go.mod", Optional(goModSHA256), Optional(mod)), ("go.sum", goSumSHA256, sum)]
        where locked != now {
            throw UsageError(
                GoModuleErrorCode.staleLock,
                "\(project)/\(name) changed since \(project)/\(Self.fileName) was written; run `airlock lock --project \(project)` again"
            )
        }
    }
}

/// `airlock lock` for a Go project.
public enum GoLocker {
    public struct Options: Sendable {
        public var project: String
        /// `--go`: the release to pin when go.mod gives no exact one.
        public var goVersion: String?
        /// The connected host's environment (GOPROXY, GONOPROXY, GOPRIVATE, NETRC, proxies).
        public var environment: [String: String]

        public init(project: String, goVersion: String? = nil, environment: [String: String]) {
            self.project = project
            self.goVersion = goVersion
            self.environment = environment
        }
    }

    public struct Result: Sendable {
        public var lock: GoLock
        public var path: String
        public var changed: Bool
    }

    /// The host's platform as Go names it: the toolchain that runs here.
    public static var hostPlatform: String {
        #if arch(arm64)
            return "linux/arm64"
        #else
            return "linux/amd64"
        #endif
    }

    public static func lock(_ options: Options, store: Store, output: @escaping @Sendable (String) -> Void = { _ in })
        async throws -> Result
    {
        let project = options.project
        let mod = try GoModFile(contentsOf: project + "/go.mod")
        let version = try mod.pinnedRelease(override: options.goVersion)
        let toolchain = try GoToolchain.find(version: version, platform: hostPlatform, in: store)
        let sumPath = project + "/go.sum"
        let goSum = FileSystem.exists(sumPath) ? try GoSum(contentsOf: sumPath) : try GoSum(text: "", file: sumPath)
        let vendored = FileSystem.kind(of: project + "/vendor/modules.txt") == .regular
        var modules: [GoLock.Module] = []
        if vendored {
            try VendorModules(contentsOf: project + "/vendor/modules.txt").check(against: mod)
        } else {
            let proxies = try GoProxyList(options.environment["GOPROXY"])
            let listed = try await list(
                project: project, goRoot: try toolchain.unpacked(in: store), proxies: proxies,
                environment: options.environment, store: store, output: output
            )
            let noProxy = GoPathPatterns.noProxy(environment: options.environment)
            for item in listed {
                let module = try ModuleVersion(path: item.path, version: item.version)
                if noProxy.matches(item.path) {
                    throw UsageError(
                        GoModuleErrorCode.proxyRefused,
                        "\(module): matches GONOPROXY/GOPRIVATE, so the go command would fetch it from its VCS, which Airlock cannot; serve it from your module proxy and set GONOPROXY=none, or vendor it"
                    )
                }
                let zip = goSum.hashes[GoSum.Key(path: item.path, version: item.version, part: .zip)]?.first {
                    $0.hasPrefix("h1:")
                }
                modules.append(
                    GoLock.Module(
                        path: item.path, version: item.version, goMod: try goSum.hash(for: module, .goMod), zip: zip,
                        indirect: item.indirect ? true : nil
                    )
                )
            }
        }
        let lock = GoLock(
            module: mod.module ?? "",
            toolchain: .init(version: toolchain.version, name: toolchain.name, sha256: toolchain.digest),
            goModSHA256: try Store.hashFile(project + "/go.mod").0,
            goSumSHA256: FileSystem.exists(sumPath) ? try Store.hashFile(sumPath).0 : nil,
            vendored: vendored, modules: modules
        )
        let path = project + "/" + GoLock.fileName
        let bytes = try lock.encoded()
        let changed = (try? FileSystem.readFile(path, limit: 64 << 20)) != bytes
        if changed { try FileSystem.writeAtomically(path, bytes) }
        return Result(lock: lock, path: path, changed: changed)
    }

    struct Listed: Sendable {
        var path: String
        var version: String
        var indirect: Bool
    }

    /// The build list but the main module, replacements applied (a module replaced by another
    /// version is that version; one replaced by a directory needs no download and is left out).
    static func list(
        project: String, goRoot: String, proxies: GoProxyList, environment: [String: String], store: Store,
        output: @escaping @Sendable (String) -> Void
    ) async throws -> [Listed] {
        let scratch = try FileSystem.makeTemporaryDirectory(prefix: "airlock-go-list", in: store.temporaryDirectory)
        defer {
            // The module cache is read-only by design; make it removable first.
            chmodTree(scratch)
            FileSystem.removeTree(scratch)
        }
        var env: [String: String] = [
            "PATH": goRoot + "/bin:/usr/bin:/bin", "HOME": scratch, "GOROOT": goRoot, "GOPROXY": proxies.goValue,
            "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local", "GOSUMDB": "off", "GOENV": "off",
            "GOMODCACHE": scratch + "/mod", "GOCACHE": scratch + "/cache", "CGO_ENABLED": "0", "GONOPROXY": "none",
            "GOPRIVATE": "", "GOWORK": "off",
        ]
        for name in [
            "NETRC", "SSL_CERT_FILE", "SSL_CERT_DIR", "https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY",
            "no_proxy", "NO_PROXY", "GOINSECURE",
        ] {
            if let value = environment[name] { env[name] = value }
        }
        if env["NETRC"] == nil, let home = environment["HOME"] { env["NETRC"] = home + "/.netrc" }
        let process = ChildProcess(
            executable: goRoot + "/bin/go", arguments: ["list", "-m", "-json", "all"], environment: env,
            workingDirectory: project, timeLimit: .seconds(600),
            output: .lines { stream, line in if stream == .standardError { output(line) } },
            captureOutput: 64 << 20
        )
        let result = try await process.run()
        guard result.succeeded else {
            throw CheckFailure(
                GoModuleErrorCode.listFailed,
                "go list -m -json all in \(project) (GOPROXY=\(proxies.goValue)) failed:\n" + result.tailLines().joined(separator: "\n")
            )
        }
        var listed: [Listed] = []
        for object in try jsonObjects(result.standardOutput) {
            if object["Main"] == .bool(true) { continue }
            guard var path = object["Path"]?.stringValue, var version = object["Version"]?.stringValue else { continue }
            if let replace = object["Replace"], replace != .null {
                guard let newVersion = replace["Version"]?.stringValue, let newPath = replace["Path"]?.stringValue else {
                    continue
                }
                (path, version) = (newPath, newVersion)
            }
            try ModulePath.check(path)
            try ModulePath.checkVersion(version, of: path)
            listed.append(Listed(path: path, version: version, indirect: object["Indirect"] == .bool(true)))
        }
        return listed
    }

    /// The JSON objects `go list -json` prints one after another.
    static func jsonObjects(_ bytes: [UInt8]) throws -> [JSONValue] {
        var objects: [JSONValue] = []
        var depth = 0
        var inString = false
        var escaped = false
        var start = 0
        for (index, byte) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
                continue
            }
            switch byte {
            case 0x22: inString = true
            case 0x7B:
                if depth == 0 { start = index }
                depth += 1
            case 0x7D:
                depth -= 1
                if depth == 0 { objects.append(try JSONValue(parsing: Array(bytes[start...index]))) }
            default: break
            }
        }
        return objects
    }

    static func chmodTree(_ path: String) {
        guard FileSystem.kind(of: path) == .directory else { return }
        chmod(path, 0o755)
        for name in (try? FileSystem.list(path)) ?? [] { chmodTree(path + "/" + name) }
    }
}
