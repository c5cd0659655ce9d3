// Numeral.swift — an arbitrary-size non-negative decimal integer, internal to the OSV matcher.
//
// Both PEP 440 (Python `int`) and Go semver (`compareInt` on digit strings) compare
// numeric version components with unbounded precision, so a component such as
// `99999999999999999999999` must not overflow or be rejected. Values of up to 19
// significant digits are held in a `UInt64` (fast path); longer ones keep their digits.
// The representation is canonical (leading zeros stripped), so the synthesized
// `Hashable` agrees with the numeric `==`.

struct Numeral: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Value when it has at most 19 significant digits; unused (0) otherwise.
    private let small: UInt64
    /// ASCII digits without leading zeros when the value has 20 or more digits; else nil.
    private let big: [UInt8]?

    static let zero = Numeral(small: 0, big: nil)

    private init(small: UInt64, big: [UInt8]?) {
        self.small = small
        self.big = big
    }

    /// Builds a numeral from ASCII digits. Returns nil if `digits` is empty or holds a non-digit.
    init?(digits: some Collection<UInt8>) {
        if digits.isEmpty { return nil }
        var value: UInt64 = 0
        var significantCount = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            if significantCount == 0 && byte == UInt8(ascii: "0") { continue }
            significantCount += 1
            // 19 digits always fit in a UInt64; past that, switch to the digit form below.
            if significantCount <= 19 { value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0")) }
        }
        if significantCount <= 19 {
            self.init(small: value, big: nil)
        } else {
            self.init(small: 0, big: Array(digits.drop { $0 == UInt8(ascii: "0") }))
        }
    }

    var isZero: Bool { big == nil && small == 0 }

    static func < (lhs: Numeral, rhs: Numeral) -> Bool {
        switch (lhs.big, rhs.big) {
        case (nil, nil): return lhs.small < rhs.small
        case (nil, _): return true    // <= 19 digits is always below >= 20 digits
        case (_, nil): return false
        case let (l?, r?):
            if l.count != r.count { return l.count < r.count }
            return l.lexicographicallyPrecedes(r)
        }
    }

    var description: String {
        if let big { return String(decoding: big, as: UTF8.self) }
        return String(small)
    }
}
