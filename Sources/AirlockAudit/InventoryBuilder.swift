// From what a bundle's manifest (or a store's index) lists, plus the facts read inside its blobs, to
// the inventory: which entries are packages (wheels, sdists, Go modules and toolchains, the Debian
// packages of each image), which are artifacts (built zips, images, plain files), and how they
// depend on each other (Requires-Dist and go.mod among the packages present; each artifact on the
// blobs its provenance names as inputs; each image on its Debian packages and the app it carries).

import AirlockCore
import AirlockPython

struct InventoryBuilder {
    var subject: AuditInventory.Subject
    /// Every entry, as a manifest lists artifacts (a store's are made to look the same).
    var items: [ManifestArtifact]
    var facts: [SHA256Digest: BlobFacts]
    var notes: [String]
    /// Origins the store's index records, by digest.
    var origins: [SHA256Digest: String] = [:]

    func build() -> AuditInventory {
        var packages: [String: AuditInventory.Package] = [:]
        var artifacts: [AuditInventory.Artifact] = []
        var images: [AuditInventory.Image] = []
        var requires: [String: [String]] = [:]  // package id -> normalised names it requires
        var goRequires: [String: [String]] = [:]  // "path@version" -> "path@version"s
        var seen = Set<SHA256Digest>()

        for original in items {
            var item = original
            item.kind = BlobFactReader.kind(of: original)
            let id = item.sha256.description
            switch item.kind {
            case "wheel", "build-wheel", "sdist":
                guard seen.insert(item.sha256).inserted else { continue }
                let file = FileSystem.baseName(item.path)
                var name = "", version = ""
                if let wheel = try? WheelName(file) {
                    (name, version) = (wheel.distribution, wheel.version)
                } else if let (n, v) = Self.sdistName(file) {
                    (name, version) = (n, v)
                }
                var metadata: PackageMetadata? = nil
                if case .metadata(let m)? = facts[item.sha256] { metadata = m }
                name = metadata?.name ?? name
                version = metadata?.version ?? version
                var package = AuditInventory.Package(
                    id: id, ecosystem: "pypi", name: WheelName.normalize(name), version: version, kind: item.kind,
                    purl: PackageURL.pypi(name, version), file: file, sha256: item.sha256, size: item.size
                )
                package.license = metadata?.license
                package.licenseIsSPDX = metadata.map { $0.license == nil ? nil : $0.licenseIsSPDX } ?? nil
                package.origin = item.provenance?["url"]?.stringValue ?? origins[item.sha256]
                package.yanked = item.provenance?["yanked"]?.stringValue
                packages[id] = package
                requires[id] = metadata?.requires ?? []
            case "go-module":
                guard seen.insert(item.sha256).inserted, let (path, version) = Self.moduleName(item.name, suffix: ".zip") else { continue }
                var package = AuditInventory.Package(
                    id: id, ecosystem: "golang", name: path, version: version, kind: item.kind,
                    purl: PackageURL.golang(path, version), file: FileSystem.baseName(item.path), sha256: item.sha256, size: item.size
                )
                package.origin = origins[item.sha256]
                packages[id] = package
            case "go-mod":
                if let (path, version) = Self.moduleName(item.name, suffix: ".mod"), case .goRequirements(let list)? = facts[item.sha256] {
                    goRequires[path + "@" + version] = list
                }
            case "go-toolchain":
                guard seen.insert(item.sha256).inserted else { continue }
                let version = item.provenance?["version"]?.stringValue ?? item.name
                var package = AuditInventory.Package(
                    id: id, ecosystem: "generic", name: "go", version: version, kind: item.kind,
                    purl: PackageURL.generic("go", version) + "?platform=" + PackageURL.encode(item.provenance?["platform"]?.stringValue ?? ""),
                    file: FileSystem.baseName(item.path), sha256: item.sha256, size: item.size
                )
                package.origin = origins[item.sha256]
                packages[id] = package
            case "go-info", ImageArtifacts.configKind, ImageArtifacts.layerKind, "attestation", "sbom", BuildSources.kind:
                continue
            case ImageArtifacts.imageKind:
                guard let provenance = try? item.provenance?.decoded(as: ImageProvenance.self) else {
                    artifacts.append(artifact(item, inputs: []))
                    continue
                }
                var debIDs: [String] = []
                // The dpkg database of the topmost layer that has one is the image's.
                for layer in provenance.image.layers.reversed() {
                    guard case .dpkg(let list)? = facts[layer] else { continue }
                    let byName = Dictionary(list.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                    for deb in list {
                        let purl = PackageURL.deb(deb.name, deb.version, architecture: deb.architecture)
                        debIDs.append(purl)
                        if packages[purl] == nil {
                            var package = AuditInventory.Package(
                                id: purl, ecosystem: "deb", name: deb.name, version: deb.version, kind: "deb", purl: purl
                            )
                            package.image = item.name
                            package.dependsOn = deb.depends.compactMap { byName[$0] }.map {
                                PackageURL.deb($0.name, $0.version, architecture: $0.architecture)
                            }.sorted()
                            packages[purl] = package
                        }
                    }
                    break
                }
                var platform: String? = nil
                if case .platform(let p)? = facts[provenance.image.config] { platform = p }
                images.append(
                    AuditInventory.Image(
                        reference: item.name, manifest: item.sha256, config: provenance.image.config, layers: provenance.image.layers,
                        platform: platform, debPackages: debIDs.count, app: provenance.app?.zip
                    )
                )
                var inputs = debIDs
                if let zip = provenance.app?.zip { inputs.append(zip.description) }
                var image = artifact(item, inputs: inputs)
                image.runtime = provenance.app?.runtime
                image.functions = provenance.app.map { $0.functions.map(\.name) }
                artifacts.append(image)
            default:
                var inputs: [String] = []
                var provenance: Provenance? = nil
                if let value = item.provenance, value["schema"] != nil { provenance = try? Provenance.read(value) }
                if let p = provenance, let buildInputs = p.inputs {
                    inputs = buildInputs.blobs.map(\.sha256.description)
                    if let image = buildInputs.image { inputs.append(image.manifest.description) }
                }
                var a = artifact(item, inputs: inputs)
                if let p = provenance {
                    a.buildKind = p.kind
                    a.target = p.inputs.map { t in
                        [t.target.language, t.target.version, t.target.platform, t.target.libc ?? ""].filter { !$0.isEmpty }.joined(separator: " ")
                    }
                    a.builder = p.inputs?.image ?? p.sandbox?.image
                    a.toolchain = p.sandbox?.toolchain
                    a.runtime = p.sandbox?.runtime
                    a.key = p.key
                    a.sourceDateEpoch = p.inputs?.sourceDateEpoch
                    a.functions = p.functions?.map(\.name)
                }
                artifacts.append(a)
            }
        }

        // Requires-Dist among the Python packages present; go.mod among the modules present.
        var pypiByName: [String: [String]] = [:]
        var moduleByKey: [String: String] = [:]
        for package in packages.values {
            if package.ecosystem == "pypi" { pypiByName[package.name, default: []].append(package.id) }
            if package.ecosystem == "golang" { moduleByKey[package.name + "@" + package.version] = package.id }
        }
        for (id, names) in requires {
            packages[id]?.dependsOn = Array(Set(names.flatMap { pypiByName[$0] ?? [] }).subtracting([id])).sorted()
        }
        for (key, required) in goRequires {
            guard let id = moduleByKey[key] else { continue }
            packages[id]?.dependsOn = required.compactMap { moduleByKey[$0] }.sorted()
        }
        return AuditInventory(subject: subject, artifacts: artifacts, packages: Array(packages.values), images: images, notes: notes)
    }

    private func artifact(_ item: ManifestArtifact, inputs: [String]) -> AuditInventory.Artifact {
        AuditInventory.Artifact(
            name: item.name, kind: item.kind, path: item.path, sha256: item.sha256, size: item.size, mediaType: item.mediaType,
            inputs: Array(Set(inputs)).sorted()
        )
    }

    /// `path@version.zip` (as Go module artifacts are named) as path and version.
    static func moduleName(_ name: String, suffix: String) -> (String, String)? {
        guard name.hasSuffix(suffix), let at = name.lastIndex(of: "@") else { return nil }
        return (String(name[..<at]), String(name[name.index(after: at)...].dropLast(suffix.count)))
    }

    /// `NAME-VERSION.tar.gz` (or `.zip`) as name and version: the version follows the last `-`.
    static func sdistName(_ file: String) -> (String, String)? {
        var stem = file
        for suffix in [".tar.gz", ".zip", ".tar.bz2", ".tgz"] where stem.hasSuffix(suffix) {
            stem = String(stem.dropLast(suffix.count))
            break
        }
        guard stem != file, let dash = stem.lastIndex(of: "-") else { return nil }
        return (String(stem[..<dash]), String(stem[stem.index(after: dash)...]))
    }
}
