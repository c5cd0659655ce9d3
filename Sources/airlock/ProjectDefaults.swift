import AirlockCore

/// A project's airlock.toml under a command's flags: a flag given on the command line wins, then
/// (for the store only) $AIRLOCK_STORE, then the file, then the built-in default. A project
/// without the file gets exactly today's behaviour. The file's reading and rules live in
/// AirlockCore's `ProjectFile`; this only merges.
struct ProjectDefaults {
    let file: ProjectFile?
    /// The keys whose value came from the file (no flag was given), to say so when one is refused.
    private(set) var taken: Set<String> = []

    /// Reads PROJECT/airlock.toml (nil `project`: none, as for `seal` without `--project`).
    init(project: String?) throws {
        file = try project.flatMap { try ProjectFile.load(project: $0) }
    }

    mutating func string(_ flag: String?, _ key: ProjectFile.Key) -> String? {
        if let flag { return flag }
        return note(key, file?.string(key))
    }

    mutating func integer(_ flag: Int?, _ key: ProjectFile.Key) -> Int? {
        if let flag { return flag }
        return note(key, file?.integer(key))
    }

    mutating func bool(_ flag: Bool?, _ key: ProjectFile.Key) -> Bool? {
        if let flag { return flag }
        return note(key, file?.bool(key))
    }

    /// A repeatable flag: any occurrence on the command line replaces the file's whole list.
    mutating func paths(_ flags: [String], _ key: ProjectFile.Key) -> [String] {
        if !flags.isEmpty { return flags }
        return note(key, file?.paths(key)) ?? []
    }

    /// `--store`, else $AIRLOCK_STORE, else the file's `store` (relative to the project), else ./mirror.
    mutating func storeRoot(_ options: StoreOptions) -> String {
        if let explicit = options.store, !explicit.isEmpty { return explicit }
        if let environment = Environment.get("AIRLOCK_STORE"), !environment.isEmpty { return environment }
        return note(.store, file?.path(.store)) ?? Store.resolveRoot(nil)
    }

    private mutating func note<T>(_ key: ProjectFile.Key, _ value: T?) -> T? {
        if value != nil { taken.insert(key.name) }
        return value
    }

    /// Runs a check of merged values; when it refuses one that the file gave, the message says
    /// which keys of which file were in play (the code stays the check's own).
    func blaming<T>(_ keys: ProjectFile.Key..., check: () throws -> T) throws -> T {
        do {
            return try check()
        } catch let error as UsageError {
            let fromFile = keys.map(\.name).filter(taken.contains)
            guard let file, !fromFile.isEmpty else { throw error }
            let names = fromFile.joined(separator: ", ")
            throw UsageError(code: error.code, error.description + " (\(names) set in \(file.path))")
        }
    }
}
