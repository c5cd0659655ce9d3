// The build tool behind the EmbedResources plugin: writes one Swift file that holds the text of
// each given file as a string constant, so a target carries its resources inside its own code.
// It does not read anything but its arguments, and it touches no network.
//
// Usage: EmbedResourcesTool OUTPUT.swift ENUM-NAME FILE...
// Each FILE becomes `static let <camelCasedStem>: String` (`smoke_test.py` -> `smokeTest`), and
// `all` lists every (file name, text) pair in name order. The text is written as an ordinary string
// literal with every byte that is not printable ASCII escaped, so the constant is byte-for-byte the
// file (which must be UTF-8), whatever the file holds.

import Foundation

struct EmbedFailure: Error, CustomStringConvertible {
    let description: String
}

/// `smoke_test.py` -> `smokeTest`; `pip-fetch.py` -> `pipFetch`.
func identifier(forFileNamed name: String) throws -> String {
    let stem = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
    let words = stem.split { !($0.isASCII && ($0.isLetter || $0.isNumber)) }.map(String.init)
    guard let first = words.first, let lead = first.first, lead.isLetter else {
        throw EmbedFailure(description: "\(name): a resource name must start with a letter")
    }
    return first.lowercased() + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
}

/// A Swift string literal whose value is exactly `text`.
func literal(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case " "..."~": out.unicodeScalars.append(scalar)
        default: out += "\\u{" + String(scalar.value, radix: 16) + "}"
        }
    }
    return out + "\""
}

func main() throws {
    let arguments = CommandLine.arguments
    guard arguments.count >= 3 else {
        throw EmbedFailure(description: "usage: EmbedResourcesTool OUTPUT.swift ENUM-NAME FILE...")
    }
    let output = arguments[1]
    let enumName = arguments[2]
    var constants: [(name: String, identifier: String, literal: String)] = []
    for path in arguments.dropFirst(3) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw EmbedFailure(description: "\(path): cannot read it")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw EmbedFailure(description: "\(path): not UTF-8")
        }
        let name = URL(fileURLWithPath: path).lastPathComponent
        let id = try identifier(forFileNamed: name)
        if let clash = constants.first(where: { $0.identifier == id }) {
            throw EmbedFailure(description: "\(name) and \(clash.name) would both be \(enumName).\(id)")
        }
        constants.append((name, id, literal(text)))
    }
    constants.sort { $0.name < $1.name }
    var swift = """
        // Generated at build time by the EmbedResources plugin (EmbedResourcesTool) from the target's
        // Resources/ directory. Do not edit: edit the resource file, and the next build regenerates this.

        package enum \(enumName) {

        """
    for constant in constants {
        swift += "    /// Resources/\(constant.name)\n"
        swift += "    package static let \(constant.identifier): String = \(constant.literal)\n\n"
    }
    swift += "    /// Every resource, as (file name, text), by file name.\n"
    swift += "    package static let all: [(name: String, text: String)] = [\n"
    for constant in constants {
        swift += "        (\(literal(constant.name)), \(constant.identifier)),\n"
    }
    swift += "    ]\n}\n"
    // Unchanged output is left alone, so what depends on it is not rebuilt.
    if FileManager.default.contents(atPath: output) == Data(swift.utf8) { return }
    try Data(swift.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
}

do {
    try main()
} catch {
    FileHandle.standardError.write(Data("EmbedResourcesTool: \(error)\n".utf8))
    exit(1)
}
