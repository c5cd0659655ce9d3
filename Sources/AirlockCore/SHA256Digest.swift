/// A SHA-256 digest: the address of every blob in the store.
public struct SHA256Digest: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    // Held inline as four big-endian words, not as an array: a bundle or store of 100,000 blobs
    // parses, hashes and compares 100,000s of digests, and an array is a heap allocation each.
    @usableFromInline let w0, w1, w2, w3: UInt64

    @usableFromInline init(words: (UInt64, UInt64, UInt64, UInt64)) { (w0, w1, w2, w3) = words }

    /// The 32 raw bytes.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a SHA-256 digest has 32 bytes")
        func word(_ i: Int) -> UInt64 { bytes[i * 8..<i * 8 + 8].reduce(0) { $0 << 8 | UInt64($1) } }
        (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3))
    }

    /// Parses 64 lowercase hex digits, with or without a `sha256:` prefix.
    public init?(_ text: some StringProtocol) {
        var hex = Substring(text)
        if hex.hasPrefix("sha256:") { hex = hex.dropFirst(7) }
        self.init(hexBytes: hex.utf8)
    }

    /// Parses exactly 64 lowercase hex digits given as bytes (ASCII). Inlinable, so it is
    /// specialized where it is called: generic, it cost more than the hashing of small blobs.
    @inlinable
    public init?(hexBytes hex: some Collection<UInt8>) {
        guard hex.count == 64 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var i = 0
        for c in hex {
            let nibble: UInt64
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt64(c - UInt8(ascii: "a") + 10)
            default: return nil
            }
            switch i >> 4 {
            case 0: words.0 = words.0 << 4 | nibble
            case 1: words.1 = words.1 << 4 | nibble
            case 2: words.2 = words.2 << 4 | nibble
            default: words.3 = words.3 << 4 | nibble
            }
            i += 1
        }
        self.init(words: words)
    }

    /// 64 lowercase hex digits.
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { out in
            for (k, word) in [w0, w1, w2, w3].enumerated() {
                for j in 0..<16 { out[k * 16 + j] = Self.hexDigits[Int(word >> UInt64(60 - 4 * j) & 0xf)] }
            }
            return 64
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `sha256:<hex>`, the OCI form.
    public var description: String { "sha256:" + hex }

    public static func < (lhs: SHA256Digest, rhs: SHA256Digest) -> Bool {
        (lhs.w0, lhs.w1, lhs.w2, lhs.w3) < (rhs.w0, rhs.w1, rhs.w2, rhs.w3)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = SHA256Digest(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a sha256 digest: \(text)")
            )
        }
        self = digest
    }

    /// JSON output writes `sha256:<hex>`, as `store put` prints it and OCI writes digests.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
