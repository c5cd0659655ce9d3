import AirlockContainer
import AirlockCore
import AirlockTestSupport
import Testing

@Suite struct SandboxSpecTests {
    @Test func cleanEnvironmentIsTheFixedSetPlusTheCallersVariables() {
        let spec = SandboxSpec(
            image: "/",
            arguments: ["true"],
            environment: ["EXTRA": "1", "LANG": "C"],
            sourceDateEpoch: 1_700_000_000
        )
        let names = spec.effectiveEnvironment.map(\.name)
        #expect(names == ["EXTRA", "HOME", "LANG", "PATH", "PYTHONDONTWRITEBYTECODE", "SOURCE_DATE_EPOCH"])
        let values = Dictionary(uniqueKeysWithValues: spec.effectiveEnvironment.map { ($0.name, $0.value) })
        #expect(values["LANG"] == "C")
        #expect(values["SOURCE_DATE_EPOCH"] == "1700000000")
        #expect(values["PYTHONDONTWRITEBYTECODE"] == "1")
        #expect(SandboxSpec(image: "/", arguments: ["true"]).cleanEnvironment["SOURCE_DATE_EPOCH"] == "315532800")
    }

    struct BadSpec: Sendable, CustomTestStringConvertible {
        var label: String
        var arguments: [String] = ["true"]
        var workingDirectory = "/"
        var mounts: [(source: String?, target: String, readOnly: Bool)] = []
        var environment: [String: String] = [:]
        var expected: String
        var testDescription: String { label }
    }

    static let badSpecs: [BadSpec] = [
        BadSpec(label: "no command", arguments: [], expected: "no command"),
        BadSpec(label: "relative working directory", workingDirectory: "work", expected: "working directory"),
        BadSpec(label: "dotdot working directory", workingDirectory: "/work/../etc", expected: "working directory"),
        BadSpec(label: "relative target", mounts: [(nil, "work/in", true)], expected: "mount target"),
        BadSpec(label: "dotdot target", mounts: [(nil, "/work/../etc", true)], expected: "mount target"),
        BadSpec(label: "root target", mounts: [(nil, "/", true)], expected: "mount target"),
        BadSpec(label: "proc target", mounts: [(nil, "/proc/x", true)], expected: "/proc"),
        BadSpec(label: "dev target", mounts: [(nil, "/dev", true)], expected: "/dev"),
        BadSpec(
            label: "missing source",
            mounts: [("/nonexistent-airlock-source", "/in", true)],
            expected: "does not exist"
        ),
        BadSpec(label: "relative source", mounts: [("tmp", "/in", true)], expected: "mount source"),
        BadSpec(
            label: "two writable",
            mounts: [(nil, "/a", false), (nil, "/b", false)],
            expected: "only one writable"
        ),
        BadSpec(label: "duplicate target", mounts: [(nil, "/a", true), (nil, "/a/", true)], expected: "two mounts"),
        BadSpec(label: "name with =", environment: ["A=B": "1"], expected: "environment variable"),
    ]

    @Test(arguments: badSpecs)
    func invalidSpecsAreRefused(_ bad: BadSpec) throws {
        let dir = try TemporaryDirectory()
        let spec = SandboxSpec(
            image: "/",
            arguments: bad.arguments,
            workingDirectory: bad.workingDirectory,
            mounts: bad.mounts.map { Mount(source: $0.source ?? dir.path, target: $0.target, readOnly: $0.readOnly) },
            environment: bad.environment
        )
        let error = #expect(throws: UsageError.self) { try spec.validate() }
        #expect(error?.code == RuntimeErrorCode.badSpec.code, "\(error?.description ?? "")")
        #expect(error?.status == .badInput)
    }

    @Test func oneWritableMountAmongReadOnlyOnesIsValid() throws {
        let dir = try TemporaryDirectory()
        let spec = SandboxSpec(
            image: "/",
            arguments: ["true"],
            workingDirectory: "/work/src",
            mounts: [Mount(source: dir.path, target: "/work/src"), .output(dir.path, at: "/work/out")]
        )
        try spec.validate()
        #expect(spec.outputMount?.target == "/work/out")
    }
}
