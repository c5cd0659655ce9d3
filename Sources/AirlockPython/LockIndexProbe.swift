// Asks pip, not Airlock, about the network: a small script run by the same python whose pip resolves
// builds pip's own option parser and `PipSession`, so the configuration it reports and the requests
// it makes see the user's pip.conf, PIP_* variables, index URLs, proxy, CA bundle, client
// certificate, trusted hosts and index credentials exactly as `pip install` would. It reports that
// configuration (for uv, which reads no pip.conf) and looks up what pip's report lacks: each file's
// size (the index's PEP 691 JSON `size`, else a HEAD request's Content-Length, else unknown) and,
// when the report carries no sha256, the sha256 itself (by downloading the file).

import AirlockCore
import Foundation

/// pip's effective index and network settings.
package struct PipConfiguration: Codable, Sendable, Equatable {
    package var indexURL: String?
    package var extraIndexURLs: [String]
    package var findLinks: [String]
    package var noIndex: Bool
    package var cert: String?
    package var clientCert: String?
    package var proxy: String?
    package var trustedHosts: [String]

    package init(
        indexURL: String?,
        extraIndexURLs: [String] = [],
        findLinks: [String] = [],
        noIndex: Bool = false,
        cert: String? = nil,
        clientCert: String? = nil,
        proxy: String? = nil,
        trustedHosts: [String] = []
    ) {
        self.indexURL = indexURL
        self.extraIndexURLs = extraIndexURLs
        self.findLinks = findLinks
        self.noIndex = noIndex
        self.cert = cert
        self.clientCert = clientCert
        self.proxy = proxy
        self.trustedHosts = trustedHosts
    }
}

/// What the probe found for one file.
struct ProbedFile: Codable, Sendable {
    var size: Int?
    var sha256: String?
    /// "pep691", "head", "download" or "file"; nil when the size is unknown.
    var source: String?
}

struct LockIndexProbe {
    let python: String
    let environment: [String: String]
    let workDirectory: String
    /// pip options from the requirements file (`--index-url`, ...), applied as pip would.
    let pipOptions: [String]

    func configuration() async throws -> PipConfiguration {
        let output = try await run(["mode": "config", "pipOptions": pipOptions], label: "probe-config")
        do {
            return try JSONDecoder().decode(PipConfiguration.self, from: Data(output))
        } catch {
            throw UsageError("\(python): pip's configuration probe printed something that is not its answer (\(error))")
        }
    }

    /// Sizes (and any missing sha256) for `files`, keyed by file name; also the probe's warnings.
    func files(_ files: [(project: String, filename: String, url: String, sha256: String?)]) async throws -> (
        [String: ProbedFile], [String]
    ) {
        let list: [[String: Any]] = files.map {
            ["project": $0.project, "filename": $0.filename, "url": $0.url, "sha256": $0.sha256 ?? NSNull()]
        }
        let output = try await run(["mode": "files", "pipOptions": pipOptions, "files": list], label: "probe-files")
        struct Answer: Decodable {
            var files: [String: ProbedFile]
            var warnings: [String]
        }
        do {
            let answer = try JSONDecoder().decode(Answer.self, from: Data(output))
            return (answer.files, answer.warnings)
        } catch {
            throw UsageError("\(python): the file probe printed something that is not its answer (\(error))")
        }
    }

    private func run(_ request: [String: Any], label: String) async throws -> [UInt8] {
        let scriptPath = workDirectory + "/airlock-pip-probe.py"
        if !FileSystem.exists(scriptPath) { try FileSystem.writeAtomically(scriptPath, Array(Self.script.utf8)) }
        let requestPath = workDirectory + "/\(label).json"
        try FileSystem.writeAtomically(requestPath, Array(try JSONSerialization.data(withJSONObject: request)))
        let result = try await LockProcess.run(
            python,
            [scriptPath, requestPath],
            environment: environment,
            workDirectory: workDirectory,
            label: label
        )
        guard result.status == 0 else {
            throw UsageError(
                "\(python): asking pip about the index failed (exit \(result.status)):\n\(result.stderrTail())"
            )
        }
        return result.stdout
    }

    static let script = #"""
        # Airlock's pip probe: pip's own option parser and network session, so that everything here
        # sees the user's pip configuration exactly as `pip install` would.
        import hashlib, json, os, sys, urllib.parse, urllib.request

        from pip._internal.commands import create_command

        JSON_TYPE = "application/vnd.pypi.simple.v1+json"


        def main():
            request = json.load(open(sys.argv[1]))
            command = create_command("install")
            options, _ = command.parse_args(list(request.get("pipOptions", [])) + ["--no-input"])
            if request["mode"] == "config":
                json.dump({
                    "indexURL": options.index_url,
                    "extraIndexURLs": list(options.extra_index_urls or []),
                    "findLinks": list(options.find_links or []),
                    "noIndex": bool(options.no_index),
                    "cert": options.cert or None,
                    "clientCert": options.client_cert or None,
                    "proxy": options.proxy or None,
                    "trustedHosts": list(options.trusted_hosts or []),
                }, sys.stdout)
                return
            with command.main_context():
                session = command.get_default_session(options)
                probe_files(session, options, request["files"])


        def probe_files(session, options, files):
            indexes = [] if options.no_index else [options.index_url] + list(options.extra_index_urls or [])
            pages, warnings, results = {}, [], {}

            def index_entries(project):
                if project not in pages:
                    found = {}
                    for index in indexes:
                        url = index.rstrip("/") + "/" + project + "/"
                        try:
                            r = session.get(url, headers={"Accept": JSON_TYPE + ", text/html;q=0.01"})
                            kind = r.headers.get("Content-Type", "").split(";")[0].strip()
                            if r.status_code == 200 and kind == JSON_TYPE:
                                for f in r.json().get("files", []):
                                    if isinstance(f, dict) and isinstance(f.get("filename"), str):
                                        found.setdefault(f["filename"], []).append(f)
                        except Exception as e:
                            warnings.append(f"{url}: {e}")
                    pages[project] = found
                return pages[project]

            def digest(chunks):
                h, n = hashlib.sha256(), 0
                for c in chunks:
                    h.update(c)
                    n += len(c)
                return h.hexdigest(), n

            for f in files:
                url, name, known = f["url"], f["filename"], f.get("sha256")
                out = {"size": None, "sha256": known, "source": None}
                parsed = urllib.parse.urlparse(url)
                if parsed.scheme == "file":
                    path = urllib.request.url2pathname(parsed.path)
                    if known:
                        out.update(size=os.stat(path).st_size, source="file")
                    else:
                        with open(path, "rb") as fh:
                            sha, n = digest(iter(lambda: fh.read(1 << 20), b""))
                        out.update(size=n, sha256=sha, source="file")
                elif known:
                    for entry in index_entries(f["project"]).get(name, []):
                        sha = (entry.get("hashes") or {}).get("sha256")
                        size = entry.get("size")
                        if sha is not None and sha.lower() != known:
                            warnings.append(f"{name}: the index's PEP 691 page gives sha256 {sha}, pip chose {known}")
                        elif isinstance(size, int) and not isinstance(size, bool) and size >= 0:
                            out.update(size=size, source="pep691")
                            break
                    if out["size"] is None:
                        try:
                            r = session.head(url, allow_redirects=True, headers={"Accept-Encoding": "identity"})
                            length = r.headers.get("Content-Length", "")
                            if r.status_code == 200 and length.isdigit() and not r.headers.get("Content-Encoding"):
                                out.update(size=int(length), source="head")
                        except Exception as e:
                            warnings.append(f"{url}: {e}")
                else:
                    r = session.get(url, stream=True, headers={"Accept-Encoding": "identity"})
                    r.raise_for_status()
                    sha, n = digest(r.raw.stream(1 << 20, decode_content=False))
                    out.update(size=n, sha256=sha, source="download")
                results[name] = out
            json.dump({"files": results, "warnings": warnings}, sys.stdout)


        main()
        """#
}
