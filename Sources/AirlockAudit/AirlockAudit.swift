// AirlockAudit owns what an auditor reads: the inventory of a bundle or a store (artifacts, the
// Python and Go packages, images and the Debian packages in their layers, signers), the diff of two
// inventories, and the SBOM documents (CycloneDX 1.6 and SPDX 2.3 JSON) written from one. It reads
// bundles only through AirlockBundle's verifying scanner, so nothing is reported from a bundle whose
// signatures have not held; it never changes a store.
//
// It sits above the language domains (wheel names and METADATA from AirlockPython, go.mod from
// AirlockGo), as AirlockMirror does: the inventory is where their facts meet.

public import AirlockCore

public enum AuditErrorCode: String, ErrorCodes {
    public static let domain = "audit"
    /// The path given is neither a bundle (or a volume of one) nor a store.
    case notAuditable = "not-auditable"
    /// --sbom names a format other than cyclonedx or spdx.
    case badSBOMFormat = "bad-sbom-format"
    /// --sbom without --out, or --out without --sbom.
    case sbomNeedsOut = "sbom-needs-out"
}
