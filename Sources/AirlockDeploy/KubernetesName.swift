// Checks every name a Kubernetes kit writes into its manifests and script against what the API
// server accepts, so a kit the cluster would refuse is refused here, offline, with the option named.
// The app name is the strictest case: it also names a Service (`APP-http`), and Service names are
// DNS-1035 labels (they start with a letter), at most 63 characters with the suffix.

import AirlockCore

/// The checks, one per kind of name; each throws a `UsageError` naming the option and the value.
package enum KubernetesName {
    /// The longest --name: `APP-http` must still be a 63-character label.
    package static let maximumAppLength = 63 - "-http".count

    /// --name: a DNS-1035 label (lowercase letters, digits and `-`, starting with a letter, not
    /// ending with `-`), at most 58 characters.
    package static func checkApp(_ name: String) throws {
        try checkLabel(name, option: "--name", maximumLength: maximumAppLength)
        guard let first = name.unicodeScalars.first, lowercase.unicodeScalars.contains(first) else {
            throw UsageError(
                DeployErrorCode.badKubernetesName,
                "--name \(name.debugDescription): must start with a lowercase letter (it also names the app's Service)"
            )
        }
    }

    /// --namespace: a DNS-1123 label, at most 63 characters.
    package static func checkNamespace(_ name: String) throws {
        try checkLabel(name, option: "--namespace", maximumLength: 63)
    }

    /// --pull-secret: a Secret's name, a DNS-1123 subdomain (labels joined by `.`), at most 253.
    package static func checkPullSecret(_ name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 253 else {
            throw UsageError(
                DeployErrorCode.badKubernetesName,
                "--pull-secret \(name.debugDescription): give 1 to 253 characters"
            )
        }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            try checkLabel(String(label), option: "--pull-secret", maximumLength: 63, whole: name)
        }
    }

    /// --registry: a registry's login server, `HOST[:PORT]`: DNS labels of letters, digits and `-`
    /// joined by `.`, and a port from 1 to 65535. No scheme and no path: the kit adds the
    /// repository and digest itself.
    package static func checkRegistry(_ value: String) throws {
        func refuse(_ why: String) -> UsageError {
            UsageError(
                DeployErrorCode.badRegistry,
                "--registry \(value.debugDescription): \(why) (give HOST[:PORT], e.g. registry.example:5000)"
            )
        }
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        let host = parts[0]
        guard !host.isEmpty, host.utf8.count <= 253 else { throw refuse("no host name") }
        let allowed = Set((lowercase + lowercase.uppercased() + digits + "-").unicodeScalars)
        for label in host.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63, label.unicodeScalars.allSatisfy(allowed.contains),
                label.first != "-", label.last != "-"
            else { throw refuse("'\(label)' is not a host name label") }
        }
        if parts.count == 2 {
            guard let port = Int(parts[1]), parts[1].allSatisfy(\.isNumber), (1...65535).contains(port) else {
                throw refuse("the port must be a number from 1 to 65535")
            }
        }
    }

    private static let lowercase = "abcdefghijklmnopqrstuvwxyz"
    private static let digits = "0123456789"

    private static func checkLabel(_ name: String, option: String, maximumLength: Int, whole: String? = nil) throws {
        let shown = (whole ?? name).debugDescription
        guard !name.isEmpty else {
            throw UsageError(DeployErrorCode.badKubernetesName, "\(option) \(shown): an empty name or label")
        }
        let allowed = Set((lowercase + digits + "-").unicodeScalars)
        if let bad = name.unicodeScalars.first(where: { !allowed.contains($0) }) {
            throw UsageError(
                DeployErrorCode.badKubernetesName,
                "\(option) \(shown): \(String(bad).debugDescription) is not allowed (use lowercase letters, digits and '-')"
            )
        }
        if name.utf8.count > maximumLength {
            throw UsageError(
                DeployErrorCode.badKubernetesName,
                "\(option) \(shown): longer than \(maximumLength) characters"
            )
        }
        if name.hasPrefix("-") || name.hasSuffix("-") {
            throw UsageError(DeployErrorCode.badKubernetesName, "\(option) \(shown): cannot start or end with '-'")
        }
    }
}
