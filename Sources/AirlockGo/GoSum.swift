// go.sum: what vouches for every module a Go build uses. Each line is `PATH VERSION h1:HASH` (the
// module's zip) or `PATH VERSION/go.mod h1:HASH` (its go.mod alone), the hash being the go command's
// dirhash (see Dirhash.swift). Lines with another hash algorithm than h1 are kept but never match,
// as the go command does; a line that is not three fields is refused with its number.

import AirlockCore

public struct GoSum: Sendable, Equatable {
    /// What a line vouches for: a module's zip, or its go.mod alone.
    public enum Part: Sendable, Hashable { case zip, goMod }

    public struct Key: Sendable, Hashable {
        public let path: String
        public let version: String
        public let part: Part
    }

    /// Every hash go.sum gives each module part (usually one).
    public private(set) var hashes: [Key: [String]] = [:]
    public let file: String

    public init(text: String, file: String = "go.sum") throws {
        self.file = file
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 3 else {
                throw UsageError(
                    GoModuleErrorCode.badGoSum,
                    "\(file):\(number): want 'PATH VERSION HASH', got '\(line)'"
                )
            }
            var version = String(fields[1])
            var part = Part.zip
            if version.hasSuffix("/go.mod") {
                version.removeLast("/go.mod".count)
                part = .goMod
            }
            let key = Key(path: String(fields[0]), version: version, part: part)
            hashes[key, default: []].append(String(fields[2]))
        }
    }

    public init(contentsOf path: String) throws {
        guard FileSystem.exists(path) else { throw UsageError(CoreErrorCode.noSuchFile, "\(path): no such file") }
        let bytes = try FileSystem.readFile(path, limit: 64 << 20)
        try self.init(text: String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// The `h1:` hash go.sum gives for that part of the module, or an error naming the module.
    public func hash(for module: ModuleVersion, _ part: Part) throws -> String {
        let key = Key(path: module.path, version: module.version, part: part)
        guard let hash = hashes[key]?.first(where: { $0.hasPrefix("h1:") }) else {
            let what = part == .zip ? "\(module)" : "\(module)/go.mod"
            throw CheckFailure(
                GoModuleErrorCode.notInGoSum,
                "\(what): not in \(file), so nothing vouches for it (run `go mod tidy` on the connected host and commit go.sum)"
            )
        }
        return hash
    }

    /// Checks `actual` against go.sum's hash for that part: a mismatch names the module and both.
    public func check(_ module: ModuleVersion, _ part: Part, actual: String) throws {
        let expected = try hash(for: module, part)
        guard expected == actual else {
            let what = part == .zip ? "\(module)" : "\(module)/go.mod"
            throw CheckFailure(
                GoModuleErrorCode.hashMismatch,
                "\(what): hashes to \(actual), but \(file) says \(expected)"
            )
        }
    }

    /// Every module whose zip go.sum vouches for, sorted.
    public var modules: [Key] {
        hashes.keys.filter { $0.part == .zip }.sorted { ($0.path, $0.version) < ($1.path, $1.version) }
    }
}
