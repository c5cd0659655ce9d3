// The project's own files a build read, carried in the bundle beside the artifact, so the bundle
// alone rebuilds it (`airlock rebuild --check`): every file of the build inputs' `files` and the
// lock, under `sources/PROJECT/`. A Python app's files are also inside its zip, but a Go handler's
// sources are not, and the lock is in neither; one rule for both kinds keeps the rebuild generic.

/// The sources of built artifacts, as bundles carry them.
public enum BuildSources {
    /// The artifact kind of a carried source file.
    public static let kind = "build-source"

    /// `sources/PROJECT/`: where a project's sources sit in the bundle's artifact list.
    public static func folder(project: String) -> String { "sources/" + project + "/" }

    /// The files of `provenance.inputs.files` read from `projectDirectory`, and the lock at
    /// `lockPath`, each checked against the hash the build recorded: a file changed since the build
    /// would make the bundle's rebuild fail, so it is refused here with the command that fixes it.
    /// Empty for provenance without recorded inputs (schema 1).
    public static func bundleInputs(projectDirectory: String, lockPath: String, provenance: Provenance) throws -> [BundleInput] {
        guard let inputs = provenance.inputs else { return [] }
        let folder = folder(project: provenance.project)
        var carried: [BundleInput] = []
        func carry(_ relative: String, _ expected: SHA256Digest, path: String) throws {
            guard FileSystem.kind(of: path) == .regular, (try Store.hashFile(path).0) == expected else {
                throw UsageError(
                    CoreErrorCode.inputChanged,
                    "\(path): changed since the build (or gone); run `airlock build --project \(projectDirectory)` again"
                )
            }
            carried.append(
                BundleInput(
                    sourcePath: path, artifactPath: folder + relative, name: provenance.project + "/" + relative, kind: kind,
                    mediaType: MediaType.guess(relative)
                )
            )
        }
        for file in inputs.files { try carry(file.path, file.sha256, path: projectDirectory + "/" + file.path) }
        if let lock = inputs.lock { try carry(FileSystem.baseName(lockPath), lock, path: lockPath) }
        return carried
    }
}
