// With `--json` a failure is also one `{"error": {"code", "message"}}` line on standard output, so a
// script reads the reason without parsing text; without it, standard output stays empty and the
// one `airlock:` line on standard error is all there is. Exit codes are the same either way.

import AirlockBundle
import AirlockCore
import Foundation
import Testing

@Suite struct JSONErrorTests {
    enum Failure: String, CaseIterable, Sendable {
        case badSignature, rollback, missingFile, unknownImage, badRuntime
    }

    /// A command that fails with `failure`, set up in `dir`: its arguments (with `--json` where a
    /// command takes it, before any `--`), the exit status and the code it must give.
    struct Expected {
        var arguments: [String]
        var status: Int32
        var code: ErrorCode
    }

    static func prepare(_ failure: Failure, in dir: TempDir) async throws -> Expected {
        switch failure {
        case .badSignature:
            let key = try await Fixture.key(dir)
            try Fixture.write(dir.file("payload.bin"), count: 10_000, seed: 21)
            let seal = try await CLI.run(["seal", "--out", "b.airlock", "--key", key.key, "payload.bin"], in: dir.path)
            try #require(seal.status == 0, "\(seal)")
            // One byte of the signed manifest changed: its signature no longer verifies.
            var bundle = try Data(contentsOf: URL(fileURLWithPath: dir.file("b.airlock")))
            let start = try #require(bundle.range(of: Data(#"{"artifacts""#.utf8)), "no manifest in the bundle")
            bundle[start.lowerBound + 2] = UInt8(ascii: "b")
            try bundle.write(to: URL(fileURLWithPath: dir.file("b.airlock")))
            return Expected(
                arguments: ["verify", "b.airlock", "--trust", key.pub, "--json"],
                status: 1,
                code: BundleErrorCode.badSignature.code
            )
        case .rollback:
            let key = try await Fixture.key(dir)
            try Fixture.write(dir.file("payload.bin"), count: 10_000, seed: 22)
            let seal = try await CLI.run(
                ["seal", "--out", "b.airlock", "--key", key.key, "--store", "outside", "payload.bin"],
                in: dir.path
            )
            try #require(seal.status == 0, "\(seal)")
            try #require(try await CLI.run(["trust", "add", key.pub, "--store", "inside"], in: dir.path).status == 0)
            try #require(try await CLI.run(["import", "b.airlock", "--store", "inside"], in: dir.path).status == 0)
            return Expected(
                arguments: ["import", "b.airlock", "--store", "inside", "--json"],
                status: 1,
                code: BundleErrorCode.rollback.code
            )
        case .missingFile:
            let key = try await Fixture.key(dir)
            return Expected(
                arguments: ["verify", "no-such.airlock", "--trust", key.pub, "--json"],
                status: 2,
                code: CoreErrorCode.noSuchFile.code
            )
        case .unknownImage:
            return Expected(
                arguments: ["image", "rm", "nope:1", "--store", "store", "--json"],
                status: 2,
                code: ImageErrorCode.notFound.code
            )
        case .badRuntime:
            // RuntimeErrorCode lives in AirlockContainer, which this target does not import.
            return Expected(
                arguments: ["image", "run", "nope:1", "--runtime", "lxc", "--store", "store", "--json", "--", "true"],
                status: 2,
                code: ErrorCode(domain: "runtime", reason: "unknown")
            )
        }
    }

    @Test(arguments: Failure.allCases)
    func eachFailureGivesItsExitStatusAndItsCode(_ failure: Failure) async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let expected = try await Self.prepare(failure, in: dir)

        let json = try await CLI.run(expected.arguments, in: dir.path)
        #expect(json.status == expected.status, "\(json)")
        #expect(errorCode(json) == expected.code.rawValue, "\(json)")
        let line = try #require(json.stdoutLines.last, "\(json)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let error = try #require(object["error"] as? [String: Any], "\(line)")
        let message = try #require(error["message"] as? String, "\(line)")
        // The same message as the standard error line(s), without the `airlock: ` prefixes.
        let stderr = json.stderrLines.filter { $0.hasPrefix("airlock: ") }.map { String($0.dropFirst(9)) }
        #expect(message == stderr.joined(separator: "\n"), "\(json)")
        #expect(hasNoStackTrace(json))

        let plain = try await CLI.run(expected.arguments.filter { $0 != "--json" }, in: dir.path)
        #expect(plain.status == expected.status, "\(plain)")
        #expect(plain.stdoutData.isEmpty, "without --json nothing goes to standard output: \(plain)")
        #expect(plain.stderrLines.first?.hasPrefix("airlock: ") == true, "\(plain)")
    }
}
