// Where the passphrase of an encrypted private key comes from: the first line of a file, read the way
// `openssl ... -passin file:F` reads it (up to the first newline, which is not part of it), or typed
// on the controlling terminal with echo off. Never standard input, and never a wait when there is no
// terminal: a job with an encrypted key and no passphrase file fails at once, saying what to pass.

/// The source of the passphrase for an encrypted private key.
public enum KeyPassphrase: Sendable, Equatable {
    /// `--passphrase-file FILE`: its first line.
    case file(String)
    /// Ask on `/dev/tty`, when the process has one.
    case terminal

    /// `--passphrase-file`, or the terminal when it was not given.
    public init(file: String?) { self = file.map(KeyPassphrase.file) ?? .terminal }

    /// The longest line `openssl -passin file:` reads whole (its buffer is 1024 bytes).
    static let longestLine = 1023

    /// The passphrase for `key` (the key file named in the prompt and in errors). `confirming` asks
    /// twice on a terminal and requires the same answer, for a key about to be written.
    ///
    /// Blocks while a person types: call it off Swift's cooperative pool (see `Blocking`).
    public func read(for key: String, confirming: Bool = false) throws -> [UInt8] {
        switch self {
        case .file(let path): return try Self.firstLine(of: path, for: key)
        case .terminal: return try Self.ask(for: key, confirming: confirming)
        }
    }

    private static func firstLine(of path: String, for key: String) throws -> [UInt8] {
        guard FileSystem.kind(of: path) != nil else {
            throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such passphrase file (for \(key))")
        }
        guard FileSystem.kind(of: path) != .directory else {
            throw UsageError(CoreErrorCode.notAFile, "\(path): is a directory, not a passphrase file")
        }
        let bytes = try FileSystem.readFile(path, limit: 64 << 10)
        let line = Array(bytes.prefix { $0 != UInt8(ascii: "\n") })
        guard !line.isEmpty else {
            throw UsageError(
                CoreErrorCode.noPassphrase,
                "\(path): the passphrase file is empty or its first line is; write the passphrase on its first line"
            )
        }
        guard line.count <= longestLine else {
            throw UsageError(
                CoreErrorCode.noPassphrase,
                "\(path): the passphrase (its first line) is longer than \(longestLine) bytes, more than openssl reads"
            )
        }
        return line
    }

    private static func ask(for key: String, confirming: Bool) throws -> [UInt8] {
        guard let terminal = FileDescriptor.openTerminal() else {
            throw UsageError(
                CoreErrorCode.noPassphrase,
                "\(key): the private key is encrypted and there is no terminal to ask for its passphrase; "
                    + "pass --passphrase-file FILE (the passphrase is its first line)"
            )
        }
        let verb = confirming ? "Enter a passphrase for the new key" : "Enter the passphrase for"
        guard let first = try terminal.readLineWithoutEcho(prompt: "\(verb) \(key): "), !first.isEmpty else {
            throw UsageError(CoreErrorCode.noPassphrase, "\(key): no passphrase typed")
        }
        guard first.count <= longestLine else {
            throw UsageError(CoreErrorCode.noPassphrase, "\(key): the passphrase is longer than \(longestLine) bytes")
        }
        if confirming {
            let again = try terminal.readLineWithoutEcho(prompt: "Type it again: ")
            guard again == first else {
                throw UsageError(
                    CoreErrorCode.noPassphrase,
                    "\(key): the two passphrases typed differ; nothing was written"
                )
            }
        }
        return first
    }
}
