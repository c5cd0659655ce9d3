// What an audit reads inside a blob, and only that: a wheel's METADATA or an sdist's PKG-INFO
// (licence, Requires-Dist), a go.mod's requirements, an image config's platform, and the dpkg
// database in an image layer (the Debian packages the image is made of). Each reader is bounded
// (the archive readers refuse what is not a regular member; sizes are capped) and a blob it cannot
// read gives a note, never a failed audit: the signatures and hashes have been checked already.

import AirlockCore
import AirlockGo
import AirlockPython
import Foundation

/// A package's own metadata, as its METADATA (or PKG-INFO) headers give it.
struct PackageMetadata: Sendable, Equatable {
    var name: String?
    var version: String?
    var license: String?
    var licenseIsSPDX = false
    /// The normalised names of the distributions it requires outside any extra.
    var requires: [String] = []
}

/// One installed package in a dpkg status file.
struct DebPackage: Sendable, Equatable {
    var name: String
    var version: String
    var architecture: String
    /// The names in Depends and Pre-Depends (the first of each set of alternatives).
    var depends: [String]
}

enum BlobFacts: Sendable, Equatable {
    case metadata(PackageMetadata)
    case goRequirements([String])
    case platform(String)
    case dpkg([DebPackage])
}

enum BlobFactReader {
    static let metadataLimit = 16 << 20
    static let dpkgStatusLimit = 64 << 20

    /// What an entry is to an audit: its kind, except that a plain file sealed under a wheel's
    /// name (`airlock seal wheels/*.whl`) is a wheel, as the mirror serves it.
    static func kind(of item: ManifestArtifact) -> String {
        item.kind == "file" && item.path.hasSuffix(".whl") && (try? WheelName(FileSystem.baseName(item.path))) != nil ? "wheel" : item.kind
    }

    /// Whether an artifact of `kind` has facts worth reading.
    static func reads(_ kind: String) -> Bool {
        ["wheel", "build-wheel", "sdist", "go-mod", ImageArtifacts.configKind, ImageArtifacts.layerKind].contains(kind)
    }

    /// The facts in the blob at `path`, or nil with a note on why none could be read.
    static func facts(kind: String, name: String, path: String) -> (BlobFacts?, note: String?) {
        switch kind {
        case "wheel", "build-wheel":
            guard let record = WheelMetadataIndexer.read(wheel: path, filename: name) else {
                return (nil, "\(name): no METADATA could be read from the wheel")
            }
            return (.metadata(parseMetadata(record.metadata)), nil)
        case "sdist":
            guard let bytes = sdistPKGInfo(path) else { return (nil, "\(name): no PKG-INFO could be read from the sdist") }
            return (.metadata(parseMetadata(bytes)), nil)
        case "go-mod":
            guard let bytes = try? FileSystem.readFile(path, limit: metadataLimit),
                let file = try? GoModFile(text: String(decoding: bytes, as: UTF8.self), file: name)
            else { return (nil, "\(name): not a go.mod Airlock can read") }
            return (.goRequirements(file.requirements.map { $0.path + "@" + $0.version }), nil)
        case ImageArtifacts.configKind:
            guard let bytes = try? FileSystem.readFile(path, limit: metadataLimit), let config = try? JSONValue(parsing: bytes),
                let os = config["os"]?.stringValue, let architecture = config["architecture"]?.stringValue
            else { return (nil, "\(name): an image config without os and architecture") }
            return (.platform(os + "/" + architecture), nil)
        case ImageArtifacts.layerKind:
            return dpkgStatus(layer: path, name: name)
        default:
            return (nil, nil)
        }
    }

    // MARK: METADATA

    /// The headers of a METADATA / PKG-INFO document (RFC 822 style, ending at the first blank line;
    /// continuation lines start with white space).
    static func headers(_ bytes: [UInt8]) -> [(String, String)] {
        var headers: [(String, String)] = []
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            let text = line.hasSuffix("\r") ? line.dropLast() : line[...]
            if text.trimmingCharacters(in: .whitespaces).isEmpty { break }
            if let first = text.first, first == " " || first == "\t" {
                if let last = headers.popLast() { headers.append((last.0, last.1 + "\n" + text.trimmingCharacters(in: .whitespaces))) }
                continue
            }
            guard let colon = text.firstIndex(of: ":") else { continue }
            headers.append((
                text[..<colon].trimmingCharacters(in: .whitespaces).lowercased(),
                text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            ))
        }
        return headers
    }

    static func parseMetadata(_ bytes: [UInt8]) -> PackageMetadata {
        var metadata = PackageMetadata()
        var classifiers: [String] = []
        var licenseText: String? = nil
        for (key, value) in headers(bytes) {
            switch key {
            case "name": metadata.name = value
            case "version": metadata.version = value
            case "license-expression":
                metadata.license = value
                metadata.licenseIsSPDX = SPDXLicense.isExpression(value)
            case "license": licenseText = value
            case "classifier": classifiers.append(value)
            case "requires-dist":
                if let name = requirementName(value) { metadata.requires.append(name) }
            default: continue
            }
        }
        if metadata.license == nil {
            let fromClassifiers = classifiers.compactMap(SPDXLicense.fromClassifier)
            if let text = licenseText, !text.isEmpty, !text.contains("\n"), text.utf8.count <= 200, text.uppercased() != "UNKNOWN" {
                metadata.license = text
                metadata.licenseIsSPDX = SPDXLicense.isExpression(text)
            } else if !fromClassifiers.isEmpty {
                metadata.license = Array(Set(fromClassifiers)).sorted().joined(separator: " AND ")
                metadata.licenseIsSPDX = true
            }
        }
        metadata.requires = Array(Set(metadata.requires)).sorted()
        return metadata
    }

    /// The normalised name a Requires-Dist line requires, or nil when it applies only with an extra
    /// (`... ; extra == "socks"`).
    static func requirementName(_ value: String) -> String? {
        let (requirement, marker) = {
            guard let semicolon = value.firstIndex(of: ";") else { return (value[...], "") }
            return (value[..<semicolon], String(value[value.index(after: semicolon)...]))
        }()
        if marker.replacingOccurrences(of: " ", with: "").contains("extra==") { return nil }
        let name = requirement.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
        return name.isEmpty ? nil : WheelName.normalize(String(name))
    }

    /// `NAME-VERSION/PKG-INFO` of a `.tar.gz` sdist.
    static func sdistPKGInfo(_ path: String) -> [UInt8]? {
        guard let reader = try? ArchiveReader(paths: [path], format: .layer) else { return nil }
        while let entry = try? reader.next() {
            guard let member = entry.path, entry.kind == .regular else { continue }
            let parts = member.split(separator: "/")
            if parts.count == 2, parts[1] == "PKG-INFO" { return try? reader.readAll(limit: metadataLimit) }
        }
        return nil
    }

    // MARK: dpkg

    /// The packages `var/lib/dpkg/status` lists as installed, from one layer.
    static func dpkgStatus(layer path: String, name: String) -> (BlobFacts?, note: String?) {
        guard let reader = try? ArchiveReader(paths: [path], format: .layer) else {
            return (nil, "\(name): a layer that is not a tar archive")
        }
        do {
            while let entry = try reader.next() {
                guard var member = entry.path else { continue }
                while member.hasPrefix("./") || member.hasPrefix("/") { member.removeFirst(member.hasPrefix("/") ? 1 : 2) }
                guard member == "var/lib/dpkg/status", entry.kind == .regular else { continue }
                return (.dpkg(parseDpkgStatus(try reader.readAll(limit: dpkgStatusLimit))), nil)
            }
        } catch {
            return (nil, "\(name): the layer could not be read to its end (\(error))")
        }
        return (nil, nil)
    }

    static func parseDpkgStatus(_ bytes: [UInt8]) -> [DebPackage] {
        var packages: [DebPackage] = []
        let text = String(decoding: bytes, as: UTF8.self)
        for stanza in text.components(separatedBy: "\n\n") {
            var fields: [String: String] = [:]
            var last: String? = nil
            for line in stanza.split(separator: "\n") {
                if line.first == " " || line.first == "\t" {
                    if let key = last { fields[key, default: ""] += "\n" + line }
                    continue
                }
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = line[..<colon].lowercased()
                fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                last = key
            }
            guard let name = fields["package"], let version = fields["version"],
                fields["status"]?.hasSuffix(" installed") ?? false
            else { continue }
            let depends = [fields["pre-depends"], fields["depends"]].compactMap { $0 }.flatMap { list in
                list.split(separator: ",").compactMap { alternatives -> String? in
                    let first = alternatives.split(separator: "|").first ?? ""
                    let dependency = first.trimmingCharacters(in: .whitespaces).prefix { !$0.isWhitespace && $0 != "(" && $0 != ":" }
                    return dependency.isEmpty ? nil : String(dependency)
                }
            }
            packages.append(
                DebPackage(name: name, version: version, architecture: fields["architecture"] ?? "all", depends: Array(Set(depends)).sorted())
            )
        }
        return packages.sorted { $0.name < $1.name }
    }
}
