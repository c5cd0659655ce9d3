// AirlockCore owns what every domain shares: SHA-256 digests, the content-addressed store and its
// SQLite index, tar archives, canonical JSON, manifests, Ed25519 signing and progress reporting.
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

/// Every error Airlock shows a user: one line (`description`) naming the file or digest and the
/// reason, and the exit status it maps to.
public protocol AirlockError: Error, CustomStringConvertible, Sendable {
    var status: ExitStatus { get }
}

/// A plain usage or input error (exit 2) with its message.
public struct UsageError: AirlockError {
    public let description: String
    public var status: ExitStatus { .badInput }
    public init(_ description: String) { self.description = description }
}

/// A failed check (exit 1) carrying every reason found.
public struct CheckFailure: AirlockError {
    public let reasons: [String]
    public var status: ExitStatus { .checkFailed }
    public init(_ reasons: [String]) { self.reasons = reasons }
    public init(_ reason: String) { self.reasons = [reason] }
    public var description: String { reasons.joined(separator: "\n") }
}
