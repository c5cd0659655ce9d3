// The Functions files of a custom-handler app, checked before anything is built: `host.json` must
// name the handler (`customHandler.description.defaultExecutablePath`, a clean relative path the
// build writes the binary to), and every `*/function.json` must be a JSON object with bindings. What
// the host will do with them is reported: `enableForwardingHttpRequest` (HTTP-only apps get the
// request forwarded as it came) and the extension bundle range, kept exactly as written. The files
// go into the zip byte for byte; Airlock never rewrites them.

public import AirlockCore
import Foundation

public struct GoFunctionsApp: Sendable, Equatable {
    public struct Function: Sendable, Equatable {
        /// The directory's name, which is the function's name.
        public var name: String
        public var bytes: [UInt8]
        public var function: AppFunction
    }

    /// The handler's path inside the app (`handler`, `bin/handler`).
    public var handlerPath: String
    public var enableForwardingHttpRequest: Bool
    /// `Microsoft.Azure.Functions.ExtensionBundle [4.*, 5.0.0)`, or nil without one.
    public var extensionBundle: String?
    public var hostJSON: [UInt8]
    public var functions: [Function]

    /// Reads PROJECT/host.json and PROJECT/*/function.json.
    public init(project: String) throws {
        let hostPath = project + "/host.json"
        func bad(_ reason: String) -> UsageError { UsageError(GoBuildErrorCode.badHostJSON, "\(hostPath): \(reason)") }
        guard FileSystem.kind(of: hostPath) == .regular else {
            throw bad("no such file; a custom handler app needs one naming its executable (customHandler.description.defaultExecutablePath)")
        }
        hostJSON = try FileSystem.readFile(hostPath, limit: 1 << 20)
        guard let host = try? JSONSerialization.jsonObject(with: Data(hostJSON)) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        guard let custom = host["customHandler"] as? [String: Any] else {
            throw bad("no customHandler section, so the Functions host would not start a handler")
        }
        guard let description = custom["description"] as? [String: Any],
            let path = description["defaultExecutablePath"] as? String, !path.isEmpty
        else {
            throw bad("customHandler.description.defaultExecutablePath is missing: it names the executable to start")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.hasPrefix("/"), !path.contains("\\"),
            !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else {
            throw bad("defaultExecutablePath '\(path)' is not a clean path inside the app (the handler is built there)")
        }
        for reserved in ["host.json", "local.settings.json"] where path == reserved {
            throw bad("defaultExecutablePath '\(path)' is a Functions file, not an executable")
        }
        handlerPath = path
        enableForwardingHttpRequest = custom["enableForwardingHttpRequest"] as? Bool ?? false
        if let bundle = host["extensionBundle"] as? [String: Any] {
            extensionBundle = [bundle["id"] as? String, bundle["version"] as? String].compactMap { $0 }.joined(separator: " ")
        } else {
            extensionBundle = nil
        }

        var found: [Function] = []
        for name in try FileSystem.list(project).sorted() where !name.hasPrefix(".") {
            let file = project + "/" + name + "/function.json"
            guard FileSystem.kind(of: project + "/" + name) == .directory, FileSystem.kind(of: file) == .regular else {
                continue
            }
            found.append(try Self.function(name: name, file: file))
        }
        if let clash = found.first(where: { path == $0.name || path == $0.name + "/function.json" }) {
            throw bad("defaultExecutablePath '\(path)' is the function directory \(clash.name)")
        }
        functions = found
    }

    static func function(name: String, file: String) throws -> Function {
        func bad(_ reason: String) -> UsageError { UsageError(GoBuildErrorCode.badFunctionJSON, "\(file): \(reason)") }
        let bytes = try FileSystem.readFile(file, limit: 1 << 20)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        guard let list = object["bindings"] as? [[String: Any]], !list.isEmpty else {
            throw bad("no bindings: the host would not know what triggers \(name)")
        }
        // The same list again as JSONValues, for each binding's other properties (nil when the file
        // holds something JSONValue does not read, such as a float).
        struct Declared: Decodable { var bindings: [[String: JSONValue]] }
        let declared = try? JSONDecoder().decode(Declared.self, from: Data(bytes)).bindings
        var bindings: [AppFunction.Binding] = []
        var trigger: String? = nil
        var route: String? = nil
        for (index, binding) in list.enumerated() {
            guard let type = binding["type"] as? String, let direction = binding["direction"] as? String,
                let bindingName = binding["name"] as? String
            else {
                throw bad("binding \(index + 1) needs type, direction and name")
            }
            let properties = declared.flatMap { $0.count == list.count ? AppFunction.Binding.properties(of: $0[index]) : nil }
            bindings.append(.init(type: type, direction: direction, name: bindingName, properties: properties))
            if type.hasSuffix("Trigger"), trigger == nil {
                trigger = type
                if type == "httpTrigger" { route = binding["route"] as? String ?? name }
            }
        }
        guard trigger != nil else { throw bad("no trigger binding (a type ending in Trigger)") }
        return Function(name: name, bytes: bytes, function: AppFunction(name: name, trigger: trigger, route: route, bindings: bindings))
    }
}
