// The image `--runtime auto` proves a runtime with: one layer holding `/true`, a static ELF of a
// few dozen bytes that exits 0, for the host's machine. Small, so a trial costs a daemon a
// fraction of a second (loading the 200 MiB build image into a podman that then cannot start it
// would cost seconds and leave the image in its storage), and independent of any build image, so
// a failed trial is the runtime's fault and nothing else's. Its bytes are fixed (the same digests
// on every machine of one architecture); its blobs are stored unnamed, so `store gc` may remove
// them and the next trial writes them again.

public import AirlockCore

#if canImport(Glibc)
    import Glibc
#endif

public enum TrialImage {
    /// The command a trial runs.
    public static let command = ["/true"]

    /// The trial image for this machine, its blobs written to `store` when missing.
    public static func make(in store: Store) throws -> ImageRecord {
        guard let (architecture, code, machine) = Self.program() else {
            throw UsageError(
                RuntimeErrorCode.unavailable,
                "--runtime auto: no trial program for this machine; name a runtime with --runtime"
            )
        }
        let executable = elf(machine: machine, code: code)
        let layer = try tar(file: "true", bytes: executable)
        var config = OCIImageConfig(document: [:])
        config.architecture = architecture
        config.os = "linux"
        config.created = "1980-01-01T00:00:00Z"
        config.diffIDs = [SHA256Hasher.hash(layer).description]
        let configBytes = try OCIJSON.encode(config)
        let layerDescriptor = OCIDescriptor(mediaType: OCIMediaType.layer, digest: SHA256Hasher.hash(layer), size: layer.count)
        let configDescriptor = OCIDescriptor(mediaType: OCIMediaType.config, digest: SHA256Hasher.hash(configBytes), size: configBytes.count)
        let manifestBytes = try OCIJSON.encode(OCIManifest(config: configDescriptor, layers: [layerDescriptor]))
        var staged: [(digest: SHA256Digest, temporaryPath: String)] = []
        for bytes in [layer, configBytes, manifestBytes] where !store.contains(SHA256Hasher.hash(bytes)) {
            let writer = try store.makeWriter(syncOnFinish: false)
            try writer.append(bytes)
            staged.append((try writer.finish(), writer.temporaryPath))
        }
        try store.commit(staged)
        return ImageRecord(
            name: "airlock-trial", tag: "1", manifest: SHA256Hasher.hash(manifestBytes), config: configDescriptor.digest,
            layers: [layerDescriptor], size: manifestBytes.count + configBytes.count + layer.count, architecture: architecture, os: "linux"
        )
    }

    /// `exit(0)` for the host's machine: the OCI architecture, the code, the ELF machine number.
    static func program() -> (String, [UInt8], UInt16)? {
        #if arch(x86_64)
            // mov eax, 60 (exit); xor edi, edi; syscall
            return ("amd64", [0xB8, 0x3C, 0, 0, 0, 0x31, 0xFF, 0x0F, 0x05], 62)
        #elseif arch(arm64)
            // mov x8, #93 (exit); mov x0, #0; svc #0
            return ("arm64", [0xA8, 0x0B, 0x80, 0xD2, 0x00, 0x00, 0x80, 0xD2, 0x01, 0x00, 0x00, 0xD4], 183)
        #else
            return nil
        #endif
    }

    /// A minimal static ELF64 little-endian executable: the header, one PT_LOAD, the code.
    static func elf(machine: UInt16, code: [UInt8]) -> [UInt8] {
        let base: UInt64 = 0x40_0000
        let headers = 64 + 56
        var out: [UInt8] = []
        func u16(_ v: UInt16) { out += withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u32(_ v: UInt32) { out += withUnsafeBytes(of: v.littleEndian, Array.init) }
        func u64(_ v: UInt64) { out += withUnsafeBytes(of: v.littleEndian, Array.init) }
        out += [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)  // ELF64, LE, SysV
        u16(2)  // ET_EXEC
        u16(machine)
        u32(1)
        u64(base + UInt64(headers))  // entry
        u64(64)  // program headers
        u64(0)  // no section headers
        u32(0)
        u16(64)
        u16(56)
        u16(1)
        u16(0)
        u16(0)
        u16(0)
        u32(1)  // PT_LOAD
        u32(5)  // R + X
        u64(0)
        u64(base)
        u64(base)
        u64(UInt64(headers + code.count))
        u64(UInt64(headers + code.count))
        u64(0x1000)
        return out + code
    }

    private static func tar(file: String, bytes: [UInt8]) throws -> [UInt8] {
        let sink = BytesOutput()
        let writer = try TarWriter(output: sink, name: "trial layer", compression: .none)
        try writer.addFile(path: file, bytes: bytes, mode: 0o755, mtime: 315_532_800)
        try writer.close()
        return sink.bytes
    }
}

/// Collects an archive's bytes in memory.
private final class BytesOutput: ArchiveOutput {
    var bytes: [UInt8] = []
    func write(_ chunk: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: chunk) }
    func close() throws {}
}
