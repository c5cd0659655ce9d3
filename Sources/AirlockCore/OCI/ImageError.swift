// Errors of the image domain: importing image archives, reading images from the store and
// unpacking their layers. Hostile or inconsistent input is a failed check (exit 1); a missing file
// or an unknown image name is bad input (exit 2).

public enum ImageErrorCode: String, ErrorCodes {
    public static let domain = "image"
    /// A reason no more specific code names yet.
    case failed
    case notFound = "not-found"
    case ambiguous
    case badName = "bad-name"
    case badDocument = "bad-document"
    case missingBlob = "missing-blob"
    case digestMismatch = "digest-mismatch"
    case sizeMismatch = "size-mismatch"
    case hostileLayer = "hostile-layer"
    case unsafePath = "unsafe-path"
    case notAnImageArchive = "not-an-image-archive"
    case unexpectedMember = "unexpected-member"
    case noImage = "no-image"
    case severalImages = "several-images"
    case unsupportedLayout = "unsupported-layout"
    case wrongPlatform = "wrong-platform"
    case badMediaType = "bad-media-type"
    case badOption = "bad-option"
    case missingTool = "missing-tool"
    case bootstrapFailed = "bootstrap-failed"
    case badRootfs = "bad-rootfs"
    /// The base image's host cannot load the app's extension bundle range without the internet.
    case extensionBundle = "extension-bundle"
    /// The base image does not fit the app: another Python, an older glibc, a path that is a link.
    case baseMismatch = "base-mismatch"
}

public struct ImageError: AirlockError {
    public let description: String
    public let status: ExitStatus
    public let code: ErrorCode

    /// What was checked is wrong: a digest or size mismatch, a hostile member, a broken manifest.
    package static func check(_ code: ImageErrorCode, _ description: String) -> ImageError {
        ImageError(description: description, status: .checkFailed, code: code.code)
    }

    /// The request cannot be carried out: an unknown image, a file that is no image archive.
    package static func usage(_ code: ImageErrorCode, _ description: String) -> ImageError {
        ImageError(description: description, status: .badInput, code: code.code)
    }
}
