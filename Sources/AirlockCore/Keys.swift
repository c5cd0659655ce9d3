// Ed25519 key files: PKCS#8 PEM private keys (mode 0600, created with that mode; plain, or encrypted
// with a passphrase so a key on a shared machine is protected at rest) and SPKI PEM public keys, and
// the key id that names a signer: the sha256 of the DER SubjectPublicKeyInfo. A private key that
// group or others can read is refused, as ssh refuses one, whether it is encrypted or not.

public enum KeyFiles {
    /// Writes `prefix.key` and `prefix.pub` for a new key; refuses to replace existing files. With
    /// a `passphrase`, the private key is written encrypted (`Ed25519PrivateKey.encryptedPKCS8PEM`).
    public static func generate(prefix: String, passphrase: KeyPassphrase? = nil) throws -> Ed25519PublicKey {
        let privatePath = prefix + ".key"
        let publicPath = prefix + ".pub"
        for path in [privatePath, publicPath] where FileSystem.exists(path) {
            throw UsageError(
                CoreErrorCode.keyExists,
                "\(path): already exists; Airlock never overwrites a key (move it away or pick another --out)"
            )
        }
        // Asked before anything is written, so a mistyped confirmation leaves no files.
        let secret = try passphrase.map { try $0.read(for: privatePath, confirming: true) }
        let dir = FileSystem.parentPath(prefix)
        if !dir.isEmpty { try FileSystem.makeDirectory(dir) }
        let key = try Ed25519PrivateKey.generate()
        let publicKey = try key.publicKey
        let pem = try secret.map { try key.encryptedPKCS8PEM(passphrase: $0) } ?? key.pkcs8PEM()
        // The private key file is created 0600 (never chmod-ed after) and renamed into place.
        try FileSystem.writeAtomically(privatePath, pem, mode: 0o600, exclusive: true)
        try FileSystem.writeAtomically(publicPath, try publicKey.pem(), mode: 0o644, exclusive: true)
        return publicKey
    }

    /// Loads a private key, refusing one that group or others can read. `passphrase` is read only
    /// if the key is encrypted; by default that means asking on the terminal, or failing at once
    /// when there is none.
    public static func loadPrivateKey(
        _ path: String,
        passphrase: KeyPassphrase = .terminal
    ) throws -> Ed25519PrivateKey {
        guard FileSystem.exists(path) else { throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such key file") }
        let mode = try FileSystem.mode(of: path)
        if mode & 0o077 != 0 {
            let octal = String(mode, radix: 8)
            let shown = String(repeating: "0", count: max(0, 4 - octal.count)) + octal
            throw UsageError(
                CoreErrorCode.keyPermissions,
                "\(path): private key is accessible by group or others (mode \(shown)); run `chmod 600 \(path)`"
            )
        }
        return try Ed25519PrivateKey(pem: FileSystem.readFile(path, limit: 64 << 10), source: path) {
            try passphrase.read(for: path)
        }
    }

    /// Loads an SPKI PEM public key.
    public static func loadPublicKey(_ path: String) throws -> Ed25519PublicKey {
        guard FileSystem.exists(path) else {
            throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such public key file")
        }
        return try Ed25519PublicKey(pem: FileSystem.readFile(path, limit: 64 << 10), source: path)
    }
}
