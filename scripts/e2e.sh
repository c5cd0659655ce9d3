#!/usr/bin/env bash
# `make e2e`: the Python path against the real package index (not part of `make test`): lock a larger
# requirement set for Python 3.11 on the Functions image (glibc 2.31), fetch it, build the zip, then
# check the zip the way the Functions worker loads it: only `.python_packages/lib/site-packages` and
# the app on sys.path, `function_app` imported, its functions listed (the build's own smoke test does
# it in the bwrap sandbox over the default image, bootstrapped once into the kept store; this script
# does it again on the host). The build compiles bytecode; run twice, the second build must be an
# action-cache hit with the same digest.
set -euo pipefail
airlock=${1:-.build/debug/airlock}
airlock=$(cd "$(dirname "$airlock")" && pwd)/$(basename "$airlock")
out=e2e-output
image="airlock-python:3.11-bookworm"
mkdir -p "$out"
find "$out" -mindepth 1 -maxdepth 1 ! -name store -exec rm -rf {} +  # the store keeps the build image
step() { printf '\n== %s\n' "$*" >&2; }

project=$out/python-e2e
cp -r examples/python-http "$project"
cat >"$project/requirements.txt" <<'REQ'
azure-functions
cryptography
numpy
pandas
pydantic
requests
REQ

step "lock (the real index, through the user's pip configuration)"
"$airlock" lock --project "$project"
step "fetch"
"$airlock" fetch --project "$project" --store "$out/store"
if ! "$airlock" image ls --store "$out/store" --json | grep -q '"airlock-python"'; then
    step "bootstrap the build image $image (once)"
    "$airlock" image bootstrap --suite bookworm --packages python3 --name "$image" --store "$out/store"
fi
step "build (smoke test and bytecode in the sandbox)"
"$airlock" build --project "$project" --store "$out/store" --compile-bytecode --json >"$out/build.json"
first=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["functions"], "no functions"; assert d["bytecodeFiles"] > 1000; print(d["sha256"])' "$out/build.json")
second=$("$airlock" build --project "$project" --store "$out/store" --compile-bytecode --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["sha256"], d["cacheHit"])')
[ "$second" = "$first True" ] || { echo "e2e: rebuild was not a cache hit with the same digest ($first vs $second)" >&2; exit 1; }

step "load the app from the zip alone, as the worker does"
mkdir -p "$out/unzipped"
(cd "$out/unzipped" && python3 -m zipfile -e "../python-e2e/dist/python-e2e.zip" .)
if python3 -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
    (cd "$out/unzipped" && python3 -I -c '
import sys
sys.path[:0] = [".python_packages/lib/site-packages", "."]
import numpy, pandas, pydantic, requests, cryptography
import function_app
names = [f.get_function_name() for f in function_app.app.get_functions()]
print("functions:", names)
assert names, "no functions registered"
')
else
    echo "e2e: host python is not 3.11; skipping the import check (the matched container does it)" >&2
fi
echo "e2e: OK ($first)"
