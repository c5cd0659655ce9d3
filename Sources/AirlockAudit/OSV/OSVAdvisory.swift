// OSVAdvisory.swift — the subset of the OSV schema (https://ossf.github.io/osv-schema/) that
// the matcher needs, decoded from one OSV JSON record.
//
// Owns the data model and JSON decoding. Only `id` is required; every other field is
// optional and decoded leniently (a missing, null or ill-typed field becomes nil or an empty
// array, an ill-formed array element is dropped), because real OSV dumps mix producers and
// one odd record field must not make a whole advisory unusable. Unknown fields are ignored.

import Foundation

/// One OSV vulnerability record.
public struct OSVAdvisory: Decodable, Equatable, Sendable {
    public let id: String
    public let aliases: [String]
    public let summary: String?
    public let details: String?
    /// RFC 3339 timestamps, kept as written.
    public let modified: String?
    public let published: String?
    /// Set when the advisory was withdrawn; `OSVIndex` skips such advisories.
    public let withdrawn: String?
    public let severity: [Severity]
    /// `database_specific.severity` when it is a string, as GitHub advisories write it
    /// (`LOW`, `MODERATE`, `HIGH`, `CRITICAL`). The rest of `database_specific` is ignored.
    public let databaseSeverity: String?
    public let affected: [Affected]
    public let references: [Reference]

    /// A `severity[]` entry: `type` is e.g. `CVSS_V3`, `CVSS_V4`; `score` is the vector.
    public struct Severity: Decodable, Equatable, Sendable {
        public let type: String
        public let score: String
    }

    /// An `affected[]` entry. `package` is nil when the record does not name one (e.g. a
    /// GIT-only entry); such entries match nothing.
    public struct Affected: Decodable, Equatable, Sendable {
        public let package: Package?
        public let ranges: [Range]
        public let versions: [String]

        enum CodingKeys: String, CodingKey { case package, ranges, versions }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            package = try? container.decodeIfPresent(Package.self, forKey: .package)
            ranges = container.lossyArray(of: Range.self, forKey: .ranges)
            versions = container.lossyArray(of: String.self, forKey: .versions)
        }
    }

    public struct Package: Decodable, Equatable, Sendable {
        public let ecosystem: String
        public let name: String
        public let purl: String?
    }

    /// An `affected[].ranges[]` entry; `type` is `ECOSYSTEM`, `SEMVER` or `GIT` (kept as written).
    public struct Range: Decodable, Equatable, Sendable {
        public let type: String
        public let events: [Event]

        enum CodingKeys: String, CodingKey { case type, events }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decode(String.self, forKey: .type)
            events = container.lossyArray(of: Event.self, forKey: .events)
        }
    }

    /// One range event. An event object holding none of the four keys is dropped.
    public enum Event: Decodable, Equatable, Sendable {
        case introduced(String)
        case fixed(String)
        case lastAffected(String)
        case limit(String)

        enum CodingKeys: String, CodingKey {
            case introduced, fixed, limit
            case lastAffected = "last_affected"
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let value = container.lossyString(forKey: .introduced) {
                self = .introduced(value)
            } else if let value = container.lossyString(forKey: .fixed) {
                self = .fixed(value)
            } else if let value = container.lossyString(forKey: .lastAffected) {
                self = .lastAffected(value)
            } else if let value = container.lossyString(forKey: .limit) {
                self = .limit(value)
            } else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                        debugDescription: "event without a known key"))
            }
        }

        /// The version string the event carries.
        public var version: String {
            switch self {
            case .introduced(let v), .fixed(let v), .lastAffected(let v), .limit(let v): return v
            }
        }
    }

    public struct Reference: Decodable, Equatable, Sendable {
        public let type: String?
        public let url: String?
    }

    enum CodingKeys: String, CodingKey {
        case id, aliases, summary, details, modified, published, withdrawn, severity
        case databaseSpecific = "database_specific"
        case affected, references
    }

    private struct DatabaseSpecific: Decodable {
        enum CodingKeys: String, CodingKey { case severity }
        let severity: String?
        init(from decoder: any Decoder) throws {
            // Arbitrary shape: only a string "severity" member is of interest.
            severity = (try? decoder.container(keyedBy: CodingKeys.self))?.lossyString(forKey: .severity)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        aliases = container.lossyArray(of: String.self, forKey: .aliases)
        summary = container.lossyString(forKey: .summary)
        details = container.lossyString(forKey: .details)
        modified = container.lossyString(forKey: .modified)
        published = container.lossyString(forKey: .published)
        withdrawn = container.lossyString(forKey: .withdrawn)
        severity = container.lossyArray(of: Severity.self, forKey: .severity)
        databaseSeverity = (try? container.decodeIfPresent(DatabaseSpecific.self, forKey: .databaseSpecific))??.severity
        affected = container.lossyArray(of: Affected.self, forKey: .affected)
        references = container.lossyArray(of: Reference.self, forKey: .references)
    }

    /// Decodes one OSV record from UTF-8 JSON bytes.
    /// - Throws: `OSVParseError` naming why the bytes are not a usable record.
    public static func parse(_ bytes: [UInt8]) throws(OSVParseError) -> OSVAdvisory {
        do {
            return try JSONDecoder().decode(OSVAdvisory.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw OSVParseError(error)
        } catch {
            throw .malformedJSON(String(describing: error))
        }
    }
}

/// Why `OSVAdvisory.parse` rejected its input.
public enum OSVParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The bytes are not valid JSON (the associated text is the decoder's explanation).
    case malformedJSON(String)
    /// The JSON is valid but its top level is not an object.
    case notAnObject
    /// A required field (only `id`) is absent or null.
    case missingField(String)
    /// A required field has the wrong type; the reason names the expectation.
    case invalidField(String, reason: String)

    public var description: String {
        switch self {
        case .malformedJSON(let detail): return "malformed JSON: \(detail)"
        case .notAnObject: return "OSV record is not a JSON object"
        case .missingField(let field): return "OSV record lacks required field '\(field)'"
        case let .invalidField(field, reason): return "OSV record field '\(field)' is invalid: \(reason)"
        }
    }

    init(_ error: DecodingError) {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case let .dataCorrupted(context) where context.codingPath.isEmpty:
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            self = .malformedJSON(context.debugDescription + underlying)
        case let .dataCorrupted(context):
            self = .invalidField(path(context.codingPath), reason: context.debugDescription)
        case let .keyNotFound(key, context):
            self = .missingField(path(context.codingPath + [key]))
        case let .valueNotFound(_, context):
            self = .missingField(path(context.codingPath))
        case let .typeMismatch(type, context):
            if context.codingPath.isEmpty {
                self = .notAnObject
            } else {
                self = .invalidField(path(context.codingPath), reason: "expected \(type)")
            }
        @unknown default:
            self = .malformedJSON(String(describing: error))
        }
    }
}

// MARK: - Lenient decoding helpers

/// Consumes any JSON value; used to step over an array element that failed to decode.
private struct SkippedValue: Decodable {
    init(from decoder: any Decoder) throws {}
}

extension KeyedDecodingContainer {
    /// The array at `key` with undecodable elements dropped; `[]` if absent, null or not an array.
    func lossyArray<T: Decodable>(of type: T.Type, forKey key: Key) -> [T] {
        guard contains(key), (try? decodeNil(forKey: key)) == false,
              var elements = try? nestedUnkeyedContainer(forKey: key) else { return [] }
        var result: [T] = []
        while !elements.isAtEnd {
            if let element = try? elements.decode(T.self) {
                result.append(element)
            } else if (try? elements.decode(SkippedValue.self)) == nil {
                break   // cannot advance; never loop forever
            }
        }
        return result
    }

    /// The string at `key`, or nil if absent, null or not a string.
    func lossyString(forKey key: Key) -> String? {
        (try? decodeIfPresent(String.self, forKey: key)) ?? nil
    }
}
