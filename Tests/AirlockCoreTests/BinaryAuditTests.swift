import AirlockCore
import AirlockTestSupport
import Testing

@Suite struct BinaryAuditTests {
    @Test func aDynamicToolNeedsItsLoaderLibrariesAndAGlibcVersion() throws {
        let audit = try BinaryAudit(contentsOf: "/bin/ls")
        #expect(audit.interpreter?.hasPrefix("/lib") == true && audit.needed.contains("libc.so.6") && !audit.isSelfContained)
        let glibc = try #require(audit.highestGlibc)
        #expect(glibc.hasPrefix("2."), "\(glibc)")
    }

    @Test func versionsCompareAsNumbersNotText() {
        let versions = ["GLIBC_2.9", "GLIBC_2.34", "GLIBC_2.2.5"].compactMap(BinaryAudit.glibcVersion)
        #expect(versions.max { $0.lexicographicallyPrecedes($1) } == [2, 34])
        #expect(BinaryAudit.glibcVersion("GLIBCXX_3.4") == nil)
    }
}
