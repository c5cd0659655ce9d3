// A Kubernetes object as the kit builds it: a small tree of strings, integers, Booleans, lists and
// maps, kept as a value (so tests read exactly what is written) and turned into YAML only by Yams
// (libyaml's emitter), with every map's keys sorted, so the same kit always gives the same bytes.
// A string that YAML would read as something else (`"true"`, `"5"`, `"0 6 * * *"` is fine, `"~"` is
// not) is single-quoted by Yams' own String representation, so it stays a string.

import Yams

/// One YAML value of a manifest.
public enum ManifestValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case list([ManifestValue])
    case map([String: ManifestValue])

    /// The member `key` of a map (nil for other values or a missing key).
    public subscript(key: String) -> ManifestValue? {
        if case .map(let members) = self { return members[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var intValue: Int? {
        if case .int(let number) = self { return number }
        return nil
    }

    public var listValue: [ManifestValue]? {
        if case .list(let items) = self { return items }
        return nil
    }

    public var mapValue: [String: ManifestValue]? {
        if case .map(let members) = self { return members }
        return nil
    }

    /// `documents` as one multi-document YAML stream: each document after the first opens with
    /// `---`, and the stream ends with a newline.
    public static func yaml(_ documents: [ManifestValue]) throws -> String {
        try Yams.serialize(nodes: documents.map(\.node), sortKeys: true)
    }

    private var node: Node {
        switch self {
        case .string(let text): return .scalar(text.represented())
        case .int(let number): return .scalar(Node.Scalar(String(number), Tag(.int)))
        case .bool(let flag): return .scalar(Node.Scalar(flag ? "true" : "false", Tag(.bool)))
        case .list(let items): return .sequence(Node.Sequence(items.map(\.node)))
        case .map(let members):
            return .mapping(Node.Mapping(members.map { (Node.scalar($0.key.represented()), $0.value.node) }))
        }
    }
}

extension ManifestValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: ManifestValue...) { self = .list(elements) }
    public init(dictionaryLiteral elements: (String, ManifestValue)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
