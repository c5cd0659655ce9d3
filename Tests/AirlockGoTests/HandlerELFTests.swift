import AirlockCore
import AirlockGo
import AirlockTestSupport
import Foundation
import Testing

@Suite(.enabled(if: GoTool.path != nil, GoTool.missing), .timeLimit(.minutes(5)))
struct HandlerELFTests {
    /// Builds a one-file main package with the real go command (offline, a shared build cache).
    static func build(_ source: String, in dir: TemporaryDirectory, name: String, env: [String: String]) async throws
        -> String
    {
        let work = dir.path + "/src-" + name
        _ = try dir.file("src-\(name)/go.mod", "module example.com/\(name)\n\ngo 1.22\n")
        _ = try dir.file("src-\(name)/main.go", source)
        let out = dir.path + "/" + name
        let (status, output) = try await GoTool.run(
            "build -trimpath -o '\(out)' .",
            proxy: dir.path + "/no-proxy",
            in: dir,
            workdir: work,
            extra: env
        )
        try #require(status == 0, "\(output)")
        return out
    }

    static let hello = "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n"
    static let cgo =
        "package main\n\n// int answer(void) { return 42; }\nimport \"C\"\nimport \"fmt\"\n\nfunc main() { fmt.Println(C.answer()) }\n"

    @Test func aStaticBuildPassesAndCgoOrAnotherGOARCHIsCaughtTheWayFileAndLddWouldSayIt() async throws {
        let dir = try TemporaryDirectory()
        let plain = try await Self.build(
            Self.hello,
            in: dir,
            name: "static",
            env: ["CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"]
        )
        let ok = try HandlerELFCheck.check(plain, target: .linuxAMD64)
        #expect(ok.isOK, "\(ok)")
        #expect(ok.summary == "ELF 64-bit LSB executable, x86-64, statically linked")

        let dynamic = try await Self.build(Self.cgo, in: dir, name: "cgo", env: ["CGO_ENABLED": "1", "CC": "gcc"])
        let caught = try HandlerELFCheck.check(dynamic, target: .linuxAMD64)
        #expect(caught.summary.hasSuffix("x86-64, dynamically linked"), "\(caught)")
        let finding = try #require(caught.findings.first, "\(caught)")
        #expect(finding.hasPrefix("dynamically linked, interpreter /lib64/ld-linux-x86-64.so.2, needs "), "\(finding)")
        #expect(finding.contains("libc.so.6") && finding.contains("CGO_ENABLED=0"), "\(finding)")

        let arm = try await Self.build(
            Self.hello,
            in: dir,
            name: "arm64",
            env: ["CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "arm64"]
        )
        let wrong = try HandlerELFCheck.check(arm, target: .linuxAMD64)
        #expect(wrong.findings == ["built for ARM aarch64, not x86-64 (build with GOARCH=amd64)"], "\(wrong)")
        #expect(try HandlerELFCheck.check(arm, target: .linuxARM64).isOK)
    }

    @Test func aFileThatIsNotAnExecutableIsAFindingAndAMissingOneAnError() throws {
        let dir = try TemporaryDirectory()
        let text = try dir.file("handler", "#!/bin/sh\necho hi\n")
        let report = try HandlerELFCheck.check(text, target: .linuxAMD64)
        #expect(report.summary == "not an ELF executable" && report.findings.count == 1, "\(report)")
        let missing = #expect(throws: UsageError.self) {
            try HandlerELFCheck.check(dir.path + "/nothing", target: .linuxAMD64)
        }
        #expect(missing?.code == CoreErrorCode.noSuchFile.code)
        #expect(throws: UsageError.self) { try GoPlatform(parsing: "windows/amd64") }
    }
}
