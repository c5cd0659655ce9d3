// Errors of the image domain: importing image archives, reading images from the store and
// unpacking their layers. Hostile or inconsistent input is a failed check (exit 1); a missing file
// or an unknown image name is bad input (exit 2).

public import AirlockCore

public struct ImageError: AirlockError {
    public let description: String
    public let status: ExitStatus

    /// What was checked is wrong: a digest or size mismatch, a hostile member, a broken manifest.
    static func check(_ description: String) -> ImageError {
        ImageError(description: description, status: .checkFailed)
    }

    /// The request cannot be carried out: an unknown image, a file that is no image archive.
    static func usage(_ description: String) -> ImageError { ImageError(description: description, status: .badInput) }
}
