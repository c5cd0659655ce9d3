// The wheel tags a target interpreter accepts, in preference order, computed exactly as
// `packaging.tags` does for CPython (cpython_tags + compatible_tags over the manylinux platforms of
// `packaging._manylinux.platform_tags`), with two deliberate differences: the glibc is the target's
// runtime glibc, not the build host's, and the bare `linux_<arch>` tag is never accepted (such
// wheels are built for one machine and carry no glibc promise).

import AirlockCore

/// One `interpreter-abi-platform` tag.
public struct WheelTag: Hashable, Sendable, CustomStringConvertible {
    public let interpreter: String
    public let abi: String
    public let platform: String

    public init(_ interpreter: String, _ abi: String, _ platform: String) {
        self.interpreter = interpreter
        self.abi = abi
        self.platform = platform
    }

    public var description: String { "\(interpreter)-\(abi)-\(platform)" }
}

extension PythonTarget {
    /// manylinux platform tags from the target glibc down, with the legacy aliases, as
    /// `packaging._manylinux.platform_tags` yields them.
    public var platformTags: [String] {
        let arch = architecture
        let (major, maxMinor) = glibcParts
        // x86_64 and i686 go down to glibc 2.5 (manylinux1); every other architecture to 2.17.
        let lowest = arch == "x86_64" || arch == "i686" ? 5 : 17
        var tags: [String] = []
        guard major == 2 else { return tags }
        for minor in stride(from: maxMinor, through: lowest, by: -1) {
            tags.append("manylinux_2_\(minor)_\(arch)")
            switch minor {
            case 17: tags.append("manylinux2014_\(arch)")
            case 12: tags.append("manylinux2010_\(arch)")
            case 5: tags.append("manylinux1_\(arch)")
            default: break
            }
        }
        return tags
    }

    /// Every tag the target accepts, most preferred first.
    public var compatibleTags: [WheelTag] {
        let (major, minor) = versionParts
        let cp = "cp\(major)\(minor)"
        let platforms = platformTags
        var tags: [WheelTag] = []
        // cpython_tags: the interpreter's own ABI, then abi3, then none, then older abi3.
        for p in platforms { tags.append(WheelTag(cp, cp, p)) }
        let abi3 = major == 3 && minor >= 2
        if abi3 { for p in platforms { tags.append(WheelTag(cp, "abi3", p)) } }
        for p in platforms { tags.append(WheelTag(cp, "none", p)) }
        if abi3 {
            for older in stride(from: minor - 1, through: 2, by: -1) {
                for p in platforms { tags.append(WheelTag("cp\(major)\(older)", "abi3", p)) }
            }
        }
        // compatible_tags: pyXY-none-platform, cpXY-none-any, pyXY-none-any.
        let pyVersions = ["py\(major)\(minor)", "py\(major)"] + stride(from: minor - 1, through: 0, by: -1).map { "py\(major)\($0)" }
        for v in pyVersions { for p in platforms { tags.append(WheelTag(v, "none", p)) } }
        tags.append(WheelTag(cp, "none", "any"))
        for v in pyVersions { tags.append(WheelTag(v, "none", "any")) }
        return tags
    }
}

/// Fast lookup of a tag's preference rank (0 = best).
public struct TagRanking: Sendable {
    private let rank: [WheelTag: Int]
    public let tags: [WheelTag]

    public init(_ target: PythonTarget) {
        tags = target.compatibleTags
        var rank: [WheelTag: Int] = [:]
        for (i, t) in tags.enumerated() where rank[t] == nil { rank[t] = i }
        self.rank = rank
    }

    /// The best rank among `tags`, or nil when none is accepted.
    public func bestRank(of tags: [WheelTag]) -> Int? { tags.compactMap { rank[$0] }.min() }
}
