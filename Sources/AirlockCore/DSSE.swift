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
}
