// Ed25519 key files: PKCS#8 PEM private keys (mode 0600, created with that mode) and SPKI PEM public
// keys, and the key id that names a signer: the sha256 of the DER SubjectPublicKeyInfo.

public enum KeyFiles {
    /// Writes `prefix.key` and `prefix.pub` for a new key; refuses to replace existing files.
    public static func generate(prefix: String) throws -> Ed25519PublicKey {
        let privatePath = prefix + ".key"
        let publicPath = prefix + ".pub"
        for path in [privatePath, publicPath] where FileSystem.exists(path) {
            throw UsageError(
                CoreErrorCode.keyExists,
                "\(path): already exists; Airlock never overwrites a key (move it away or pick another --out)"
            )
        }
        let dir = FileSystem.parentPath(prefix)
        if !dir.isEmpty { try FileSystem.makeDirectory(dir) }
        let key = try Ed25519PrivateKey.generate()
        let publicKey = try key.publicKey
        // The private key file is created 0600 (never chmod-ed after) and renamed into place.
        try FileSystem.writeAtomically(privatePath, try key.pkcs8PEM(), mode: 0o600, exclusive: true)
        try FileSystem.writeAtomically(publicPath, try publicKey.pem(), mode: 0o644, exclusive: true)
        return publicKey
    }

    /// Loads a private key, refusing one that group or others can read.
    public static func loadPrivateKey(_ path: String) throws -> Ed25519PrivateKey {
        guard FileSystem.exists(path) else { throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such key file") }
        let mode = try FileSystem.mode(of: path)
        if mode & 0o077 != 0 {
            throw UsageError(
                CoreErrorCode.keyPermissions,
                "\(path): private key is accessible by group or others (mode \(String(mode, radix: 8))); run `chmod 600 \(path)`"
            )
        }
        return try Ed25519PrivateKey(pem: FileSystem.readFile(path, limit: 64 << 10), source: path)
    }

    /// Loads an SPKI PEM public key.
    public static func loadPublicKey(_ path: String) throws -> Ed25519PublicKey {
        guard FileSystem.exists(path) else {
            throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such public key file")
        }
        return try Ed25519PublicKey(pem: FileSystem.readFile(path, limit: 64 << 10), source: path)
    }
}
