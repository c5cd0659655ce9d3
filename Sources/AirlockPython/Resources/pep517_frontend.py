# Airlock's PEP 517 frontend. It installs nothing and needs nothing but the standard library.
#
#   pep517_frontend.py                    build /airlock/in/source into one wheel in /airlock/out
#   pep517_frontend.py metadata           only the wheel's METADATA, into /airlock/out/METADATA
#   pep517_frontend.py build-system F...  each pyproject.toml's [build-system], as JSON on stdout
#
# The first two run in the sandbox as `python3 -S`, offline, with the build environment (locked
# wheels, installed) at /airlock/in/env and the sources read-only at /airlock/in/source, copied to
# the sandbox's private /tmp before the backend sees them. `build-system` runs on the host for
# `airlock lock`, so the lock and the build read a pyproject.toml with one and the same function.
import importlib, importlib.metadata, json, os, re, shutil, site, sys, zipfile

ENV, OUT, SRC, TMP = "/airlock/in/env", "/airlock/out", "/tmp/airlock-build/src", "/tmp/airlock-build/wheel"
LEGACY = {"requires": ["setuptools>=40.8.0", "wheel"], "build-backend": "setuptools.build_meta:__legacy__", "backend-path": []}
USAGE = "usage: pep517_frontend.py [metadata | build-system PYPROJECT...]"
# Exit statuses of a stop on purpose (SdistBuilder reads them): 2 usage, 3 the backend misbehaved,
# 4 the [build-system] table cannot be used, 5 a build requirement is not in the build environment.
BAD_BUILD_SYSTEM, MISSING_REQUIREMENT = 4, 5


def fail(message, code=3):
    print("airlock-frontend: " + message, file=sys.stderr, flush=True)
    sys.exit(code)


def build_system(path):
    """A pyproject.toml's `[build-system]` with PEP 517/518's defaults, as pip 23 applies them (no
    file or no table: setuptools' legacy backend with setuptools and wheel)."""
    if not os.path.isfile(path):
        return dict(LEGACY)
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            try:
                from pip._vendor import tomli as tomllib
            except ImportError:
                raise ValueError("Python %d.%d has no tomllib and no tomli is installed to read pyproject.toml" % sys.version_info[:2])
    with open(path, "rb") as f:
        table = tomllib.load(f).get("build-system")
    if table is None:
        return dict(LEGACY)
    requires, backend = table.get("requires"), table.get("build-backend", LEGACY["build-backend"])
    paths = table.get("backend-path", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise ValueError("pyproject.toml: [build-system] requires must be a list of strings")
    if not isinstance(backend, str) or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ValueError("pyproject.toml: [build-system] build-backend must be a string, backend-path a list of strings")
    return {"requires": requires, "build-backend": backend, "backend-path": paths}


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def release(text):
    parts = text.strip().split(".")
    if not all(p.isdigit() for p in parts):
        return None
    numbers = [int(p) for p in parts]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def unmet(requirement, installed):
    # Without `packaging` (not in the standard library), names are checked always, versions only
    # for `==` and `>=` on plain release numbers, and a requirement with an environment marker not
    # at all: if the backend needed it, its import fails and says so.
    text, _, marker = requirement.partition(";")
    if marker.strip():
        return False
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*\(?([^)@]*)", text)
    if not m:
        return True
    have = installed.get(normalize(m.group(1)))
    if have is None:
        return True
    got = release(have)
    for spec in filter(None, (s.strip() for s in m.group(3).split(","))):
        pin = re.fullmatch(r"(==|>=)\s*([0-9.]+)", spec)
        want = release(pin.group(2)) if pin else None
        if want is not None and got is not None and (got != want if pin.group(1) == "==" else got < want):
            return True
    return False


def load_backend():
    """Copies the sources to /tmp, checks the build environment, imports the backend."""
    os.makedirs(TMP)
    shutil.copytree("/airlock/in/source", SRC, symlinks=True)
    os.chdir(SRC)
    try:
        system = build_system(os.path.join(SRC, "pyproject.toml"))
    except Exception as e:
        fail(str(e), BAD_BUILD_SYSTEM)
    paths = [os.path.normpath(os.path.join(SRC, p)) for p in system["backend-path"]]
    if any(os.path.commonpath([p, SRC]) != SRC for p in paths):
        fail("backend-path %r leaves the source tree" % system["backend-path"], BAD_BUILD_SYSTEM)
    site.addsitedir(ENV)
    sys.path[:] = paths + [ENV] + [p for p in sys.path if p != ENV and p not in paths]
    installed = {normalize(d.metadata["Name"] or ""): d.version for d in importlib.metadata.distributions(path=[ENV])}
    missing = [r for r in system["requires"] if unmet(r, installed)]
    if missing:
        fail("build requirements not in the build environment: %s (airlock lock puts them in the lock's build list)" % ", ".join(missing), MISSING_REQUIREMENT)
    module, _, attrs = system["build-backend"].partition(":")
    backend = importlib.import_module(module)
    for attr in filter(None, attrs.split(".")):
        backend = getattr(backend, attr)
    hook = getattr(backend, "get_requires_for_build_wheel", None)
    dynamic = list(hook({})) if hook else []
    missing = [r for r in dynamic if unmet(r, installed)]
    if missing:
        fail("the backend %s asks for %s, which the build environment lacks; add them to the build requirements" % (system["build-backend"], ", ".join(missing)), MISSING_REQUIREMENT)
    return backend, system, dynamic


def build_wheel(backend):
    name = backend.build_wheel(TMP, {})
    if not isinstance(name, str) or os.path.basename(name) != name or not os.path.isfile(os.path.join(TMP, name)):
        fail("build_wheel returned %r, not the name of a wheel it wrote" % (name,))
    return name


def build():
    backend, system, dynamic = load_backend()
    name = build_wheel(backend)
    shutil.copyfile(os.path.join(TMP, name), os.path.join(OUT, name))
    note = {"wheel": name, "backend": system["build-backend"], "requires": system["requires"] + dynamic}
    with open(os.path.join(OUT, "build.json"), "w") as f:
        json.dump(note, f)
    print("airlock-frontend: built " + name, flush=True)


def metadata():
    """PEP 517's prepare_metadata_for_build_wheel, else the METADATA of the wheel build_wheel makes."""
    backend, system, dynamic = load_backend()
    hook = getattr(backend, "prepare_metadata_for_build_wheel", None)
    if hook is not None:
        directory = hook(TMP, {})
        path = os.path.join(TMP, str(directory), "METADATA")
        if os.path.basename(str(directory)) != str(directory) or not str(directory).endswith(".dist-info") or not os.path.isfile(path):
            fail("prepare_metadata_for_build_wheel returned %r, not a .dist-info directory it wrote" % (directory,))
        with open(path, "rb") as f:
            data = f.read()
        via = "prepare_metadata_for_build_wheel"
    else:
        name = build_wheel(backend)
        with zipfile.ZipFile(os.path.join(TMP, name)) as z:
            found = [n for n in z.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
            if len(found) != 1:
                fail("the wheel %s has %d .dist-info/METADATA files, not one" % (name, len(found)))
            data = z.read(found[0])
        via = "build_wheel"
    with open(os.path.join(OUT, "METADATA"), "wb") as f:
        f.write(data)
    note = {"metadata": "METADATA", "via": via, "backend": system["build-backend"], "requires": system["requires"] + dynamic}
    with open(os.path.join(OUT, "build.json"), "w") as f:
        json.dump(note, f)
    print("airlock-frontend: metadata by " + via, flush=True)


def build_systems(paths):
    out = []
    for path in paths:
        try:
            out.append(build_system(path))
        except Exception as e:
            out.append({"error": str(e)})
    json.dump(out, sys.stdout)


def main(argv):
    if not argv:
        build()
    elif argv == ["metadata"]:
        metadata()
    elif argv[0] == "build-system":
        build_systems(argv[1:])
    else:
        fail(USAGE, code=2)


if __name__ == "__main__":
    main(sys.argv[1:])
