#!/usr/bin/env bash
# `make bench`, release part (issue 10): the HTTP client change and the static release must not
# cost anything. Side by side in one run, on the e2e wheel set that bench/python-build.sh downloads:
#
#   fetch:    airlock fetch of every locked wheel from nginx on 127.0.0.1 into a fresh store
#   seal:     airlock seal of those wheels; verify: airlock verify --trust of that bundle
#   build:    airlock build --no-sandbox --no-cache of the e2e app from the store
#   start-up: airlock --version of the static release (target: under 20 ms), beside the dynamic
#             `make build` binary and /bin/true (what a fork and exec cost here)
#
# each by this tree's airlock and by BENCH_HTTP_BASELINE (default b69ffec, the last commit before
# fetch moved from FoundationNetworking's URLSession to AsyncHTTPClient), built once from git into
# bench/work/baseline-http. Target: no regression, read as airlock within 5% of the baseline
# (ratio = baseline seconds / airlock seconds >= 0.95), since run-to-run noise here is about that.
#
# Usage: bench/release.sh PATH/TO/airlock PATH/TO/RELEASE-BINARY
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PATH/TO/airlock PATH/TO/RELEASE-BINARY" >&2; exit 2; }
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
airlock=$(abs "$1")
release=$(abs "$2")
runs=${BENCH_RUNS:-3}
bench_dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench_dir/.." && pwd)
wheels=$bench_dir/work/python/wheels
work=$bench_dir/work/release
say() { printf '%s\n' "$*" >&2; }
unset AIRLOCK_STORE
[ -f "$wheels/.complete" ] || { say "bench: release part skipped: no wheel set (bench/python-build.sh downloads it from PyPI)"; exit 0; }
rm -rf "$work"
mkdir -p "$work"
log=$work/bench.log
: >"$log"

baseline_rev=${BENCH_HTTP_BASELINE:-b69ffec}
baseline_src=$bench_dir/work/baseline-http
baseline=$baseline_src/.build/release/airlock
if [ ! -x "$baseline" ]; then
    say "bench: building the baseline $baseline_rev (once, a few minutes)"
    [ -d "$baseline_src" ] || git -C "$repo" worktree add --detach "$baseline_src" "$baseline_rev" >/dev/null 2>&1
    (cd "$baseline_src" && swift build -c release --product airlock >"$bench_dir/work/baseline-http-build.log" 2>&1) \
        || { say "bench: release part skipped: the baseline did not build (see bench/work/baseline-http-build.log)"; exit 0; }
fi

command -v nginx >/dev/null || { say "bench: installing nginx"; apt-get install -y -qq nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null 2>&1 || true; }
command -v nginx >/dev/null || { say "bench: release part skipped: no nginx"; exit 0; }

# nginx on 127.0.0.1 serving the wheels; stopped on exit whatever happens.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $work/nginx/tmp;
    proxy_temp_path $work/nginx/tmp;
    fastcgi_temp_path $work/nginx/tmp;
    uwsgi_temp_path $work/nginx/tmp;
    scgi_temp_path $work/nginx/tmp;
    server { listen 127.0.0.1:$port; root $wheels; }
}
EOF
mkdir -p "$work/nginx/tmp"
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>>"$log" || { say "bench: nginx did not start (see $log)"; exit 1; }
stop_nginx() { if [ -f "$work/nginx/nginx.pid" ]; then kill -QUIT "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true; fi; }
trap 'stop_nginx; rm -rf "$work/stores" "$work/out"' EXIT
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" -r 0-0 2>/dev/null && break; sleep 0.1; done

# A project whose lock points each wheel at nginx.
project=$work/app
mkdir -p "$project"
cp "$repo/examples/python-http/function_app.py" "$repo/examples/python-http/host.json" "$project/"
printf 'numpy\npandas\ncryptography\npydantic\nrequests\nazure-functions\n' >"$project/requirements.txt"
python3 - "$wheels" "$project/airlock.lock" "http://127.0.0.1:$port" <<'PY'
import hashlib, json, os, sys
wheels, out, base = sys.argv[1:4]
files = []
for fn in sorted(os.listdir(wheels)):
    if not fn.endswith(".whl"): continue
    p = os.path.join(wheels, fn)
    files.append({"name": fn.split("-")[0].replace("_", "-").lower(), "version": fn.split("-")[1], "filename": fn,
                  "url": base + "/" + fn, "sha256": hashlib.sha256(open(p, "rb").read()).hexdigest(), "size": os.path.getsize(p)})
json.dump({"lockVersion": 1, "target": {"pythonVersion": "3.11", "platform": "linux/amd64", "glibc": "2.31"}, "files": files},
          open(out, "w"), indent=2, sort_keys=True)
PY
count=$(find "$wheels" -name '*.whl' | wc -l)
size=$(du -cb "$wheels"/*.whl | tail -1 | cut -f1)

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.4f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
timeit() {
    local t0 t1
    sync
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>>"$log" || { say "bench: failed: $*"; tail -5 "$log" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'
}

# Each step for one binary ($1), with its own store and outputs under $work/stores/NAME.
keys=$work/keys/bench
"$airlock" key generate --out "$keys" >/dev/null 2>>"$log"
fetch() { rm -rf "$work/stores/$2"; "$1" fetch --project "$project" --store "$work/stores/$2"; }
seal() { rm -f "$work/$2.airlock"; "$1" seal --store "$work/stores/$2" --key "$keys.key" --channel bench --sequence 1 --out "$work/$2.airlock" "$wheels"; }
verify() { "$1" verify --trust "$keys.pub" "$work/$2.airlock"; }
build() { rm -rf "$work/out/$2"; "$1" build --project "$project" --store "$work/stores/$2" --out "$work/out/$2" --no-cache --no-sandbox; }

declare -A samples=()
for step in fetch seal verify build; do
    for who in new old; do
        bin=$airlock
        [ "$who" = old ] && bin=$baseline
        "$step" "$bin" "$who" >/dev/null 2>>"$log" || { say "bench: $step by $bin failed:"; tail -5 "$log" >&2; exit 1; }  # warm-up
    done
    for _ in $(seq "$runs"); do
        samples[$step-new]+=" $(timeit "$step" "$airlock" new)"
        samples[$step-old]+=" $(timeit "$step" "$baseline" old)"
    done
    say "  $step: airlock${samples[$step-new]}, $baseline_rev${samples[$step-old]}"
done
cmp -s "$work/out/new/"*.zip "$work/out/old/"*.zip 2>/dev/null || say "  (the two builds' zips differ: expected where the pipeline changed the zip)"

# Start-up: a loop of N runs, divided by N (the loop's own fork and exec shown by /bin/true).
startup() {
    local n=200 t0 t1
    t0=$(date +%s.%N)
    for _ in $(seq "$n"); do "$@" >/dev/null; done
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / n * 1000 }'
}
"$release" --version >/dev/null
st_rel=() st_dyn=() st_old=() st_true=()
for _ in $(seq "$runs"); do
    st_rel+=("$(startup "$release" --version)")
    st_dyn+=("$(startup "$airlock" --version)")
    st_old+=("$(startup "$baseline" --version)")
    st_true+=("$(startup /bin/true)")
done

printf '\nRelease (issue 10): %s wheels, %s MB from nginx on 127.0.0.1 (median of %s runs)\n' "$count" "$((size / 1000000))" "$runs"
printf '  %-44s %10s %10s %8s\n' "step" "airlock s" "$baseline_rev s" "ratio"
misses=0
for step in fetch seal verify build; do
    # shellcheck disable=SC2086
    n=$(median ${samples[$step-new]})
    # shellcheck disable=SC2086
    o=$(median ${samples[$step-old]})
    r=$(awk -v o="$o" -v n="$n" 'BEGIN { printf "%.2f", (n > 0 ? o / n : 0) }')
    printf '  %-44s %10s %10s %7sx\n' "$step" "$n" "$o" "$r"
    awk -v r="$r" 'BEGIN { exit !(r >= 0.95) }' || misses=$((misses + 1))
    eval "ratio_$step=$r"
done
m_rel=$(median "${st_rel[@]}")
printf '\nStart-up, airlock --version (ms per run, a loop of 200, median of %s)\n' "$runs"
printf '  %-44s %8s ms\n' "static release $(basename "$release")" "$m_rel" \
    "dynamic make build binary" "$(median "${st_dyn[@]}")" "$baseline_rev (dynamic)" "$(median "${st_old[@]}")" \
    "/bin/true (the loop's fork + exec)" "$(median "${st_true[@]}")"
verdict() { if awk -v v="$1" -v m="$2" 'BEGIN { exit !(v >= m) }'; then echo PASS; else echo MISS; fi; }
echo
echo "targets (issue 10)"
for step in fetch seal verify build; do
    r=ratio_$step
    printf '  %-40s %6sx (target >= 0.95x, no regression) %s\n' "$step vs $baseline_rev:" "${!r}" "$(verdict "${!r}" 0.95)"
done
if awk -v v="$m_rel" 'BEGIN { exit !(v < 20) }'; then sv=PASS; else sv=MISS; misses=$((misses + 1)); fi
printf '  %-40s %6s ms (target < 20 ms) %s\n' "release start-up:" "$m_rel" "$sv"
[ "$misses" -eq 0 ] && echo "all release targets met" || echo "MISS: $misses of 5 release targets not met"
