import Foundation
import Testing

@Suite struct DoctorTests {
    @Test("doctor --json lists tools with name and found (openssl among them), container runtimes and images", .timeLimit(.minutes(5)))
    func doctorJSONListsTools() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let result = try await CLI.run(["doctor", "--json"], in: dir.path)
        try #require(result.status == 0, "\(result)")
        let report = try #require(try parseJSON(result) as? [String: Any], "\(result)")
        let tools = try #require(report["tools"] as? [[String: Any]], "\(result)")
        let runtimes = try #require(report["runtimes"] as? [[String: Any]], "\(result)")
        #expect(runtimes.compactMap { $0["runtime"] as? String } == ["docker", "podman", "bwrap"])
        // This machine's bwrap creates namespaces (the sandbox tests rely on it).
        #expect(runtimes.last?["isAvailable"] as? Bool == true, "\(runtimes)")
        #expect((report["images"] as? [Any])?.isEmpty == true)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/mirror"), "doctor must not create a store")
        #expect(!tools.isEmpty)
        for tool in tools {
            #expect(tool["name"] is String, "\(tool)")
            #expect(tool["found"] is Bool, "\(tool)")
        }
        let names = tools.compactMap { $0["name"] as? String }
        #expect(Set(names).count == names.count, "a tool is listed twice: \(names)")
        let openssl = try #require(tools.first { $0["name"] as? String == "openssl" }, "\(names)")
        // The test suite itself runs openssl, so this machine has it.
        #expect(openssl["found"] as? Bool == true, "\(openssl)")
        let sha256sum = try #require(tools.first { $0["name"] as? String == "sha256sum" }, "\(names)")
        #expect(sha256sum["found"] as? Bool == true, "\(sha256sum)")
        for missing in tools where missing["found"] as? Bool == false {
            #expect(missing["install"] is String, "a missing tool without install advice: \(missing)")
        }
    }
}
