// A client of the OCI distribution API, for `image push` (and `image pull`): one repository on one
// registry, over Airlock's HTTP session (AsyncHTTPClient; TLS always verified, with a custom CA when
// given). Plain HTTP only with `--insecure`, and only to a loopback address: a registry in the
// enclave has TLS, and credentials never cross a network in clear.
//
// Authentication follows the registry's challenge, as docker and skopeo do: a 401 with
// `WWW-Authenticate: Basic` gets the credentials; with `Bearer realm=...,service=...,scope=...` a
// token is asked of the realm (with the credentials, if any) and sent from then on. An ACR token
// from `az acr login --expose-token` is a password for the user 00000000-0000-0000-0000-000000000000
// at that realm. Credentials come from a file of mode 0600 (`{"username": ..., "password": ...}`),
// a token file of mode 0600, or a Docker `config.json` (`auths.HOST.auth`).
//
// Every request is retried on a 5xx, a 429 and a broken or refused connection, with backoff
// (0.2 s doubling, 5 tries): a file body is read again from the start for each try.

public import AirlockCore
import Foundation
import Synchronization

/// `HOST[:PORT]/REPOSITORY[:TAG]` (or `@sha256:HEX` for a pull), as `image push --to` and
/// `image pull` take it.
public struct RegistryReference: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var repository: String
    public var tag: String?
    public var digest: SHA256Digest?

    public init(parsing text: String) throws {
        guard let slash = text.firstIndex(of: "/") else {
            throw ImageError.usage(.badName, "\(text): expected REGISTRY/REPOSITORY[:TAG] (e.g. myreg.azurecr.io/app:1)")
        }
        let host = String(text[..<slash])
        var rest = String(text[text.index(after: slash)...])
        if let at = rest.firstIndex(of: "@") {
            let given = String(rest[rest.index(after: at)...])
            guard given.hasPrefix("sha256:"), given.utf8.count == 71, let digest = SHA256Digest(String(given.dropFirst(7))) else {
                throw ImageError.usage(.badName, "\(text): the digest must be sha256: and 64 lowercase hex digits")
            }
            self.digest = digest
            rest = String(rest[..<at])
        }
        var tag: String? = nil
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = String(rest[..<colon])
        }
        guard host.contains(".") || host.contains(":") || host == "localhost",
            ImageName.isValidName(host + "/" + rest), tag.map(ImageName.isValidTag) ?? true
        else {
            throw ImageError.usage(.badName, "\(text): expected REGISTRY/REPOSITORY[:TAG] with a registry host (e.g. myreg.azurecr.io/app:1)")
        }
        self.host = host
        self.repository = rest
        self.tag = tag
    }

    public var description: String {
        host + "/" + repository + (tag.map { ":" + $0 } ?? "") + (digest.map { "@" + $0.description } ?? "")
    }

    /// Whether the host is a loopback address (the only place `--insecure` may send plain HTTP).
    public var isLoopback: Bool {
        let name = host.hasPrefix("[") ? String(host.dropFirst().prefix { $0 != "]" }) : String(host.prefix { $0 != ":" })
        return name == "localhost" || name == "::1" || name.hasPrefix("127.")
    }
}

/// A user name and password (or token) for a registry.
public struct RegistryCredentials: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    /// The user ACR tokens go with (`az acr login --expose-token`).
    public static let acrTokenUser = "00000000-0000-0000-0000-000000000000"

    /// `{"username": ..., "password": ...}` from a file only its owner can read.
    public static func read(file path: String) throws -> RegistryCredentials {
        try checkPrivate(path)
        let bytes = try FileSystem.readFile(path, limit: 1 << 20)
        guard let value = try? JSONValue(parsing: bytes), let user = value["username"]?.stringValue,
            let password = value["password"]?.stringValue
        else {
            throw ImageError.usage(.badOption, "\(path): expected {\"username\": ..., \"password\": ...}")
        }
        return RegistryCredentials(username: user, password: password)
    }

    /// A token file (what `az acr login --expose-token --query accessToken -o tsv` prints).
    public static func read(tokenFile path: String) throws -> RegistryCredentials {
        try checkPrivate(path)
        let token = String(decoding: try FileSystem.readFile(path, limit: 1 << 20), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: \.isWhitespace) else {
            throw ImageError.usage(.badOption, "\(path): expected one token")
        }
        return RegistryCredentials(username: acrTokenUser, password: token)
    }

    /// The entry for `host` in a Docker config.json (`auths.HOST.auth`, base64 of `user:password`).
    public static func docker(config path: String, host: String) throws -> RegistryCredentials? {
        guard FileSystem.kind(of: path) == .regular else { return nil }
        let bytes = try FileSystem.readFile(path, limit: 4 << 20)
        guard let value = try? JSONValue(parsing: bytes) else {
            throw ImageError.usage(.badOption, "\(path): not a Docker config.json")
        }
        for key in [host, "https://" + host, "http://" + host] {
            guard let auth = value["auths"]?[key]?["auth"]?.stringValue else { continue }
            guard let decoded = Data(base64Encoded: auth).map({ String(decoding: $0, as: UTF8.self) }),
                let colon = decoded.firstIndex(of: ":")
            else { throw ImageError.usage(.badOption, "\(path): auths.\(key).auth is not base64 of user:password") }
            return RegistryCredentials(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
        }
        return nil
    }

    private static func checkPrivate(_ path: String) throws {
        guard FileSystem.kind(of: path) == .regular else { throw ImageError.usage(.badOption, "\(path): no such file") }
        let mode = try FileSystem.mode(of: path)
        guard mode & 0o077 == 0 else {
            throw ImageError.usage(
                .badOption, "\(path): mode \(String(mode, radix: 8)) lets others read it; chmod 600 \(path)"
            )
        }
    }
}

/// The distribution API of one repository.
public final class RegistryClient: Sendable {
    public let reference: RegistryReference
    let session: HTTPSession
    let base: String
    let credentials: RegistryCredentials?
    private let authorization = Mutex<String?>(nil)
    /// How many tries a request gets, and the first backoff.
    let tries: Int
    let backoff: Duration

    public init(
        _ reference: RegistryReference, session: HTTPSession, insecure: Bool, credentials: RegistryCredentials?, tries: Int = 5,
        backoff: Duration = .milliseconds(200)
    ) throws {
        if insecure, !reference.isLoopback {
            throw ImageError.usage(
                .badOption, "--insecure: plain HTTP is only for a registry on this machine (127.0.0.1, ::1, localhost), not \(reference.host)"
            )
        }
        self.reference = reference
        self.session = session
        self.base = (insecure ? "http://" : "https://") + reference.host + "/v2/" + reference.repository
        self.credentials = credentials
        self.tries = max(1, tries)
        self.backoff = backoff
    }

    /// The URL of `path` under the repository (`/blobs/...`, `/manifests/...`).
    func url(_ path: String) -> URL { URL(string: base + path)! }

    /// An upload's `Location`, absolute (registries answer relative or absolute ones).
    func location(_ response: HTTPResponse) throws -> URL {
        guard let value = response.value(of: "Location"),
            let url = URL(string: value, relativeTo: URL(string: base))?.absoluteURL
        else { throw RegistryError.protocolError("\(reference.host): an upload answer without a Location") }
        return url
    }

    /// Sends a request with authentication and retries; returns the final answer (any status).
    func send(
        _ method: String, _ url: URL, headers: [(name: String, value: String)] = [], body: HTTPRequestBody = .none,
        responseLimit: Int = 4 << 20
    ) async throws -> (response: HTTPResponse, body: [UInt8]) {
        var challenged = false
        var attempt = 0
        while true {
            attempt += 1
            var sent = headers
            if let auth = authorization.withLock({ $0 }) { sent.append(("Authorization", auth)) }
            let result = await once(method, url, headers: sent, body: body, responseLimit: responseLimit)
            let answer: (response: HTTPResponse, body: [UInt8])
            switch result {
            case .success(let got):
                answer = got
            case .failure(let error):
                guard Self.isTransient(error), attempt < tries else { throw error }
                try await Task.sleep(for: backoff * (1 << (attempt - 1)))
                continue
            }
            let status = answer.response.status
            if status == 401, !challenged, let challenge = answer.response.value(of: "WWW-Authenticate") {
                challenged = true
                try await authenticate(challenge)
                attempt = 0
                continue
            }
            if (status >= 500 || status == 429), attempt < tries {
                try await Task.sleep(for: backoff * (1 << (attempt - 1)))
                continue
            }
            return answer
        }
    }

    private func once(
        _ method: String, _ url: URL, headers: [(name: String, value: String)], body: HTTPRequestBody, responseLimit: Int
    ) async -> Result<(response: HTTPResponse, body: [UInt8]), HTTPError> {
        do {
            return .success(try await session.send(method, url, headers: headers, body: body, responseLimit: responseLimit))
        } catch {
            return .failure(error)
        }
    }

    /// GETs a blob (following a redirect to its storage) into a new store writer, with
    /// authentication and retries; the digest and size must be `blob`'s. Returns the staged file.
    func download(_ blob: OCIDescriptor, into store: Store) async throws -> (digest: SHA256Digest, temporaryPath: String) {
        var challenged = false
        var attempt = 0
        while true {
            attempt += 1
            var headers: [(name: String, value: String)] = []
            if let auth = authorization.withLock({ $0 }) { headers.append(("Authorization", auth)) }
            let writer = try store.makeWriter(syncOnFinish: false)
            let sink = BlobWriterSink(writer)
            let end = await session.get(url("/blobs/" + blob.digest.description), headers: headers, sizeLimit: blob.size, into: sink)
            if let failure = sink.error {
                writer.discard()
                throw failure
            }
            let status = end.response?.status ?? 0
            if status == 200, end.error == nil, !end.isStoppedBySink {
                let digest = try writer.finish()
                guard digest == blob.digest, writer.size == blob.size else {
                    try? FileSystem.remove(writer.temporaryPath)
                    throw RegistryError.mismatch(
                        "\(reference.host)/\(reference.repository): blob \(blob.digest) arrived as \(digest) (\(writer.size) bytes, \(blob.size) expected)"
                    )
                }
                return (digest, writer.temporaryPath)
            }
            writer.discard()
            if status == 401, !challenged, let challenge = end.response?.value(of: "WWW-Authenticate") {
                challenged = true
                try await authenticate(challenge)
                attempt = 0
                continue
            }
            let transient = end.error.map(Self.isTransient) ?? (status >= 500 || status == 429)
            if transient, attempt < tries {
                try await Task.sleep(for: backoff * (1 << (attempt - 1)))
                continue
            }
            if let error = end.error { throw error }
            throw RegistryError.refused("\(reference.host)/\(reference.repository): GET of blob \(blob.digest): HTTP \(status)")
        }
    }

    static func isTransient(_ error: HTTPError) -> Bool {
        [HTTPErrorCode.connect, .interrupted, .timeout, .transport].contains { error.is($0) }
    }

    /// Answers a 401's challenge: Basic with the credentials, Bearer with a token from its realm.
    func authenticate(_ challenge: String) async throws {
        let (scheme, parameters) = Self.parseChallenge(challenge)
        switch scheme {
        case "basic":
            guard let credentials else {
                throw RegistryError.unauthorized("\(reference.host) asks for a user name and password: pass --credentials FILE or --token-file FILE")
            }
            authorization.withLock { $0 = "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString() }
        case "bearer":
            guard let realm = parameters["realm"], var components = URLComponents(string: realm),
                let scheme = components.scheme?.lowercased(), scheme == "https" || (scheme == "http" && reference.isLoopback)
            else {
                throw RegistryError.protocolError("\(reference.host): a Bearer challenge without an https realm (\(challenge))")
            }
            var query = components.queryItems ?? []
            if let service = parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
            if let scope = parameters["scope"] { query.append(URLQueryItem(name: "scope", value: scope)) }
            components.queryItems = query
            guard let tokenURL = components.url else { throw RegistryError.protocolError("\(realm): not a URL") }
            var headers: [(name: String, value: String)] = []
            if let credentials {
                headers.append(("Authorization", "Basic " + Data("\(credentials.username):\(credentials.password)".utf8).base64EncodedString()))
            }
            let (response, body) = try await session.send("GET", tokenURL, headers: headers, responseLimit: 1 << 20)
            guard response.status == 200 else {
                throw RegistryError.unauthorized(
                    "\(tokenURL.host ?? realm) refused a token for \(parameters["scope"] ?? reference.repository) (HTTP \(response.status))"
                        + (credentials == nil ? ": pass --credentials FILE or --token-file FILE" : "")
                )
            }
            guard let value = try? JSONValue(parsing: body), let token = value["token"]?.stringValue ?? value["access_token"]?.stringValue
            else { throw RegistryError.protocolError("\(realm): the token answer has no token") }
            authorization.withLock { $0 = "Bearer " + token }
        default:
            throw RegistryError.protocolError("\(reference.host): an authentication scheme Airlock does not speak (\(challenge))")
        }
    }

    /// `Bearer realm="https://x/token",service="x",scope="repository:a:pull,push"` -> ("bearer", [...]).
    static func parseChallenge(_ text: String) -> (String, [String: String]) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let scheme = String(trimmed.prefix { $0 != " " }).lowercased()
        var parameters: [String: String] = [:]
        var rest = Substring(trimmed.dropFirst(scheme.count))
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let equals = rest.firstIndex(of: "=") else { break }
            let key = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let c = rest.first, c != "\"" {
                    if c == "\\" { rest = rest.dropFirst() }
                    if let next = rest.first { value.append(next) }
                    rest = rest.dropFirst()
                }
                rest = rest.dropFirst()
            } else {
                value = String(rest.prefix { $0 != "," })
                rest = rest.drop { $0 != "," }
            }
            parameters[key] = value
        }
        return (scheme, parameters)
    }
}

/// Why a registry request failed (`registry.<reason>`).
public enum RegistryErrorCode: String, ErrorCodes {
    public static let domain = "registry"
    case unauthorized
    case refused
    case protocolError = "protocol"
    case digestMismatch = "digest-mismatch"
}

public struct RegistryError: AirlockError {
    public let code: ErrorCode
    public let description: String
    public let status: ExitStatus

    static func unauthorized(_ d: String) -> RegistryError { RegistryError(code: RegistryErrorCode.unauthorized.code, description: d, status: .badInput) }
    static func refused(_ d: String) -> RegistryError { RegistryError(code: RegistryErrorCode.refused.code, description: d, status: .badInput) }
    static func protocolError(_ d: String) -> RegistryError { RegistryError(code: RegistryErrorCode.protocolError.code, description: d, status: .badInput) }
    static func mismatch(_ d: String) -> RegistryError { RegistryError(code: RegistryErrorCode.digestMismatch.code, description: d, status: .checkFailed) }

    /// A refusal with the registry's own error message (the spec's `{"errors": [...]}`).
    static func refused(_ what: String, _ answer: (response: HTTPResponse, body: [UInt8])) -> RegistryError {
        let errors = (try? JSONValue(parsing: answer.body))?["errors"]?.arrayValue ?? []
        let detail = errors.compactMap { e -> String? in
            guard let code = e["code"]?.stringValue else { return nil }
            return code + (e["message"]?.stringValue.map { ": " + $0 } ?? "")
        }.joined(separator: "; ")
        if answer.response.status == 401 || answer.response.status == 403 {
            return unauthorized("\(what): HTTP \(answer.response.status)\(detail.isEmpty ? "" : " (\(detail))")")
        }
        return refused("\(what): HTTP \(answer.response.status)\(detail.isEmpty ? "" : " (\(detail))")")
    }
}
