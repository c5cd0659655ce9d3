// The installer's readers of a wheel's dist-info text files (RECORD's CSV, the WHEEL and METADATA
// headers, entry_points.txt), opened as a `package` seam so the fuzz harnesses (AirlockFuzz) feed
// them hostile text directly, without @testable; the installer itself calls the internal ones.

extension WheelInstaller {
    /// RECORD's rows, as the installer reads them (Python's csv dialect).
    package static func recordRows(_ text: String) -> [[String]] { CSV.parse(text) }

    /// `Key: value` headers of WHEEL or METADATA (keys lowercased), up to the first blank line.
    package static func metadataHeaders(_ text: String) -> [String: [String]] { EmailHeaders.parse(text) }

    /// The console and GUI scripts entry_points.txt declares, by name, with their wrappers' bytes.
    package static func scripts(entryPoints text: String) throws -> [(name: String, content: [UInt8])] {
        try Scripts.wrappers(entryPoints: text) { code, reason in WheelError(code, "entry_points.txt: \(reason)") }
            .map { ($0.name, $0.content) }
    }

    /// METADATA's `Requires-Python`, as the mirror lists it.
    package static func requiresPython(metadata bytes: [UInt8]) -> String? {
        WheelMetadataIndexer.requiresPython(bytes)
    }
}
