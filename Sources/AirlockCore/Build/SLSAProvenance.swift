// An artifact's provenance in the standard form: an in-toto Statement v1 whose subject is the
// artifact (its path in the bundle and its sha256) with a SLSA Provenance v1 predicate. The build
// inputs (the `BuildInputs` value whose digest is the action-cache key) are `externalParameters`
// whole, so an independent verifier sees everything that can change the bytes; every blob, app
// file, the lock and the builder image are also `resolvedDependencies` by digest. The sandbox (the
// runtime, not an input) is an internal parameter; the builder id names the Airlock release.
// Written by `airlock seal` for every artifact with complete provenance, signed in a DSSE envelope.

extension Provenance {
    public static let statementType = "https://in-toto.io/Statement/v1"
    public static let slsaPredicateType = "https://slsa.dev/provenance/v1"

    /// The statement, or nil for provenance that does not record its inputs (schema 1).
    public func inTotoStatement(subjectName: String, subject: SHA256Digest) -> JSONValue? {
        guard let inputs, let key else { return nil }
        func digest(_ d: SHA256Digest) -> JSONValue { .object(["sha256": .string(d.hex)]) }
        var dependencies: [JSONValue] = []
        if let lock = inputs.lock { dependencies.append(.object(["name": .string("airlock.lock"), "digest": digest(lock)])) }
        if let image = inputs.image {
            dependencies.append(
                .object([
                    "name": .string(image.reference), "digest": digest(image.manifest),
                    "annotations": .object(["role": .string("builder-image")]),
                ])
            )
        }
        for blob in inputs.blobs {
            dependencies.append(
                .object(["name": .string(blob.name), "digest": digest(blob.sha256), "annotations": .object(["role": .string(blob.role)])])
            )
        }
        for file in inputs.files {
            dependencies.append(
                .object([
                    "name": .string(file.path), "digest": digest(file.sha256),
                    "annotations": .object(["role": .string("app-file"), "mode": .string(file.mode)]),
                ])
            )
        }
        var internalParameters: [String: JSONValue] = [:]
        if let sandbox { internalParameters["sandbox"] = (try? JSONValue(encoding: sandbox)) ?? .null }
        if let functions { internalParameters["functions"] = .array(functions.map { .string($0.name) }) }
        let builderVersion = tool.split(separator: " ").last.map(String.init) ?? tool
        return .object([
            "_type": .string(Self.statementType),
            "subject": .array([.object(["name": .string(subjectName), "digest": digest(subject)])]),
            "predicateType": .string(Self.slsaPredicateType),
            "predicate": .object([
                "buildDefinition": .object([
                    "buildType": .string("urn:airlock:buildtype:\(kind):v1"),
                    "externalParameters": .object([
                        "project": .string(project), "inputs": (try? JSONValue(encoding: inputs)) ?? .null,
                    ]),
                    "internalParameters": .object(internalParameters),
                    "resolvedDependencies": .array(dependencies),
                ]),
                "runDetails": .object([
                    "builder": .object([
                        "id": .string("urn:airlock:builder:airlock@\(builderVersion)"),
                        "version": .object(["airlock": .string(builderVersion)]),
                    ]),
                    "metadata": .object(["invocationId": .string(key.description)]),
                ]),
            ]),
        ])
    }
}
