// Which files of a Function App directory go into the deployment zip, and why each other one does
// not. The rules, in the order they are applied:
// 1. What Core Tools never publishes (`FileSystemHelpers.GetLocalFiles`, AZURE-FACTS §2): directories
//    `.git` and `.vscode` and files `.funcignore`, `.gitignore`, `local.settings.json`,
//    `project.lock.json`, at any depth, names compared ignoring ASCII case as .NET's
//    OrdinalIgnoreCase does. (Core Tools checks directory names only against directories and file
//    names only against files; Airlock checks both against everything, so a submodule's `.git`
//    file stays out too.)
// 2. Airlock's own: `__pycache__` directories and `*.pyc` files at any depth (bytecode the target
//    regenerates), virtual environments at any depth (a directory named `.venv`, or any directory
//    holding a `pyvenv.cfg`), the root `.python_packages` (the build writes its own), the root
//    `airlock.lock` and its PEP 751 twin `pylock.toml` (build input recorded in the provenance, not
//    app source), and the build's output directory when it lies inside the app.
// 3. `.funcignore`, with Core Tools' semantics (FuncIgnore.swift), on each remaining file's path.
// Directories excluded by 1 and 2 are not entered. Symbolic links are never followed: a link that
// no rule excludes is an error naming it, since it could point anywhere outside the app.

public import AirlockCore

/// Why a path is left out of the deployment.
public enum AppFileExclusion: Sendable, Equatable, CustomStringConvertible {
    /// A name Core Tools never publishes.
    case coreTools
    /// Python bytecode: `__pycache__/` or `*.pyc`.
    case bytecode
    /// A virtual environment.
    case virtualEnvironment
    /// The root `.python_packages`, which the build writes itself.
    case pythonPackages
    /// The root `airlock.lock` or `pylock.toml`.
    case lockFile
    /// The build's output directory.
    case outputDirectory
    /// A `.funcignore` rule (its text and line).
    case funcIgnore(rule: String, line: Int)

    public var description: String {
        switch self {
        case .coreTools: "never published by Core Tools"
        case .bytecode: "Python bytecode"
        case .virtualEnvironment: "virtual environment"
        case .pythonPackages: "built by Airlock"
        case .lockFile: "Airlock lock file"
        case .outputDirectory: "build output"
        case .funcIgnore(let rule, let line): ".funcignore line \(line): \(rule)"
        }
    }
}

/// The files of an app that go into its deployment, and those that do not.
public struct AppFileList: Sendable {
    public struct File: Sendable, Equatable {
        /// Relative to the app root, "/"-separated.
        public let path: String
        /// Any execute bit is set (the zip gives it mode 0755, else 0644).
        public let isExecutable: Bool
    }

    public struct Excluded: Sendable, Equatable {
        /// Relative to the app root, "/"-separated; a directory excluded whole is listed once.
        public let path: String
        public let isDirectory: Bool
        public let reason: AppFileExclusion
    }

    /// Sorted byte-wise by UTF-8 path.
    public let included: [File]
    /// Sorted byte-wise by UTF-8 path.
    public let excluded: [Excluded]
}

/// The app directory holds something Airlock will not package: one line per file, each with its
/// code; the error's code is the first one's.
public struct AppFilesError: AirlockError {
    public let problems: [String]
    /// The code of each of `problems`, in the same order.
    public let problemCodes: [ErrorCode]
    public var status: ExitStatus { .badInput }
    public var code: ErrorCode { problemCodes.first ?? PythonBuildErrorCode.appSpecialFile.code }
    public var description: String { problems.joined(separator: "\n") }

    init(_ problems: [(code: PythonBuildErrorCode, line: String)]) {
        self.problems = problems.map(\.line)
        self.problemCodes = problems.map(\.code.code)
    }
}

public enum AppFiles {
    /// Directory names Core Tools skips at any depth.
    static let coreToolsDirectories: Set<String> = [".git", ".vscode"]
    /// File names Core Tools skips at any depth.
    static let coreToolsFiles: Set<String> = [".funcignore", ".gitignore", "local.settings.json", "project.lock.json"]

    /// Lists the files of `appDirectory` that go into the deployment.
    ///
    /// - Parameter outputDirectory: the build's output directory relative to the app root (e.g.
    ///   "dist"), left out when it lies inside the app.
    /// - Throws: `AppFilesError` naming every symbolic link or special file that would be included,
    ///   `UsageError` when `appDirectory` is not a directory, `FileError` when it cannot be read.
    public static func list(appDirectory: String, outputDirectory: String? = nil) throws -> AppFileList {
        // "dir/." resolves a link given as the app directory itself: the user named it.
        guard FileSystem.kind(of: appDirectory + "/.") == .directory else {
            throw UsageError(PythonErrorCode.noProject, "\(appDirectory): is not a directory")
        }
        let output = outputDirectory.flatMap { relativeOutput($0, appDirectory: appDirectory) }
        let funcIgnore = try FuncIgnore.read(appDirectory: appDirectory)

        var included: [AppFileList.File] = []
        var excluded: [AppFileList.Excluded] = []
        var problems: [(code: PythonBuildErrorCode, line: String)] = []
        var pending: [String] = [""]
        while let relative = pending.popLast() {
            let absolute = relative.isEmpty ? appDirectory : appDirectory + "/" + relative
            for name in try FileSystem.list(absolute) {
                let path = relative.isEmpty ? name : relative + "/" + name
                let full = absolute + "/" + name
                guard let kind = FileSystem.kind(of: full) else {
                    // FileSystem.list repairs a name that is not UTF-8, and the repaired one is not there.
                    problems.append(
                        (.appUnreadableName, "\(full): cannot be read (its name is not valid UTF-8, or it vanished)")
                    )
                    continue
                }
                let isDirectory = kind == .directory
                if let reason = exclusion(name: name, path: path, kind: kind, output: output, in: full) {
                    excluded.append(AppFileList.Excluded(path: path, isDirectory: isDirectory, reason: reason))
                    continue
                }
                if isDirectory {
                    pending.append(path)
                    continue
                }
                if let rule = funcIgnore?.excludingRule(for: path) {
                    excluded.append(
                        AppFileList.Excluded(
                            path: path,
                            isDirectory: false,
                            reason: .funcIgnore(rule: rule.text, line: rule.line)
                        )
                    )
                    continue
                }
                switch kind {
                case .regular:
                    let mode = try FileSystem.mode(of: full)
                    included.append(AppFileList.File(path: path, isExecutable: mode & 0o111 != 0))
                case .symlink:
                    problems.append(
                        (
                            .appSymlink,
                            "\(full): is a symbolic link; Airlock does not follow links out of the app directory "
                                + "(replace it with what it points to, or exclude it in .funcignore)"
                        )
                    )
                case .other, .directory:
                    problems.append((.appSpecialFile, "\(full): is not a regular file (exclude it in .funcignore)"))
                }
            }
        }
        guard problems.isEmpty else { throw AppFilesError(problems.sorted { precedes($0.line, $1.line) }) }
        return AppFileList(
            included: included.sorted { precedes($0.path, $1.path) },
            excluded: excluded.sorted { precedes($0.path, $1.path) }
        )
    }

    /// The rule of steps 1 and 2 that leaves `path` out, if any.
    static func exclusion(
        name: String,
        path: String,
        kind: FileSystem.Kind,
        output: String?,
        in full: String
    ) -> AppFileExclusion? {
        let folded = asciiLowercased(name)
        if coreToolsDirectories.contains(folded) || coreToolsFiles.contains(folded) { return .coreTools }
        if name == "__pycache__" || name.hasSuffix(".pyc") { return .bytecode }
        if name == ".venv" { return .virtualEnvironment }
        if kind == .directory, FileSystem.kind(of: full + "/pyvenv.cfg") == .regular { return .virtualEnvironment }
        if path == ".python_packages" { return .pythonPackages }
        if path == "airlock.lock" || path == PyLock.fileName { return .lockFile }
        if let output, path == output { return .outputDirectory }
        return nil
    }

    /// "./dist/" → "dist"; an absolute path below the app directory → relative to it; nil for one
    /// outside the app (nothing in the app can be it).
    package static func relativeOutput(_ output: String, appDirectory: String) -> String? {
        var path = output
        if path.hasPrefix("/") {
            let root = resolved(components(FileSystem.absolute(appDirectory)))
            let parts = resolved(components(path))
            guard parts.count > root.count, Array(parts.prefix(root.count)) == root else { return nil }
            path = parts.dropFirst(root.count).joined(separator: "/")
        }
        let parts = components(path)
        guard !parts.isEmpty, !parts.contains("..") else { return nil }
        return parts.joined(separator: "/")
    }

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/").filter { $0 != "." }.map(String.init)
    }

    /// Lexically resolves ".." in an absolute path's components ("/a/b/../c" → a, c).
    private static func resolved(_ parts: [String]) -> [String] {
        var out: [String] = []
        for part in parts {
            if part == ".." { _ = out.popLast() } else { out.append(part) }
        }
        return out
    }

    private static func asciiLowercased(_ name: String) -> String {
        String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// Byte-wise order of UTF-8 paths (what `LC_ALL=C sort` and zip listings use).
    private static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}
