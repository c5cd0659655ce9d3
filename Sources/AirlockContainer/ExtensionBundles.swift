// The extension bundles a Functions base image ships, against the range the app's host.json asks
// for. The host loads a bundle from `/FuncExtensionBundles/<id>/<version>/` when one there fits
// `extensionBundle.version`; when none does it downloads one from cdn.functions.azure.com at start,
// which a closed network never answers. So `image build` refuses a base that cannot satisfy the
// range, naming the range and what the image has. The range is NuGet's version range notation,
// the one host.json uses: `[4.*, 5.0.0)`, `[4.10.0]`, or a bare `4.10.0` (that version or newer).

public import AirlockCore
import Foundation

public enum ExtensionBundles {
    public static let root = "/FuncExtensionBundles"

    /// What host.json asks for: the bundle id and its version range; nil when it names none.
    public static func requested(hostJSON bytes: [UInt8], path: String) throws -> (id: String, range: String)? {
        guard let host = try? JSONValue(parsing: bytes), host.objectValue != nil else {
            throw ImageError.usage(.badDocument, "\(path): not a JSON object")
        }
        guard let bundle = host["extensionBundle"], bundle.objectValue != nil else { return nil }
        guard let id = bundle["id"]?.stringValue, let range = bundle["version"]?.stringValue else {
            throw ImageError.usage(.badDocument, "\(path): extensionBundle needs an \"id\" and a \"version\" string")
        }
        return (id, range)
    }

    /// The versions of bundle `id` under `rootfs`'s /FuncExtensionBundles; nil when the image ships
    /// no bundles at all (a plain Debian base).
    public static func shipped(id: String, rootfs: String) throws -> [String]? {
        let top = rootfs + root
        guard FileSystem.kind(of: top) == .directory else { return nil }
        let dir = top + "/" + id
        guard !id.contains("/"), id != "..", FileSystem.kind(of: dir) == .directory else { return [] }
        return try FileSystem.list(dir).filter { FileSystem.kind(of: dir + "/" + $0) == .directory }.sorted()
    }

    /// The highest of `versions` the range allows; nil when none does. A range that is not NuGet
    /// notation is bad input.
    public static func best(of versions: [String], in range: String, path: String) throws -> String? {
        guard let interval = VersionRange(range) else {
            throw ImageError.usage(.badDocument, "\(path): extensionBundle.version \(range) is not a version range such as [4.*, 5.0.0)")
        }
        return versions.compactMap { v in BundleVersion(v).map { (v, $0) } }.filter { interval.contains($0.1) }
            .max { $0.1 < $1.1 }?.0
    }
}

/// A bundle version: dot-separated numbers (missing parts are 0); a pre-release suffix is ignored.
struct BundleVersion: Comparable, Equatable {
    var parts: [Int]

    init?(_ text: String) {
        let core = text.split(separator: "-", maxSplits: 1).first ?? ""
        let numbers = core.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard !numbers.isEmpty, numbers.count <= 4, numbers.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        parts = numbers.map { $0! } + Array(repeating: 0, count: 4 - numbers.count)
    }

    static func < (a: BundleVersion, b: BundleVersion) -> Bool { a.parts.lexicographicallyPrecedes(b.parts) }
}

/// NuGet's interval notation; a `*` in a bound stands for 0 in the lower one (`4.*` is 4.0.0).
struct VersionRange {
    var lower: (BundleVersion, inclusive: Bool)?
    var upper: (BundleVersion, inclusive: Bool)?

    init?(_ text: String) {
        let s = text.trimmingCharacters(in: .whitespaces)
        func version(_ part: Substring) -> BundleVersion?? {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return .some(nil) }
            let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
            let kept = parts.prefix { $0 != "*" }
            guard kept.count == parts.count || parts.last == "*" else { return nil }
            guard let v = BundleVersion(kept.isEmpty ? "0" : kept.joined(separator: ".")) else { return nil }
            return .some(v)
        }
        guard let first = s.first, "[(".contains(first) else {
            // A bare version is its own minimum.
            guard let v = version(Substring(s)), let bound = v else { return nil }
            lower = (bound, true)
            return
        }
        guard let last = s.last, "])".contains(last), s.count >= 3 else { return nil }
        let inner = s.dropFirst().dropLast()
        let bounds = inner.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
        if bounds.count == 1 {
            // `[1.2.3]`: exactly that version.
            guard first == "[", last == "]", let v = version(bounds[0]), let exact = v else { return nil }
            lower = (exact, true)
            upper = (exact, true)
            return
        }
        guard let low = version(bounds[0]), let high = version(bounds[1]), low != nil || high != nil else { return nil }
        lower = low.map { ($0, first == "[") }
        upper = high.map { ($0, last == "]") }
    }

    func contains(_ v: BundleVersion) -> Bool {
        if let (bound, inclusive) = lower, inclusive ? v < bound : !(bound < v) { return false }
        if let (bound, inclusive) = upper, inclusive ? bound < v : !(v < bound) { return false }
        return true
    }
}
