// AirlockPython owns the Python side of a Function App build: target profiles and compatible wheel
// tags, locking through the user's own resolver, fetching locked files into the store, installing
// wheels into `.python_packages/lib/site-packages`, auditing ELF files against the target's glibc,
// and writing the deterministic deployment zip. It does not run containers (AirlockContainer does)
// and never imports another domain's internals; the CLI wires it to the store and the bundle.

public import AirlockCore

/// The reasons AirlockPython's errors give (`python.<reason>` in `--json` errors).
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
}
