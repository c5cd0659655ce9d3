// AirlockCore owns what every domain shares: SHA-256 digests, the content-addressed store and its
// SQLite index, tar archives, canonical JSON, manifests, Ed25519 signing, progress reporting and the
// HTTP client (HTTP/HTTPSession.swift).
// It knows nothing of Python, Go, containers or bundles; those domains build on it.

/// Airlock's exit codes: part of its interface, so they live in one place.
public enum ExitStatus: Int32, Sendable {
    /// Everything asked for was done.
    case success = 0
    /// What was checked is wrong: a bad or missing signature, a hash or size mismatch, a truncated or
    /// tampered bundle, a rollback, an expired bundle, a corrupt blob.
    case checkFailed = 1
    /// The command cannot be carried out as asked: bad usage, a missing or unreadable file, a key with
    /// loose permissions, a file that is not a bundle at all.
    case badInput = 2
}

/// A stable, machine-readable name for what went wrong, `domain.reason` (`bundle.bad-signature`):
/// tests and `--json` callers switch on it instead of matching message text. Each domain lists its
/// reasons in an enum conforming to `ErrorCodes`; a code can only grow, never change meaning.
public struct ErrorCode: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(domain: String, reason: String) { rawValue = domain + "." + reason }
    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// One domain's error reasons: `enum BundleErrorCode: String, ErrorCodes { case badSignature = "bad-signature" }`.
public protocol ErrorCodes: RawRepresentable<String>, Sendable {
    static var domain: String { get }
}

extension ErrorCodes {
    public var code: ErrorCode { ErrorCode(domain: Self.domain, reason: rawValue) }
}

/// The reasons AirlockCore itself gives, and the two every domain falls back on. The table of every
/// domain's codes is manifests/error-codes.md.
public enum CoreErrorCode: String, ErrorCodes {
    public static let domain = "core"
    /// A usage or input error no more specific code names yet.
    case usage
    /// A failed check no more specific code names yet.
    case check
    /// A file operation failed (permission, I/O, ...); a missing file is `no-such-file`.
    case file
    /// A file or directory named on the command line (or needed next to one) does not exist.
    case noSuchFile = "no-such-file"
    /// A path names a directory, link or device where a regular file is needed.
    case notAFile = "not-a-file"
    /// A file is larger than the limit for what it holds.
    case tooLarge = "too-large"
    /// A name that must be a plain relative file name is not.
    case unsafePath = "unsafe-path"
    case cannotStartProcess = "cannot-start-process"
    /// An input file changed while Airlock read it.
    case inputChanged = "input-changed"
    case outOfMemory = "out-of-memory"
    case badSourceDateEpoch = "bad-source-date-epoch"
    // The store.
    case notAStore = "not-a-store"
    case readOnlyStore = "read-only-store"
    case storeLocked = "store-locked"
    /// `seal --self` with a binary that needs shared libraries from its host.
    case notSelfContained = "not-self-contained"
    /// `self verify`: the running binary is not the release imported last.
    case notTheImportedRelease = "not-the-imported-release"
    case storeIndex = "store-index"
    case noSpace = "no-space"
    /// SIGINT or SIGTERM stopped the command (exit 130 or 143), after its cleanup.
    case interrupted
    case notInStore = "not-in-store"
    case ambiguousReference = "ambiguous-reference"
    case corruptBlob = "corrupt-blob"
    // Documents and formats.
    case badJSON = "bad-json"
    case badManifest = "bad-manifest"
    case badProvenance = "bad-provenance"
    case badArchive = "bad-archive"
    case notAnArchive = "not-an-archive"
    case cannotWriteArchive = "cannot-write-archive"
    case badZip = "bad-zip"
    case cannotWriteZip = "cannot-write-zip"
    case badELF = "bad-elf"
    case unsupportedELF = "unsupported-elf"
    // Keys and signatures.
    case badKey = "bad-key"
    case keyExists = "key-exists"
    case keyPermissions = "key-permissions"
    /// An encrypted private key that the passphrase given does not open.
    case badPassphrase = "bad-passphrase"
    /// An encrypted private key and no passphrase: no --passphrase-file and no terminal to ask on,
    /// or a passphrase file that is missing or empty.
    case noPassphrase = "no-passphrase"
    case badSignature = "bad-signature"
    case cryptoFailed = "crypto-failed"
}

/// Every error Airlock shows a user: one line (`description`) naming the file or digest and the
/// reason, the exit status it maps to, and a code naming the reason for machines.
public protocol AirlockError: Error, CustomStringConvertible, Sendable {
    var status: ExitStatus { get }
    var code: ErrorCode { get }
}

extension AirlockError {
    public var code: ErrorCode { status == .checkFailed ? CoreErrorCode.check.code : CoreErrorCode.usage.code }
}

/// A plain usage or input error (exit 2) with its message.
public struct UsageError: AirlockError {
    public let description: String
    public let code: ErrorCode
    public var status: ExitStatus { .badInput }
    public init(_ description: String) {
        self.description = description
        self.code = CoreErrorCode.usage.code
    }
    public init(_ code: some ErrorCodes, _ description: String) {
        self.description = description
        self.code = code.code
    }
    /// For a code found at run time (an error being rethrown with more said).
    public init(code: ErrorCode, _ description: String) {
        self.description = description
        self.code = code
    }
}

/// A failed check (exit 1) carrying every reason found.
public struct CheckFailure: AirlockError {
    public let reasons: [String]
    public let code: ErrorCode
    public var status: ExitStatus { .checkFailed }
    public init(_ reasons: [String]) {
        self.reasons = reasons
        self.code = CoreErrorCode.check.code
    }
    public init(_ reason: String) { self.init([reason]) }
    public init(_ code: some ErrorCodes, _ reason: String) { self.init(code, [reason]) }
    public init(_ code: some ErrorCodes, _ reasons: [String]) { self.init(code: code.code, reasons) }
    /// For a code found at run time (the first of a report's problems).
    public init(code: ErrorCode, _ reasons: [String]) {
        self.reasons = reasons
        self.code = code
    }
    public var description: String { reasons.joined(separator: "\n") }
}
