#!/usr/bin/env bash
# `make bench`, Python part: airlock build (install + zip + ELF audit, from the store) side by side
# with `pip install --no-index --no-deps --target` + `zip -qrX` and `uv pip install --target` (warm
# cache) + `zip -qrX`, on the same wheels (the e2e set: numpy, pandas, cryptography, pydantic,
# requests, azure-functions and their dependencies, for Python 3.11 on glibc 2.31), plus the time of
# an unchanged rebuild (action cache). Prints a table and the issue's targets as PASS or MISS.
# The wheels are downloaded from PyPI once into bench/work/wheels (a report, not a test: with no
# PyPI it says so and stops).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PATH/TO/airlock" >&2; exit 2; }
airlock=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
runs=${BENCH_RUNS:-3}
bench_dir=$(cd "$(dirname "$0")" && pwd)
work=$bench_dir/work/python
wheels=$work/wheels
mkdir -p "$work"
say() { printf '%s\n' "$*" >&2; }
unset AIRLOCK_STORE

if [ ! -f "$wheels/.complete" ]; then
    say "bench: downloading the e2e wheel set from PyPI (once)"
    rm -rf "$wheels"
    platforms=()
    for m in $(seq 31 -1 17); do platforms+=(--platform "manylinux_2_${m}_x86_64"); done
    platforms+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)
    if ! python3 -m pip download -q --disable-pip-version-check --only-binary=:all: --python-version 3.11 \
        --implementation cp --abi cp311 --abi abi3 --abi none "${platforms[@]}" -d "$wheels" \
        numpy pandas cryptography pydantic requests azure-functions >"$work/download.log" 2>&1; then
        say "bench: python build part skipped: could not download the wheels from PyPI (see $work/download.log)"
        exit 0
    fi
    touch "$wheels/.complete"
fi
command -v zip >/dev/null || { say "bench: installing zip"; apt-get install -y -qq zip >/dev/null 2>&1 || true; }
command -v zip >/dev/null || { say "bench: python build part skipped: no zip"; exit 0; }
uv=""
if command -v uv >/dev/null; then uv=$(command -v uv); elif [ -x "$work/venv/bin/uv" ]; then uv=$work/venv/bin/uv; else
    say "bench: installing uv into $work/venv (once)"
    if python3 -m venv "$work/venv" >/dev/null 2>&1 && "$work/venv/bin/pip" install -q uv >/dev/null 2>&1; then uv=$work/venv/bin/uv; fi
fi

# A project whose lock names those wheels, and a store that holds them.
project=$work/app
store=$work/store
rm -rf "$project" "$store" "$work/out"
mkdir -p "$project"
cp "$bench_dir/../examples/python-http/function_app.py" "$bench_dir/../examples/python-http/host.json" "$project/"
printf 'numpy\npandas\ncryptography\npydantic\nrequests\nazure-functions\n' >"$project/requirements.txt"
"$airlock" store put --store "$store" --kind wheel "$wheels"/*.whl >/dev/null
python3 - "$wheels" "$project/airlock.lock" <<'PY'
import hashlib, json, os, sys
wheels, out = sys.argv[1], sys.argv[2]
files = []
for fn in sorted(os.listdir(wheels)):
    if not fn.endswith(".whl"): continue
    p = os.path.join(wheels, fn)
    files.append({"name": fn.split("-")[0].replace("_", "-").lower(), "version": fn.split("-")[1], "filename": fn,
                  "url": None, "sha256": hashlib.sha256(open(p, "rb").read()).hexdigest(), "size": os.path.getsize(p)})
json.dump({"lockVersion": 1, "target": {"pythonVersion": "3.11", "platform": "linux/amd64", "glibc": "2.31"}, "files": files},
          open(out, "w"), indent=2, sort_keys=True)
PY
count=$(ls "$wheels"/*.whl | wc -l)
size=$(du -cb "$wheels"/*.whl | tail -1 | cut -f1)

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
timeit() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>>"$work/bench.log" || { say "bench: failed: $*"; tail -5 "$work/bench.log" >&2; exit 1; }; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'; }
pip_zip() { rm -rf "$work/pip" "$work/pip.zip"; python3 -m pip install -q --disable-pip-version-check --no-index --no-deps --target "$work/pip" "$wheels"/*.whl && (cd "$work/pip" && cp "$project"/function_app.py "$project"/host.json "$project"/requirements.txt . && zip -qrX "$work/pip.zip" .); }
uv_zip() { rm -rf "$work/uv" "$work/uv.zip"; "$uv" pip install -q --no-index --no-deps --python python3 --target "$work/uv" "$wheels"/*.whl && (cd "$work/uv" && cp "$project"/function_app.py "$project"/host.json "$project"/requirements.txt . && zip -qrX "$work/uv.zip" .); }
build() { "$airlock" build --project "$project" --store "$store" --out "$work/out" --no-cache; }
cached() { "$airlock" build --project "$project" --store "$store" --out "$work/out"; }

[ -n "$uv" ] && uv_zip >/dev/null 2>&1 || true  # warm uv's cache
build >/dev/null 2>&1
a=() p=() u=() c=()
for r in $(seq "$runs"); do
    a+=("$(timeit build)")
    p+=("$(timeit pip_zip)")
    [ -n "$uv" ] && u+=("$(timeit uv_zip)")
    c+=("$(timeit cached)")
done
ma=$(median "${a[@]}"); mp=$(median "${p[@]}"); mc=$(median "${c[@]}")
printf '\nPython build: %s wheels, %s MB (median of %s runs)\n' "$count" "$((size / 1000000))" "$runs"
printf '  %-58s %8s s\n' "airlock build (install + zip + ELF audit, no cache)" "$ma" \
    "pip install --no-index --no-deps --target + zip -qrX" "$mp"
if [ -n "$uv" ]; then mu=$(median "${u[@]}"); printf '  %-58s %8s s\n' "uv pip install --target (warm cache) + zip -qrX" "$mu"; fi
printf '  %-58s %8s s\n' "airlock build, nothing changed (action cache)" "$mc"
target() { awk -v n="$1" -v b="$2" -v a="$3" -v t="$4" 'BEGIN { r = b / a; printf "  %-40s %6.1fx (target >= %sx) %s\n", n, r, t, (r >= t ? "PASS" : "MISS") }'; }
printf '\ntargets\n'
target "build vs pip + zip:" "$mp" "$ma" 10
[ -n "$uv" ] && target "build vs uv + zip:" "$mu" "$ma" 5
awk -v c="$mc" 'BEGIN { printf "  %-40s %6.3f s (target < 0.3 s) %s\n", "unchanged rebuild:", c, (c < 0.3 ? "PASS" : "MISS") }'
