#!/usr/bin/env bash
# `make bench`, scale part (issue 15, scope 4): Airlock on the bundles and stores operators really
# have, with the wall time, the cost per file or per GiB, and the peak RSS (GNU time's %M) of each.
#   many:  seal, verify and import of a bundle of SCALE_FILES (100,000) small files (200-1,000
#          bytes); anchor: tar xf of the same bundle + sha256sum -c of its SHA256SUMS (target:
#          verify at least 3x faster);
#   big:   seal, verify and import of SCALE_GIB (20) GiB in 20 files; anchor: cp of the same bundle
#          on the same file system, then sync, since an import makes its blobs durable (target:
#          import within 1.5x);
#   store: a store of SCALE_BLOBS (200,000) blobs (wheel-named, so the mirror lists them: 2,000
#          projects of 100 files): store ls, store verify, store gc, and serve's /simple/ pages
#          (the first answer after start, then the median of 20 of the index and of a project page).
# Every command must stay under 200 MB RSS. A part that does not fit the free disk space is
# skipped with the reason. Inputs are generated under bench/work/scale and kept for the next run
# (the big part's 20 GiB only while there is room); outputs are removed at the end.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PATH/TO/airlock   (env: SCALE_FILES, SCALE_GIB, SCALE_BLOBS)" >&2; exit 2; }
airlock=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
files=${SCALE_FILES:-100000}
gib=${SCALE_GIB:-20}
blobs=${SCALE_BLOBS:-200000}
for v in files gib blobs; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: scale: ${v}=${!v}: want a positive integer" >&2; exit 2; }
done
bench_dir=$(cd "$(dirname "$0")" && pwd)
work=$bench_dir/work/scale
run=$work/run
log=$work/bench.log
unset AIRLOCK_STORE
mkdir -p "$work"
rm -rf "$run" && mkdir -p "$run"
: >"$log"
serve_pid=
cleanup() {
    # serve runs under GNU time, which ignores SIGINT: the signal goes to its child.
    [ -n "$serve_pid" ] && pkill -INT -P "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
    rm -rf "$run"
}
trap cleanup EXIT
say() { printf '%s\n' "$*" >&2; }
fail() { say "bench: scale: $*"; tail -20 "$log" >&2; exit 1; }
free_bytes() { echo $(($(df -Pk "$work" | awk 'NR == 2 { print $4 }') * 1024)); }
rss_limit_kb=$((200 * 1000))

rows=()
checks=()
# timed LABEL COMMAND...: runs it under GNU time; sets $secs and $rss_mb and adds a row.
timed() {
    local label=$1; shift
    /usr/bin/time -f '%e %M' -o "$run/time" "$@" >>"$log" 2>&1 || fail "$label: failed: $*"
    read -r secs rss_kb <"$run/time"
    rss_mb=$(awk -v k="$rss_kb" 'BEGIN { printf "%.0f", k / 1000 }')
    [ "$rss_kb" -le "$rss_limit_kb" ] && rss_ok=PASS || rss_ok=MISS
    checks+=("$(printf '%-44s %7s MB  (target < 200 MB)  %s' "RSS of $label" "$rss_mb" "$rss_ok")")
}
row() { rows+=("$(printf '%-44s %9s s  %s' "$1" "$2" "$3")"); }
per() { awk -v s="$1" -v n="$2" -v k="$3" 'BEGIN { printf "%.1f %s", s * k / n, "" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (a > 0 ? b / a : 0) }'; }

"$airlock" key generate --out "$run/k" >>"$log" 2>&1
epoch=$(($(date +%s) - 60))

# ---- many: SCALE_FILES small files
many=$work/many-$files
if [ ! -f "$many/.complete" ]; then
    rm -rf "$many"
    python3 - "$many" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = "%s/d%03d" % (root, i // 1000)
    if i % 1000 == 0: os.makedirs(d, exist_ok=True)
    with open("%s/f%06d.txt" % (d, i), "wb") as f: f.write(os.urandom(200 + (i * 7919) % 800))
open(root + "/.complete", "w").close()
PY
fi
rm -f "$many/.complete.tmp"
bundle=$run/many.airlock
SOURCE_DATE_EPOCH=$epoch timed "seal, $files files" "$airlock" seal --key "$run/k.key" --store "$run/sealer" --out "$bundle" \
    $(find "$many" -mindepth 1 -maxdepth 1 -type d | sort)
row "seal, $files files" "$secs" "$(per "$secs" "$files" 1000000) us/file"
timed "verify, $files files" "$airlock" verify --trust "$run/k.pub" "$bundle"
verify_many=$secs
row "verify, $files files" "$secs" "$(per "$secs" "$files" 1000000) us/file"
"$airlock" trust add --store "$run/store-many" "$run/k.pub" >>"$log" 2>&1
timed "import, $files files" "$airlock" import --store "$run/store-many" "$bundle"
row "import, $files files" "$secs" "$(per "$secs" "$files" 1000000) us/file"
rm -rf "$run/x" && mkdir "$run/x"
t0=$(date +%s.%N)
(cd "$run/x" && tar xf "$bundle" && sha256sum -c --quiet SHA256SUMS) >>"$log" 2>&1 || fail "tar xf + sha256sum -c failed"
t1=$(date +%s.%N)
anchor=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
row "anchor: tar xf + sha256sum -c" "$anchor" "$(per "$anchor" "$files" 1000000) us/file"
rm -rf "$run/x" "$run/store-many"
x=$(ratio "$verify_many" "$anchor")
awk -v x="$x" 'BEGIN { exit !(x >= 3) }' && ok=PASS || ok=MISS
checks+=("$(printf '%-44s %7sx      (target >= 3x)       %s' "verify vs tar xf + sha256sum -c" "$x" "$ok")")
rm -f "$bundle"

# ---- big: SCALE_GIB GiB in 20 files
big=$work/big-$gib
bytes=$((gib << 30))
# At most three copies at once (the inputs, the bundle, then the store or cp's copy), plus slack.
need=$((bytes * 2 + (2 << 30)))
[ -f "$big/.complete" ] || need=$((need + bytes))
if [ "$(free_bytes)" -lt "$need" ]; then
    say "bench: scale: the $gib GiB part is skipped: it needs $((need >> 30)) GiB free in $work, has $(($(free_bytes) >> 30)) GiB"
    checks+=("$(printf '%-44s %s' "import of $gib GiB vs cp + sync" "SKIP (disk space)")")
else
    if [ ! -f "$big/.complete" ]; then
        rm -rf "$big" && mkdir -p "$big"
        for i in $(seq -w 1 20); do
            # head closes the pipe at its count: openssl's SIGPIPE is expected (not a pipefail).
            head -c $((bytes / 20)) < <(openssl enc -aes-128-ctr -nosalt -pass pass:"airlock-$i" -pbkdf2 </dev/zero 2>/dev/null) >"$big/part$i.bin"
        done
        touch "$big/.complete"
    fi
    bundle=$run/big.airlock
    SOURCE_DATE_EPOCH=$epoch timed "seal, $gib GiB" "$airlock" seal --key "$run/k.key" --store "$run/sealer" --out "$bundle" "$big"
    row "seal, $gib GiB in 20 files" "$secs" "$(per "$secs" "$gib" 1) s/GiB"
    timed "verify, $gib GiB" "$airlock" verify --trust "$run/k.pub" "$bundle"
    row "verify, $gib GiB" "$secs" "$(per "$secs" "$gib" 1) s/GiB"
    "$airlock" trust add --store "$run/store-big" "$run/k.pub" >>"$log" 2>&1
    timed "import, $gib GiB" "$airlock" import --store "$run/store-big" "$bundle"
    import_big=$secs
    row "import, $gib GiB" "$secs" "$(per "$secs" "$gib" 1) s/GiB"
    rm -rf "$run/store-big"
    t0=$(date +%s.%N)
    cp "$bundle" "$run/copy" && sync -f "$run/copy"
    t1=$(date +%s.%N)
    anchor=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    row "anchor: cp + sync of the bundle" "$anchor" "$(per "$anchor" "$gib" 1) s/GiB"
    rm -f "$run/copy" "$bundle"
    x=$(ratio "$anchor" "$import_big")
    awk -v x="$x" 'BEGIN { exit !(x <= 1.5) }' && ok=PASS || ok=MISS
    checks+=("$(printf '%-44s %7sx      (target <= 1.5x)     %s' "import of $gib GiB vs cp + sync" "$x" "$ok")")
    # Kept for the next run only while there is room for it beside everything else.
    [ "$(free_bytes)" -ge $((bytes * 2 + (2 << 30))) ] || rm -rf "$big"
fi

# ---- store: SCALE_BLOBS blobs, wheel-named
wheels=$work/wheels-$blobs
if [ ! -f "$wheels/.complete" ]; then
    rm -rf "$wheels"
    python3 - "$wheels" "$blobs" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = "%s/p%04d" % (root, i // 100)
    if i % 100 == 0: os.makedirs(d, exist_ok=True)
    with open("%s/pkg%d-1.%d-py3-none-any.whl" % (d, i // 100, i % 100), "wb") as f: f.write(os.urandom(256))
open(root + "/.complete", "w").close()
PY
fi
store=$run/store-blobs
"$airlock" trust add --store "$store" "$run/k.pub" >>"$log" 2>&1
SOURCE_DATE_EPOCH=$epoch "$airlock" seal --key "$run/k.key" --store "$run/sealer" --out "$run/blobs.airlock" \
    $(find "$wheels" -mindepth 1 -maxdepth 1 -type d | sort) >>"$log" 2>&1 || fail "seal of $blobs files failed"
"$airlock" import --store "$store" "$run/blobs.airlock" >>"$log" 2>&1 || fail "import of $blobs files failed"
rm -f "$run/blobs.airlock"
timed "store ls, $blobs blobs" "$airlock" store ls --store "$store"
row "store ls, $blobs blobs" "$secs" "$(per "$secs" "$blobs" 1000000) us/blob"
timed "store verify, $blobs blobs" "$airlock" store verify --store "$store"
row "store verify, $blobs blobs" "$secs" "$(per "$secs" "$blobs" 1000000) us/blob"
timed "store gc, $blobs blobs" "$airlock" store gc --store "$store"
row "store gc, $blobs blobs" "$secs" "$(per "$secs" "$blobs" 1000000) us/blob"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
t0=$(date +%s.%N)
/usr/bin/time -f '%e %M' -o "$run/serve-time" "$airlock" serve --store "$store" --listen "127.0.0.1:$port" >>"$log" 2>&1 &
serve_pid=$!
first=
for _ in $(seq 1 600); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/simple/"; then first=$(date +%s.%N); break; fi
    kill -0 "$serve_pid" 2>/dev/null || fail "serve exited"
    sleep 0.05
done
[ -n "$first" ] || fail "serve did not answer within 30 s"
row "serve: start to first /simple/ answer" "$(awk -v a="$t0" -v b="$first" 'BEGIN { printf "%.2f", b - a }')" ""
median_of() {  # median_of URL: median seconds of 20 GETs
    for _ in $(seq 1 20); do curl -sf -o /dev/null -w '%{time_total}\n' "$1"; done | sort -n | sed -n 10p
}
index=$(median_of "http://127.0.0.1:$port/simple/")
row "serve: GET /simple/ (2,000 projects)" "$index" "median of 20"
project=$(median_of "http://127.0.0.1:$port/simple/pkg7/")
row "serve: GET /simple/pkg7/ (100 files)" "$project" "median of 20"
pkill -INT -P "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
serve_pid=
read -r _ rss_kb <"$run/serve-time"
[ "$rss_kb" -le "$rss_limit_kb" ] && ok=PASS || ok=MISS
checks+=("$(printf '%-44s %7s MB  (target < 200 MB)  %s' "RSS of serve, $blobs blobs" "$((rss_kb / 1000))" "$ok")")

printf '\nScale (issue 15): wall time, cost per file / GiB / blob\n'
printf '%s\n' "${rows[@]}"
printf '\nScale targets\n'
printf '%s\n' "${checks[@]}"
