import Foundation
import Testing

@Suite struct DoctorTests {
    @Test("doctor --json is an array of tools with name and found, including a found openssl", .timeLimit(.minutes(1)))
    func doctorJSONListsTools() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let result = try CLI.run(["doctor", "--json"], in: dir.path)
        try #require(result.status == 0, "\(result)")
        let tools = try #require(try parseJSON(result) as? [[String: Any]], "\(result)")
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
