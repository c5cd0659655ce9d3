# Airlock's reading of an sdist's core metadata for `airlock lock`, run as
# `python3 sdist_metadata.py REQUEST.json` by the python whose pip locks (for pip's vendored
# `packaging`). Nothing here runs the sdist's code: the metadata comes from its PKG-INFO, or from
# the METADATA its build backend wrote in the sandbox.
#
# It answers whether the dependencies are static (Metadata-Version 2.2 or later, PEP 643, and
# Requires-Dist not listed in Dynamic), evaluates each Requires-Dist's environment marker for the
# target (its Python, Linux, its machine; not this host), once with no extra and once per extra the
# metadata provides, and, when asked, writes a stand-in wheel `NAME-VERSION-py3-none-any.whl` that
# holds nothing but METADATA with those requirements (the extras' ones under `extra == "..."`), so
# pip resolves the rest of the requirements around the sdist as if it were a wheel. The stand-in
# never reaches a lock: airlock puts the sdist there in its place.
import base64, email.parser, email.policy, hashlib, json, os, re, sys, zipfile

from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
from pip._vendor.packaging.version import InvalidVersion, Version


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def fail(message):
    print("sdist metadata: " + message, file=sys.stderr)
    sys.exit(3)


def applicable(requirements, environment, extra):
    env = dict(environment, extra=extra)
    out = []
    for r in requirements:
        if r.marker is None or r.marker.evaluate(env):
            plain = Requirement(str(r))
            plain.marker = None
            out.append(str(plain))
    return out


def write_stub(directory, name, version, requires, extras):
    filename = "%s-%s-py3-none-any.whl" % (re.sub(r"[^\w\d.]+", "_", name), version.replace("-", "_"))
    info = "%s-%s.dist-info" % (re.sub(r"[^\w\d.]+", "_", name), version.replace("-", "_"))
    lines = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    lines += ["Requires-Dist: " + r for r in requires]
    for extra, more in sorted(extras.items()):
        lines.append("Provides-Extra: " + extra)
        lines += ['Requires-Dist: %s ; extra == "%s"' % (r, extra) for r in more if r not in requires]
    files = {
        info + "/METADATA": ("\n".join(lines) + "\n").encode(),
        info + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: airlock-lock-stand-in\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rows = []
    for path, data in sorted(files.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    rows.append(info + "/RECORD,,")
    files[info + "/RECORD"] = ("\n".join(rows) + "\n").encode()
    os.makedirs(directory, exist_ok=True)
    with zipfile.ZipFile(os.path.join(directory, filename), "w") as z:
        for path in sorted(files):
            z.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), files[path])
    return filename


def main(argv):
    if len(argv) != 1:
        print("usage: sdist_metadata.py REQUEST.json", file=sys.stderr)
        sys.exit(2)
    with open(argv[0]) as f:
        request = json.load(f)
    with open(request["metadata"], "rb") as f:
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(f.read())
    what = request["describe"]
    name, version = message.get("Name"), message.get("Version")
    if not name or not version:
        fail("%s names no Name or Version" % what)
    if normalize(name) != normalize(request["project"]):
        fail("%s is the metadata of %s, not of %s" % (what, name, request["project"]))
    try:
        if Version(version) != Version(request["version"]):
            fail("%s says version %s, the sdist's name says %s" % (what, version, request["version"]))
        metadata_version = Version(message.get("Metadata-Version") or "1.0")
    except InvalidVersion as e:
        fail("%s: %s" % (what, e))
    dynamic = [d.strip().lower() for d in message.get_all("Dynamic") or []]
    static = metadata_version >= Version("2.2") and "requires-dist" not in dynamic
    answer = {
        "name": name, "version": version, "metadataVersion": str(metadata_version),
        "dynamic": dynamic, "static": static, "requires": [], "extras": {}, "stub": None,
    }
    if request["requireStatic"] and not static:
        json.dump(answer, sys.stdout)
        return
    try:
        requirements = [Requirement(r) for r in message.get_all("Requires-Dist") or []]
    except InvalidRequirement as e:
        fail("%s: a Requires-Dist pip cannot read: %s" % (what, e))
    environment = request["environment"]
    answer["requires"] = applicable(requirements, environment, "")
    # The extras it provides; metadata before 2.1 may name them only in markers.
    extras = {e.strip() for e in message.get_all("Provides-Extra") or []}
    for r in requirements:
        extras.update(re.findall(r"""\bextra\s*==\s*['"]([^'"]+)['"]""", str(r.marker or "")))
    for extra in sorted(extras):
        answer["extras"][extra] = applicable(requirements, environment, extra)
    if request.get("stubDirectory"):
        answer["stub"] = write_stub(request["stubDirectory"], name, version, answer["requires"], answer["extras"])
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
