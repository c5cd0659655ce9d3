import AirlockCore
import AirlockMirror
import ArgumentParser
import Foundation

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the imported store read-only to pip, go, docker and skopeo, over HTTP or HTTPS.",
        discussion: Example.discussion(
            """
            Only what a signed, imported bundle carried is served, and a bundle imported while it \
            runs is served at once. Routes: / (a page listing what is served and the client lines to \
            use it); /healthz; /blobs/sha256/HEX and /artifacts/NAME (ETag, \
            If-None-Match, HEAD, one Range); the Python simple index under /simple/ (PEP 503 HTML and \
            PEP 691 JSON; pip --index-url URL/simple/); the GOPROXY protocol under /go/ \
            (GOPROXY=URL/go with GOSUMDB=off or GONOSUMDB); the OCI pull API under /v2/. The first line on standard output is the base URL; each \
            request gets an access-log line on standard error. SIGINT or SIGTERM ends it after the \
            requests in flight (exit 0). It never writes to the store, so several can share one; \
            `airlock export-static` writes the same tree as files for nginx.
            """,
            Example("On every address, port 8080", "airlock serve --listen 0.0.0.0:8080 --store /srv/airlock"),
            Example("Over HTTPS with the enclave's certificate", "airlock serve --listen 0.0.0.0:8443 \\\n    --tls-cert mirror.pem --tls-key mirror.key")
        )
    )

    @Option(help: "HOST:PORT to listen on (port 0: any free one).") var listen = "127.0.0.1:8080"
    @Option(help: "A PEM certificate chain: serve HTTPS (with --tls-key).") var tlsCert: String?
    @Option(help: "The certificate's PEM private key.") var tlsKey: String?
    @Option(help: "Access-log lines on standard error: text or json.") var logFormat = "text"
    @Option(help: "Seconds an idle (or slow) connection is kept.") var idleTimeout = 30
    @Option(help: "The longest request target accepted, in bytes.") var maxUrlLength = 8192
    @Option(help: "Network event-loop threads (default: one per core).") var threads: Int?
    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw UsageError(CoreErrorCode.usage, "--listen \(listen): give HOST:PORT, e.g. 127.0.0.1:8080")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw UsageError(CoreErrorCode.usage, "--tls-cert and --tls-key go together")
        }
        guard let format = MirrorOptions.LogFormat(rawValue: logFormat) else {
            throw UsageError(CoreErrorCode.usage, "--log-format \(logFormat): use text or json")
        }
        guard threads.map({ (1...256).contains($0) }) ?? true else {
            throw UsageError(CoreErrorCode.usage, "--threads \(threads ?? 0): give 1 to 256")
        }
        guard idleTimeout > 0, maxUrlLength >= 256 else {
            throw UsageError(CoreErrorCode.usage, "--idle-timeout must be at least 1 and --max-url-length at least 256")
        }
        let options = MirrorOptions(
            host: host.isEmpty ? "0.0.0.0" : host, port: port, storeRoot: storeOptions.root, tlsCertificate: tlsCert,
            tlsKey: tlsKey, logFormat: format, idleTimeout: .seconds(idleTimeout), maximumURLLength: maxUrlLength,
            serverName: "airlock/\(AirlockVersion.current)", eventLoops: threads
        )
        try await MirrorServer.run(options) { url in
            // Unbuffered, so a script or test reading the first line gets it now.
            FileHandle.standardOutput.write(Data((url + "\n").utf8))
            printError("serve: \(storeOptions.root) on \(url) (read-only; SIGINT or SIGTERM to stop)")
        }
    }
}
