import Foundation

/// The examples every command's help ends with: real command lines, each after a `#` line saying
/// what it does, so a whole example pastes into a shell as it is. They are the last part of the
/// command's `discussion`, which argument-parser prints before the usage; the help printer moves
/// them to the very end (`movingExamplesToTheEnd`). Being in the discussion, they are also in the
/// man page and in `--experimental-dump-help`. Lines stay within 78 columns (a test checks), so
/// argument-parser's wrapping never cuts one; a longer command continues on the next line after
/// ` \`, as a shell reads it.
struct Example {
    let what: String
    let command: String

    init(_ what: String, _ command: String) {
        self.what = what
        self.command = command
    }

    static let header = "Examples:"

    /// The examples alone, as a command's discussion.
    static func discussion(_ examples: Example...) -> String { section(examples) }

    /// `discussion`, then a blank line and the examples.
    static func discussion(_ discussion: String, _ examples: Example...) -> String {
        discussion + "\n\n" + section(examples)
    }

    /// The examples block, for a discussion written elsewhere (`discussion: "..." + "\n\n" + section`).
    static func section(_ examples: [Example]) -> String {
        ([header]
            + examples.flatMap { example in
                ["  # " + example.what] + example.command.split(separator: "\n").map { "  " + $0 }
            }).joined(separator: "\n")
    }

    /// argument-parser's help for a command, with the examples block taken out of the overview
    /// and put last under `EXAMPLES:`; any other text (a version, a completion script) is returned as it is.
    static func movingExamplesToTheEnd(_ help: String) -> String {
        guard help.hasPrefix("OVERVIEW:"), let usage = help.range(of: "\n\nUSAGE:"),
            let start = help.range(of: "\n\n" + header + "\n", range: help.startIndex..<usage.lowerBound)
        else { return help }
        let block = help[start.upperBound..<usage.lowerBound]
        var rest = String(help[..<start.lowerBound]) + String(help[usage.lowerBound...])
        while rest.hasSuffix("\n") { rest.removeLast() }
        return rest + "\n\nEXAMPLES:\n" + block
    }
}
