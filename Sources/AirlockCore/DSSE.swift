// DSSE (Dead Simple Signing Envelope, github.com/secure-systems-lab/dsse, v1.0): the envelope
// in-toto attestations travel in. The signature is over the pre-authentication encoding
// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body` (lengths in ASCII decimal bytes), never over
// the JSON, so the payload's type is signed too and an auditor can rebuild the signed bytes with
// printf and base64. The envelope is written as canonical JSON, one line, so stock `sed` can take
// the payload and each signature out of it (VERIFY.md shows how).

import Foundation

public enum DSSE {
    public static let inTotoPayloadType = "application/vnd.in-toto+json"
    public static let envelopeMediaType = "application/vnd.dsse.envelope.v1+json"

    /// PAE(type, body).
    public static func preAuthenticationEncoding(type: String, body: [UInt8]) -> [UInt8] {
        Array("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8) + body
    }

    /// The envelope of `payload`, signed by each key (with its key id), as canonical JSON bytes.
    public static func envelope(
        payload: [UInt8], type: String = inTotoPayloadType, signers: [(key: Ed25519PrivateKey, id: String)]
    ) throws -> [UInt8] {
        let signed = preAuthenticationEncoding(type: type, body: payload)
        var signatures: [JSONValue] = []
        for (key, id) in signers.sorted(by: { $0.id < $1.id }) {
            let sig = Data(try key.signature(for: signed)).base64EncodedString()
            signatures.append(.object(["keyid": .string(id), "sig": .string(sig)]))
        }
        return JSONValue.object([
            "payload": .string(Data(payload).base64EncodedString()),
            "payloadType": .string(type),
            "signatures": .array(signatures),
        ]).canonicalBytes
    }

    /// A parsed envelope: the payload and its type, and each signature with the key id it names.
    public struct Envelope: Sendable {
        public var payload: [UInt8]
        public var payloadType: String
        public var signatures: [(keyID: String, signature: [UInt8])]

        /// Parses an envelope strictly (canonical-JSON parser, base64 that decodes, one signature per
        /// key id); the reason is for the caller to put after the file's name.
        public init(parsing bytes: [UInt8]) throws(DSSEFormatError) {
            let value: JSONValue
            do { value = try JSONValue(parsing: bytes) } catch { throw DSSEFormatError(reason: error.description) }
            guard let object = value.objectValue else { throw DSSEFormatError(reason: "not a JSON object") }
            for key in object.keys where !["payload", "payloadType", "signatures"].contains(key) {
                throw DSSEFormatError(reason: "unexpected field \"\(key)\"")
            }
            guard let type = object["payloadType"]?.stringValue else {
                throw DSSEFormatError(reason: "no payloadType string")
            }
            guard let encoded = object["payload"]?.stringValue, let payload = Data(base64Encoded: encoded) else {
                throw DSSEFormatError(reason: "no base64 payload")
            }
            guard let list = object["signatures"]?.arrayValue else {
                throw DSSEFormatError(reason: "no signatures array")
            }
            var signatures: [(keyID: String, signature: [UInt8])] = []
            for (index, entry) in list.enumerated() {
                guard let keyID = entry["keyid"]?.stringValue, let sig = entry["sig"]?.stringValue,
                    let signature = Data(base64Encoded: sig)
                else { throw DSSEFormatError(reason: "signatures[\(index)] needs a keyid and a base64 sig") }
                guard !signatures.contains(where: { $0.keyID == keyID }) else {
                    throw DSSEFormatError(reason: "two signatures name key \(keyID)")
                }
                signatures.append((keyID, Array(signature)))
            }
            self.payload = Array(payload)
            self.payloadType = type
            self.signatures = signatures
        }

        /// The exact bytes each signature is over.
        public var signedBytes: [UInt8] { DSSE.preAuthenticationEncoding(type: payloadType, body: payload) }
    }
}

/// Why bytes are not a DSSE envelope.
public struct DSSEFormatError: AirlockError {
    public let reason: String
    public var description: String { "not a DSSE envelope: \(reason)" }
    public var status: ExitStatus { .badInput }
    public var code: ErrorCode { CoreErrorCode.badJSON.code }
}
