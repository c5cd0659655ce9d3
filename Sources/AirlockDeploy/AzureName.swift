// Checks every value a deploy kit writes into its script against what Azure itself accepts. Why
// both a check and quoting: the quoting (`ShellQuote`) already keeps any value inside its quotes, but a
// name Azure would refuse is a mistake the operator should hear about now, offline, and not from az
// inside the enclave. The sets are ASCII-only on purpose (Azure also allows Unicode letters in some
// names): what reaches the script is then plain text an auditor can read.

import AirlockCore

/// The checks, one per kind of name; each throws a `UsageError` naming the option and the value.
package enum AzureName {
    /// Resource groups: 1-90 of letters, digits, `-`, `_`, `.`, `(`, `)`, not ending in `.`.
    package static func checkResourceGroup(_ name: String) throws {
        try check(name, option: "--resource-group", maximumLength: 90, allowed: letters + digits + "-_.()")
        if name.hasSuffix(".") {
            throw UsageError(
                DeployErrorCode.badName,
                "--resource-group \(quoted(name)): a resource group name cannot end with '.'"
            )
        }
    }

    /// Function apps (and slots) are DNS labels: letters, digits and `-`, not starting or ending with
    /// `-`. Apps are 2-60 characters, slots 1-59.
    package static func checkApp(_ name: String) throws {
        try checkLabel(name, option: "--app", minimumLength: 2, maximumLength: 60)
    }

    package static func checkSlot(_ name: String) throws {
        try checkLabel(name, option: "--slot", minimumLength: 1, maximumLength: 59)
    }

    /// A subscription id (a GUID) or its display name: letters, digits, space, `-`, `_`, `.`, `(`,
    /// `)`; pass the GUID for a name with other characters.
    package static func checkSubscription(_ name: String) throws {
        try check(
            name,
            option: "--subscription",
            maximumLength: 64,
            allowed: letters + digits + " -_.()",
            hint: "; pass the subscription's id (a GUID) instead"
        )
        if name.hasPrefix(" ") || name.hasSuffix(" ") {
            throw UsageError(DeployErrorCode.badName, "--subscription \(quoted(name)): no leading or trailing spaces")
        }
    }

    /// Function names as the Functions host accepts them: a letter, then letters, digits, `_` or
    /// `-`, at most 128 characters.
    package static func checkFunction(_ name: String) throws {
        try check(name, option: "--expect", maximumLength: 128, allowed: letters + digits + "_-")
        guard let first = name.unicodeScalars.first, letters.unicodeScalars.contains(first) else {
            throw UsageError(DeployErrorCode.badName, "--expect \(quoted(name)): a function name starts with a letter")
        }
    }

    /// The zip's file name: it lands in the script, in `ZIP.sha256` (where `sha256sum` would escape a
    /// backslash or newline) and on the operator's command line, so: a letter or digit, then letters,
    /// digits, `.`, `_`, `-`, `+`, ending in `.zip`.
    package static func checkZipName(_ name: String) throws {
        try check(name, option: "zip file name", maximumLength: 200, allowed: letters + digits + "._-+")
        guard let first = name.unicodeScalars.first, (letters + digits).unicodeScalars.contains(first),
            name.hasSuffix(".zip"), name.count > 4
        else {
            throw UsageError(
                DeployErrorCode.badName,
                "zip file name \(quoted(name)): must start with a letter or digit and end in .zip"
            )
        }
    }

    private static let letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    private static let digits = "0123456789"

    private static func checkLabel(_ name: String, option: String, minimumLength: Int, maximumLength: Int) throws {
        try check(name, option: option, maximumLength: maximumLength, allowed: letters + digits + "-")
        if name.count < minimumLength {
            throw UsageError(DeployErrorCode.badName, "\(option) \(quoted(name)): at least \(minimumLength) characters")
        }
        if name.hasPrefix("-") || name.hasSuffix("-") {
            throw UsageError(DeployErrorCode.badName, "\(option) \(quoted(name)): cannot start or end with '-'")
        }
    }

    private static func check(_ name: String, option: String, maximumLength: Int, allowed: String, hint: String = "")
        throws
    {
        guard !name.isEmpty else { throw UsageError(DeployErrorCode.badName, "\(option): empty") }
        let allowedScalars = Set(allowed.unicodeScalars)
        if let bad = name.unicodeScalars.first(where: { !allowedScalars.contains($0) }) {
            throw UsageError(
                DeployErrorCode.badName,
                "\(option) \(quoted(name)): \(quoted(String(bad))) is not allowed (use \(describe(allowed)))\(hint)"
            )
        }
        if name.unicodeScalars.count > maximumLength {
            throw UsageError(
                DeployErrorCode.badName,
                "\(option) \(quoted(name)): longer than \(maximumLength) characters"
            )
        }
    }

    /// The value as a Swift string literal, so that control characters in a refused value cannot
    /// play tricks on the terminal that shows the error.
    private static func quoted(_ value: String) -> String { value.debugDescription }

    private static func describe(_ allowed: String) -> String {
        let extra = allowed.filter { !$0.isLetter && !$0.isNumber }
        let named = extra.map { $0 == " " ? "space" : "'\($0)'" }
        return (["letters", "digits"] + named).joined(separator: ", ")
    }
}
