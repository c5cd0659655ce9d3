# Airlock's sdist fetcher, run as `python3 pip_sdists.py REQUEST.json` by the python whose pip
# locks: pip's own finder and session, so the user's pip configuration applies. A query with a URL is fetched from it; one with a version is looked up on the
# index: among that version's sdists, one whose index hash is a pin, else each in turn
# until one hashes to a pin. Nothing is built or run.
import hashlib, json, os, shutil, sys, urllib.parse, urllib.request

from pip._internal.commands import create_command
from pip._internal.models.format_control import FormatControl
from pip._vendor.packaging.version import InvalidVersion, Version

SDIST = (".tar.gz", ".zip")


def fetch(session, url, dest, filename):
    os.makedirs(dest, exist_ok=True)
    path = os.path.join(dest, filename)
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        shutil.copyfile(urllib.request.url2pathname(parsed.path), path)
        source = "file"
    else:
        r = session.get(url, stream=True, headers={"Accept-Encoding": "identity"})
        r.raise_for_status()
        with open(path, "wb") as f:
            for chunk in r.raw.stream(1 << 20, decode_content=False):
                f.write(chunk)
        source = "download"
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return {"filename": filename, "url": url, "sha256": h.hexdigest(), "size": size, "path": path, "source": source}


def main(argv):
    if len(argv) != 1:
        print("usage: pip_sdists.py REQUEST.json", file=sys.stderr)
        sys.exit(2)
    with open(argv[0]) as f:
        request = json.load(f)
    command = create_command("download")
    options, _ = command.parse_args(list(request["pipOptions"]) + ["--no-input"])
    options.format_control = FormatControl(set(), set())
    results, errors = [], []
    with command.main_context():
        session = command.get_default_session(options)
        finder = command._build_package_finder(options=options, session=session, ignore_requires_python=True)
        for n, query in enumerate(request["sdists"]):
            dest, pins = os.path.join(request["dest"], str(n)), set(query["sha256"])
            if query.get("url"):
                url = query["url"]
                name = urllib.parse.unquote(urllib.parse.urlparse(url).path.rsplit("/", 1)[-1])
                results.append(fetch(session, url, dest, name))
                continue
            try:
                version = Version(query["version"])
            except InvalidVersion:
                errors.append("%s==%s: not a version pip understands" % (query["name"], query["version"]))
                continue
            links = [c.link for c in finder.find_all_candidates(query["name"])
                     if c.version == version and c.link.filename.lower().endswith(SDIST)]
            links.sort(key=lambda l: not (l.hash_name == "sha256" and l.hash in pins))
            found = None
            for link in links:
                found = fetch(session, link.url_without_fragment, dest, link.filename)
                if found["sha256"] in pins:
                    break
            if found is None:
                errors.append("%s==%s: pip found no wheel of it for the target, and the index has no sdist of this version (.tar.gz or .zip)" % (query["name"], query["version"]))
            else:
                results.append(found)
    json.dump({"sdists": results, "errors": errors}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
