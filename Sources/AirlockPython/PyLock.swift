// `pylock.toml` (PEP 751, the packaging.python.org "pylock.toml specification"): the lock in the
// standard form, written by `airlock lock` beside `airlock.lock` for the same files and hashes, so
// uv, pip and auditors' tools read what Airlock pinned without knowing Airlock. TOML through TOMLKit
// (toml++), which writes tables with sorted keys: the same lock always gives the same bytes.
//
// What it holds: `lock-version = "1.0"`, `created-by = "airlock"`, the target as `requires-python`
// and one `environments` marker (Linux, the target's machine, its Python minor version), and one
// `[[packages]]` per locked name and version, sorted, with its wheels (`wheels`, an array of inline
// tables) or its sdist (`sdist`), each with `name`, `url`, `size` when known and `hashes.sha256`.
// The glibc floor (which manylinux tags the files were chosen for) has no marker: it is under
// `[tool.airlock]` with the rest of the target. The build wheels of sdists are not packages of the
// app's environment, so they stay in `airlock.lock` only.
//
// PEP 751 needs a `url` or a `path` for every file; a lock with a file of no known URL gets no
// pylock.toml (the caller says why), rather than one an installer cannot use.

public import AirlockCore
import TOMLKit

public enum PyLock {
    public static let fileName = "pylock.toml"

    /// One file of a package, as pylock.toml names it.
    public struct File: Sendable, Equatable {
        public var name: String
        public var url: String
        public var size: Int?
        public var sha256: String

        public init(name: String, url: String, size: Int?, sha256: String) {
            self.name = name
            self.url = url
            self.size = size
            self.sha256 = sha256
        }
    }

    /// One `[[packages]]` entry.
    public struct Package: Sendable, Equatable {
        public var name: String
        public var version: String
        public var wheels: [File]
        public var sdist: File?
    }

    /// The pylock.toml text for `lock`, or the file name of the first file with no URL.
    public static func text(for lock: PythonLock) -> Result<String, MissingURL> {
        var grouped: [String: Package] = [:]
        for file in lock.files {
            guard let url = file.url else { return .failure(MissingURL(filename: file.filename)) }
            let name = WheelName.normalize(file.name)
            let key = name + "\0" + file.version
            var package = grouped[key] ?? Package(name: name, version: file.version, wheels: [], sdist: nil)
            let entry = File(name: file.filename, url: url, size: file.size, sha256: file.sha256)
            if file.filename.hasSuffix(".whl") { package.wheels.append(entry) } else { package.sdist = entry }
            grouped[key] = package
        }
        let packages = grouped.values.sorted { ($0.name, $0.version) < ($1.name, $1.version) }

        let top = TOMLTable()
        top["lock-version"] = "1.0"
        top["created-by"] = "airlock"
        let (major, minor) = lock.target.versionParts
        top["requires-python"] = "==\(major).\(minor).*"
        let environments = TOMLArray()
        environments.append(
            "sys_platform == 'linux' and platform_machine == '\(lock.target.architecture)' and python_version == '\(major).\(minor)'"
        )
        top["environments"] = environments
        let array = TOMLArray()
        for package in packages {
            let table = TOMLTable()
            table["name"] = package.name
            table["version"] = package.version
            if !package.wheels.isEmpty {
                let wheels = TOMLArray()
                for wheel in package.wheels.sorted(by: { $0.name < $1.name }) { wheels.append(fileTable(wheel)) }
                table["wheels"] = wheels
            }
            if let sdist = package.sdist { table["sdist"] = fileTable(sdist) }
            array.append(table)
        }
        top["packages"] = array
        let tool = TOMLTable()
        let airlock = TOMLTable()
        airlock["lock"] = PythonLock.fileName
        airlock["target"] = TOMLTable(
            ["python": lock.target.pythonVersion, "platform": lock.target.platform, "glibc": lock.target.glibc], inline: true
        )
        tool["airlock"] = airlock
        top["tool"] = tool
        // toml++ would write `[tool]` before its one subtable; the order of the top-level keys is its own.
        return .success(top.convert(to: .toml, options: [.indentations]) + "\n")
    }

    private static func fileTable(_ file: File) -> TOMLTable {
        var fields: [String: any TOMLValueConvertible] = [
            "name": file.name, "url": file.url, "hashes": TOMLTable(["sha256": file.sha256], inline: true),
        ]
        if let size = file.size { fields["size"] = size }
        return TOMLTable(fields, inline: true)
    }

    public struct MissingURL: Error, Sendable, Equatable {
        public var filename: String
        public init(filename: String) { self.filename = filename }
    }

    /// Reads pylock.toml text back: its packages and their files (sha256 only; other hashes are
    /// refused, since Airlock checks sha256). For tests and for tools that compare the two locks.
    public static func read(_ text: String, path: String) throws -> [Package] {
        if let at = TOMLHeaderCheck.firstBadHeader(in: text) {
            throw UsageError(PythonErrorCode.badLock, "\(path):\(at.line):\(at.column): not valid TOML: a table header must start with a key")
        }
        let top: TOMLTable
        do { top = try TOMLTable(string: text) } catch {
            throw UsageError(PythonErrorCode.badLock, "\(path): not valid TOML (\(error))")
        }
        guard top["lock-version"]?.string == "1.0" else {
            throw UsageError(PythonErrorCode.badLock, "\(path): lock-version must be \"1.0\"")
        }
        var packages: [Package] = []
        for (i, value) in (top["packages"]?.array ?? TOMLArray()).enumerated() {
            let what = "\(path): packages[\(i)]"
            guard let table = value.table, let name = table["name"]?.string else {
                throw UsageError(PythonErrorCode.badLock, "\(what): a package needs a name")
            }
            let version = table["version"]?.string ?? ""
            let wheels = try (table["wheels"]?.array ?? TOMLArray()).map { try file($0.table, what: what + ".wheels") }
            let sdist = try table["sdist"].map { try file($0.table, what: what + ".sdist") }
            packages.append(Package(name: name, version: version, wheels: wheels, sdist: sdist))
        }
        return packages
    }

    private static func file(_ table: TOMLTable?, what: String) throws -> File {
        guard let table, let url = table["url"]?.string, let sha256 = table["hashes"]?.table?["sha256"]?.string else {
            throw UsageError(PythonErrorCode.badLock, "\(what): a file needs a url and hashes.sha256")
        }
        let name = table["name"]?.string ?? String(url.split(separator: "/").last ?? "")
        return File(name: name, url: url, size: table["size"]?.int, sha256: sha256)
    }
}
