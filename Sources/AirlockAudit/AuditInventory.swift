// What crossed (or would cross) the gap, as one value: the subject's identity and signers, its
// artifacts with what built them, every package they carry or were built from, and the images with
// their layers. The table `airlock audit` prints, its JSON, the diff and both SBOMs are read from
// this type alone. Lists are sorted so that the same subject gives the same bytes.

public import AirlockCore

public struct AuditInventory: Codable, Sendable, Equatable {
    /// A bundle (verified) or a store.
    public struct Subject: Codable, Sendable, Equatable {
        /// `bundle` or `store`.
        public var kind: String
        public var path: String
        public var bundle: String?
        public var channel: String?
        public var sequence: Int?
        public var created: String?
        public var expires: String?
        /// The key ids whose signatures held, with the name the trust policy gives each.
        public var signers: [Signer]
        /// For a store: the bundles it imported, oldest first.
        public var imports: [Imported]?

        public init(kind: String, path: String, signers: [Signer] = []) {
            self.kind = kind
            self.path = path
            self.signers = signers
        }
    }

    public struct Signer: Codable, Sendable, Equatable, Hashable {
        public var keyID: String
        public var name: String?

        public init(keyID: String, name: String?) {
            self.keyID = keyID
            self.name = name
        }
    }

    public struct Imported: Codable, Sendable, Equatable {
        public var bundle: String
        public var channel: String
        public var sequence: Int
        public var signers: [String]
        public var time: String
    }

    /// Something built or carried for its own sake: a function app zip, an image, a plain file.
    public struct Artifact: Codable, Sendable, Equatable {
        public var name: String
        public var kind: String
        public var path: String
        public var sha256: SHA256Digest
        public var size: Int
        public var mediaType: String
        /// The provenance's artifact kind (`python-function-app`, `go-custom-handler`).
        public var buildKind: String?
        /// `python 3.11 linux/amd64 glibc 2.31`.
        public var target: String?
        /// The image the build ran in, by reference and digest.
        public var builder: BuildInputImage?
        /// `python 3.11.2`, `go 1.22.10`.
        public var toolchain: String?
        public var runtime: String?
        /// The action-cache key: the digest of the build inputs.
        public var key: SHA256Digest?
        public var sourceDateEpoch: Int64?
        /// The functions the smoke test listed.
        public var functions: [String]?
        /// The ids of the packages the build read (its input blobs), sorted.
        public var inputs: [String]
    }

    /// One package: a wheel, an sdist, a Go module or toolchain, an image, a Debian package in an image.
    public struct Package: Codable, Sendable, Equatable {
        /// Unique in the inventory: `sha256:HEX` for a package that is a blob, the purl otherwise.
        public var id: String
        /// `pypi`, `golang`, `oci`, `deb`, `generic`.
        public var ecosystem: String
        public var name: String
        public var version: String
        /// `wheel`, `sdist`, `build-wheel`, `go-module`, `go-toolchain`, `image`, `deb`.
        public var kind: String
        public var purl: String
        public var file: String?
        public var sha256: SHA256Digest?
        public var size: Int?
        /// The licence as the package's own metadata states it (an SPDX expression where it gives one).
        public var license: String?
        /// Whether `license` is an SPDX expression (`License-Expression`, a known classifier).
        public var licenseIsSPDX: Bool?
        /// Where it came from (an index URL, a Go proxy, a Debian mirror), when recorded.
        public var origin: String?
        /// The ids of the packages it depends on, among those in the inventory.
        public var dependsOn: [String]
        /// For a Debian package: the image (reference) it was found in.
        public var image: String?
        /// PEP 592 yank reason, when the lock took a yanked file.
        public var yanked: String?

        public init(
            id: String, ecosystem: String, name: String, version: String, kind: String, purl: String, file: String? = nil,
            sha256: SHA256Digest? = nil, size: Int? = nil
        ) {
            self.id = id
            self.ecosystem = ecosystem
            self.name = name
            self.version = version
            self.kind = kind
            self.purl = purl
            self.file = file
            self.sha256 = sha256
            self.size = size
            self.dependsOn = []
        }
    }

    public struct Image: Codable, Sendable, Equatable {
        public var reference: String
        public var manifest: SHA256Digest
        public var config: SHA256Digest
        public var layers: [SHA256Digest]
        /// `linux/amd64`, from the config.
        public var platform: String?
        /// How many Debian packages its dpkg database lists.
        public var debPackages: Int
        /// For an app image: the zip it carries.
        public var app: SHA256Digest?
    }

    public var subject: Subject
    public var artifacts: [Artifact]
    public var packages: [Package]
    public var images: [Image]
    /// What could not be read (a wheel without METADATA, a layer that is not a tar), said once each.
    public var notes: [String]

    public init(subject: Subject, artifacts: [Artifact], packages: [Package], images: [Image], notes: [String] = []) {
        self.subject = subject
        self.artifacts = artifacts.sorted { ($0.name, $0.sha256.hex) < ($1.name, $1.sha256.hex) }
        // The app's own ecosystems first, the images' Debian packages last.
        let rank = ["pypi": 0, "golang": 1, "generic": 2, "deb": 3]
        self.packages = packages.sorted {
            (rank[$0.ecosystem] ?? 9, $0.ecosystem, $0.name, $0.version, $0.id) < (rank[$1.ecosystem] ?? 9, $1.ecosystem, $1.name, $1.version, $1.id)
        }
        self.images = images.sorted { ($0.reference, $0.manifest.hex) < ($1.reference, $1.manifest.hex) }
        self.notes = notes
    }
}
