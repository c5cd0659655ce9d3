// The harnesses of AirlockGo's readers: module zips from a proxy, go.sum, go.mod (and the
// vendor/modules.txt checked against it).

import AirlockCore
import AirlockGo

extension FuzzHarnesses {
    /// The module every fuzzed zip claims to be.
    static let goModule: ModuleVersion? = try? ModuleVersion(path: "example.com/demo", version: "v1.0.0")

    /// A module zip checked as the go command checks one, and hashed.
    public static func goModuleZip(_ bytes: [UInt8]) {
        guard let module = goModule else { violated("go-module-zip", "the fixed module version is refused") }
        FuzzScratch.withFile(bytes, named: "v1.0.0.zip") { path, _ in
            guard let summary = try? ModuleZip.check(path, module: module) else { return }
            if !summary.hash.hasPrefix("h1:") { violated("go-module-zip", "a checked zip's hash is \(summary.hash)") }
        }
    }

    /// go.sum, and a look-up of the fixed module in it.
    public static func goSum(_ bytes: [UInt8]) {
        guard let sum = try? GoSum(text: String(decoding: bytes, as: UTF8.self)), let module = goModule else { return }
        _ = try? sum.hash(for: module, .zip)
        _ = try? sum.hash(for: module, .goMod)
    }

    /// go.mod (its pinned release too), and the same text read as vendor/modules.txt and checked
    /// against it.
    public static func goMod(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        let mod = try? GoModFile(text: text)
        _ = try? mod?.pinnedRelease()
        if let mod, let vendor = try? VendorModules(text: text) { _ = vendor.disagreements(with: mod) }
        _ = Dirhash.goMod(bytes)
    }
}
