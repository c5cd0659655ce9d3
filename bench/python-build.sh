#!/usr/bin/env bash
# `make bench`, Python part: airlock build (install + zip + ELF audit, from the store) side by side
# with `pip install --no-index --no-deps --target` + `zip -qrX` and `uv pip install --target` (warm
# cache) + `zip -qrX`, on the same wheels (the e2e set: numpy, pandas, cryptography, pydantic,
# requests, azure-functions and their dependencies, for Python 3.11 on glibc 2.31), plus the time of
# an unchanged rebuild (action cache). Then the sandbox (issue 5): the full build (install, zip, the
# version check and smoke test in bwrap over the default image) against the host-only build, and
# the sandbox's start to Python's first line against bwrap alone and the host's own python3. The
# default image is bootstrapped once (mmdebstrap, about 20 s) into bench/work/python/store.
# Prints a table and the issues' targets as PASS or MISS.
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
rm -rf "$project" "$work/out"  # the store is kept: it holds the bootstrapped image
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
image="airlock-python:3.11-bookworm"
if ! "$airlock" image ls --store "$store" --json | grep -q "\"airlock-python\""; then
    say "bench: bootstrapping $image into $store (once)"
    "$airlock" image bootstrap --suite bookworm --packages python3 --name "$image" --store "$store" >"$work/bootstrap.log" 2>&1 \
        || { say "bench: image bootstrap failed (see $work/bootstrap.log)"; exit 1; }
fi
build() { "$airlock" build --project "$project" --store "$store" --out "$work/out" --no-cache --no-sandbox; }
sandboxed() { "$airlock" build --project "$project" --store "$store" --out "$work/out" --no-cache; }
cached() { "$airlock" build --project "$project" --store "$store" --out "$work/out"; }
rootfs=$store/rootfs/$("$airlock" image ls --store "$store" --json | python3 -c 'import json,sys; print([i["manifest"] for i in json.load(sys.stdin) if i["name"] == "airlock-python"][0].split(":")[1])')
first_line() { "$airlock" image run --store "$store" "$image" -- python3 -I -S -c 'print(1)'; }
bwrap_alone() { bwrap --unshare-all --die-with-parent --ro-bind "$rootfs" / --proc /proc --dev /dev true; }
bwrap_python() { bwrap --unshare-all --die-with-parent --ro-bind "$rootfs" / --proc /proc --dev /dev python3 -I -S -c 'print(1)'; }

[ -n "$uv" ] && uv_zip >/dev/null 2>&1 || true  # warm uv's cache
build >/dev/null 2>&1
sandboxed >/dev/null 2>&1 || { say "bench: the sandboxed build failed:"; sandboxed 2>&1 | tail -20 >&2; exit 1; }
a=() p=() u=() c=() s=()
for _ in $(seq "$runs"); do
    a+=("$(timeit build)")
    s+=("$(timeit sandboxed)")
    p+=("$(timeit pip_zip)")
    [ -n "$uv" ] && u+=("$(timeit uv_zip)")
    c+=("$(timeit cached)")
done
ma=$(median "${a[@]}"); mp=$(median "${p[@]}"); mc=$(median "${c[@]}"); ms=$(median "${s[@]}")
# Start times are tens of milliseconds: hyperfine measures them without a shell or `date` in the
# way (install-deps does not install it; without it, a loop of 21 timed runs does).
if command -v hyperfine >/dev/null; then
    hyperfine -N -w 3 -r 30 --export-json "$work/start.json" "$airlock image run --store $store $image -- python3 -I -S -c print(1)" \
        "bwrap --unshare-all --die-with-parent --ro-bind $rootfs / --proc /proc --dev /dev true" \
        "bwrap --unshare-all --die-with-parent --ro-bind $rootfs / --proc /proc --dev /dev python3 -I -S -c print(1)" >/dev/null 2>&1
    read -r mf mb mh < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(*["%.4f" % x["median"] for x in r])' "$work/start.json")
else
    f=() b=() h=()
    for _ in $(seq 21); do f+=("$(timeit first_line)"); b+=("$(timeit bwrap_alone)"); h+=("$(timeit bwrap_python)"); done
    mf=$(median "${f[@]}"); mb=$(median "${b[@]}"); mh=$(median "${h[@]}")
fi
printf '\nPython build: %s wheels, %s MB (median of %s runs)\n' "$count" "$((size / 1000000))" "$runs"
printf '  %-58s %8s s\n' "airlock build --no-sandbox (install + zip + ELF audit)" "$ma" \
    "pip install --no-index --no-deps --target + zip -qrX" "$mp"
if [ -n "$uv" ]; then mu=$(median "${u[@]}"); printf '  %-58s %8s s\n' "uv pip install --target (warm cache) + zip -qrX" "$mu"; fi
printf '  %-58s %8s s\n' "airlock build, nothing changed (action cache)" "$mc"
printf '  %-58s %8s s\n' "airlock build (+ version check, smoke test in bwrap)" "$ms"
printf '\nSandbox start to Python'"'"'s first line (median)\n'
printf '  %-58s %8s s\n' "airlock image run $image -- python3 -c 'print(1)'" "$mf" \
    "bwrap --unshare-all on the same rootfs, running true" "$mb" "bwrap on the same rootfs, python3 -c 'print(1)' (no airlock)" "$mh"

# The one build pipeline (issue 9) against the build before it, in the same run: the same store,
# project and wheels, built by the release binary of BENCH_BASELINE (default 9b3fe6d, the last
# commit before it), made once from git into bench/work/baseline-src.
baseline_rev=${BENCH_BASELINE:-9b3fe6d}
baseline_src=$bench_dir/work/baseline-src
baseline=$baseline_src/.build/release/airlock
if [ ! -x "$baseline" ]; then
    say "bench: building the baseline $baseline_rev (once, a few minutes)"
    repo=$(cd "$bench_dir/.." && pwd)
    [ -d "$baseline_src" ] || git -C "$repo" worktree add --detach "$baseline_src" "$baseline_rev" >/dev/null 2>&1
    (cd "$baseline_src" && swift build -c release --product airlock >"$work/baseline-build.log" 2>&1) || baseline=""
fi
mo="" sz_new="" sz_old="" sz_content=""
if [ -n "$baseline" ]; then
    old_build() { "$baseline" build --project "$project" --store "$store" --out "$work/out-base" --no-cache --no-sandbox; }
    old_build >/dev/null 2>&1
    o=() o_b=()
    for _ in $(seq "$runs"); do o+=("$(timeit build)"); o_b+=("$(timeit old_build)"); done
    ma=$(median "${o[@]}"); mo=$(median "${o_b[@]}")
    with_bytecode() { "$1" build --project "$project" --store "$store" --out "$2" --no-cache --compile-bytecode --runtime bwrap; }
    with_bytecode "$airlock" "$work/out-bc" >/dev/null 2>>"$work/bench.log" && with_bytecode "$baseline" "$work/out-bc-base" >/dev/null 2>>"$work/bench.log" && {
        sz_new=$(stat -c %s "$work/out-bc/app.zip"); sz_old=$(stat -c %s "$work/out-bc-base/app.zip")
        # What the baseline's zip holds, uncompressed (its .pyc files are stored, its wheel entries deflated).
        sz_content=$(python3 -c 'import sys, zipfile; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist()))' "$work/out-bc-base/app.zip"); }
fi

# The sandboxed build over each engine: a Docker engine and Podman set up for this run.
# shellcheck source=bench/engines.sh
. "$bench_dir/engines.sh"
trap engines_stop EXIT
engines_start
declare -A engine_time
for rt in docker podman; do
    envs=$DOCKER_ENV; [ "$rt" = podman ] && envs=$PODMAN_ENV
    [ -n "$envs" ] || continue
    read -ra env_words <<<"$envs"
    over() { env "${env_words[@]}" "$airlock" build --project "$project" --store "$store" --out "$work/out-$rt" --no-cache --runtime "$rt"; }
    # The first loads the image into the engine; it is not timed.
    over >/dev/null 2>>"$work/bench.log" || { say "bench: the build over $rt failed (see $work/bench.log)"; continue; }
    t=()
    for _ in $(seq "$runs"); do t+=("$(timeit over)"); done
    engine_time[$rt]=$(median "${t[@]}")
done

printf '\nOne build pipeline (issue 9), median of %s runs, same run\n' "$runs"
if [ -n "$mo" ]; then
    printf '  %-58s %8s s\n' "airlock build --no-sandbox" "$ma" "the same by $baseline_rev (before the pipeline)" "$mo"
fi
if [ -n "$sz_new" ]; then
    printf '  %-58s %8s MB\n' "zip with --compile-bytecode (deflated)" "$(awk -v b="$sz_new" 'BEGIN { printf "%.1f", b / 1e6 }')" \
        "the same by $baseline_rev (.pyc stored)" "$(awk -v b="$sz_old" 'BEGIN { printf "%.1f", b / 1e6 }')" \
        "  what that zip holds, uncompressed" "$(awk -v b="$sz_content" 'BEGIN { printf "%.1f", b / 1e6 }')"
fi
printf '  %-58s %8s s\n' "airlock build, sandboxed, --runtime bwrap" "$ms"
for rt in docker podman; do
    if [ -n "${engine_time[$rt]:-}" ]; then printf '  %-58s %8s s\n' "airlock build, sandboxed, --runtime $rt" "${engine_time[$rt]}"; else
        skip=$DOCKER_SKIP; [ "$rt" = podman ] && skip=$PODMAN_SKIP
        printf '  %-58s %8s\n' "airlock build, sandboxed, --runtime $rt" "skipped: ${skip:-its build failed}"
    fi
done
target() { awk -v n="$1" -v b="$2" -v a="$3" -v t="$4" 'BEGIN { r = b / a; printf "  %-40s %6.1fx (target >= %sx) %s\n", n, r, t, (r >= t ? "PASS" : "MISS") }'; }
printf '\ntargets\n'
target "build vs pip + zip:" "$mp" "$ma" 10
[ -n "$uv" ] && target "build vs uv + zip:" "$mu" "$ma" 5
awk -v c="$mc" 'BEGIN { printf "  %-40s %6.3f s (target < 0.3 s) %s\n", "unchanged rebuild:", c, (c < 0.3 ? "PASS" : "MISS") }'
awk -v s="$ms" -v a="$ma" 'BEGIN { r = s / a; printf "  %-40s %6.2fx (target < 2x) %s\n", "full build vs host-only build:", r, (r < 2 ? "PASS" : "MISS") }'
awk -v f="$mf" 'BEGIN { printf "  %-40s %6.1f ms (target < 60 ms) %s\n", "sandbox start to first line:", f * 1000, (f < 0.06 ? "PASS" : "MISS") }'
[ -n "$mo" ] && awk -v a="$ma" -v o="$mo" 'BEGIN { r = a / o; printf "  %-40s %6.2fx (target <= 1.05x) %s\n", "build vs the build before the pipeline:", r, (r <= 1.05 ? "PASS" : "MISS") }'
if [ -n "$sz_new" ]; then
    awk -v n="$sz_new" -v c="$sz_content" 'BEGIN { r = n / c; printf "  %-40s %5.0f%% (target <= 45%%) %s\n", "bytecode zip vs its content uncompressed:", r * 100, (r <= 0.45 ? "PASS" : "MISS") }'
    awk -v n="$sz_new" -v o="$sz_old" 'BEGIN { printf "  %-40s %5.0f%% (the .pyc files deflate to about a third)\n", "bytecode zip vs the zip before:", n / o * 100 }'
fi
