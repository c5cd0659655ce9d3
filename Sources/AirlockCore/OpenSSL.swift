// The one Swift wrapper over OpenSSL's libcrypto: streaming SHA-256 (EVP, which uses SHA-NI where
// the CPU has it) and Ed25519 keys, signatures and PEM/DER encodings, plain and passphrase-encrypted
// (PKCS#8 PBES2; OpenSSL's own terminal prompt is never used). No other file imports COpenSSL,
// and no OpenSSL pointer leaves this file: every handle is owned by a final class that frees it in
// deinit, and every byte crosses the boundary as `[UInt8]` or a scoped buffer pointer.

internal import COpenSSL

/// A streaming SHA-256 context.
///
/// Not thread-safe: one context belongs to one task at a time.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            preconditionFailure("OpenSSL could not create a SHA-256 context (out of memory)")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        guard EVP_DigestUpdate(context, base, bytes.count) == 1 else {
            preconditionFailure("EVP_DigestUpdate failed")
        }
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the hash. The hasher must not be used afterwards.
    public func finalize() -> SHA256Digest {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        guard ok == 1, length == 32 else { preconditionFailure("EVP_DigestFinal_ex failed") }
        return SHA256Digest(bytes: out)
    }

    public static func hash(_ bytes: [UInt8]) -> SHA256Digest {
        let hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// Why an OpenSSL key operation failed, in words a user can act on.
public struct CryptoError: AirlockError {
    public let description: String
    public let status: ExitStatus
    public let code: ErrorCode
    /// `bad-key` for a file that is not the key it should be; `crypto-failed` when OpenSSL itself fails.
    init(_ code: CoreErrorCode, _ description: String, status: ExitStatus = .badInput) {
        self.description = description
        self.status = status
        self.code = code.code
    }
}

/// An Ed25519 private key held by OpenSSL.
public final class Ed25519PrivateKey: @unchecked Sendable {
    // @unchecked: the EVP_PKEY is never mutated after creation, and OpenSSL allows concurrent use
    // of one const key for signing.
    fileprivate let key: OpaquePointer

    private init(owning key: OpaquePointer) { self.key = key }
    deinit { EVP_PKEY_free(key) }

    /// A fresh key from OpenSSL's CSPRNG.
    public static func generate() throws -> Ed25519PrivateKey {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else {
            throw CryptoError(.cryptoFailed, "OpenSSL has no Ed25519 support")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_keygen(ctx, &key) == 1, let key else {
            throw CryptoError(.cryptoFailed, "OpenSSL could not generate an Ed25519 key: \(lastOpenSSLError())")
        }
        return Ed25519PrivateKey(owning: key)
    }

    /// Parses a PKCS#8 PEM private key, plain or encrypted; `source` names the file in errors.
    ///
    /// `passphrase` is called only for an encrypted key, after OpenSSL has said it is one, so a plain
    /// key never needs a passphrase file or a terminal. OpenSSL itself is never left to prompt.
    public convenience init(pem: [UInt8], source: String, passphrase: () throws -> [UInt8]) throws {
        let plain = PassphraseBox(nil)
        var key = try withMemoryBIO(pem) { bio in readPrivateKey(bio, plain) }
        if key == nil, plain.wasAsked {
            ERR_clear_error()
            let secret = PassphraseBox(try passphrase())
            key = try withMemoryBIO(pem) { bio in readPrivateKey(bio, secret) }
            guard key != nil else {
                let detail = lastOpenSSLError()
                throw CryptoError(
                    .badPassphrase,
                    "\(source): cannot decrypt the private key: wrong passphrase (\(detail))"
                )
            }
        }
        guard let key else {
            let text = String(decoding: pem, as: UTF8.self)
            let detail = lastOpenSSLError()
            if text.contains("-----BEGIN PUBLIC KEY-----") {
                throw CryptoError(.badKey, "\(source): a public key, not a private key; give the private .key file")
            }
            throw CryptoError(.badKey, "\(source): not a PEM private key (\(detail))")
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 else {
            let found = keyTypeDescription(key)
            EVP_PKEY_free(key)
            throw CryptoError(
                .badKey,
                "\(source): \(found) private key, not Ed25519: Airlock signs with Ed25519 only; generate one with `airlock key generate`"
            )
        }
        self.init(owning: key)
    }

    /// Parses an unencrypted PKCS#8 PEM private key; an encrypted one is refused (`no-passphrase`).
    public convenience init(pem: [UInt8], source: String) throws {
        try self.init(pem: pem, source: source) {
            throw CryptoError(.noPassphrase, "\(source): the private key is encrypted and no passphrase was given")
        }
    }

    /// The PKCS#8 PEM encoding (unencrypted, as `openssl genpkey` writes it).
    public func pkcs8PEM() throws -> [UInt8] {
        try writeToMemoryBIO { bio in PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil) }
    }

    /// PBKDF2 iterations for an encrypted key: OWASP's figure for PBKDF2-HMAC-SHA256 (2023), where
    /// OpenSSL's default is 2048. About a fifth of a second each time the key is opened.
    public static let pbkdf2Iterations: Int32 = 600_000

    /// The encrypted PKCS#8 PEM encoding (`-----BEGIN ENCRYPTED PRIVATE KEY-----`): PBES2 with
    /// PBKDF2-HMAC-SHA256 and AES-256-CBC, as `openssl genpkey -aes256` writes it but with
    /// `pbkdf2Iterations` rounds; `openssl pkey -passin` reads it.
    public func encryptedPKCS8PEM(passphrase: [UInt8]) throws -> [UInt8] {
        guard !passphrase.isEmpty, passphrase.count < Int(Int32.max) else {
            throw CryptoError(.noPassphrase, "an encrypted key needs a passphrase of at least one byte")
        }
        guard let info = EVP_PKEY2PKCS8(key) else {
            throw CryptoError(.cryptoFailed, "OpenSSL could not encode the key as PKCS#8: \(lastOpenSSLError())")
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        let algorithm = PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), Self.pbkdf2Iterations, nil, 0, nil, NID_hmacWithSHA256)
        guard let algorithm else {
            throw CryptoError(.cryptoFailed, "OpenSSL could not set up key encryption: \(lastOpenSSLError())")
        }
        let sealed: OpaquePointer? = passphrase.withUnsafeBufferPointer { secret in
            secret.withMemoryRebound(to: CChar.self) { chars in
                PKCS8_set0_pbe(chars.baseAddress, Int32(chars.count), info, algorithm)
            }
        }
        // On success the X509_SIG owns `algorithm`; on failure it is still ours.
        guard let sealed else {
            X509_ALGOR_free(algorithm)
            throw CryptoError(.cryptoFailed, "OpenSSL could not encrypt the key: \(lastOpenSSLError())")
        }
        defer { X509_SIG_free(sealed) }
        return try writeToMemoryBIO { bio in PEM_write_bio_PKCS8(bio, sealed) }
    }

    public var publicKey: Ed25519PublicKey {
        get throws {
            let der = try subjectPublicKeyInfoDER(of: key)
            return try Ed25519PublicKey(der: der, source: "generated key")
        }
    }

    /// The raw 64-byte Ed25519 signature of `message` (pure Ed25519, no pre-hash).
    public func signature(for message: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw CryptoError(.outOfMemory, "out of memory") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, nil, nil, key) == 1 else {
            throw CryptoError(.cryptoFailed, "OpenSSL could not start signing: \(lastOpenSSLError())")
        }
        var length = 64
        var signature = [UInt8](repeating: 0, count: 64)
        let ok = signature.withUnsafeMutableBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                EVP_DigestSign(ctx, sig.baseAddress, &length, msg.baseAddress, msg.count)
            }
        }
        guard ok == 1, length == 64 else {
            throw CryptoError(.cryptoFailed, "OpenSSL could not sign: \(lastOpenSSLError())")
        }
        return signature
    }
}

/// An Ed25519 public key, identified by the sha256 of its DER SubjectPublicKeyInfo.
public final class Ed25519PublicKey: @unchecked Sendable {
    // @unchecked: immutable after init; OpenSSL verification does not mutate the key.
    private let key: OpaquePointer
    /// The DER SubjectPublicKeyInfo (44 bytes for Ed25519).
    public let der: [UInt8]
    /// Lowercase hex sha256 of `der`: what `openssl pkey -pubin -outform DER | sha256sum` prints.
    public let keyID: String

    public init(der: [UInt8], source: String) throws {
        let parsed: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_PUBKEY(nil, &cursor, buffer.count)
        }
        guard let key = parsed else { throw CryptoError(.badKey, "\(source): not a DER public key") }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 else {
            let found = keyTypeDescription(key)
            EVP_PKEY_free(key)
            throw CryptoError(.badKey, "\(source): \(found) public key, not Ed25519: Airlock trusts Ed25519 keys only")
        }
        self.key = key
        self.der = der
        self.keyID = SHA256Hasher.hash(der).hex
    }

    /// Parses an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`).
    public convenience init(pem: [UInt8], source: String) throws {
        // A callback that declines: given an encrypted private key, OpenSSL would otherwise prompt.
        let key = try withMemoryBIO(pem) { bio in PEM_read_bio_PUBKEY(bio, nil, { _, _, _, _ in -1 }, nil) }
        guard let key else {
            let text = String(decoding: pem, as: UTF8.self)
            let detail = lastOpenSSLError()
            if text.contains("PRIVATE KEY-----") {
                throw CryptoError(.badKey, "\(source): a private key, not a public key; give its public .pub file")
            }
            throw CryptoError(.badKey, "\(source): not a PEM public key (\(detail))")
        }
        defer { EVP_PKEY_free(key) }
        try self.init(der: subjectPublicKeyInfoDER(of: key), source: source)
    }

    deinit { EVP_PKEY_free(key) }

    /// The SPKI PEM encoding.
    public func pem() throws -> [UInt8] {
        try writeToMemoryBIO { bio in PEM_write_bio_PUBKEY(bio, key) }
    }

    /// Whether `signature` is a valid Ed25519 signature of `message` by this key.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == 64, let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, nil, nil, key) == 1 else { return false }
        let ok = signature.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { msg in
                EVP_DigestVerify(ctx, sig.baseAddress, sig.count, msg.baseAddress, msg.count)
            }
        }
        return ok == 1
    }
}

/// A passphrase handed to OpenSSL's password callback, and whether OpenSSL asked for one (which is
/// how an encrypted key is told from a file that is no key at all).
private final class PassphraseBox {
    let passphrase: [UInt8]?
    var wasAsked = false
    init(_ passphrase: [UInt8]?) { self.passphrase = passphrase }
}

/// PEM_read_bio_PrivateKey with a callback that answers from `box` (or declines) and never prompts.
private func readPrivateKey(_ bio: OpaquePointer, _ box: PassphraseBox) -> OpaquePointer? {
    withExtendedLifetime(box) {
        PEM_read_bio_PrivateKey(bio, nil, answerFromBox, Unmanaged.passUnretained(box).toOpaque())
    }
}

/// OpenSSL's password callback: copies the box's passphrase into `buffer`, or declines (-1).
private func answerFromBox(
    _ buffer: UnsafeMutablePointer<CChar>?,
    _ size: Int32,
    _ writing: Int32,
    _ context: UnsafeMutableRawPointer?
) -> Int32 {
    guard let context else { return -1 }
    let box = Unmanaged<PassphraseBox>.fromOpaque(context).takeUnretainedValue()
    box.wasAsked = true
    guard let buffer, let secret = box.passphrase, !secret.isEmpty, secret.count <= Int(size) else { return -1 }
    secret.withUnsafeBufferPointer { bytes in
        bytes.withMemoryRebound(to: CChar.self) { chars in
            guard let base = chars.baseAddress else { return }
            buffer.update(from: base, count: chars.count)
        }
    }
    return Int32(secret.count)
}

/// "an RSA (2048-bit)", "an EC (256-bit)", "an ED448": what a key that is not Ed25519 is.
private func keyTypeDescription(_ key: OpaquePointer) -> String {
    let name = EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "unknown"
    let bits = EVP_PKEY_get_bits(key)
    let article = "AEIOFHLMNRSX".contains(name.uppercased().first ?? "x") ? "an" : "a"
    return "\(article) \(name)" + (bits > 0 && name != "ED448" ? " (\(bits)-bit)" : "")
}

private func subjectPublicKeyInfoDER(of key: OpaquePointer) throws -> [UInt8] {
    var out: UnsafeMutablePointer<UInt8>? = nil
    let length = i2d_PUBKEY(key, &out)
    guard length > 0, let out else { throw CryptoError(.cryptoFailed, "OpenSSL could not encode the public key") }
    defer { CAirlock_OPENSSL_free(out) }
    return Array(UnsafeBufferPointer(start: out, count: Int(length)))
}

private func withMemoryBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) -> T) throws -> T {
    try bytes.withUnsafeBytes { buffer in
        guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else {
            throw CryptoError(.outOfMemory, "out of memory")
        }
        defer { BIO_free(bio) }
        return body(bio)
    }
}

private func writeToMemoryBIO(_ body: (OpaquePointer) -> Int32) throws -> [UInt8] {
    guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError(.outOfMemory, "out of memory") }
    defer { BIO_free(bio) }
    guard body(bio) == 1 else {
        throw CryptoError(.cryptoFailed, "OpenSSL could not encode the key: \(lastOpenSSLError())")
    }
    var data: UnsafeMutablePointer<CChar>? = nil
    let length = CAirlock_BIO_get_mem_data(bio, &data)
    guard length > 0, let data else { return [] }
    return data.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
}

private func lastOpenSSLError() -> String {
    let code = ERR_get_error()
    guard code != 0 else { return "no detail" }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    ERR_clear_error()
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
