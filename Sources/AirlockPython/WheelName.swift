// Wheel file names (PEP 427 / the binary distribution format spec):
// `{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`, where each tag
// part may be a compressed set (`py2.py3`, `manylinux_2_17_x86_64.manylinux2014_x86_64`).

public import AirlockCore

public struct WheelName: Sendable, Equatable {
    public let distribution: String
    public let version: String
    public let build: String?
    public let tags: [WheelTag]
    public let fileName: String

    public init(_ fileName: String) throws {
        guard fileName.hasSuffix(".whl") else {
            throw WheelError(.badName, "\(fileName): not a wheel file name (no .whl)")
        }
        let parts = fileName.dropLast(4).split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5 || parts.count == 6, parts.allSatisfy({ !$0.isEmpty }) else {
            throw WheelError(
                .badName,
                "\(fileName): not a wheel file name (want NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl)"
            )
        }
        distribution = parts[0]
        version = parts[1]
        build = parts.count == 6 ? parts[2] : nil
        if let build, !(build.first?.isNumber ?? false) {
            throw WheelError(.badName, "\(fileName): build tag '\(build)' must start with a digit")
        }
        let n = parts.count
        var tags: [WheelTag] = []
        for py in parts[n - 3].split(separator: ".") {
            for abi in parts[n - 2].split(separator: ".") {
                for platform in parts[n - 1].split(separator: ".") {
                    tags.append(WheelTag(String(py), String(abi), String(platform)))
                }
            }
        }
        self.tags = tags
        self.fileName = fileName
    }

    /// The `.dist-info` directory name the spec requires inside the wheel.
    public var distInfo: String { "\(distribution)-\(version).dist-info" }
    /// The `.data` directory name.
    public var dataDirectory: String { "\(distribution)-\(version).data" }

    /// PEP 503 normalised project name: lowercase, runs of `-_.` as one `-`.
    public static func normalize(_ name: String) -> String {
        var out = ""
        var lastWasSeparator = false
        for c in name.lowercased() {
            if c == "-" || c == "_" || c == "." {
                if !lastWasSeparator { out.append("-") }
                lastWasSeparator = true
            } else {
                out.append(c)
                lastWasSeparator = false
            }
        }
        return out
    }
}

/// A wheel Airlock will not install: its name, its layout, its RECORD, a member.
public struct WheelError: AirlockError {
    public let description: String
    public let status: ExitStatus
    public let code: ErrorCode

    public init(_ code: WheelErrorCode, _ description: String, status: ExitStatus = .badInput) {
        self.description = description
        self.status = status
        self.code = code.code
    }
}
