// The fuzz harnesses: one function per parser of outside input, each feeding hostile bytes to the
// real parser as Airlock calls it. A harness must never crash: a thrown error is the parser doing
// its job and is ignored; a trap, a precondition failure, an ASan or leak report, a hang, or a
// broken invariant checked here (a round trip that differs, a file written outside its directory)
// is a bug. Run by `airlock-fuzz` under libFuzzer (`make fuzz`) and over the committed corpus by
// AirlockFuzzTests (`make test`). It owns no parser: each lives in its domain's module.

import AirlockBundle
import AirlockContainer
import AirlockCore
import AirlockGo
import AirlockPython

public enum FuzzHarnesses {
    public typealias Harness = @Sendable ([UInt8]) -> Void

    /// Every harness by name; the name is its corpus directory (`Fuzz/corpus/<name>/`).
    public static let all: [(name: String, run: Harness)] = [
        ("manifest", manifest),
        ("canonical-json", canonicalJSON),
        ("bundle", bundle),
        ("zip", zip),
        ("wheel-metadata", wheelMetadata),
        ("wheel", wheel),
        ("elf", elf),
        ("sdist", sdist),
        ("oci", oci),
        ("layer", layer),
        ("go-module-zip", goModuleZip),
        ("go-sum", goSum),
        ("go-mod", goMod),
        ("lock", lock),
        ("pylock", pylock),
        ("funcignore", funcignore),
    ]

    public static func named(_ name: String) -> Harness? { all.first { $0.name == name }?.run }

    /// A failed invariant: a bug in the parser, reported as a crash with the harness's words.
    static func violated(_ harness: String, _ what: String) -> Never {
        preconditionFailure("fuzz harness \(harness): \(what)")
    }

    // MARK: AirlockCore

    /// The signed manifest: `Manifest(canonicalBytes:)`, which accepts only canonical bytes, so a
    /// manifest it accepts must write itself back byte for byte.
    public static func manifest(_ bytes: [UInt8]) {
        guard let manifest = try? Manifest(canonicalBytes: bytes) else { return }
        if manifest.canonicalBytes != bytes { violated("manifest", "an accepted manifest does not write back as its bytes") }
        if let again = try? Manifest(canonicalBytes: manifest.canonicalBytes), again.canonicalBytes == bytes { return }
        violated("manifest", "an accepted manifest's own bytes are refused")
    }

    /// The strict JSON parser under manifests and policies: what it accepts, written canonically
    /// (RFC 8785), parses back to the same value and writes the same bytes again.
    public static func canonicalJSON(_ bytes: [UInt8]) {
        guard let value = try? JSONValue(parsing: bytes) else { return }
        let canonical = value.canonicalBytes
        guard let again = try? JSONValue(parsing: canonical) else {
            violated("canonical-json", "the canonical form of an accepted document is refused")
        }
        if again != value { violated("canonical-json", "the canonical form parses to another value") }
        if again.canonicalBytes != canonical { violated("canonical-json", "the canonical form is not stable") }
    }

    /// The zip central-directory reader (wheels, sdists, module zips): every entry's data range
    /// and its compressed bytes, copied out as the zip writer copies them.
    public static func zip(_ bytes: [UInt8]) {
        FuzzScratch.withFile(bytes, named: "input.zip") { path, _ in
            guard let reader = try? ZipReader(path: path) else { return }
            for entry in reader.entries.prefix(256) {
                guard let range = try? reader.dataRange(of: entry) else { continue }
                if range.lowerBound < 0 || range.upperBound > bytes.count {
                    violated("zip", "entry '\(entry.name)' has data range \(range) outside the \(bytes.count)-byte file")
                }
                var copied = 0
                try? reader.copyCompressed(entry) { copied += $0.count }
                if copied > entry.compressedSize {
                    violated("zip", "entry '\(entry.name)' copied \(copied) bytes, over its \(entry.compressedSize)")
                }
            }
        }
    }

    /// ELF objects (the glibc audit of wheels, the Go handler check), from memory and from a file:
    /// both readers give the same answer.
    public static func elf(_ bytes: [UInt8]) {
        let inMemory = Result { try ELFFile(bytes: bytes, path: "input") }
        FuzzScratch.withFile(bytes, named: "input.so") { path, _ in
            let onDisk = Result { try ELFFile(contentsOf: path, displayPath: "input") }
            switch (inMemory, onDisk) {
            case (.success(let a), .success(let b)):
                if a != b { violated("elf", "the in-memory and on-disk readers disagree") }
            case (.failure, .failure):
                break
            default:
                violated("elf", "one of the in-memory and on-disk readers accepts what the other refuses")
            }
        }
    }

    // MARK: AirlockContainer

    /// OCI documents as pulled, imported or served: index, manifest and config, each re-encoded
    /// and decoded again.
    public static func oci(_ bytes: [UInt8]) {
        if let index = try? OCIJSON.decode(OCIIndex.self, from: bytes, what: "index") {
            _ = try? OCIJSON.encode(index)
        }
        if let manifest = try? OCIJSON.decode(OCIManifest.self, from: bytes, what: "manifest"),
            let encoded = try? OCIJSON.encode(manifest)
        {
            guard let again = try? OCIJSON.decode(OCIManifest.self, from: encoded, what: "manifest") else {
                violated("oci", "a re-encoded manifest is refused")
            }
            if again != manifest { violated("oci", "a re-encoded manifest decodes to another manifest") }
        }
        if let config = try? OCIJSON.decode(OCIImageConfig.self, from: bytes, what: "config"),
            let encoded = try? OCIJSON.encode(config)
        {
            if (try? OCIJSON.decode(OCIImageConfig.self, from: encoded, what: "config")) == nil {
                violated("oci", "a re-encoded config is refused")
            }
        }
    }

    /// An OCI layer (tar, gzip or zstd) applied to a rootfs in a fresh directory, beside an empty
    /// sibling: nothing may appear anywhere but under the rootfs.
    public static func layer(_ bytes: [UInt8]) {
        FuzzScratch.withFile(bytes, named: "layer") { path, directory in
            let root = directory + "/root"
            let outside = directory + "/outside"
            guard (try? FileSystem.makeDirectory(root)) != nil, (try? FileSystem.makeDirectory(outside)) != nil else {
                return
            }
            _ = try? ImageRootfs.apply(layersAt: [path], to: root)
            FuzzScratch.expectNothingBeside(root, outside: outside, in: directory, keeping: ["layer"], harness: "layer")
        }
    }
}
