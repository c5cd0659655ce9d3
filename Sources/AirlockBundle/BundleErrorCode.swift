// The reasons a bundle is refused or cannot be sealed, verified or imported: what `--json` callers
// and tests switch on. A reason names one thing wrong, whatever the message around it says, and
// never changes meaning (manifests/error-codes.md lists them). Problems with a file, the store or a
// key file (missing, not a file, loose permissions) use AirlockCore's codes.

public import AirlockCore

public enum BundleErrorCode: String, ErrorCodes {
    public static let domain = "bundle"

    // Verify and import: exit 2.
    /// Not a tar, an empty one, or one whose first member is not manifest.json.
    case notABundle = "not-a-bundle"
    /// A volume set with a gap, no first volume, or a --max-volume-size it cannot be cut to.
    case badVolume = "bad-volume"

    // Verify and import: exit 1.
    /// A signature that does not verify with the trusted key it names, or is not 64 bytes.
    case badSignature = "bad-signature"
    /// The bundle carries no signature at all.
    case noSignature = "no-signature"
    /// No signature is by a key the policy trusts.
    case unknownSigner = "unknown-signer"
    /// The trust policy holds no key.
    case noTrustedKeys = "no-trusted-keys"
    /// Fewer trusted signatures than the policy's threshold.
    case thresholdNotMet = "threshold-not-met"
    /// A trusted key signed a channel it may not sign.
    case channelNotAllowed = "channel-not-allowed"
    case tooManySignatures = "too-many-signatures"
    /// The bundle's expiry has passed (and --allow-expired was not given).
    case expired
    /// Its sequence is not above the last imported on its channel (and --allow-rollback was not given).
    case rollback
    /// A member's content does not hash to what the signed manifest (or SHA256SUMS) says.
    case hashMismatch = "hash-mismatch"
    /// A blob's size differs from the manifest's.
    case sizeMismatch = "size-mismatch"
    /// The bundle, or a member in it, ends early or is damaged.
    case truncated
    /// A member the manifest does not imply, a misnamed signature file, or VERIFY.md out of order.
    case unexpectedMember = "unexpected-member"
    /// A member that is a link, device, FIFO, directory or sparse file.
    case notARegularFile = "not-a-regular-file"
    /// A member that appears twice.
    case duplicateMember = "duplicate-member"
    /// A member the manifest implies is not in the bundle.
    case missingMember = "missing-member"
    /// manifest.json, SHA256SUMS or VERIFY.md over its size limit.
    case oversizedMember = "oversized-member"
    /// SHA256SUMS has a malformed line or does not list exactly the manifest's carried blobs and VERIFY.md.
    case badSHA256SUMS = "bad-sha256sums"
    /// Import of a delta: a blob it relies on is not in the store, or no longer hashes to its digest.
    case missingBase = "missing-base"
    /// A delta's recipe cannot be read or followed, or what it rebuilds does not hash to the
    /// digest the signed manifest names.
    case badRecipe = "bad-recipe"

    // Seal and trust: exit 2.
    case nothingToSeal = "nothing-to-seal"
    /// Seal was given no --key.
    case noKey = "no-key"
    /// The same key was given twice.
    case duplicateKey = "duplicate-key"
    /// Two inputs would become artifacts of the same name.
    case duplicateName = "duplicate-name"
    case badChannel = "bad-channel"
    case badSequence = "bad-sequence"
    /// An --expires that is not a duration, or that overflows.
    case badExpiry = "bad-expiry"
    case badCompression = "bad-compression"
    /// `seal --delta` of a file that is not an inventory (`airlock inventory --out`).
    case badInventory = "bad-inventory"
    /// `trust remove` of a key id the store does not trust.
    case unknownKey = "unknown-key"
    case badThreshold = "bad-threshold"
    /// `trust rotate --policy`: a policy file that is not the shape of `trust ls --json` plus a
    /// version (a threshold out of range, a key id that is not its key's, a bad channel name ...).
    case badPolicy = "bad-policy"
    /// `trust rotate ROTATION`: a file that is not a trust rotation at all, or whose signed policy
    /// is malformed.
    case badRotation = "bad-rotation"

    // Trust rotation: exit 1.
    /// Signed by fewer than the threshold of the store's current keys, or of the new policy's keys.
    case rotationThreshold = "rotation-threshold"
    /// The rotation's expiry has passed.
    case rotationExpired = "rotation-expired"
    /// Its version is not above the store's trust policy version (a replay or a rollback).
    case rotationRollback = "rotation-rollback"
}
