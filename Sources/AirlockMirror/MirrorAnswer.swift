// A request as the mirror's routes read it, and their answer, apart from how either travels. The
// routes (Mirror.route) are synchronous over one catalog snapshot, so the same table answers on two
// paths: the event loop itself, through MirrorFastPath, for everything it can answer without a
// blocking call (kept pages, stored files sent with sendfile), and Hummingbird's responder for the
// rest. An answer whose body needs blocking work (rendering a page that reads METADATA, reading a
// manifest, the people page's provenance) says so with `.later`, and only the Hummingbird path runs
// that, on NIO's thread pool.

import AirlockCore
import Foundation
import HTTPTypes
import NIOCore

/// HTTPTypes' status (AirlockCore has an HTTPResponse of its own, the client's).
typealias HTTPStatus = HTTPTypes.HTTPResponse.Status

/// What the routes read of a request.
struct MirrorRequest: Sendable {
    var method: String
    var target: String
    var authority: String?
    var accept: String?
    var ifNoneMatch: String?
    var range: String?

    var isHead: Bool { method == "HEAD" }
}

/// A route's answer: status, header fields and a body.
struct MirrorAnswer: Sendable {
    enum Body: Sendable {
        case empty
        case buffer(ByteBuffer)
        /// A span of a stored (immutable, content-addressed) file.
        case file(path: String, span: ClosedRange<Int>)
        /// Blocking work (index reads, a render) that gives the real answer: run off the event loop.
        case later(@Sendable () throws -> MirrorAnswer)
    }

    var status: HTTPStatus
    var headers: HTTPFields
    var body: Body

    init(status: HTTPStatus, headers: HTTPFields = [:], body: Body = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Answered only after blocking work.
    static func later(_ work: @escaping @Sendable () throws -> MirrorAnswer) -> MirrorAnswer {
        MirrorAnswer(status: .ok, body: .later(work))
    }

    static func text(_ status: HTTPStatus, _ text: String, headers: HTTPFields = [:]) -> MirrorAnswer {
        var headers = headers
        headers[.contentType] = "text/plain; charset=utf-8"
        return buffer(ByteBuffer(string: text), status: status, headers: headers)
    }

    static func bytes(_ bytes: [UInt8], contentType: String) -> MirrorAnswer {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return buffer(ByteBuffer(bytes: bytes), headers: headers)
    }

    static func buffer(_ buffer: ByteBuffer, contentType: String) -> MirrorAnswer {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Self.buffer(buffer, headers: headers)
    }

    static func buffer(_ buffer: ByteBuffer, status: HTTPStatus = .ok, headers: HTTPFields) -> MirrorAnswer {
        var headers = headers
        headers[.contentLength] = String(buffer.readableBytes)
        return MirrorAnswer(status: status, headers: headers, body: .buffer(buffer))
    }

    static func redirect(to location: String) -> MirrorAnswer {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.contentLength] = "0"
        return MirrorAnswer(status: .movedPermanently, headers: headers)
    }

    /// The spec's JSON error of the OCI distribution API.
    static func registryError(_ status: HTTPStatus, _ code: String, _ message: String) -> MirrorAnswer {
        let value: JSONValue = .object([
            "errors": .array([.object(["code": .string(code), "message": .string(message)])])
        ])
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[Self.registryVersion] = "registry/2.0"
        return buffer(ByteBuffer(bytes: value.canonicalBytes), status: status, headers: headers)
    }

    static let registryVersion = HTTPField.Name("Docker-Distribution-API-Version")!
    static let contentDigest = HTTPField.Name("Docker-Content-Digest")!

    /// The same answer with its header fields added to.
    func adding(_ name: HTTPField.Name, _ value: String) -> MirrorAnswer {
        var copy = self
        if case .later(let work) = body {
            copy.body = .later { try work().adding(name, value) }
        } else {
            copy.headers[name] = value
        }
        return copy
    }
}
