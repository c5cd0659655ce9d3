# Airlock's sdist fetcher, run as `python3 pip_sdists.py REQUEST.json` by the python whose pip
# locks: pip's own finder and session, so the user's pip configuration (index, credentials,
# proxy, CA bundle) applies. Nothing is built or run. Two kinds of query:
#
#   "sdists" (hash-pinned lines): one with a URL is fetched from it; one with a version is looked
#     up on the index: among that version's sdists, one whose index hash is a pin, else each in turn
#     until one hashes to a pin.
#   "find" (unhashed lines pip found no wheel for): the highest version the specifier allows, as
#     pip picks it (pre-releases only when asked for or when nothing else matches; yanked files only
#     for an exact == pin; Requires-Python checked against the target's Python), whose sdist is then
#     downloaded and checked against the sha256 the index gives for it.
import hashlib, json, os, shutil, sys, urllib.parse, urllib.request

from pip._internal.commands import create_command
from pip._internal.models.format_control import FormatControl
from pip._vendor.packaging.specifiers import InvalidSpecifier, SpecifierSet
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


def pinned(session, finder, n, query, dest, results, errors):
    dest, pins = os.path.join(dest, str(n)), set(query["sha256"])
    if query.get("url"):
        url = query["url"]
        name = urllib.parse.unquote(urllib.parse.urlparse(url).path.rsplit("/", 1)[-1])
        results.append(fetch(session, url, dest, name))
        return
    try:
        version = Version(query["version"])
    except InvalidVersion:
        errors.append("%s==%s: not a version pip understands" % (query["name"], query["version"]))
        return
    links = [c.link for c in finder.find_all_candidates(query["name"])
             if c.version == version and c.link.filename.lower().endswith(SDIST)]
    links.sort(key=lambda l: not (l.hash_name == "sha256" and l.hash in pins))
    found = None
    for link in links:
        found = fetch(session, link.url_without_fragment, dest, link.filename)
        found["yanked"] = link.yanked_reason
        if found["sha256"] in pins:
            break
    if found is None:
        errors.append("%s==%s: pip found no wheel of it for the target, and the index has no sdist of this version (.tar.gz or .zip)" % (query["name"], query["version"]))
    else:
        results.append(found)


def fits_python(link, python):
    if not link.requires_python:
        return True
    try:
        return SpecifierSet(link.requires_python).contains(python, prereleases=True)
    except InvalidSpecifier:
        return True  # pip ignores a Requires-Python it cannot parse


def best_sdist(finder, query, python):
    """The candidate pip would pick among the project's sdists, or a reason there is none."""
    try:
        specifier = SpecifierSet(query.get("specifier") or "")
    except InvalidSpecifier:
        return None, "%s: not a version specifier pip understands" % query["specifier"]
    sdists = [c for c in finder.find_all_candidates(query["name"]) if c.link.filename.lower().endswith(SDIST)]
    if not sdists:
        return None, "the index has no sdist of it either"
    allowed = set(specifier.filter(sorted({c.version for c in sdists}), prereleases=True if query.get("pre") else None))
    matching = [c for c in sdists if c.version in allowed]
    if not matching:
        return None, "no sdist on the index matches %s (sdists of %s)" % (
            specifier or "it", ", ".join(sorted({str(c.version) for c in sdists}, key=Version)))
    fitting = [c for c in matching if fits_python(c.link, python)]
    if not fitting:
        return None, "every sdist matching %s needs another Python than %s (Requires-Python)" % (specifier or "it", python)
    exact = any(s.operator in ("==", "===") and not s.version.endswith(".*") for s in specifier)
    kept = [c for c in fitting if not c.link.is_yanked]
    if not kept:
        if not exact:
            return None, "every sdist matching %s is yanked (pin one with == to take it)" % (specifier or "it")
        kept = fitting
    # The highest version; of its files, .tar.gz before .zip, then by name, so the pick is stable.
    top = max(c.version for c in kept)
    best = sorted((c for c in kept if c.version == top),
                  key=lambda c: (not c.link.filename.lower().endswith(".tar.gz"), c.link.filename))[0]
    return best, None


def find(session, finder, n, query, dest, python):
    best, reason = best_sdist(finder, query, python)
    if best is None:
        return {"missing": reason}
    link = best.link
    found = fetch(session, link.url_without_fragment, os.path.join(dest, "find-%d" % n), link.filename)
    found["version"] = str(best.version)
    found["indexSha256"] = link.hash.lower() if link.hash_name == "sha256" and link.hash else None
    found["yanked"] = link.yanked_reason  # None, or the reason ("" for none): PEP 592
    if found["indexSha256"] is not None and found["indexSha256"] != found["sha256"]:
        return {"mismatch": "%s: the index gives sha256 %s, the download from %s hashes to %s" % (
            link.filename, found["indexSha256"], found["url"], found["sha256"])}
    return found


def main(argv):
    if len(argv) != 1:
        print("usage: pip_sdists.py REQUEST.json", file=sys.stderr)
        sys.exit(2)
    with open(argv[0]) as f:
        request = json.load(f)
    command = create_command("download")
    options, _ = command.parse_args(list(request["pipOptions"]) + ["--no-input"])
    options.format_control = FormatControl(set(), set())
    results, errors, found = [], [], []
    with command.main_context():
        session = command.get_default_session(options)
        finder = command._build_package_finder(options=options, session=session, ignore_requires_python=True)
        for n, query in enumerate(request.get("sdists", [])):
            pinned(session, finder, n, query, request["dest"], results, errors)
        for n, query in enumerate(request.get("find", [])):
            found.append(find(session, finder, n, query, request["dest"], request.get("python", "")))
    json.dump({"sdists": results, "errors": errors, "found": found}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
