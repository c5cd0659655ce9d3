// Every reason AirlockPython's errors give, one enum per domain: `python` (the project, its target,
// its requirements and the lock), `wheel` (a wheel's name and contents), `sdist` (an sdist's name,
// archive and sandboxed build), `build` (the app build and what seals it), `glibc` (the ELF audit)
// and `fetch` (one locked file's download). A code is `domain.reason` in `--json` errors; it may be
// added, never renamed or given another meaning. Each case's comment is its meaning, and its exit
// status when it always has the same one.

public import AirlockCore

/// The project, its target, its requirements file and `airlock lock` (`python.<reason>`).
public enum PythonErrorCode: String, ErrorCodes {
    public static let domain = "python"
    /// A requirements file pins some lines with --hash and not others.
    case partlyHashed = "partly-hashed"
    /// No wheel fits the target, and the index has no sdist to take instead.
    case noDistribution = "no-distribution"
    /// An sdist's dependencies are not static, and no sandbox (runtime, image, store) is at hand to
    /// ask its build backend for them.
    case sandboxNeeded = "sandbox-needed"
    /// An sdist's metadata is unreadable, or names another project or version, or its backend
    /// could not prepare it.
    case sdistMetadata = "sdist-metadata"
    /// A downloaded sdist does not hash to the sha256 the index gives for it.
    case sdistHashMismatch = "sdist-hash-mismatch"
    /// Taking sdists for requirements with no wheel kept uncovering new ones past the round limit.
    case notConverged = "not-converged"

    /// The project (app) directory does not exist, or is not a directory (exit 2).
    case noProject = "no-project"
    /// `--python` names no Functions v4 Python Airlock supports (exit 2).
    case unsupportedPython = "unsupported-python"
    /// The platform is not linux/amd64 or linux/arm64 (exit 2).
    case unsupportedPlatform = "unsupported-platform"
    /// The glibc version is not of the form 2.31 (exit 2).
    case badGlibc = "bad-glibc"
    /// `--resolver` is not pip or uv (exit 2).
    case unknownResolver = "unknown-resolver"

    /// The requirements file, or one it includes with -r, does not exist (exit 2).
    case noRequirements = "no-requirements"
    /// A requirements line Airlock cannot take: -r without a file or with a URL, includes nested
    /// more than 16 deep, a --hash that is not ALGORITHM:HEX (exit 2).
    case badRequirements = "bad-requirements"
    /// A line of a hash-pinned file is not NAME==VERSION (or NAME @ URL) (exit 2).
    case notPinned = "not-pinned"
    /// A line of a hash-pinned file has no --hash=sha256 (exit 2).
    case noSHA256Pin = "no-sha256-pin"
    /// A requirement pip would build on this host (an editable, a local path, an sdist or VCS URL),
    /// or pip chose something that is not a wheel (exit 2).
    case notAWheel = "not-a-wheel"

    /// The python that locks is not on PATH (exit 2).
    case noPython = "no-python"
    /// That python has no pip (exit 2).
    case noPip = "no-pip"
    /// pip failed for another reason; the message ends with pip's last lines (exit 2).
    case pipFailed = "pip-failed"
    /// pip's `--report` output is not an installation report of version 1 (exit 2).
    case badPipReport = "bad-pip-report"
    /// pip, uv or a helper wrote more than 256 MiB on standard output (exit 2).
    case tooMuchOutput = "too-much-output"
    /// One of Airlock's pip helpers (the index probe, the sdist fetcher or finder, the pyproject
    /// reader) failed or printed something that is not its answer (exit 2).
    case helperFailed = "helper-failed"
    /// A hash-pinned sdist could not be fetched through pip's session (exit 2).
    case sdistFetchFailed = "sdist-fetch-failed"
    /// An sdist's pyproject.toml has a `[build-system]` table Airlock cannot use (exit 2).
    case badBuildSystem = "bad-build-system"
    /// The build requirements an sdist's metadata step needs could not be fetched into the store
    /// (exit 2).
    case buildRequirementsNotFetched = "build-requirements-not-fetched"

    /// A file's sha256 is none of its requirement's --hash=sha256 pins (exit 1).
    case pinMismatch = "pin-mismatch"
    /// pip reports a wheel as another project than its file name says (exit 1).
    case nameMismatch = "name-mismatch"
    /// Neither pip's report nor the index gives a file's sha256 (exit 2).
    case noSHA256 = "no-sha256"

    /// `--resolver uv`, but uv is not on PATH (exit 2).
    case noUV = "no-uv"
    /// uv names no manylinux platform for the target's glibc (exit 2).
    case uvNoPlatform = "uv-no-platform"
    /// uv could not resolve the requirements, or gave no hash-pinned ones (exit 2).
    case uvFailed = "uv-failed"

    /// The project has no airlock.lock (exit 2).
    case noLock = "no-lock"
    /// airlock.lock is not a valid lock: not its JSON, not version 1, a bad sha256 or file name, a
    /// build requirement that is not a wheel (exit 2).
    case badLock = "bad-lock"
}

/// A wheel's file name and contents, as the installer checks them (`wheel.<reason>`).
public enum WheelErrorCode: String, ErrorCodes {
    public static let domain = "wheel"
    /// Not a wheel file name (NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl), or a build tag not
    /// starting with a digit.
    case badName = "bad-name"
    /// Its tags fit no tag the target accepts (exit 2 from the installer, 1 when pip chose it).
    case tagsDoNotFit = "tags-do-not-fit"
    /// A member the installer refuses: a path leaving the target, a link, a device, an encrypted
    /// or unreadable member, one missing from the central directory, over 512 MiB, inflating to
    /// another size, or in an unknown `.data` scheme.
    case badMember = "bad-member"
    /// A member name appears twice.
    case duplicateMember = "duplicate-member"
    /// Not exactly one `.dist-info` directory with a RECORD, or one of another distribution.
    case badLayout = "bad-layout"
    /// WHEEL is missing or not Wheel-Version 1.x, or entry_points.txt is malformed.
    case badMetadata = "bad-metadata"
    /// RECORD is missing, has a malformed line, or lists a hash that is not sha256.
    case badRecord = "bad-record"
    /// A member is not listed in RECORD.
    case notInRecord = "not-in-record"
    /// A member's sha256 or size is not what RECORD says.
    case recordMismatch = "record-mismatch"
    /// Two members, or two wheels of one build, install to the same path.
    case duplicateFile = "duplicate-file"
}

/// An sdist's name, its archive as hostile input, and its build into a wheel (`sdist.<reason>`).
public enum SdistErrorCode: String, ErrorCodes {
    public static let domain = "sdist"
    /// Not an sdist file name (NAME-VERSION.tar.gz or NAME-VERSION.zip) (exit 2).
    case badName = "bad-name"
    /// The sdist's file name gives another version than the lock (exit 1).
    case versionMismatch = "version-mismatch"
    /// The build image's digest is not a sha256 digest (exit 2).
    case badImageDigest = "bad-image-digest"
    /// Not an archive libarchive can read (exit 2).
    case unreadable
    /// A member refused by name or type: an absolute or `..` path, a link out of the tree or
    /// through another link, a member below a link, a hard link, a device, a sparse file, a
    /// duplicate (exit 1).
    case hostileMember = "hostile-member"
    /// Not one top-level directory NAME-VERSION holding the files (exit 1).
    case badLayout = "bad-layout"
    /// Over the member, file or unpacked size limits (exit 1).
    case tooLarge = "too-large"
    /// Two build wheels install the same file into the build environment (exit 2).
    case environmentConflict = "environment-conflict"
    /// Its pyproject.toml's `[build-system]` cannot be used, or its backend-path leaves the source
    /// tree (exit 2).
    case badBuildSystem = "bad-build-system"
    /// A build requirement, listed or asked for by the backend, is not in the build environment
    /// (exit 2).
    case missingBuildRequirement = "missing-build-requirement"
    /// The build ran past its time limit (exit 2).
    case timeLimit = "time-limit"
    /// The build backend failed or misbehaved; the message ends with its last lines (exit 2).
    case buildFailed = "build-failed"
    /// The build left something other than one wheel (or the metadata step other than METADATA)
    /// (exit 1).
    case badOutput = "bad-output"
    /// The build made a wheel of another project or version (exit 1).
    case wrongWheel = "wrong-wheel"
}

/// Why a project cannot be built, or sealed as built (`build.<reason>`).
public enum PythonBuildErrorCode: String, ErrorCodes {
    public static let domain = "build"
    /// `seal --project` before a build (exit 2).
    case notBuilt = "not-built"
    /// The built zip no longer matches the lock or its provenance (exit 2).
    case stale
    /// The app lacks function_app.py (or its PYTHON_SCRIPT_FILE_NAME), host.json or
    /// requirements.txt at its root (exit 2).
    case missingAppFile = "missing-app-file"
    /// A symbolic link would be packaged (exit 2).
    case appSymlink = "app-symlink"
    /// A device, FIFO or socket would be packaged (exit 2).
    case appSpecialFile = "app-special-file"
    /// A file whose name is not valid UTF-8, or that vanished while listed (exit 2).
    case appUnreadableName = "app-unreadable-name"
    /// .funcignore is a symbolic link or not a regular file (exit 2).
    case badFuncIgnore = "bad-funcignore"
    /// Something needs the sandbox, but --no-sandbox was given: --compile-bytecode, --image, an
    /// sdist in the lock (exit 2).
    case needsSandbox = "needs-sandbox"
    /// `--tree` names a directory that is not empty (exit 2).
    case treeNotEmpty = "tree-not-empty"
    /// `--setting` is not NAME=VALUE with a name of letters, digits, _ and . (exit 2).
    case badSetting = "bad-setting"
    /// The target's Python has no default build image (exit 2).
    case noDefaultImage = "no-default-image"
    /// The image's Python minor is not the target's (exit 2).
    case pythonMismatch = "python-mismatch"
    /// Asking the image's python3 for its version failed (exit 1).
    case pythonCheckFailed = "python-check-failed"
    /// Compiling bytecode in the sandbox failed, or its report named an unexpected path (exit 1).
    case bytecodeFailed = "bytecode-failed"
    /// The smoke test could not load the app: an import raised, get_functions() raised, or it
    /// timed out; the message carries the traceback (exit 1).
    case smokeTestFailed = "smoke-test-failed"
    /// The app has no top-level FunctionApp instance, or more than one (the worker's message) (exit 1).
    case noAppInstance = "no-app-instance"
    /// The app registers no function (exit 1).
    case noFunction = "no-function"
    /// The smoke test's function list is not valid (exit 1).
    case badFunctionList = "bad-function-list"
}

/// One reason an ELF file will not load on the target (`glibc.<reason>`), on each `GlibcViolation`
/// and on the `GlibcAuditError` (its first violation's); all exit 1.
public enum GlibcErrorCode: String, ErrorCodes {
    public static let domain = "glibc"
    /// Needs a GLIBC_ symbol version newer than the target's glibc (or GLIBC_ABI_DT_RELR before 2.36).
    case tooNew = "too-new"
    /// Needs a GLIBCXX_ or CXXABI_ version newer than the libstdc++ beside the target's glibc.
    case cxxTooNew = "cxx-too-new"
    /// Needs GLIBC_PRIVATE, which no target guarantees.
    case privateSymbol = "private-symbol"
    /// Needs a GLIBC_ version Airlock cannot compare.
    case unknownVersion = "unknown-version"
    /// Built for another machine than the target's.
    case wrongMachine = "wrong-machine"
    /// Not a readable ELF file, or not readable at all.
    case unreadable
}

/// Why one locked file was not stored (`fetch.<reason>`): on each failed `FetchedFile`, and on the
/// `FetchError` (its first failure's); the fetch exits 1.
public enum FetchErrorCode: String, ErrorCodes {
    public static let domain = "fetch"
    /// The lock's sha256 for it is not a sha256 digest.
    case badDigest = "bad-digest"
    /// The lock has no URL for it.
    case noURL = "no-url"
    /// Its URL is not http, https or file.
    case unsupportedURL = "unsupported-url"
    /// A file: URL that cannot be read.
    case unreadableFile = "unreadable-file"
    /// Its size is not the lock's.
    case sizeMismatch = "size-mismatch"
    /// Its bytes do not hash to the lock's sha256.
    case hashMismatch = "hash-mismatch"
    /// The server answered with an HTTP error status.
    case httpStatus = "http-status"
    /// The server's answer to a range request cannot be used.
    case badRange = "bad-range"
    /// A redirect to another scheme, or too many redirects.
    case redirectRefused = "redirect-refused"
    /// No response: the connection, TLS verification or the proxy failed.
    case noResponse = "no-response"
    /// The download stopped part way; fetch again resumes it.
    case interrupted
    /// Retired: no download needs pip's network session any more (the HTTP client takes the CA
    /// bundle itself), so nothing reports it; the name is kept so that it is never reused.
    case needsPip = "needs-pip"
    /// Not attempted: the fetch stopped before it.
    case notAttempted = "not-attempted"
}
