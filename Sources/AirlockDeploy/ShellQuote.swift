// Quoting for values written into generated bash. Single quotes are the one bash quoting with no
// expansion at all inside ($, `, \ and ! are literal), so a value wrapped in them can only end its
// quoting with a `'` of its own; each one is written as `'\''` (close, escaped quote, reopen). The
// result is safe for any string without NUL, which bash cannot hold in a variable at all.

/// Single-quoting for bash.
package enum ShellQuote {
    /// `value` as one bash word that expands to exactly `value`.
    package static func quote(_ value: String) -> String {
        precondition(!value.utf8.contains(0), "a NUL byte cannot be passed to bash")
        // By scalar, not by Character: a quote followed by a combining mark is one Character that is
        // not equal to "'", yet bash still sees the quote byte.
        var out = "'"
        for scalar in value.unicodeScalars {
            if scalar == "'" { out += #"'\''"# } else { out.unicodeScalars.append(scalar) }
        }
        return out + "'"
    }
}
