import Foundation

/// Byte sizes as users write them (`100M`, `4.7GB`, `1GiB`, `512k`) and as Airlock prints them.
public enum ByteCount {
    /// Parses a size; decimal suffixes (K, M, G, T with optional B) are powers of 1000 and binary
    /// ones (KiB, MiB, GiB, TiB) powers of 1024, as `dd` and `split` read them.
    public static func parse(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let split = trimmed.firstIndex(where: { !($0.isNumber || $0 == ".") }) ?? trimmed.endIndex
        guard let number = Double(trimmed[..<split]), number >= 0 else { return nil }
        let suffix = trimmed[split...].lowercased()
        let multiplier: Double
        switch suffix {
        case "", "b": multiplier = 1
        case "k", "kb": multiplier = 1e3
        case "m", "mb": multiplier = 1e6
        case "g", "gb": multiplier = 1e9
        case "t", "tb": multiplier = 1e12
        case "ki", "kib": multiplier = 1024
        case "mi", "mib": multiplier = 1024 * 1024
        case "gi", "gib": multiplier = 1024 * 1024 * 1024
        case "ti", "tib": multiplier = 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let value = number * multiplier
        guard value < 9e18 else { return nil }
        return Int(value)
    }

    public static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        let rounded = (value * 10).rounded() / 10
        return "\(rounded) \(units[unit])"
    }
}

/// Durations as users write them: `30d`, `12h`, `90m`, `3600s`, `2w`.
public enum DurationText {
    public static func seconds(_ text: String) -> Int64? {
        guard let last = text.last else { return nil }
        if last.isNumber { return Int64(text).flatMap { $0 >= 0 ? $0 : nil } }
        guard let number = Int64(text.dropLast()), number >= 0 else { return nil }
        let unit: Int64
        switch last {
        case "s": unit = 1
        case "m": unit = 60
        case "h": unit = 3600
        case "d": unit = 86400
        case "w": unit = 7 * 86400
        case "y": unit = 365 * 86400
        default: return nil
        }
        let (product, overflow) = number.multipliedReportingOverflow(by: unit)
        return overflow ? nil : product
    }
}
