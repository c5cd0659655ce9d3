// The app settings a Kubernetes kit puts into the app's Secret, read from a file the operator names
// (`--settings`, in the local.settings.json shape `{"IsEncrypted": false, "Values": {...}}`), never
// from the app directory on its own: a settings file usually holds connection strings, and only the
// operator decides which ones reach the cluster.

public import AirlockCore

/// The `Values` of a local.settings.json: names and their text.
public struct AppSettings: Sendable, Equatable {
    public let values: [String: String]

    /// The largest settings file read.
    public static let maximumFileSize = 1 << 20

    /// Checks every name: a Secret key (letters, digits, `-`, `_`, `.`), which also keeps it usable
    /// as an environment variable through envFrom.
    public init(values: [String: String], source: String = "--settings") throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".unicodeScalars)
        for name in values.keys.sorted() {
            guard !name.isEmpty, name.utf8.count <= 253, name.unicodeScalars.allSatisfy(allowed.contains) else {
                throw UsageError(
                    DeployErrorCode.badSettings,
                    "\(source): the setting name \(name.debugDescription) cannot be a Secret key (use letters, digits, '-', '_' and '.')"
                )
            }
        }
        self.values = values
    }

    /// Reads `path` as a local.settings.json. Refuses an encrypted file (`func settings encrypt`),
    /// a `Values` that is not an object of strings, and anything that is not strict JSON.
    public static func read(_ path: String) throws -> AppSettings {
        let bytes = try FileSystem.readFile(path, limit: maximumFileSize)
        return try parse(bytes, source: "--settings \(path)")
    }

    /// Parses the bytes of a local.settings.json; `source` names it in errors.
    public static func parse(_ bytes: [UInt8], source: String) throws -> AppSettings {
        let document: JSONValue
        do { document = try JSONValue(parsing: bytes) } catch {
            throw UsageError(DeployErrorCode.badSettings, "\(source): not a local.settings.json (\(error))")
        }
        guard let top = document.objectValue else {
            throw UsageError(
                DeployErrorCode.badSettings,
                "\(source): not a local.settings.json (a JSON object with \"Values\")"
            )
        }
        switch top["IsEncrypted"] {
        case nil, .bool(false)?: break
        case .bool(true)?:
            throw UsageError(
                DeployErrorCode.badSettings,
                "\(source): the values are encrypted (IsEncrypted is true); decrypt them first (func settings decrypt)"
            )
        default:
            throw UsageError(DeployErrorCode.badSettings, "\(source): IsEncrypted must be true or false")
        }
        guard let members = top["Values"]?.objectValue else {
            throw UsageError(DeployErrorCode.badSettings, "\(source): no \"Values\" object of app settings")
        }
        var values: [String: String] = [:]
        for (name, value) in members {
            guard let text = value.stringValue else {
                throw UsageError(
                    DeployErrorCode.badSettings,
                    "\(source): the value of \(name.debugDescription) is not a string (app settings are text; quote it)"
                )
            }
            values[name] = text
        }
        return try AppSettings(values: values, source: source)
    }

    /// The setting the Functions host reads for `name`: `name` itself, else `AzureWebJobs<name>`
    /// (the host's fallback for a binding's `connection`). Returns the key found.
    func key(for name: String) -> String? {
        if values[name] != nil { return name }
        if values["AzureWebJobs" + name] != nil { return "AzureWebJobs" + name }
        return nil
    }
}
