// Member names in image archives and layers are hostile input. A name is split into components
// here, once, with the rules both readers share: no absolute paths, no `..` anywhere, `.` and
// empty components dropped (so `./etc//passwd` is `etc/passwd`).


import AirlockCore
enum LayerPath {
    /// The components of a relative member name; throws for an absolute name or a `..` component.
    /// An empty result names the root itself (`.` or `./`).
    static func components(_ raw: String, in archive: String) throws -> [String] {
        if raw.hasPrefix("/") {
            throw ImageError.check(.unsafePath, "\(archive): member '\(raw)' has an absolute path; refused")
        }
        var out: [String] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                throw ImageError.check(.unsafePath, "\(archive): member '\(raw)' climbs out with '..'; refused")
            }
            out.append(String(part))
        }
        return out
    }

    static func isHexDigest(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
