#!/usr/bin/env bash
# `make bench`, container image part (issue 13): `airlock image build` of the e2e app (the wheels of
# bench/python-build.sh, which runs first and leaves its project, store and build there) on top of the
# bootstrapped airlock-python:3.11-bookworm base: the first build, then an unchanged one (action
# cache) with the same digest. Then `airlock image push` of that image to Debian's docker-registry
# started empty here on 127.0.0.1 for each push (stopped after), beside `skopeo copy` of the same
# image from an oci-archive (what `airlock image export` writes) to an empty one; and a second push
# of the same image, where the registry has every blob.
# Prints a table and the issue's targets as PASS or MISS.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PATH/TO/airlock" >&2; exit 2; }
airlock=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
runs=${BENCH_RUNS:-3}
bench_dir=$(cd "$(dirname "$0")" && pwd)
python_work=$bench_dir/work/python
work=$bench_dir/work/image
say() { printf '%s\n' "$*" >&2; }
unset AIRLOCK_STORE
project=$python_work/app
store=$python_work/store
out=$python_work/out
base="airlock-python:3.11-bookworm"
if [ ! -f "$project/airlock.lock" ] || ! "$airlock" image ls --store "$store" --json 2>/dev/null | grep -q '"airlock-python"'; then
    say "bench: image part skipped: run bench/python-build.sh first (it makes the project, store and base image used here)"
    exit 0
fi
for tool in docker-registry skopeo python3; do
    command -v "$tool" >/dev/null || { say "bench: image part skipped: no $tool (scripts/install-deps.sh --test)"; exit 0; }
done
rm -rf "$work"
mkdir -p "$work"

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
timeit() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>>"$work/bench.log" || { say "bench: failed: $*"; tail -5 "$work/bench.log" >&2; exit 1; }; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'; }

"$airlock" build --project "$project" --store "$store" --out "$out" --runtime bwrap >/dev/null 2>>"$work/bench.log"
image_build() { "$airlock" image build --project "$project" --out "$out" --store "$store" --runtime bwrap --base "$base" --name bench-app:1 "$@"; }
first=$(timeit image_build --no-cache)
digest=$(image_build --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["manifest"])')
c=()
for _ in $(seq "$runs"); do c+=("$(timeit image_build)"); done
mc=$(median "${c[@]}")
again=$(image_build --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["manifest"], r["cacheHit"])')
size=$("$airlock" image ls --store "$store" --json | python3 -c 'import json,sys; print([i["size"] for i in json.load(sys.stdin) if i["name"] == "bench-app"][0])')

# Each push goes to a registry of its own, started empty on a free port (so neither tool finds a
# blob from an earlier run, nor skopeo one in its blob-info cache), stopped after.
registry_pid=""
stop_registry() { [ -z "$registry_pid" ] || { kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; }; registry_pid=""; rm -rf "$work/registry"; }
trap 'stop_registry; rm -f "$work/image.tar"' EXIT
start_registry() {
    stop_registry
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s/registry\nhttp:\n  addr: 127.0.0.1:%s\nlog:\n  level: error\n' "$work" "$port" >"$work/registry.yml"
    docker-registry serve "$work/registry.yml" >>"$work/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && return 0; sleep 0.1; done
    say "bench: docker-registry did not start (see $work/registry.log)"
    exit 1
}
"$airlock" image export bench-app:1 --store "$store" --out "$work/image.tar" >/dev/null
push() { "$airlock" image push bench-app:1 --store "$store" --to "127.0.0.1:$port/app:1" --insecure; }
skopeo_copy() { skopeo copy -q --dest-tls-verify=false "oci-archive:$work/image.tar" "docker://127.0.0.1:$port/app:1"; }
p=() s=() n=()
for _ in $(seq "$runs"); do
    start_registry
    p+=("$(timeit push)")
    n+=("$(timeit push)")
    start_registry
    s+=("$(timeit skopeo_copy)")
done
start_registry
push >/dev/null 2>>"$work/bench.log"
pushed=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://127.0.0.1:$port/app:1")
stop_registry
mp=$(median "${p[@]}"); ms=$(median "${s[@]}"); mn=$(median "${n[@]}")

printf '\nContainer image (issue 13): %s MB image, median of %s runs\n' "$((size / 1000000))" "$runs"
printf '  %-58s %8s s\n' "airlock image build, first (--no-cache)" "$first" "airlock image build, unchanged (action cache)" "$mc" \
    "airlock image push to an empty docker-registry" "$mp" \
    "skopeo copy oci-archive: to an empty docker-registry" "$ms" \
    "airlock image push again (every blob there)" "$mn"
printf '  %-58s %s\n' "pushed digest as skopeo inspect reads it" "$pushed" "the store's digest" "$digest"
printf '\ntargets\n'
awk -v c="$mc" 'BEGIN { printf "  %-40s %6.3f s (target < 1 s) %s\n", "unchanged image build:", c, (c < 1 ? "PASS" : "MISS") }'
same="MISS"; [ "$again" = "$digest True" ] || [ "$again" = "$digest true" ] && same="PASS"
printf '  %-40s %s %s\n' "same digest again:" "${again%% *}" "$same"
awk -v p="$mp" -v s="$ms" 'BEGIN { r = s / p; printf "  %-40s %6.2fx (target >= 1x) %s\n", "push vs skopeo copy:", r, (r >= 1 ? "PASS" : "MISS") }'
awk -v n="$mn" 'BEGIN { printf "  %-40s %6.3f s (target < 0.2 s) %s\n", "second push:", n, (n < 0.2 ? "PASS" : "MISS") }'
verdict="MISS"; [ "$pushed" = "$digest" ] && verdict="PASS"
printf '  %-40s %s\n' "pushed digest is the store's:" "$verdict"
