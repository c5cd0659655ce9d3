// `airlock.toml`, the project file: top-level keys named after the flags of `lock`, `fetch`, `build`
// and `seal --project`, so a team writes its target, image, store and signing keys once. This file
// owns the file's schema (which keys exist, their TOML types, which commands read them) and reading
// it strictly: a key it does not know, a flag that has no place in a shared file, or a value of the
// wrong type is refused by name with the file's path, before any command acts on it. It does not
// check what a value means (whether "3.8" is a supported Python): the command that reads the value
// does, exactly as for the flag. Precedence (a flag over the file) is the command line's business.

internal import TOMLKit

/// The reasons a project file is refused (exit 2). Listed in manifests/error-codes.md.
public enum ProjectErrorCode: String, ErrorCodes {
    public static let domain = "project"
    /// Not valid TOML (the message has the line and column), or not UTF-8.
    case badTOML = "bad-toml"
    /// A key that is no flag any of lock, fetch, build or seal has.
    case unknownKey = "unknown-key"
    /// A flag the file may not set (`out`, `project`, `sequence`, ...): it differs per run or per command.
    case notApplicable = "not-applicable"
    /// A value of another TOML type than the key takes (`python = 3.11`, a float).
    case wrongType = "wrong-type"
    /// An empty string or list where a value is needed, or a count below 1.
    case badValue = "bad-value"
}

/// A project's `airlock.toml`, read and checked. Values are kept as the file gives them, except
/// paths (`key`, `store`), which are resolved against the project directory, so the same file
/// works from any working directory.
public struct ProjectFile: Sendable, Equatable {
    public static let fileName = "airlock.toml"
    /// Far above any real project file; a larger one is not one.
    static let sizeLimit = 1 << 20

    /// The commands that read the file.
    public enum Command: String, Sendable, CaseIterable, Comparable {
        case lock, fetch, build, seal
        public static func < (a: Command, b: Command) -> Bool {
            allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
        }
    }

    /// What a key's value is, in TOML.
    public enum Kind: Sendable, Equatable {
        /// A string.
        case string
        /// A string naming a file or directory, relative to the project directory.
        case path
        /// A path, or a list of paths.
        case paths
        case bool
        /// An integer of at least 1 (a count).
        case integer

        var expected: String {
            switch self {
            case .string, .path: return "a string"
            case .paths: return "a string or a list of strings"
            case .bool: return "true or false"
            case .integer: return "a positive integer"
            }
        }
    }

    /// One key of the file: the flag it stands for, its kind, and the commands that read it.
    public struct Key: Sendable, Hashable {
        public let name: String
        public let kind: Kind
        public let commands: [Command]

        init(_ name: String, _ kind: Kind, _ commands: [Command]) {
            self.name = name
            self.kind = kind
            self.commands = commands
        }

        public static func == (a: Key, b: Key) -> Bool { a.name == b.name }
        public func hash(into hasher: inout Hasher) { hasher.combine(name) }

        public static let python = Key("python", .string, [.lock])
        public static let platform = Key("platform", .string, [.lock])
        public static let glibc = Key("glibc", .string, [.lock])
        public static let resolver = Key("resolver", .string, [.lock])
        public static let image = Key("image", .string, [.lock, .build])
        public static let runtime = Key("runtime", .string, [.lock, .build])
        public static let store = Key("store", .path, [.lock, .fetch, .build, .seal])
        public static let jobs = Key("jobs", .integer, [.fetch])
        public static let compileBytecode = Key("compile-bytecode", .bool, [.build])
        public static let bootstrapMirror = Key("bootstrap-mirror", .string, [.build])
        public static let key = Key("key", .paths, [.seal])
        public static let channel = Key("channel", .string, [.seal])
        public static let expires = Key("expires", .string, [.seal])
        public static let compress = Key("compress", .string, [.seal])
        public static let maxVolumeSize = Key("max-volume-size", .string, [.seal])

        /// Every key, in the order the README lists them.
        public static let all: [Key] = [
            python, platform, glibc, resolver, image, runtime, store, jobs, compileBytecode, bootstrapMirror, key,
            channel, expires, compress, maxVolumeSize,
        ]
    }

    /// Flags of lock, fetch, build and seal that a shared file may not set, and why: each names
    /// something that differs per run, per command or per person.
    public static let flagsNotInFile: [String: String] = [
        "project": "the file is read from the project directory itself",
        "out": "build and seal each give --out another meaning",
        "tree": "a debugging aid for one build",
        "list-files": "a question, not a setting",
        "no-cache": "a one-off",
        "no-sandbox": "a host-only build must be asked for each time",
        "no-bootstrap": "give it on the command line where no image may be made",
        "no-sizes": "a one-off",
        "no-build-image": "give it on the command line for the bundle that leaves the image out",
        "setting": "app settings stay out of a file that is committed",
        "sequence": "each bundle takes the next one",
        "files": "seal's inputs are named on its command line",
        "json": "a question of output, not of the project",
    ]

    /// The file's path, as found (`PROJECT/airlock.toml`).
    public let path: String
    /// The project directory paths are resolved against.
    public let directory: String
    private let values: [String: Value]

    enum Value: Sendable, Equatable {
        case string(String)
        case strings([String])
        case bool(Bool)
        case integer(Int)
    }

    /// The keys the file sets, in the order of `Key.all`.
    public var keys: [Key] { Key.all.filter { values[$0.name] != nil } }

    /// Reads `PROJECT/airlock.toml`; nil when the project has none (everything then behaves as
    /// if there were no project files at all).
    /// A project's name: its directory's name (`app` for `.` or an empty one), which names its
    /// artifact (`NAME.zip`) and its GC roots.
    public static func projectName(_ project: String) -> String {
        let absolute = FileSystem.absolute(project)
        let trimmed = absolute.hasSuffix("/") ? String(absolute.dropLast()) : absolute
        let name = FileSystem.baseName(trimmed)
        return name == "." || name.isEmpty ? "app" : name
    }

    public static func load(project: String) throws -> ProjectFile? {
        let path = (project.hasSuffix("/") ? String(project.dropLast()) : project) + "/" + fileName
        switch FileSystem.kind(of: path) {
        case nil:
            return nil
        case .regular, .symlink:
            let bytes = try FileSystem.readFile(path, limit: sizeLimit)
            return try parse(bytes, path: path, directory: project)
        case .directory, .other:
            throw UsageError(CoreErrorCode.notAFile, "\(path): not a regular file")
        }
    }

    /// Parses and checks a project file's bytes; `path` names it in messages and `directory` is
    /// what relative paths in it are relative to.
    public static func parse(_ bytes: [UInt8], path: String, directory: String) throws -> ProjectFile {
        guard let text = String(validating: bytes, as: UTF8.self), !text.utf8.contains(0) else {
            throw UsageError(ProjectErrorCode.badTOML, "\(path): not valid TOML: not UTF-8 text")
        }
        if let at = TOMLHeaderCheck.firstBadHeader(in: text) {
            throw UsageError(
                ProjectErrorCode.badTOML,
                "\(path):\(at.line):\(at.column): not valid TOML: a table header must start with a key"
            )
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let at = error.source.begin
            throw UsageError(
                ProjectErrorCode.badTOML,
                "\(path):\(at.line):\(at.column): not valid TOML: \(error.description)"
            )
        }
        var values: [String: Value] = [:]
        var problems: [(ProjectErrorCode, String)] = []
        for name in table.keys {
            guard let node = table[name] else { continue }
            do {
                values[name] = try value(of: node, for: name)
            } catch let problem as Problem {
                problems.append((problem.code, problem.message))
            }
        }
        if let first = problems.first {
            throw UsageError(first.0, problems.map { "\(path): \($0.1)" }.joined(separator: "\n"))
        }
        return ProjectFile(path: path, directory: directory, values: values)
    }

    private struct Problem: Error {
        let code: ProjectErrorCode
        let message: String
    }

    /// The checked value of the top-level key `name`.
    private static func value(of node: any TOMLValueConvertible, for name: String) throws -> Value {
        guard let key = Key.all.first(where: { $0.name == name }) else {
            if let why = flagsNotInFile[name] {
                throw Problem(
                    code: .notApplicable,
                    message: "'\(name)' cannot be set in \(fileName) (\(why)); give --\(name) on the command line"
                )
            }
            let hint = closestKey(to: name).map { " (did you mean '\($0)'?)" } ?? ""
            throw Problem(
                code: .unknownKey,
                message: "unknown key '\(name)'\(hint); the keys are \(Key.all.map(\.name).joined(separator: ", "))"
            )
        }
        func wrongType(_ element: TOMLType? = nil) -> Problem {
            let given = element.map { "a list holding " + article($0) } ?? article(node.type)
            return Problem(
                code: .wrongType,
                message: "'\(name)' must be \(key.kind.expected), not \(given)\(example(key))"
            )
        }
        func empty() -> Problem {
            Problem(code: .badValue, message: "'\(name)' is empty\(example(key))")
        }
        switch key.kind {
        case .string, .path:
            guard let text = node.string else { throw wrongType() }
            guard !text.isEmpty else { throw empty() }
            return .string(text)
        case .paths:
            if let text = node.string {
                guard !text.isEmpty else { throw empty() }
                return .strings([text])
            }
            guard let array = node.array else { throw wrongType() }
            var texts: [String] = []
            for element in array {
                guard let text = element.string else { throw wrongType(element.type) }
                guard !text.isEmpty else { throw empty() }
                texts.append(text)
            }
            guard !texts.isEmpty else { throw empty() }
            return .strings(texts)
        case .bool:
            guard let flag = node.bool else { throw wrongType() }
            return .bool(flag)
        case .integer:
            guard let number = node.int else { throw wrongType() }
            guard number >= 1 else {
                throw Problem(code: .badValue, message: "'\(name)' must be at least 1, not \(number)")
            }
            return .integer(number)
        }
    }

    /// A TOML type as the message names it: "a string", "an integer", "a list holding a table".
    private static func article(_ type: TOMLType) -> String {
        switch type {
        case .table: return "a table"
        case .array: return "a list"
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a floating-point number"
        case .bool: return "a boolean"
        case .date: return "a date"
        case .time: return "a time"
        case .dateTime: return "a date-time"
        }
    }

    private static func example(_ key: Key) -> String {
        switch key {
        case .python: return ", e.g. python = \"3.11\""
        case .key: return ", e.g. key = [\"keys/team.key\"]"
        case .compileBytecode: return ", e.g. compile-bytecode = true"
        case .jobs: return ", e.g. jobs = 8"
        default: return ""
        }
    }

    /// The known key (or flag that is not one) nearest to a misspelt `name`, if one is close.
    private static func closestKey(to name: String) -> String? {
        let candidates = Key.all.map(\.name) + flagsNotInFile.keys.sorted()
        let scored = candidates.map { ($0, editDistance(Array($0.utf8), Array(name.utf8))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(1, best.0.utf8.count / 3) else { return nil }
        return best.0
    }

    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                row[j] = min(above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }

    // MARK: Values

    /// The value of a `.string` key.
    public func string(_ key: Key) -> String? {
        precondition(key.kind == .string, "\(key.name) is not a string key")
        guard case .string(let text) = values[key.name] else { return nil }
        return text
    }

    /// The value of a `.path` key, relative to the working directory (absolute paths kept).
    public func path(_ key: Key) -> String? {
        precondition(key.kind == .path, "\(key.name) is not a path key")
        guard case .string(let text) = values[key.name] else { return nil }
        return resolve(text)
    }

    /// The values of a `.paths` key (one string counts as a list of one), each resolved.
    public func paths(_ key: Key) -> [String]? {
        precondition(key.kind == .paths, "\(key.name) is not a list key")
        guard case .strings(let texts) = values[key.name] else { return nil }
        return texts.map(resolve)
    }

    public func bool(_ key: Key) -> Bool? {
        precondition(key.kind == .bool, "\(key.name) is not a boolean key")
        guard case .bool(let flag) = values[key.name] else { return nil }
        return flag
    }

    public func integer(_ key: Key) -> Int? {
        precondition(key.kind == .integer, "\(key.name) is not an integer key")
        guard case .integer(let number) = values[key.name] else { return nil }
        return number
    }

    /// A path the file gives, as the working directory sees it: absolute ones as they are,
    /// relative ones below the project directory.
    func resolve(_ text: String) -> String {
        if text.hasPrefix("/") || directory == "." || directory.isEmpty { return text }
        return (directory.hasSuffix("/") ? directory : directory + "/") + text
    }
}
