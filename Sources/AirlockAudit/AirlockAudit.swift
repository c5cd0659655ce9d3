// AirlockAudit owns what an auditor reads: the inventory of a bundle or a store (artifacts, the
// Python and Go packages, images and the Debian packages in their layers, signers), the diff of two
// inventories, the SBOM documents (CycloneDX 1.6 and SPDX 2.3 JSON) written from one, and the rebuild
// check (every built artifact rebuilt from what its bundle carries and compared bit for bit). It reads
// bundles only through AirlockBundle's verifying scanner, so nothing is reported from a bundle whose
// signatures have not held; it never changes the user's store (a rebuild works in a scratch one).
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
    /// `rebuild` without --check or --out.
    case rebuildNeedsMode = "rebuild-needs-mode"
    /// A rebuilt artifact's digest is not the bundle's, or an artifact could not be rebuilt from the bundle.
    case notReproduced = "not-reproduced"
    /// An --vulns file that is not an OSV export (or a member of it that is not an advisory).
    case badOSV = "bad-osv"
    /// --fail-on names no severity, or is given without --vulns.
    case badFailOn = "bad-fail-on"
    /// `audit --vulns --fail-on`: an advisory at or above the threshold affects a package.
    case vulnerable = "vulnerable"
}
