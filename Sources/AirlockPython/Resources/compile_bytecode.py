# Airlock's bytecode step, run in the sandbox as `python3 -s -S -c <this> ROOT OUT`: a checked-hash
# `.pyc` (PEP 552: the source's hash, no timestamp) for every `.py` under ROOT, with the file names
# the deployed app will have, so two builds give the same bytes. It runs with PYTHONHASHSEED=0: set
# and frozenset constants are marshalled in hash order. Writes OUT/pyc/... and OUT/report.json.
import importlib.util, json, os, py_compile, sys


def main(argv):
    if len(argv) != 2:
        print("bytecode: usage: compile_bytecode.py ROOT OUT", file=sys.stderr)
        sys.exit(2)
    root, out = argv
    compiled, skipped = [], []
    for directory, subdirectories, names in os.walk(root):
        subdirectories.sort()
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            source = os.path.join(directory, name)
            relative = os.path.relpath(source, root)
            if relative.startswith(".python_packages/bin/"):
                continue
            cached = importlib.util.cache_from_source(relative)
            try:
                py_compile.compile(
                    source, cfile=os.path.join(out, "pyc", cached), dfile=source, doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
                )
                compiled.append(cached)
            except py_compile.PyCompileError as error:
                skipped.append(relative)
                print("bytecode: left out %s: %s" % (relative, error.exc_type_name), file=sys.stderr)
    with open(os.path.join(out, "report.json"), "w") as report:
        json.dump({"compiled": compiled, "skipped": skipped, "tag": sys.implementation.cache_tag}, report)


if __name__ == "__main__":
    main(sys.argv[1:])
