// What an artifact was built from and how, as one typed document: written beside the artifact
// (`provenance.json`), recorded in the store's index, carried in the signed manifest, and read back
// by seal, import, deploy kits and rebuild checks through this type alone. Schema 2 records the
// build's whole `BuildInputs`; schema-1 documents (written before it, still in existing stores and
// bundles) are read through `Provenance.read`, which fills what they had and leaves `key` nil, so a
// rebuild knows it cannot start from them.

/// One function an app registers, as the Functions host lists it.
public struct AppFunction: Codable, Sendable, Equatable {
    public var name: String
    /// The trigger's binding type (`httpTrigger`, `timerTrigger`, ...), or nil without one.
    public var trigger: String?
    /// For HTTP triggers, the route (the function's name when the app sets none).
    public var route: String?
    public var bindings: [Binding]

    public struct Binding: Codable, Sendable, Equatable {
        public var type: String
        public var direction: String
        public var name: String
        /// Every other scalar property the binding declares (`queueName`, `connection`, `schedule`,
        /// ...), as text (`true`/`false` for booleans), for what a kit derives from a trigger, such as
        /// a KEDA scaler's metadata. Nil in provenance written before it was recorded.
        public var properties: [String: String]?

        public init(type: String, direction: String, name: String, properties: [String: String]? = nil) {
            self.type = type
            self.direction = direction
            self.name = name
            self.properties = properties
        }

        /// The properties of a binding as its JSON declares them (`function.json`, or what a Python
        /// app's decorators register): every string, integer and boolean but type, direction and name.
        public static func properties(of binding: [String: JSONValue]) -> [String: String]? {
            var found: [String: String] = [:]
            for (key, value) in binding where !["type", "direction", "name"].contains(key) {
                switch value {
                case .string(let text): found[key] = text
                case .int(let number): found[key] = String(number)
                case .bool(let flag): found[key] = flag ? "true" : "false"
                case .null, .array, .object: continue
                }
            }
            return found.isEmpty ? nil : found
        }
    }

    public init(name: String, trigger: String?, route: String?, bindings: [Binding]) {
        self.name = name
        self.trigger = trigger
        self.route = route
        self.bindings = bindings
    }
}

public struct Provenance: Codable, Sendable, Equatable {
    public static let schemaVersion = 2

    /// The artifact itself.
    public struct Output: Codable, Sendable, Equatable {
        /// Its file name (`app.zip`, `pkg-1.0-py3-none-any.whl`).
        public var name: String
        public var sha256: SHA256Digest
        public var size: Int
        public var mediaType: String?

        public init(name: String, sha256: SHA256Digest, size: Int, mediaType: String? = nil) {
            self.name = name
            self.sha256 = sha256
            self.size = size
            self.mediaType = mediaType
        }
    }

    /// Where the sandboxed steps ran. The image is also in `inputs`; the runtime is not an input.
    public struct Sandbox: Codable, Sendable, Equatable {
        public var runtime: String
        public var image: BuildInputImage
        /// The toolchain the image answered with (`python 3.11.2`).
        public var toolchain: String?
        public var network: String
        /// The names of the app settings the smoke test saw (values are only hashed into inputs).
        public var settings: [String]

        public init(runtime: String, image: BuildInputImage, toolchain: String?, settings: [String]) {
            self.runtime = runtime
            self.image = image
            self.toolchain = toolchain
            self.network = "none"
            self.settings = settings.sorted()
        }
    }

    /// What the native-code audit checked.
    public struct Audit: Codable, Sendable, Equatable {
        public var elfObjects: Int
        /// `glibc 2.31`.
        public var libc: String?

        public init(elfObjects: Int, libc: String?) {
            self.elfObjects = elfObjects
            self.libc = libc
        }
    }

    public var schema: Int
    public var kind: String
    /// The project (or package) the artifact was built for.
    public var project: String
    public var tool: String
    /// Nil only for schema-1 documents that did not record every input.
    public var inputs: BuildInputs?
    /// `inputs.digest`: the action-cache key. Nil when `inputs` is incomplete (schema 1).
    public var key: SHA256Digest?
    public var output: Output
    public var sandbox: Sandbox?
    public var functions: [AppFunction]?
    public var audit: Audit?
    /// Inputs that were themselves built (a wheel built from an sdist), with their own provenance.
    public var builtInputs: [Provenance]?
    /// Kind-specific facts, read by the domain that wrote them (`details(as:)`).
    public var details: JSONValue?

    public init(
        kind: String, project: String, tool: String, inputs: BuildInputs, output: Output, sandbox: Sandbox? = nil,
        functions: [AppFunction]? = nil, audit: Audit? = nil, builtInputs: [Provenance]? = nil, details: JSONValue? = nil
    ) {
        self.schema = Self.schemaVersion
        self.kind = kind
        self.project = project
        self.tool = tool
        self.inputs = inputs
        self.key = inputs.digest
        self.output = output
        self.sandbox = sandbox
        self.functions = functions
        self.audit = audit
        self.builtInputs = builtInputs
        self.details = details
    }

    /// The RFC 8785 bytes, as written to `provenance.json`, the index and the manifest.
    public var canonicalBytes: [UInt8] {
        guard let bytes = try? canonicalJSON() else { preconditionFailure("provenance did not encode") }
        return bytes
    }

    /// As a JSON value, for the signed manifest.
    public var json: JSONValue {
        guard let value = try? JSONValue(encoding: self) else { preconditionFailure("provenance did not encode") }
        return value
    }

    /// `details` read as the writing domain's type.
    public func details<T: Decodable>(as type: T.Type) -> T? { try? details?.decoded(as: type) }

    /// The sha256 of the lock the artifact was built from.
    public var lock: SHA256Digest? { inputs?.lock }
}

extension Provenance {
    /// Reads a provenance document of any schema Airlock wrote.
    public static func read(_ bytes: [UInt8], what: String = "provenance") throws -> Provenance {
        let value: JSONValue
        do { value = try JSONValue(parsing: bytes) } catch {
            throw CheckFailure(CoreErrorCode.badProvenance, "\(what): not JSON (\(error))")
        }
        return try read(value, what: what)
    }

    public static func read(_ value: JSONValue, what: String = "provenance") throws -> Provenance {
        switch value["schema"]?.intValue {
        case 1?:
            guard let legacy = Legacy(value) else {
                throw CheckFailure(CoreErrorCode.badProvenance, "\(what): a schema-1 document without its output")
            }
            return legacy.provenance
        case Int64(schemaVersion)?:
            do { return try value.decoded(as: Provenance.self) } catch {
                throw CheckFailure(CoreErrorCode.badProvenance, "\(what): not a provenance document (\(error))")
            }
        case let other:
            throw CheckFailure(
                CoreErrorCode.badProvenance,
                "\(what): provenance schema \(other.map(String.init) ?? "missing"); this Airlock reads 1 and \(schemaVersion)"
            )
        }
    }
}

/// Schema 1, as `airlock build` and the sdist builder wrote it before build inputs were a value.
private struct Legacy {
    let provenance: Provenance

    init?(_ v: JSONValue) {
        guard let kind = v["kind"]?.stringValue, let output = Self.output(v["output"]) else { return nil }
        let target = BuildTarget(
            language: "python", version: v["target"]?["python"]?.stringValue ?? "",
            platform: v["target"]?["platform"]?.stringValue ?? "",
            libc: v["target"]?["glibc"]?.stringValue.map { "glibc " + $0 }
        )
        let image = Self.image(v["sandbox"]?["image"]) ?? Self.image(v["image"])
        var blobs: [BuildInputBlob] = []
        for (role, list) in [("wheel", v["wheels"]), ("build-wheel", v["buildRequirements"])] {
            for item in list?.arrayValue ?? [] {
                if let name = item["filename"]?.stringValue, let digest = item["sha256"]?.stringValue.flatMap(SHA256Digest.init) {
                    blobs.append(BuildInputBlob(role: role, name: name, sha256: digest))
                }
            }
        }
        if let name = v["sdist"]?["filename"]?.stringValue, let digest = v["sdist"]?["sha256"]?.stringValue.flatMap(SHA256Digest.init) {
            blobs.append(BuildInputBlob(role: "sdist", name: name, sha256: digest))
        }
        var options: [String: String] = [:]
        if v["bytecode"]?.objectValue != nil { options["bytecode"] = "checked-hash" }
        let inputs = BuildInputs(
            kind: kind, tool: v["tool"]?.stringValue ?? "airlock", target: target,
            lock: v["lock"]?["sha256"]?.stringValue.flatMap(SHA256Digest.init), blobs: blobs, image: image,
            script: v["app"]?["script"]?.stringValue, options: options,
            sourceDateEpoch: v["sourceDateEpoch"]?.intValue ?? 315_532_800
        )
        var sandbox: Provenance.Sandbox? = nil
        if let image, let runtime = (v["sandbox"]?["runtime"] ?? v["runtime"])?.stringValue {
            sandbox = Provenance.Sandbox(
                runtime: runtime, image: image, toolchain: v["sandbox"]?["python"]?.stringValue.map { "python " + $0 },
                settings: (v["sandbox"]?["settings"]?.arrayValue ?? []).compactMap(\.stringValue)
            )
        }
        var provenance = Provenance(
            kind: kind, project: v["project"]?.stringValue ?? "", tool: inputs.tool, inputs: inputs, output: output,
            sandbox: sandbox,
            functions: v["functions"]?.arrayValue.map { $0.compactMap { try? $0.decoded(as: AppFunction.self) } },
            audit: v["audit"]?["elfObjects"]?.intValue.map {
                Provenance.Audit(elfObjects: Int($0), libc: v["audit"]?["glibc"]?.stringValue.map { "glibc " + $0 })
            },
            builtInputs: v["sdists"]?.arrayValue.map { $0.compactMap { Legacy($0)?.provenance } }
        )
        provenance.schema = 1
        provenance.key = nil
        var details: [String: JSONValue] = [:]
        for name in ["files", "bytecode", "backend", "requires"] { if let value = v[name], value != .null { details[name] = value } }
        provenance.details = details.isEmpty ? nil : .object(details)
        self.provenance = provenance
    }

    private static func output(_ v: JSONValue?) -> Provenance.Output? {
        guard let v, let name = (v["name"] ?? v["filename"])?.stringValue,
            let digest = v["sha256"]?.stringValue.flatMap(SHA256Digest.init), let size = v["size"]?.intValue
        else { return nil }
        return Provenance.Output(name: name, sha256: digest, size: Int(size))
    }

    private static func image(_ v: JSONValue?) -> BuildInputImage? {
        guard let v, let digest = v["digest"]?.stringValue.flatMap(SHA256Digest.init) else { return nil }
        return BuildInputImage(reference: (v["reference"] ?? v["name"])?.stringValue ?? "", manifest: digest)
    }
}
