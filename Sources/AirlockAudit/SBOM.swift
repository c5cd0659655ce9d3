// The inventory as an SBOM: CycloneDX 1.6 JSON or SPDX 2.3 JSON. The artifacts (built zips, images,
// carried files) are the top components the document describes; the packages are components with
// their package URL, SHA-256 and declared licence; the dependency relations are the inventory's
// (Requires-Dist and go.mod among the packages, each artifact on the inputs its provenance names,
// each image on its Debian packages and its app). Same inventory, same bytes: the serial number and
// namespace are derived from the content, the timestamp is the bundle's `created`.

public import AirlockCore
import Foundation

public enum SBOMFormat: String, Sendable, CaseIterable {
    case cyclonedx
    case spdx
}

public enum SBOM {
    /// The document, pretty-printed with sorted keys.
    public static func document(_ inventory: AuditInventory, format: SBOMFormat, tool: String) throws -> [UInt8] {
        let value: JSONValue
        switch format {
        case .cyclonedx: value = cycloneDX(inventory, tool: tool)
        case .spdx: value = spdx(inventory, tool: tool)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value)) + [UInt8(ascii: "\n")]
    }

    /// A name-based UUID (version 5 layout) from the inventory's content and `salt`.
    static func uuid(_ inventory: AuditInventory, salt: String) -> String {
        let content = (try? JSONValue(encoding: inventory).canonicalBytes) ?? []
        var bytes = Array(SHA256Hasher.hash(Array(salt.utf8) + content).bytes.prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let u = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(u[$0]) }.joined(separator: "-")
    }

    static func timestamp(_ inventory: AuditInventory) -> String { inventory.subject.created ?? Timestamp.now() }

    /// Each artifact's reference in the document, and what an inventory id resolves to.
    struct References {
        var artifactRefs: [String] = []
        var byID: [String: String] = [:]

        init(_ inventory: AuditInventory) {
            for package in inventory.packages { byID[package.id] = package.id }
            for artifact in inventory.artifacts {
                let ref = "artifact:\(artifact.name)@\(artifact.sha256.hex)"
                artifactRefs.append(ref)
                if byID[artifact.sha256.description] == nil { byID[artifact.sha256.description] = ref }
            }
        }

        func resolve(_ ids: [String], except own: String) -> [String] {
            Array(Set(ids.compactMap { byID[$0] }).subtracting([own])).sorted()
        }
    }

    static func subjectName(_ inventory: AuditInventory) -> String {
        if let bundle = inventory.subject.bundle { return "airlock bundle \(bundle)" }
        if inventory.subject.kind == "bundle" { return "airlock bundle" }
        return "airlock store \(inventory.subject.path)"
    }

    static func subjectVersion(_ inventory: AuditInventory) -> String? {
        guard let channel = inventory.subject.channel, let sequence = inventory.subject.sequence else { return nil }
        return "\(channel)/\(sequence)"
    }

    // MARK: CycloneDX 1.6

    static func cycloneDX(_ inventory: AuditInventory, tool: String) -> JSONValue {
        let refs = References(inventory)
        var components: [JSONValue] = []
        var dependencies: [JSONValue] = []
        func hashes(_ digest: SHA256Digest?) -> [String: JSONValue] {
            guard let digest else { return [:] }
            return ["hashes": .array([.object(["alg": .string("SHA-256"), "content": .string(digest.hex)])])]
        }
        func properties(_ pairs: [(String, String?)]) -> [String: JSONValue] {
            let list = pairs.compactMap { key, value in value.map { JSONValue.object(["name": .string("airlock:" + key), "value": .string($0)]) } }
            return list.isEmpty ? [:] : ["properties": .array(list)]
        }
        for (artifact, ref) in zip(inventory.artifacts, refs.artifactRefs) {
            let image = inventory.images.first { $0.manifest == artifact.sha256 }
            var object: [String: JSONValue] = [
                "type": .string(artifact.kind == ImageArtifacts.imageKind ? "container" : artifact.buildKind != nil ? "application" : "file"),
                "bom-ref": .string(ref), "name": .string(artifact.name),
            ]
            object.merge(hashes(artifact.sha256)) { a, _ in a }
            if image != nil {
                let (name, tag) = splitReference(artifact.name)
                object["purl"] = .string(PackageURL.oci(name, digest: artifact.sha256, tag: tag))
                object["version"] = .string(artifact.sha256.description)
            }
            object.merge(
                properties([
                    ("kind", artifact.kind), ("path", artifact.path), ("build-kind", artifact.buildKind), ("target", artifact.target),
                    ("builder-image", artifact.builder.map { "\($0.reference)@\($0.manifest)" }), ("toolchain", artifact.toolchain),
                    ("build-key", artifact.key?.description), ("source-date-epoch", artifact.sourceDateEpoch.map(String.init)),
                    ("functions", artifact.functions?.joined(separator: ",")), ("platform", image?.platform),
                ])
            ) { a, _ in a }
            components.append(.object(object))
            dependencies.append(.object(["ref": .string(ref), "dependsOn": .array(refs.resolve(artifact.inputs, except: ref).map { .string($0) })]))
        }
        for package in inventory.packages {
            var object: [String: JSONValue] = [
                "type": .string(package.kind == "go-toolchain" ? "application" : "library"), "bom-ref": .string(package.id),
                "name": .string(package.name), "version": .string(package.version), "purl": .string(package.purl),
            ]
            object.merge(hashes(package.sha256)) { a, _ in a }
            if let license = package.license {
                object["licenses"] = .array([
                    package.licenseIsSPDX == true ? .object(["expression": .string(license)]) : .object(["license": .object(["name": .string(license)])])
                ])
            }
            if let origin = package.origin, origin.hasPrefix("https://") || origin.hasPrefix("http://") {
                object["externalReferences"] = .array([.object(["type": .string("distribution"), "url": .string(origin)])])
            }
            object.merge(properties([("kind", package.kind), ("file", package.file), ("image", package.image), ("yanked", package.yanked)])) { a, _ in a }
            components.append(.object(object))
            dependencies.append(
                .object(["ref": .string(package.id), "dependsOn": .array(refs.resolve(package.dependsOn, except: package.id).map { .string($0) })])
            )
        }
        let subjectRef = "subject"
        dependencies.append(.object(["ref": .string(subjectRef), "dependsOn": .array(refs.artifactRefs.sorted().map { .string($0) })]))
        var subject: [String: JSONValue] = ["type": .string("file"), "bom-ref": .string(subjectRef), "name": .string(subjectName(inventory))]
        if let version = subjectVersion(inventory) { subject["version"] = .string(version) }
        let (toolName, toolVersion) = splitTool(tool)
        return .object([
            "$schema": .string("http://cyclonedx.org/schema/bom-1.6.schema.json"),
            "bomFormat": .string("CycloneDX"),
            "specVersion": .string("1.6"),
            "serialNumber": .string("urn:uuid:" + uuid(inventory, salt: "cyclonedx")),
            "version": .int(1),
            "metadata": .object([
                "timestamp": .string(timestamp(inventory)),
                "tools": .object(["components": .array([.object(["type": .string("application"), "name": .string(toolName), "version": .string(toolVersion)])])]),
                "component": .object(subject),
            ]),
            "components": .array(components),
            "dependencies": .array(dependencies),
        ])
    }

    // MARK: SPDX 2.3

    static func spdx(_ inventory: AuditInventory, tool: String) -> JSONValue {
        let refs = References(inventory)
        var ids: [String: String] = [:]  // document reference -> SPDXID
        var used = Set<String>()
        func spdxID(for ref: String, label: String) -> String {
            if let id = ids[ref] { return id }
            let cleaned = String(label.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : "-" })
            var id = "SPDXRef-" + cleaned
            var n = 2
            while used.contains(id) {
                id = "SPDXRef-" + cleaned + "-" + String(n)
                n += 1
            }
            used.insert(id)
            ids[ref] = id
            return id
        }
        for (artifact, ref) in zip(inventory.artifacts, refs.artifactRefs) { _ = spdxID(for: ref, label: "Artifact-" + artifact.name) }
        for package in inventory.packages { _ = spdxID(for: package.id, label: "\(package.ecosystem)-\(package.name)-\(package.version)") }

        var packages: [JSONValue] = []
        var relationships: [JSONValue] = []
        func relation(_ a: String, _ type: String, _ b: String) -> JSONValue {
            .object(["spdxElementId": .string(a), "relationshipType": .string(type), "relatedSpdxElement": .string(b)])
        }
        func base(name: String, version: String?, id: String, sha256: SHA256Digest?, purl: String?, purpose: String, file: String?) -> [String: JSONValue] {
            var object: [String: JSONValue] = [
                "name": .string(name), "SPDXID": .string(id), "downloadLocation": .string("NOASSERTION"), "filesAnalyzed": .bool(false),
                "licenseConcluded": .string("NOASSERTION"), "licenseDeclared": .string("NOASSERTION"), "copyrightText": .string("NOASSERTION"),
                "primaryPackagePurpose": .string(purpose),
            ]
            if let version { object["versionInfo"] = .string(version) }
            if let sha256 { object["checksums"] = .array([.object(["algorithm": .string("SHA256"), "checksumValue": .string(sha256.hex)])]) }
            if let purl {
                object["externalRefs"] = .array([
                    .object(["referenceCategory": .string("PACKAGE-MANAGER"), "referenceType": .string("purl"), "referenceLocator": .string(purl)])
                ])
            }
            if let file { object["packageFileName"] = .string(file) }
            return object
        }
        for (artifact, ref) in zip(inventory.artifacts, refs.artifactRefs) {
            guard let id = ids[ref] else { continue }
            let isImage = artifact.kind == ImageArtifacts.imageKind
            let (name, tag) = splitReference(artifact.name)
            var object = base(
                name: artifact.name, version: isImage ? artifact.sha256.description : nil, id: id, sha256: artifact.sha256,
                purl: isImage ? PackageURL.oci(name, digest: artifact.sha256, tag: tag) : nil,
                purpose: isImage ? "CONTAINER" : artifact.buildKind != nil ? "APPLICATION" : "FILE", file: artifact.path
            )
            var comment: [String] = []
            if let kind = artifact.buildKind { comment.append("built as \(kind)") }
            if let target = artifact.target { comment.append("for \(target)") }
            if let builder = artifact.builder { comment.append("in \(builder.reference)@\(builder.manifest)") }
            if let key = artifact.key { comment.append("build inputs \(key)") }
            if !comment.isEmpty { object["comment"] = .string(comment.joined(separator: " ")) }
            packages.append(.object(object))
            relationships.append(relation("SPDXRef-DOCUMENT", "DESCRIBES", id))
            for input in refs.resolve(artifact.inputs, except: ref) {
                guard let other = ids[input] else { continue }
                relationships.append(relation(id, isImage ? "CONTAINS" : "DEPENDS_ON", other))
            }
        }
        for package in inventory.packages {
            guard let id = ids[package.id] else { continue }
            var object = base(
                name: package.name, version: package.version, id: id, sha256: package.sha256, purl: package.purl,
                purpose: package.kind == "go-toolchain" ? "APPLICATION" : package.kind == "deb" ? "OPERATING-SYSTEM" : "LIBRARY",
                file: package.file
            )
            if let license = package.license, package.licenseIsSPDX == true { object["licenseDeclared"] = .string(license) }
            if let origin = package.origin, origin.hasPrefix("https://") || origin.hasPrefix("http://") {
                object["downloadLocation"] = .string(origin)
            }
            if let license = package.license, package.licenseIsSPDX != true { object["licenseComments"] = .string("declared: " + license) }
            packages.append(.object(object))
            for dependency in refs.resolve(package.dependsOn, except: package.id) {
                guard let other = ids[dependency] else { continue }
                relationships.append(relation(id, "DEPENDS_ON", other))
            }
        }
        let uuid = uuid(inventory, salt: "spdx")
        return .object([
            "spdxVersion": .string("SPDX-2.3"),
            "dataLicense": .string("CC0-1.0"),
            "SPDXID": .string("SPDXRef-DOCUMENT"),
            "name": .string(subjectName(inventory) + (subjectVersion(inventory).map { " (\($0))" } ?? "")),
            "documentNamespace": .string("https://airlock.invalid/spdx/" + uuid),
            "creationInfo": .object([
                "created": .string(timestamp(inventory)),
                "creators": .array([.string("Tool: " + tool.replacingOccurrences(of: " ", with: "-"))]),
            ]),
            "packages": .array(packages),
            "relationships": .array(relationships),
        ])
    }

    /// `NAME:TAG` (or NAME@sha256:...) as name and tag.
    static func splitReference(_ reference: String) -> (String, String?) {
        if let at = reference.firstIndex(of: "@") { return (String(reference[..<at]), nil) }
        if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
            return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
        }
        return (reference, nil)
    }

    static func splitTool(_ tool: String) -> (String, String) {
        let parts = tool.split(separator: " ", maxSplits: 1).map(String.init)
        return (parts.first ?? "airlock", parts.count > 1 ? parts[1] : "")
    }
}
