// Why an HTTP request failed, as one line a user can act on, and a code callers switch on. The
// transport's own errors (AsyncHTTPClient, NIO, BoringSSL) are turned into that line here, so no
// caller above AirlockCore sees them.

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an HTTP request failed (`http.<reason>`).
public enum HTTPErrorCode: String, ErrorCodes {
    public static let domain = "http"
    /// Not an http or https URL with a host.
    case badURL = "bad-url"
    /// A redirect to another scheme, or more than the limit.
    case redirectRefused = "redirect-refused"
    /// The answer to a `Range` request does not continue where asked (or is 416).
    case badRange = "bad-range"
    /// The body is larger than the caller's limit.
    case tooLarge = "too-large"
    /// A proxy variable that cannot be used, or a proxy that refused or failed the tunnel.
    case proxy
    /// The TLS handshake failed: most often the server's certificate is not trusted.
    case tls
    /// The CA file given for verification cannot be read as PEM certificates.
    case caFile = "ca-file"
    /// No connection: refused, unreachable, the name does not resolve, or the connect timed out.
    case connect
    /// No bytes arrived for the idle timeout.
    case timeout
    /// The connection closed before the response was complete.
    case interrupted
    case cancelled
    /// The session is shut down.
    case closed
    /// Any other transport failure.
    case transport
}

/// A failed request: the one line to show, and which kind of failure it is.
public struct HTTPError: AirlockError, Equatable {
    public let code: ErrorCode
    public let description: String
    /// A network or server problem: the command could not be carried out (exit 2).
    public var status: ExitStatus { .badInput }

    public init(_ code: HTTPErrorCode, _ description: String) {
        self.code = code.code
        self.description = description
    }

    public func `is`(_ code: HTTPErrorCode) -> Bool { self.code == code.code }

    /// The transport's error for a request to `url` (through `proxy`, if any), in words.
    static func transport(
        _ error: any Error,
        url: URL,
        proxy: ProxyServer?,
        timeouts: (connect: Duration, idle: Duration)
    )
        -> HTTPError
    {
        let host = url.host ?? "?"
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        let target = "\(host):\(port)"
        let via = proxy.map { " through \($0)" } ?? ""
        if error is CancellationError { return HTTPError(.cancelled, "cancelled") }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout:
                return HTTPError(.connect, "connecting to \(target)\(via) timed out after \(timeouts.connect)")
            case .readTimeout, .deadlineExceeded:
                return HTTPError(.timeout, "no data from \(target)\(via) for \(timeouts.idle) (the idle timeout)")
            case .remoteConnectionClosed:
                return HTTPError(.interrupted, "\(target) closed the connection before the response was complete")
            case .invalidProxyResponse:
                return HTTPError(
                    .proxy,
                    "the proxy \(proxy?.description ?? "") refused the tunnel (CONNECT) to \(target)"
                )
            case .proxyAuthenticationRequired:
                return HTTPError(
                    .proxy,
                    "the proxy \(proxy?.description ?? "") wants credentials for the tunnel to \(target) (HTTP 407)"
                )
            case .httpProxyHandshakeTimeout, .socksHandshakeTimeout:
                return HTTPError(
                    .proxy,
                    "the proxy \(proxy?.description ?? "") did not open a tunnel to \(target) in time"
                )
            case .tlsHandshakeTimeout:
                return HTTPError(.tls, "the TLS handshake with \(target)\(via) timed out")
            case .cancelled, .requestStreamCancelled:
                return HTTPError(.cancelled, "cancelled")
            case .alreadyShutdown:
                return HTTPError(.closed, "the HTTP session is shut down")
            default:
                return HTTPError(.transport, "request to \(target)\(via) failed: \(error)")
            }
        }
        if let error = error as? NIOSSLError {
            let text = "\(error)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return HTTPError(
                    .tls,
                    "TLS handshake with \(target) failed: certificate verify failed (the server's certificate is not signed by a trusted CA)"
                )
            }
            return HTTPError(.tls, "TLS handshake with \(target) failed: \(text)")
        }
        if let error = error as? NIOSSLExtraError {
            return HTTPError(.tls, "TLS handshake with \(target) failed: certificate verify failed (\(error))")
        }
        if let error = error as? NIOConnectionError {
            let reasons = error.connectionErrors.map { Self.reason($0.error) }
            var why = Array(Set(reasons)).sorted().joined(separator: "; ")
            if why.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil { why = "the name does not resolve" }
            let connected = proxy.map { "the proxy \($0)" } ?? target
            return HTTPError(.connect, "cannot connect to \(connected): \(why.isEmpty ? "\(error)" : why)")
        }
        if let error = error as? IOError {
            return HTTPError(
                .connect,
                "cannot connect to \(proxy.map { "the proxy \($0)" } ?? target): \(reason(error))"
            )
        }
        if let error = error as? HTTPParserError {
            if error == .invalidEOFState {
                return HTTPError(.interrupted, "\(target) closed the connection before the response was complete")
            }
            return HTTPError(.interrupted, "\(target) sent a malformed response (\(error))")
        }
        if error is ChannelError, "\(error)".contains("connectTimeout") {
            return HTTPError(.connect, "connecting to \(target)\(via) timed out after \(timeouts.connect)")
        }
        return HTTPError(.transport, "request to \(target)\(via) failed: \(error)")
    }

    private static func reason(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        return "\(error)"
    }
}
