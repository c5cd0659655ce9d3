// The harnesses of AirlockPython's readers: wheel dist-info text, the installer plan of a whole
// wheel, sdists, the two lock files and .funcignore.

import AirlockCore
import AirlockGo
import AirlockPython

extension FuzzHarnesses {
    /// The one name and target the wheel harnesses install for: a pure wheel fits it.
    static let wheelFileName = "demo-1.0-py3-none-any.whl"
    static let pythonTarget = PythonTarget(pythonVersion: "3.11", platform: "linux/amd64", glibc: "2.31")
    static let tagRanking = TagRanking(pythonTarget)

    /// A wheel's dist-info text, the same bytes read as each file the installer parses: RECORD
    /// (csv), WHEEL and METADATA (headers, Requires-Python) and entry_points.txt (script wrappers).
    public static func wheelMetadata(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = WheelInstaller.recordRows(text)
        _ = WheelInstaller.metadataHeaders(text)
        _ = WheelInstaller.requiresPython(metadata: bytes)
        if let scripts = try? WheelInstaller.scripts(entryPoints: text) {
            for script in scripts where script.name.contains("/") || script.name == ".." {
                violated("wheel-metadata", "entry_points.txt gave the script name '\(script.name)'")
            }
        }
    }

    /// The installer plan of a whole wheel (member checks, RECORD hashes and sizes, WHEEL,
    /// entry_points, the tree written out) into a fresh directory: nothing may land beside it.
    public static func wheel(_ bytes: [UInt8]) {
        FuzzScratch.withFile(bytes, named: wheelFileName) { path, directory in
            let root = directory + "/tree"
            let outside = directory + "/outside"
            guard (try? FileSystem.makeDirectory(outside)) != nil else { return }
            if let planned = try? WheelInstaller.plan(
                wheelAt: path,
                fileName: wheelFileName,
                ranking: tagRanking,
                target: pythonTarget,
                treeRoot: root
            ) {
                for file in planned.files where !RelativePath.isSafe(file.path) {
                    violated("wheel", "the plan installs '\(file.path)', outside site-packages")
                }
            }
            FuzzScratch.expectNothingBeside(root, outside: outside, in: directory, keeping: [wheelFileName], harness: "wheel")
        }
    }

    /// An sdist (tar.gz, or zip by its magic) checked and unpacked into a fresh directory.
    public static func sdist(_ bytes: [UInt8]) {
        let name = bytes.starts(with: [0x50, 0x4B]) ? "demo-1.0.zip" : "demo-1.0.tar.gz"
        FuzzScratch.withFile(bytes, named: name) { path, directory in
            let root = directory + "/tree"
            let outside = directory + "/outside"
            guard (try? FileSystem.makeDirectory(outside)) != nil else { return }
            _ = try? SdistArchive.read(path: path, filename: name, name: "demo", version: "1.0", extractTo: root)
            FuzzScratch.expectNothingBeside(root, outside: outside, in: directory, keeping: [name], harness: "sdist")
        }
    }

    /// `airlock.lock`, read as a Python lock and as a Go lock (one file name, two languages).
    public static func lock(_ bytes: [UInt8]) {
        FuzzScratch.withFile(bytes, named: PythonLock.fileName) { _, directory in
            if let (lock, _) = try? PythonLock.read(project: directory), (try? lock.encoded()) == nil {
                violated("lock", "an accepted Python lock cannot be written back")
            }
            if let (lock, _) = try? GoLock.read(project: directory), (try? lock.encoded()) == nil {
                violated("lock", "an accepted Go lock cannot be written back")
            }
        }
    }

    /// `pylock.toml` (PEP 751), through TOMLKit.
    public static func pylock(_ bytes: [UInt8]) {
        _ = try? PyLock.read(String(decoding: bytes, as: UTF8.self), path: PyLock.fileName)
    }

    /// `.funcignore`: the rules, then every line of the input asked as a path (and a few fixed ones).
    public static func funcignore(_ bytes: [UInt8]) {
        let ignore = FuncIgnore(bytes: bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let paths = ["function_app.py", "host.json", ".venv/lib/x.py", "a/b/c.txt", ""]
            + text.split(separator: "\n").prefix(64).map(String.init)
        for path in paths { _ = ignore.excludingRule(for: path) }
    }
}
