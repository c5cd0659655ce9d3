#!/usr/bin/env bash
# `make bench`, delta part (issue 14), on the wheels and bootstrapped image of bench/python-build.sh
# (run that first): a weekly crossing where one wheel changed and the image did not.
#   week 1: lock, build (sandboxed) and `seal --project` (the app zip, its wheels, its sources and
#           its 206 MiB build image), imported into a fresh inside store; `airlock inventory` there;
#   week 2: one wheel (idna) swapped for another version, built again, sealed with `--delta`.
# Reports both bundles' sizes and the ratio (target: the delta under 10% of the full bundle), what
# the delta would weigh if it only left out known blobs (the new zip carried whole), and the seal
# and import times of both; checks that the delta imports and rebuilds the zip bit for bit. Once
# without bytecode (the default build) and once with --compile-bytecode.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PATH/TO/airlock" >&2; exit 2; }
airlock=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
bench_dir=$(cd "$(dirname "$0")" && pwd)
py=$bench_dir/work/python
wheels=$py/wheels
store=$py/store
work=$bench_dir/work/delta
say() { printf '%s\n' "$*" >&2; }
unset AIRLOCK_STORE
if [ ! -f "$wheels/.complete" ] || [ ! -d "$store" ]; then say "bench: delta part skipped: run bench/python-build.sh first"; exit 0; fi
rm -rf "$work" && mkdir -p "$work"
log=$work/bench.log
fail() { say "bench: delta: $*"; tail -20 "$log" >&2; exit 1; }

# Week 2's wheel: idna at another version than week 1's (pure Python, one of the set).
old_idna=$(find "$wheels" -maxdepth 1 -name 'idna-*.whl' -printf '%f\n' | head -1)
[ -n "$old_idna" ] || fail "no idna wheel in $wheels"
version=$(echo "$old_idna" | cut -d- -f2)
changed=$bench_dir/work/delta-wheel
if [ -z "$(find "$changed" -maxdepth 1 -name 'idna-*.whl' 2>/dev/null)" ]; then
    python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: -d "$changed" "idna!=$version" >>"$log" 2>&1 \
        || { say "bench: delta part skipped: could not download another idna from PyPI"; exit 0; }
fi
new_idna=$(find "$changed" -maxdepth 1 -name 'idna-*.whl' -printf '%f\n' | head -1)
"$airlock" store put --store "$store" --kind wheel "$wheels"/*.whl "$changed/$new_idna" >/dev/null

project=$work/app
mkdir -p "$project"
cp "$bench_dir/../examples/python-http/function_app.py" "$bench_dir/../examples/python-http/host.json" "$project/"
printf 'numpy\npandas\ncryptography\npydantic\nrequests\nazure-functions\n' >"$project/requirements.txt"
lock() {  # lock WHEEL-FILE...: the lock of exactly these files
    python3 - "$project/airlock.lock" "$@" <<'PY'
import hashlib, json, os, sys
out, paths = sys.argv[1], sys.argv[2:]
files = [{"name": os.path.basename(p).split("-")[0].replace("_", "-").lower(), "version": os.path.basename(p).split("-")[1],
          "filename": os.path.basename(p), "url": None, "sha256": hashlib.sha256(open(p, "rb").read()).hexdigest(),
          "size": os.path.getsize(p)} for p in sorted(paths)]
json.dump({"lockVersion": 1, "target": {"pythonVersion": "3.11", "platform": "linux/amd64", "glibc": "2.31"}, "files": files},
          open(out, "w"), indent=2, sort_keys=True)
PY
}
week1=()
for w in "$wheels"/*.whl; do week1+=("$w"); done
week2=()
for w in "${week1[@]}"; do [ "$(basename "$w")" = "$old_idna" ] && week2+=("$changed/$new_idna") || week2+=("$w"); done
count=${#week1[@]}

"$airlock" key generate --out "$work/team" >/dev/null
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
declare -A result
run() {  # run LABEL [BUILD-FLAG...]
    local label=$1; shift
    local inside=$work/inside-$label
    local epoch=$(($(date +%s) - 60))
    lock "${week1[@]}"
    "$airlock" build --project "$project" --store "$store" --runtime bwrap "$@" >>"$log" 2>&1 || fail "week 1 build failed"
    local t0 t1 t2 recipe rebuilt
    t0=$(date +%s.%N)
    SOURCE_DATE_EPOCH=$epoch "$airlock" seal --project "$project" --store "$store" --key "$work/team.key" --channel "$label" \
        --out "$work/week1-$label.airlock" >>"$log" 2>&1 || fail "week 1 seal failed"
    t1=$(date +%s.%N)
    "$airlock" trust add --store "$inside" "$work/team.pub" >>"$log" 2>&1
    "$airlock" import --store "$inside" "$work/week1-$label.airlock" >>"$log" 2>&1 || fail "week 1 import failed"
    t2=$(date +%s.%N)
    "$airlock" inventory --store "$inside" --out "$work/inventory-$label.json" >>"$log" 2>&1 || fail "inventory failed"
    result[$label.seal1]=$(elapsed "$t0" "$t1"); result[$label.import1]=$(elapsed "$t1" "$t2")

    lock "${week2[@]}"
    "$airlock" build --project "$project" --store "$store" --runtime bwrap "$@" >>"$log" 2>&1 || fail "week 2 build failed"
    t0=$(date +%s.%N)
    SOURCE_DATE_EPOCH=$((epoch + 30)) "$airlock" seal --project "$project" --store "$store" --key "$work/team.key" --channel "$label" \
        --delta "$work/inventory-$label.json" --out "$work/week2-$label.airlock" --json >"$work/seal2-$label.json" 2>>"$log" \
        || fail "week 2 seal --delta failed"
    t1=$(date +%s.%N)
    "$airlock" import --store "$inside" "$work/week2-$label.airlock" >>"$log" 2>&1 || fail "the delta's import failed"
    t2=$(date +%s.%N)
    local zip_sha
    zip_sha=$(sha256sum "$project/dist/app.zip" | cut -d' ' -f1)
    [ "$(sha256sum "$inside/blobs/sha256/$zip_sha" | cut -d' ' -f1)" = "$zip_sha" ] || fail "the imported zip is not the built one"
    result[$label.seal2]=$(elapsed "$t0" "$t1"); result[$label.import2]=$(elapsed "$t1" "$t2")
    result[$label.full]=$(stat -c %s "$work/week1-$label.airlock")
    result[$label.delta]=$(stat -c %s "$work/week2-$label.airlock")
    result[$label.zip]=$(stat -c %s "$project/dist/app.zip")
    read -r recipe rebuilt < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["delta"]; print(d["recipeBytes"], d["recipeOutputBytes"])' "$work/seal2-$label.json")
    result[$label.recipe]=$recipe; result[$label.rebuilt]=$rebuilt
}
run plain
run bytecode --compile-bytecode

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
printf '\nDelta bundles (issue 14): %s wheels, one (idna %s -> %s) changed, image unchanged\n' "$count" "$version" "$(echo "$new_idna" | cut -d- -f2)"
for label in plain bytecode; do
    name="default build"; [ "$label" = bytecode ] && name="--compile-bytecode"
    without=$((result[$label.delta] - result[$label.recipe] + result[$label.rebuilt]))
    printf '  %s (app.zip %s MB)\n' "$name" "$(mb "${result[$label.zip]}")"
    printf '    %-56s %8s MB  seal %5s s, import %5s s\n' "full bundle (seal --project)" "$(mb "${result[$label.full]}")" "${result[$label.seal1]}" "${result[$label.import1]}" \
        "delta (seal --delta, the zip as a recipe)" "$(mb "${result[$label.delta]}")" "${result[$label.seal2]}" "${result[$label.import2]}"
    printf '    %-56s %8s MB\n' "  of which the zip's recipe" "$(mb "${result[$label.recipe]}")" \
        "the delta if it only left out known blobs (zip carried whole)" "$(mb "$without")"
done
printf '\ntargets\n'
for label in plain bytecode; do
    awk -v d="${result[$label.delta]}" -v f="${result[$label.full]}" -v n="$label" 'BEGIN { r = d / f; printf "  %-40s %5.1f%% (target < 10%%) %s\n", "delta vs full bundle (" n "):", r * 100, (r < 0.10 ? "PASS" : "MISS") }'
done
