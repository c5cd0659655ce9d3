# Airlock's pip probe, run as `python3 index_probe.py REQUEST.json` by the python whose pip locks:
# pip's own option parser and network session, so that everything here sees the user's pip
# configuration exactly as `pip install` would. The request's mode is "config" (pip's effective
# index and network settings) or "files" (each file's size, whether the index marks it yanked, and
# its sha256 when it is not known). The project pages are asked for as PEP 691 JSON, and read as
# PEP 503 HTML when that is what the index answers.
import hashlib, html.parser, json, os, sys, urllib.parse, urllib.request

from pip._internal.commands import create_command

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def main(argv):
    if len(argv) != 1:
        print("usage: index_probe.py REQUEST.json", file=sys.stderr)
        sys.exit(2)
    with open(argv[0]) as f:
        request = json.load(f)
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


def yanked_reason(value):
    """PEP 592 / 691: a reason string (or "" for none) when the file is yanked, else None."""
    if value is True:
        return ""
    if isinstance(value, str):
        return value
    return None


class SimpleLinks(html.parser.HTMLParser):
    """The file links of a PEP 503 page, as PEP 691 entries (filename, hashes, yanked)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.entries = []

    def handle_starttag(self, tag, attrs):
        if tag != "a":
            return
        attributes = dict(attrs)
        href = attributes.get("href")
        if not href:
            return
        parsed = urllib.parse.urlparse(href)
        name = urllib.parse.unquote(parsed.path.rsplit("/", 1)[-1])
        hashes = {}
        if parsed.fragment.startswith("sha256="):
            hashes["sha256"] = parsed.fragment[len("sha256="):]
        entry = {"filename": name, "hashes": hashes}
        if "data-yanked" in attributes:
            entry["yanked"] = attributes["data-yanked"] or True
        self.entries.append(entry)


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
                    entries = []
                    if r.status_code == 200 and kind == JSON_TYPE:
                        entries = r.json().get("files", [])
                    elif r.status_code == 200 and kind in ("text/html", "application/vnd.pypi.simple.v1+html"):
                        links = SimpleLinks()
                        links.feed(r.text)
                        entries = links.entries
                    for f in entries:
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

    def yanked(project, name, sha):
        for entry in index_entries(project).get(name, []):
            listed = (entry.get("hashes") or {}).get("sha256")
            if sha is None or listed is None or listed.lower() == sha:
                reason = yanked_reason(entry.get("yanked"))
                if reason is not None:
                    return reason
        return None

    for f in files:
        url, name, known = f["url"], f["filename"], f.get("sha256")
        out = {"size": None, "sha256": known, "source": None, "yanked": None}
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
                    warnings.append(f"{name}: the index's page gives sha256 {sha}, pip chose {known}")
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
        if parsed.scheme != "file" and indexes:
            out["yanked"] = yanked(f["project"], name, out["sha256"])
        results[name] = out
    json.dump({"files": results, "warnings": warnings}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
