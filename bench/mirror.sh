#!/usr/bin/env bash
# `make bench`, mirror part: `airlock serve` side by side with the servers a team would put in front
# of the same wheels instead, in one run, on the same data, all on 127.0.0.1:
#
#   page:  GET of a /simple/numpy/ page, by wrk (BENCH_THREADS 2 threads, BENCH_CONNECTIONS 64
#          connections, BENCH_SECONDS 10 s) from airlock serve, from pypiserver (gunicorn -w 2, its
#          cached-dir backend, sha256 links) over the same files, and from nginx over `airlock
#          export-static` of the same store (the very bytes serve answers, written to files).
#          Req/s, and serve's p99 latency. The page lists BENCH_PAGE_VERSIONS (2) generated numpy
#          versions x 15 tags, plus the real numpy of the pip set: 31 links, about 15 KB, what an
#          enclave mirror of a few locked apps holds and the page size at which the anchors were
#          measured (nginx 49-63k req/s on this kind of machine). BENCH_PAGE_VERSIONS=100 gives a
#          page as large as PyPI's (1,501 links, ~0.75 MB), where every server is bound by bytes.
#   wheel: GET of one 1 MiB wheel, the same wrk load, from serve (/files/SHA256/NAME) and from nginx
#          (the same file in the export, sendfile). GB/s (10^9 bytes of body and headers a second).
#   rss:   VmRSS of the serve process after every run (the wrk loads and the pip installs), with its
#          peak (VmHWM) beside it.
#   pip:   pip install --no-cache-dir of a pinned 21-wheel set (numpy, pandas, cryptography,
#          pydantic, requests, lxml, azure-functions and their dependencies, real wheels from PyPI)
#          into a fresh venv, --index-url serve's /simple/ vs nginx's; median of BENCH_RUNS runs,
#          interleaved. Mostly pip's own unpacking, so the ratio is near 1 and the spread of each
#          side's runs is printed beside it: read a ratio within that spread as a tie.
#
# Why: serve is meant to be the mirror inside the air gap, so it must not be the reason to put a
# static server in front of it (nginx within 2.5x on the page, 2x on a wheel) and must beat the
# usual Python answer (pypiserver) by 5x. Targets: page >= 25,000 req/s, >= 5x pypiserver,
# nginx/serve <= 2.5; wheel >= 1.7 GB/s, nginx/serve <= 2; page p99 < 20 ms; RSS < 150 MB; pip
# serve/nginx <= 1.0. wrk and the servers share this machine's CPUs (printed, with the load average:
# a busy machine makes every row slower, the anchors' too). Judge the targets on the release build.
#
# Usage: bench/mirror.sh PATH/TO/airlock
# Environment: BENCH_SECONDS (10), BENCH_RUNS (3), BENCH_THREADS (2), BENCH_CONNECTIONS (64), BENCH_PAGE_VERSIONS (2),
# BENCH_SERVE_LOG (where serve's access log goes during the loads: /dev/null).
# Needs wrk, nginx, curl and python3 (with venv); installs pypiserver and gunicorn (pinned) into
# bench/work/mirror/venv and downloads the pip set from PyPI into bench/work/mirror/wheels, once.
# Generated inputs (the fake wheels, the real ones, the venv) are kept for the next run; every
# output (keys, stores, the bundle, the export, server state, pip venvs) is in
# bench/work/mirror/run and removed at the end, and every server started is stopped, whatever
# happens. It is a report: a missed target does not fail it, a failed command does.
set -euo pipefail

usage() { echo "usage: $0 PATH/TO/airlock   (env: BENCH_SECONDS, BENCH_RUNS, BENCH_THREADS, BENCH_CONNECTIONS)" >&2; exit 2; }
[ $# -eq 1 ] || usage
airlock=$1
if [ ! -x "$airlock" ] || [ ! -f "$airlock" ]; then echo "bench: $airlock: not an executable (run make build first)" >&2; exit 2; fi
airlock=$(cd "$(dirname "$airlock")" && pwd)/$(basename "$airlock")
seconds=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
page_versions=${BENCH_PAGE_VERSIONS:-2}
threads=${BENCH_THREADS:-2}
connections=${BENCH_CONNECTIONS:-64}
serve_log=${BENCH_SERVE_LOG:-/dev/null}
for v in seconds runs threads connections page_versions; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: ${v}=${!v}: want a positive integer" >&2; exit 2; }
done
for tool in wrk nginx curl python3 awk sha256sum cmp; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is not installed (wrk and nginx: apt-get install wrk nginx)" >&2; exit 2; }
done
python3 -c 'import venv, ensurepip' 2>/dev/null || { echo "bench: python3 has no venv/ensurepip (apt-get install python3-venv)" >&2; exit 2; }
[ -f /etc/nginx/mime.types ] || { echo "bench: /etc/nginx/mime.types is missing (the nginx package installs it)" >&2; exit 2; }
unset AIRLOCK_STORE

bench_dir=$(cd "$(dirname "$0")" && pwd)
work=$bench_dir/work/mirror
run=$work/run
log=$work/last-run.log
mkdir -p "$work"
rm -rf "$run"
mkdir -p "$run"
: >"$log"

say() { printf '%s\n' "$*" >&2; }
fail() {
    say "bench: $*"
    say "---- last lines of $log"
    tail -n 20 "$log" >&2 || true
    exit 1
}

# Every server this script starts, stopped on exit whatever happens, then the run's outputs removed.
serve_pid="" nginx_pid="" gunicorn_pid=""
stop() {  # PID SIGNAL: signal it, then wait (at most 10 s) until it is gone
    local pid=$1 signal=$2
    [ -n "$pid" ] || return 0
    kill "-$signal" "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    stop "$serve_pid" TERM
    stop "$nginx_pid" QUIT
    stop "$gunicorn_pid" TERM
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() {  # URL NAME PID: until URL answers 200 (at most 100 x 0.1 s), failing if PID is gone
    for _ in $(seq 100); do
        curl -fs -o /dev/null "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || fail "$2 exited before it listened"
        sleep 0.1
    done
    fail "$2 did not answer $1 within 10 s"
}

# ---------------------------------------------------------------------------------------------
# Inputs, made once and kept.

# The fake numpy wheels: BENCH_PAGE_VERSIONS versions (1.0.0, 1.0.1, ...) x 15 tags (3 CPythons x 5 platforms),
# each a small zip with its own METADATA, WHEEL (its tag, so no two share a digest) and RECORD,
# byte for byte the same on every run; and one 1 MiB wheel (bigwheel-1.0.0, 1 MiB of random bytes
# stored uncompressed).
fake=$work/fake-wheels-$page_versions
if [ ! -f "$fake/.complete" ]; then
    say "bench: generating $((page_versions * 15)) fake numpy wheels and a 1 MiB wheel in $fake (once)"
    rm -rf "$fake"
    mkdir -p "$fake"
    python3 - "$fake" "$page_versions" <<'PY'
import base64, hashlib, os, random, sys, zipfile
out = sys.argv[1]
versions = int(sys.argv[2])
def wheel(name, version, tag, files):
    dist = "%s-%s.dist-info" % (name, version)
    files = dict(files)
    files[dist + "/METADATA"] = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: bench fixture\nRequires-Python: >=3.9\n\n" % (name, version)).encode()
    files[dist + "/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: false\nTag: %s\n" % tag).encode()
    record = ""
    for path, data in sorted(files.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (path, digest, len(data))
    files[dist + "/RECORD"] = (record + dist + "/RECORD,,\n").encode()
    path = os.path.join(out, "%s-%s-%s.whl" % (name, version, tag))
    with zipfile.ZipFile(path, "w") as z:
        for member, data in files.items():
            info = zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if len(data) > 65536 else zipfile.ZIP_DEFLATED
            z.writestr(info, data)
platforms = ["manylinux_2_17_x86_64.manylinux2014_x86_64", "manylinux_2_17_aarch64.manylinux2014_aarch64",
             "macosx_10_9_x86_64", "macosx_11_0_arm64", "win_amd64"]
for n in range(versions):
    version = "1.%d.%d" % (n // 4, n % 4)
    for py in ("cp39", "cp310", "cp311"):
        for platform in platforms:
            tag = "%s-%s-%s" % (py, py, platform)
            wheel("numpy", version, tag, {"numpy/__init__.py": ("__version__ = %r  # %s\n" % (version, tag)).encode()})
rng = random.Random(503)
wheel("bigwheel", "1.0.0", "py3-none-any", {"bigwheel/__init__.py": b"", "bigwheel/data.bin": rng.randbytes(1 << 20)})
PY
    touch "$fake/.complete"
fi
fake_count=$(find "$fake" -name 'numpy-*.whl' | wc -l)
big=$fake/bigwheel-1.0.0-py3-none-any.whl
big_sha=$(sha256sum "$big" | cut -d' ' -f1)
big_size=$(stat -c %s "$big")

# The pip set: real wheels for this host's Python, every version pinned (21 wheels for CPython 3.11
# on x86_64; another Python may resolve to a few more or fewer), downloaded from PyPI once.
pins=(azure-functions==1.26.0 cryptography==50.0.2 numpy==2.4.6 pandas==3.1.1 pydantic==2.14.4 requests==2.34.2
    lxml==6.1.3 annotated-types==0.8.0 certifi==2026.10.19.post1 cffi==2.1.1 charset-normalizer==3.5.3 idna==3.20
    markupsafe==3.0.4 pycparser==3.12 pydantic-core==2.50.5 python-dateutil==4.0.0 typing-extensions==4.16.0
    typing-inspection==0.4.5 tzdata==2026.6 urllib3==2.8.0 werkzeug==3.1.9)
wheels=$work/wheels
host_python=$(python3 -c 'import sys, platform; print("%s-%d.%d-%s" % (sys.implementation.name, *sys.version_info[:2], platform.machine()))')
if [ ! -f "$wheels/.complete" ] || [ "$(cat "$wheels/.complete")" != "$host_python ${pins[*]}" ]; then
    say "bench: downloading the pip set (${#pins[@]} pinned requirements) from PyPI for $host_python (once)"
    rm -rf "$wheels"
    python3 -m pip download -q --disable-pip-version-check --only-binary=:all: -d "$wheels" "${pins[@]}" >>"$log" 2>&1 \
        || fail "pip download of the pip set failed (is PyPI reachable?)"
    printf '%s\n' "$host_python ${pins[*]}" >"$wheels/.complete"
fi
wheel_count=$(find "$wheels" -name '*.whl' | wc -l)
printf '%s\n' "${pins[@]}" >"$run/requirements.txt"

# pypiserver 2.x under gunicorn, pinned, in a venv of its own.
venv=$work/venv
pypiserver_version=2.4.2
gunicorn_version=23.0.0
if [ ! -x "$venv/bin/gunicorn" ] || ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('pypiserver') != '$pypiserver_version' or m.version('gunicorn') != '$gunicorn_version')" 2>/dev/null; then
    say "bench: installing pypiserver $pypiserver_version and gunicorn $gunicorn_version into $venv (once)"
    rm -rf "$venv"
    python3 -m venv "$venv" >>"$log" 2>&1 || fail "python3 -m venv $venv failed"
    "$venv/bin/pip" install -q --disable-pip-version-check "pypiserver[cache]==$pypiserver_version" "gunicorn==$gunicorn_version" >>"$log" 2>&1 \
        || fail "pip install of pypiserver and gunicorn failed"
fi

# ---------------------------------------------------------------------------------------------
# The store: every wheel sealed into one bundle, imported into the store serve reads, and exported.

say "bench: sealing $((fake_count + 1 + wheel_count)) wheels, importing, exporting"
keys=$run/keys/team
outside=$run/outside
inside=$run/inside
export_dir=$run/export
"$airlock" key generate --out "$keys" >>"$log" 2>&1 || fail "airlock key generate failed"
"$airlock" seal --key "$keys.key" --out "$run/mirror.airlock" --store "$outside" "$fake"/*.whl "$wheels"/*.whl >>"$log" 2>&1 \
    || fail "airlock seal failed"
"$airlock" trust add --store "$inside" --name team "$keys.pub" >>"$log" 2>&1 || fail "airlock trust add failed"
"$airlock" import --store "$inside" "$run/mirror.airlock" >>"$log" 2>&1 || fail "airlock import failed"
"$airlock" export-static --out "$export_dir" --store "$inside" >>"$log" 2>&1 || fail "airlock export-static failed"
for f in simple/index.html simple/numpy/index.html _airlock/nginx-http.conf _airlock/nginx-server.conf "files/$big_sha/${big##*/}"; do
    [ -f "$export_dir/$f" ] || fail "airlock export-static wrote no $f"
done

# ---------------------------------------------------------------------------------------------
# The servers.

"$airlock" serve --listen 127.0.0.1:0 --store "$inside" >"$run/serve.url" 2>"$serve_log" &
serve_pid=$!
for _ in $(seq 100); do [ -s "$run/serve.url" ] && break; kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
serve=$(head -1 "$run/serve.url")
if [[ ! $serve =~ ^http://127\.0\.0\.1:[0-9]+$ ]]; then
    stop "$serve_pid" TERM
    serve_pid=""
    # Once more, briefly, with its standard error in the log, to say why.
    timeout 5 "$airlock" serve --listen 127.0.0.1:0 --store "$inside" >>"$log" 2>&1 || true
    fail "airlock serve printed no base URL (got '$serve')"
fi
wait_http "$serve/healthz" "airlock serve" "$serve_pid"

nginx_port=$(free_port)
ngx=$run/nginx
mkdir -p "$ngx/logs" "$ngx/tmp"
cat >"$ngx/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    include $export_dir/_airlock/nginx-http.conf;
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        root $export_dir;
        include $export_dir/_airlock/nginx-server.conf;
    }
}
EOF
if ! nginx -t -c "$ngx/nginx.conf" -p "$ngx" >/dev/null 2>&1; then
    { echo "---- the export's nginx snippets"; cat "$export_dir/_airlock/nginx-http.conf" "$export_dir/_airlock/nginx-server.conf"; } >>"$log"
    nginx -t -c "$ngx/nginx.conf" -p "$ngx" >>"$log" 2>&1 || true
    fail "nginx rejects its config with the export's snippets (they are in $log)"
fi
nginx -c "$ngx/nginx.conf" -p "$ngx" >>"$log" 2>&1 &
nginx_pid=$!
nginx_url=http://127.0.0.1:$nginx_port
wait_http "$nginx_url/simple/" "nginx" "$nginx_pid"

gunicorn_port=$(free_port)
"$venv/bin/gunicorn" -w 2 -b "127.0.0.1:$gunicorn_port" --log-level warning \
    "pypiserver:app(roots=['$fake', '$wheels'], backend_arg='cached-dir', hash_algo='sha256', disable_fallback=True)" >>"$log" 2>&1 &
gunicorn_pid=$!
pypiserver=http://127.0.0.1:$gunicorn_port
wait_http "$pypiserver/health" "pypiserver (gunicorn)" "$gunicorn_pid"

# What each answers, checked before any load: the page (serve's and the export's byte for byte)
# and the wheel.
page=/simple/numpy/
wheel_path=/files/$big_sha/${big##*/}
curl -fsS -o "$run/page.serve" "$serve$page" 2>>"$log" || fail "serve: GET $page failed"
curl -fsS -o "$run/page.nginx" "$nginx_url$page" 2>>"$log" || fail "nginx: GET $page failed"
curl -fsS -o "$run/page.pypiserver" "$pypiserver$page" 2>>"$log" || fail "pypiserver: GET $page failed"
links=$(grep -o '<a ' "$run/page.serve" | wc -l)
page_bytes=$(stat -c %s "$run/page.serve")
[ "$links" -ge "$fake_count" ] || fail "serve's $page has $links links, want at least $fake_count"
cmp -s "$run/page.serve" "$run/page.nginx" || say "bench: note: nginx's $page (the export) is not byte for byte serve's"
pypi_links=$(grep -o '<a ' "$run/page.pypiserver" | wc -l)
[ "$pypi_links" -eq "$links" ] || say "bench: note: pypiserver's $page has $pypi_links links, serve's $links"
grep -q "files/$big_sha/${big##*/}" <(curl -fsS "$serve/simple/bigwheel/") || fail "serve's /simple/bigwheel/ does not link $wheel_path"
for who in serve nginx_url; do
    curl -fsS -o "$run/wheel.$who" "${!who}$wheel_path" 2>>"$log" || fail "$who: GET $wheel_path failed"
    cmp -s "$run/wheel.$who" "$big" || fail "$who: $wheel_path is not the wheel's bytes"
done

# ---------------------------------------------------------------------------------------------
# The loads: a one-second warm-up, then BENCH_SECONDS of wrk; its Lua summary gives exact counts.

cat >"$run/summary.lua" <<'LUA'
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("WRK %.0f %.0f %.0f %.0f %.0f %.0f\n", summary.requests, summary.bytes, summary.duration,
        latency:percentile(50), latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
LUA
declare -A rps=() gbps=() p99=() p50=() errors=()
# A server that queues (gunicorn's sync workers) is still answering the requests wrk left behind
# after wrk stops, for a minute or more with pypiserver; one more request, answered only after
# them, says it is idle again, so no run is measured against a server still busy with the last.
settle() { curl -fsS -o /dev/null --max-time 300 "$1" 2>>"$log" || fail "$1 did not answer after a load"; }
load() {  # KEY URL
    local key=$1 url=$2 out line n bytes us l50 l99 errs
    wrk -t "$threads" -c "$connections" -d 1s --timeout 10s "$url" >>"$log" 2>&1 || fail "wrk warm-up of $url failed"
    settle "$url"
    out=$(wrk -t "$threads" -c "$connections" -d "${seconds}s" --timeout 10s --latency -s "$run/summary.lua" "$url" 2>&1) \
        || { printf '%s\n' "$out" >>"$log"; fail "wrk of $url failed"; }
    settle "$url"
    printf '== %s %s\n%s\n' "$key" "$url" "$out" >>"$log"
    line=$(printf '%s\n' "$out" | grep '^WRK ') || fail "wrk printed no summary for $url"
    read -r _ n bytes us l50 l99 errs <<<"$line"
    rps[$key]=$(awk -v n="$n" -v us="$us" 'BEGIN { r = n / (us / 1e6); printf (r < 100 ? "%.1f" : "%.0f"), r }')
    gbps[$key]=$(awk -v b="$bytes" -v us="$us" 'BEGIN { printf "%.3f", b / (us / 1e6) / 1e9 }')
    p50[$key]=$(awk -v l="$l50" 'BEGIN { printf "%.2f", l / 1000 }')
    p99[$key]=$(awk -v l="$l99" 'BEGIN { printf "%.2f", l / 1000 }')
    errors[$key]=$errs
    say "  $key: ${rps[$key]} req/s, ${gbps[$key]} GB/s, p50 ${p50[$key]} ms, p99 ${p99[$key]} ms, $errs errors"
}
load_before=$(cut -d' ' -f1 /proc/loadavg)
say "bench: wrk -t$threads -c$connections -d${seconds}s on $(nproc) CPUs (load average $load_before)"
load page-serve "$serve$page"
load page-pypiserver "$pypiserver$page"
load page-nginx "$nginx_url$page"
load wheel-serve "$serve$wheel_path"
load wheel-nginx "$nginx_url$wheel_path"

# ---------------------------------------------------------------------------------------------
# pip install of the pip set into a fresh venv, from each; only the install is timed. pip is kept
# from every config file and PIP_ variable of this machine (a find-links would bypass the mirror).

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f", (v[NR] - v[1]) / m * 100 }'; }
pip_env=()
while IFS= read -r name; do pip_env+=(-u "$name"); done < <(env | sed -n 's/^\(PIP_[A-Z_]*\)=.*/\1/p')
pip_install() {  # BASE-URL: seconds
    local t0 t1
    rm -rf "$run/pipvenv"
    python3 -m venv "$run/pipvenv" >>"$log" 2>&1 || fail "python3 -m venv failed"
    t0=$(date +%s.%N)
    env "${pip_env[@]}" PIP_CONFIG_FILE=/dev/null "$run/pipvenv/bin/python" -m pip install -q --no-cache-dir \
        --disable-pip-version-check --index-url "$1/simple/" -r "$run/requirements.txt" >>"$log" 2>&1 \
        || fail "pip install from $1 failed"
    t1=$(date +%s.%N)
    [ "$("$run/pipvenv/bin/python" -m pip list --format freeze 2>/dev/null | grep -cv '^pip==')" -ge "$wheel_count" ] \
        || fail "pip install from $1 installed fewer than $wheel_count distributions"
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
say "bench: pip install of $wheel_count wheels into a fresh venv, $runs runs each"
pip_s=() pip_n=()
for i in $(seq "$runs"); do
    pip_s+=("$(pip_install "$serve")")
    pip_n+=("$(pip_install "$nginx_url")")
    say "  run $i: serve ${pip_s[-1]} s, nginx ${pip_n[-1]} s"
done
kill -0 "$serve_pid" 2>/dev/null || fail "airlock serve exited during the loads or the pip runs"
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$serve_pid/status")
hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$serve_pid/status")
rss=$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')
hwm=$(awk -v k="$hwm_kb" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }')
ms=$(median "${pip_s[@]}")
mn=$(median "${pip_n[@]}")
ss=$(spread "${pip_s[@]}")
sn=$(spread "${pip_n[@]}")

# ---------------------------------------------------------------------------------------------
# The table.

row() {  # NAME AIRLOCK ANCHOR RATIO TARGET OK [NOTE]
    printf '  %-30s %12s  %-24s %8s  %-18s %s%s\n' "$1" "$2" "$3" "$4" "$5" "$([ "$6" = 1 ] && echo PASS || echo MISS)" "${7:+  ($7)}"
}
check() { awk "BEGIN { exit !($1) }" && echo 1 || echo 0; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "inf" }'; }
num() { [ "$1" = inf ] && echo 1e300 || echo "$1"; }  # for check
clean() { [ "${errors[$1]}" = 0 ] && echo 1 || echo 0; }
note() { [ "${errors[$1]}" = 0 ] || echo "${errors[$1]} errors in wrk's run"; }

printf '\nMirror: airlock serve on 127.0.0.1, wrk -t%s -c%s -d%ss, %s CPUs shared by wrk and the servers (1-min load average %s before, %s after)\n' \
    "$threads" "$connections" "$seconds" "$(nproc)" "$load_before" "$(cut -d' ' -f1 /proc/loadavg)"
printf '  page %s: %s links, %s bytes; wheel: %s bytes; pip set: %s wheels, median of %s runs\n' \
    "$page" "$links" "$page_bytes" "$big_size" "$wheel_count" "$runs"
printf '  %-30s %12s  %-24s %8s  %-18s %s\n' "row" "airlock" "anchor" "ratio" "target" "result"
sp=${rps[page-serve]} pp=${rps[page-pypiserver]} pn=${rps[page-nginx]}
ok=$(check "$sp >= 25000 && $(clean page-serve)")
row "page req/s" "$sp" "-" "-" ">= 25000 req/s" "$ok" "$(note page-serve)"
r=$(ratio "$sp" "$pp")
row "page vs pypiserver (x)" "$sp" "pypiserver $pp" "$r" "serve/pyps >= 5" "$(check "$(num "$r") >= 5 && $(clean page-serve)")" "$(note page-pypiserver)"
r=$(ratio "$pn" "$sp")
row "page vs nginx (x)" "$sp" "nginx $pn" "$r" "nginx/serve <= 2.5" "$(check "$(num "$r") <= 2.5 && $(clean page-serve)")" "$(note page-nginx)"
ws=${gbps[wheel-serve]} wn=${gbps[wheel-nginx]}
row "1 MiB wheel GB/s" "$ws" "-" "-" ">= 1.7 GB/s" "$(check "$ws >= 1.7 && $(clean wheel-serve)")" "$(note wheel-serve)"
r=$(ratio "$wn" "$ws")
row "wheel vs nginx (x)" "$ws" "nginx $wn" "$r" "nginx/serve <= 2" "$(check "$(num "$r") <= 2 && $(clean wheel-serve)")" "$(note wheel-nginx)"
row "page p99 ms" "${p99[page-serve]}" "nginx ${p99[page-nginx]}" "-" "< 20 ms" "$(check "${p99[page-serve]} < 20")"
row "serve RSS MB after all runs" "$rss" "peak $hwm" "-" "< 150 MB" "$(check "$rss < 150")"
r=$(ratio "$ms" "$mn")
row "pip install s (median)" "$ms" "nginx $mn" "$r" "serve/nginx <= 1.0" "$(check "$(num "$r") <= 1.0")" "run spread serve ${ss}%, nginx ${sn}%"
printf '  (ratios are of the medians; a pip ratio within the run spread is a tie, not a result; the log: %s)\n' "$log"
