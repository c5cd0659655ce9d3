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

    /// An Azure Container Registry login server: the registry's name (5-50 lowercase letters and
    /// digits) then `.azurecr.` and the cloud's suffix (`io`, `us`, `cn`, ...). Managed-identity pulls
    /// and AcrPull exist for ACR only. Returns the registry's name.
    package static func checkRegistry(_ server: String, option: String = "--registry") throws -> String {
        do { try check(server, option: option, maximumLength: 253, allowed: lowercase + digits + ".-") } catch let error as UsageError {
            throw UsageError(DeployErrorCode.badRegistry, error.description)
        }
        let labels = server.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let name = labels[0]
        guard labels.count >= 3, labels[1] == "azurecr", labels.dropFirst(2).allSatisfy({ !$0.isEmpty }),
            (5...50).contains(name.count), name.allSatisfy({ $0.isLetter || $0.isNumber })
        else {
            throw UsageError(
                DeployErrorCode.badRegistry,
                "\(option) \(quoted(server)): give an Azure Container Registry login server, REGISTRY.azurecr.io (REGISTRY: 5-50 lowercase letters and digits); the app pulls with its managed identity, which only ACR accepts"
            )
        }
        return name
    }

    /// A user-assigned managed identity's resource id:
    /// `/subscriptions/GUID/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME`.
    package static func checkIdentityResourceID(_ id: String, option: String = "--identity") throws {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let shape =
            parts.count == 9 && parts[0].isEmpty && parts[1].lowercased() == "subscriptions"
            && parts[3].lowercased() == "resourcegroups" && parts[5].lowercased() == "providers"
            && parts[6].lowercased() == "microsoft.managedidentity" && parts[7].lowercased() == "userassignedidentities"
        guard shape, isGUID(parts[2]), (try? checkResourceGroup(parts[4])) != nil,
            (3...128).contains(parts[8].count), parts[8].unicodeScalars.allSatisfy({ Set((letters + digits + "-_").unicodeScalars).contains($0) })
        else {
            throw UsageError(
                DeployErrorCode.badName,
                "\(option) \(quoted(id)): give system, or a user-assigned identity's resource id (/subscriptions/GUID/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME; az identity show --query id)"
            )
        }
    }

    /// Key Vault names: 3-24 letters, digits and `-`, starting with a letter, not ending with `-`,
    /// no `--`.
    package static func checkKeyVault(_ name: String) throws {
        try check(name, option: "--key-vault", maximumLength: 24, allowed: letters + digits + "-")
        guard name.count >= 3, name.first!.isLetter, !name.hasSuffix("-"), !name.contains("--") else {
            throw UsageError(
                DeployErrorCode.badName,
                "--key-vault \(quoted(name)): a Key Vault name is 3-24 letters, digits and '-', starts with a letter, does not end with '-' and has no '--'"
            )
        }
    }

    /// An app setting name on Linux (where the host reads settings as environment variables): a
    /// letter or `_`, then letters, digits and `_`.
    package static func checkSettingName(_ name: String, option: String) throws {
        try check(name, option: option, maximumLength: 128, allowed: letters + digits + "_")
        if name.first!.isNumber {
            throw UsageError(DeployErrorCode.badName, "\(option) \(quoted(name)): a setting name starts with a letter or '_'")
        }
    }

    /// A Key Vault secret name: 1-127 letters, digits and `-`.
    package static func checkSecretName(_ name: String, option: String) throws {
        try check(name, option: option, maximumLength: 127, allowed: letters + digits + "-")
    }

    /// The path a web app's health is read from: `/`, then URL path characters (no spaces, quotes
    /// or `#`).
    package static func checkHealthPath(_ path: String) throws {
        try check(path, option: "--health-path", maximumLength: 512, allowed: letters + digits + "/-._~%!$&()*+,;=:@?")
        guard path.hasPrefix("/") else {
            throw UsageError(DeployErrorCode.badName, "--health-path \(quoted(path)): a path starts with '/'")
        }
    }

    private static func isGUID(_ text: String) -> Bool {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    private static let lowercase = "abcdefghijklmnopqrstuvwxyz"
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
