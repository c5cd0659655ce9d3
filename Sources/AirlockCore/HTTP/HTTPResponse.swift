public import Foundation
import NIOHTTP1

/// A response's status line and headers, for the URL that answered (after any redirects).
public struct HTTPResponse: Sendable {
    public var url: URL
    public var status: Int
    /// In the order received; names as sent.
    public var headers: [(name: String, value: String)]

    public init(url: URL, status: Int, headers: [(name: String, value: String)]) {
        self.url = url
        self.status = status
        self.headers = headers
    }

    /// The first value of header `name`, compared without regard to case.
    public func value(of name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public var contentLength: Int? {
        value(of: "Content-Length").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    public var contentRange: ContentRange? { ContentRange(value(of: "Content-Range")) }

    /// `HTTP 404 Not Found from URL`.
    public var statusLine: String {
        let phrase = HTTPResponseStatus(statusCode: status).reasonPhrase
        return "HTTP \(status)\(phrase.isEmpty ? "" : " " + phrase) from \(url.absoluteString)"
    }
}

/// Takes one GET's response and body as they arrive, in the requesting task, one call at a time.
/// Returning false from either stops the transfer (the connection is closed, not reused).
public protocol HTTPBodySink {
    /// The final response (after redirects, and after the session's own range and size checks);
    /// false refuses its body.
    func accept(_ response: HTTPResponse) -> Bool
    /// The next bytes of the body, valid only during the call.
    func receive(_ bytes: UnsafeRawBufferPointer) -> Bool
}

/// Writes a 200's body into a store blob writer (hashing it on the way); refuses any other status.
/// A write that fails stops the transfer and is kept in `error`.
public final class BlobWriterSink: HTTPBodySink {
    public let writer: BlobWriter
    public private(set) var error: (any Error)?

    public init(_ writer: BlobWriter) { self.writer = writer }

    public func accept(_ response: HTTPResponse) -> Bool { response.status == 200 }

    public func receive(_ bytes: UnsafeRawBufferPointer) -> Bool {
        do {
            try writer.append(bytes)
            return true
        } catch {
            self.error = error
            return false
        }
    }
}

/// How a GET ended, besides what its sink saw.
public struct HTTPTransferEnd: Sendable {
    /// The final response, when one arrived (and passed the session's checks).
    public var response: HTTPResponse?
    /// Why the transfer failed; nil when the body arrived whole or the sink stopped it.
    public var error: HTTPError?
    /// The sink returned false.
    public var isStoppedBySink: Bool
    /// Body bytes handed to the sink.
    public var bytesReceived: Int

    public init(
        response: HTTPResponse? = nil,
        error: HTTPError? = nil,
        isStoppedBySink: Bool = false,
        bytesReceived: Int = 0
    ) {
        self.response = response
        self.error = error
        self.isStoppedBySink = isStoppedBySink
        self.bytesReceived = bytesReceived
    }

    public var status: Int? { response?.status }
}

/// `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`).
public struct ContentRange: Sendable, Equatable {
    public var start: Int
    public var end: Int
    public var total: Int?

    public init?(_ header: String?) {
        guard let header, header.hasPrefix("bytes ") else { return nil }
        let spec = header.dropFirst("bytes ".count)
        let halves = spec.split(separator: "/", maxSplits: 1)
        guard halves.count == 2 else { return nil }
        let bounds = halves[0].split(separator: "-", maxSplits: 1)
        guard bounds.count == 2, let start = Int(bounds[0]), let end = Int(bounds[1]), start <= end else { return nil }
        self.start = start
        self.end = end
        if halves[1] == "*" {
            total = nil
        } else {
            guard let total = Int(halves[1]), total > end else { return nil }
            self.total = total
        }
    }
}
