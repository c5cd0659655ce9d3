// The help an operator reads: the subcommands grouped in workflow order, and every command's help
// ending with one or two examples that are real commands (each parses as Airlock's own command
// line) and fit the terminal unwrapped.

import ArgumentParser
import Foundation
import Testing

@testable import airlock

/// Every command path below `airlock`, from argument-parser's own description of the tool.
private func commandPaths() async throws -> [[String]] {
    let dir = try TempDir()
    defer { dir.remove() }
    let dump = try await CLI.run(["--experimental-dump-help"], in: dir.path)
    try #require(dump.status == 0, "\(dump)")
    let root = try #require(try parseJSON(dump) as? [String: Any])
    var paths: [[String]] = []
    func walk(_ command: [String: Any], _ path: [String]) {
        paths.append(path)
        for sub in command["subcommands"] as? [[String: Any]] ?? [] {
            guard let name = sub["commandName"] as? String, name != "help" else { continue }
            walk(sub, path + [name])
        }
    }
    walk(try #require(root["command"] as? [String: Any]), [])
    return paths
}

/// The examples at the end of a help text: each a `#` line and the command's lines, joined where
/// a line ends with ` \`.
private func examples(in help: String) throws -> [(what: String, command: String)] {
    let parts = help.components(separatedBy: "\n\nEXAMPLES:\n")
    try #require(parts.count == 2, "no EXAMPLES: section at the end:\n\(help)")
    var found: [(what: String, command: String)] = []
    var continuing = false
    for line in parts[1].split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
        #expect(line.hasPrefix("  "), "an example line is not indented: \(line)")
        let text = line.dropFirst(2)
        if text.hasPrefix("# ") {
            found.append((String(text.dropFirst(2)), ""))
            continuing = false
        } else {
            let index = try #require(found.indices.last, "a command before its # line: \(line)")
            let body = text.trimmingCharacters(in: .whitespaces)
            #expect(continuing || found[index].command.isEmpty, "a second command under one # line: \(line)")
            continuing = body.hasSuffix(" \\")
            found[index].command +=
                (found[index].command.isEmpty ? "" : " ") + (continuing ? String(body.dropLast(2)) : body)
        }
    }
    return found
}

@Suite struct HelpTests {
    @Test func theTopLevelHelpGroupsTheSubcommandsInWorkflowOrder() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let help = try await CLI.run(["--help"], in: dir.path)
        try #require(help.status == 0, "\(help)")
        var groups: [(String, [String])] = []
        for line in help.stdoutLines {
            if line.hasSuffix("SUBCOMMANDS:") {
                groups.append((line, []))
            } else if !groups.isEmpty, line.hasPrefix("  "), line.dropFirst(2).first != " ",
                let name = line.split(separator: " ").first, !line.contains("See 'airlock help")
            {
                groups[groups.count - 1].1.append(String(name))
            } else if line.isEmpty || !line.hasPrefix(" ") {
                if line == "EXAMPLES:" { break }
            }
        }
        #expect(groups.map(\.0) == ["CONNECTED HOST SUBCOMMANDS:", "ENCLAVE SUBCOMMANDS:", "EITHER SIDE SUBCOMMANDS:"])
        #expect(
            groups.map(\.1) == [
                ["lock", "fetch", "build", "image", "go", "seal"],
                ["verify", "import", "inventory", "serve", "export-static", "deploy"],
                ["audit", "rebuild", "store", "trust", "key", "doctor", "history", "export", "split", "self", "check-elf"],
            ]
        )
    }

    @Test func everyCommandsHelpEndsWithExamplesThatParse() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let paths = try await commandPaths()
        #expect(paths.count > 30, "\(paths)")
        for path in paths {
            let help = try await CLI.run(path + ["--help"], in: dir.path)
            try #require(help.status == 0, "\(help)")
            let found = try examples(in: help.stdout)
            #expect((1...2).contains(found.count), "airlock \(path.joined(separator: " ")): \(found.count) examples")
            for line in help.stdout.components(separatedBy: "\n\nEXAMPLES:\n")[1].split(separator: "\n") {
                #expect(line.count <= 80, "too wide to stay unwrapped: \(line)")
            }
            for example in found {
                #expect(!example.command.contains("\"") && !example.command.contains("'"), "\(example.command)")
                var words = example.command.split(separator: " ").map(String.init)
                // A trailing redirection is the shell's, not Airlock's.
                if let redirect = words.firstIndex(of: ">") { words.removeSubrange(redirect...) }
                #expect(words.first == "airlock", "\(example.command)")
                #expect(
                    throws: Never.self,
                    "airlock \(path.joined(separator: " ")): \(example.command)"
                ) { _ = try Airlock.parseAsRoot(Array(words.dropFirst())) }
            }
        }
    }

    @Test func helpWithoutExamplesIsLeftAsItIs() {
        #expect(Example.movingExamplesToTheEnd("0.1.0") == "0.1.0")
        let help = "OVERVIEW: x\n\nUSAGE: airlock x\n"
        #expect(Example.movingExamplesToTheEnd(help) == help)
    }
}
