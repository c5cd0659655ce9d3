// Temp files beside their destination, for write-then-rename. The name must be unique, not just
// per process: a name made of the pid alone, opened exclusively, is blocked for good by what a
// crashed run with the same pid left (pids are reused, in containers from 1), and two writers in
// one process aimed at the same path would share it. So the name carries a random suffix and the
// open, exclusive as ever, is retried with a new one if the name is taken.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FileSystem {
    /// Creates `.<name>.tmp-<pid>-<random>` in the directory of `path`, exclusively, and opens it
    /// for writing. The caller renames it into place, or removes it on failure.
    package static func createTemporaryFile(
        beside path: String,
        mode: UInt32 = 0o644
    ) throws -> (path: String, descriptor: FileDescriptor) {
        let parent = parentPath(path)
        let prefix = (parent.isEmpty ? "." : parent) + "/.\(baseName(path)).tmp-\(Environment.processID)-"
        var attempt = 0
        while true {
            let candidate = prefix + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            do {
                let descriptor = try FileDescriptor.open(
                    candidate,
                    writing: true,
                    create: true,
                    exclusive: true,
                    mode: mode
                )
                // Removed if the command is interrupted; the caller forgets it once renamed or removed.
                Interrupts.track(file: candidate)
                return (candidate, descriptor)
            } catch let error as FileError where error.errno == EEXIST && attempt < 100 {
                attempt += 1
            }
        }
    }
}
