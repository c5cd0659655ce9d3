// `airlock.lock`: what a Python build installs, pinned for one target. Pretty JSON with sorted keys
// and files sorted by name and file name, so a diff of two locks reads as the change it is.
// `files` are wheels and sdists (an sdist is built in the sandbox by `airlock build`); `build`, absent
// when no sdist is locked, holds the wheels that build them: every sdist's build requirements,
// resolved together for the target, installed as one build environment.

public import AirlockCore
import Foundation

public struct LockedFile: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    public var filename: String
    public var url: String?
    public var sha256: String
    public var size: Int?
    /// PEP 592: the index marked the file yanked, with this reason ("" when it gave none); nil (and
    /// absent from the file) when it did not. pip takes a yanked file only for an exact `==` pin.
    public var yanked: String?

    public init(
        name: String, version: String, filename: String, url: String?, sha256: String, size: Int?, yanked: String? = nil
    ) {
        self.name = name
        self.version = version
        self.filename = filename
        self.url = url
        self.sha256 = sha256
        self.size = size
        self.yanked = yanked
    }
}

public struct PythonLock: Codable, Sendable, Equatable {
    public var lockVersion: Int
    public var target: PythonTarget
    public var files: [LockedFile]
    /// The wheels the sdists among `files` are built with; nil (and absent from the file) when none.
    public var build: [LockedFile]?

    public init(target: PythonTarget, files: [LockedFile], build: [LockedFile]? = nil) {
        self.lockVersion = 1
        self.target = target
        self.files = files.sorted { ($0.name, $0.filename) < ($1.name, $1.filename) }
        let build = (build ?? []).sorted { ($0.name, $0.filename) < ($1.name, $1.filename) }
        self.build = build.isEmpty ? nil : build
    }

    /// The sdists among `files`.
    public var sdists: [LockedFile] { files.filter { !$0.filename.hasSuffix(".whl") } }

    /// What `airlock fetch` stores: the files, then the build files.
    var everyFile: [LockedFile] { files + (build ?? []) }

    public static let fileName = "airlock.lock"

    /// Reads and checks `DIR/airlock.lock`.
    public static func read(project: String) throws -> (lock: PythonLock, bytes: [UInt8]) {
        let path = project + "/" + fileName
        guard FileSystem.kind(of: path) == .regular else {
            throw UsageError(PythonErrorCode.noLock, "\(path): no lock; run `airlock lock --project \(project)` first")
        }
        let bytes = try FileSystem.readFile(path, limit: 16 << 20)
        let lock: PythonLock
        do {
            lock = try JSONDecoder().decode(PythonLock.self, from: Data(bytes))
        } catch {
            throw UsageError(PythonErrorCode.badLock, "\(path): not an Airlock lock file (\(error))")
        }
        guard lock.lockVersion == 1 else {
            throw UsageError(PythonErrorCode.badLock, "\(path): lock version \(lock.lockVersion) is not 1")
        }
        for f in lock.everyFile {
            guard SHA256Digest(f.sha256) != nil, f.sha256.utf8.count == 64 else {
                throw UsageError(
                    PythonErrorCode.badLock,
                    "\(path): \(f.filename): sha256 must be 64 lowercase hex digits"
                )
            }
            guard !f.filename.contains("/"),
                f.filename.hasSuffix(".whl") || f.filename.hasSuffix(".tar.gz") || f.filename.hasSuffix(".zip")
            else {
                throw UsageError(PythonErrorCode.badLock, "\(path): \(f.filename): not a wheel or sdist file name")
            }
        }
        for f in lock.build ?? [] where !f.filename.hasSuffix(".whl") {
            throw UsageError(
                PythonErrorCode.badLock,
                "\(path): \(f.filename): build requirements are locked as wheels only"
            )
        }
        return (lock, bytes)
    }

    /// The stable text form.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }
}
