#!/usr/bin/env bash
# `make fuzz`: builds airlock-fuzz with libFuzzer and ASan (its own scratch path, .build/fuzz/build,
# so the plain debug build is never rebuilt with the sanitizers) and runs every harness, or
# FUZZ_HARNESS alone, for FUZZ_RUNS inputs (default 1,000,000) or FUZZ_SECONDS seconds, FUZZ_JOBS
# harnesses at a time (default 1). Each run starts from a scratch copy of Fuzz/corpus/<h>/ and
# Fuzz/regressions/<h>/ (the committed corpus never grows), with a hang (-timeout=10), an RSS over
# 2 GiB and a leak counted as failures. Crash inputs land in .build/fuzz/crashes/<h>/; logs in
# .build/fuzz/logs/<h>.log. Exits 1 naming every harness that failed and its artifacts.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${FUZZ_RUNS:-1000000}
seconds=${FUZZ_SECONDS:-}
jobs=${FUZZ_JOBS:-1}
swift=${SWIFT:-swift}
out=.build/fuzz
bin=$out/build/release/airlock-fuzz

if [ -z "${FUZZ_SKIP_BUILD:-}" ]; then
    # Package.swift instruments every module (-sanitize=fuzzer,address, -DAIRLOCK_FUZZ) and links
    # libFuzzer's no-main archive when AIRLOCK_FUZZ_BUILD names it: the toolchain's own, beside swiftc.
    toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")
    archive=$(ls "$toolchain"/lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-"$(uname -m)".a 2>/dev/null | head -1)
    [ -n "$archive" ] || { echo "fuzz: no libclang_rt.fuzzer_no_main in $toolchain" >&2; exit 2; }
    AIRLOCK_FUZZ_BUILD=$archive "$swift" build -c release --scratch-path "$out/build" --product airlock-fuzz || exit 2
fi
[ -x "$bin" ] || { echo "fuzz: $bin was not built" >&2; exit 2; }

if [ -n "${FUZZ_HARNESS:-}" ]; then
    harnesses=$FUZZ_HARNESS
    [ -d "Fuzz/corpus/$harnesses" ] || { echo "fuzz: no harness '$harnesses' (see Fuzz/corpus/)" >&2; exit 2; }
else
    harnesses=$(ls Fuzz/corpus)
fi
if [ -n "$seconds" ]; then limit=(-max_total_time="$seconds" -runs=-1); else limit=(-runs="$runs"); fi

run() {
    local h=$1 work=$out/work/$1 crashes=$out/crashes/$1 log=$out/logs/$1.log
    rm -rf "$work" "$crashes" "$out/tmp/$h"
    mkdir -p "$work/corpus" "$crashes" "$out/logs" "$out/tmp/$h"
    cp Fuzz/corpus/"$h"/* "$work/corpus/"
    [ -d "Fuzz/regressions/$h" ] && cp Fuzz/regressions/"$h"/* "$work/corpus/" 2>/dev/null
    TMPDIR=$PWD/$out/tmp/$h AIRLOCK_FUZZ_HARNESS=$h ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        SWIFT_BACKTRACE=enable=no LSAN_OPTIONS=suppressions=$PWD/Fuzz/lsan-suppressions.txt:print_suppressions=0 \
        "$bin" "${limit[@]}" -rss_limit_mb=2048 -timeout=10 -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$crashes/" "$work/corpus" >"$log" 2>&1
    local status=$?
    local executed speed
    executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    local artifacts
    artifacts=$(ls "$crashes" 2>/dev/null | sed "s|^|$crashes/|" | tr '\n' ' ')
    if [ "$status" -eq 0 ] && [ -z "$artifacts" ]; then
        printf '%-16s ok      %10s runs %8s/s\n' "$h" "${executed:-?}" "${speed:-?}"
    else
        printf '%-16s FAILED  %10s runs %8s/s  (exit %s) %s log: %s\n' "$h" "${executed:-?}" "${speed:-?}" "$status" "$artifacts" "$log"
    fi
}

summary=$out/summary.txt
: >"$summary"
for h in $harnesses; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run "$h" | tee -a "$summary" &
done
wait
if grep -q FAILED "$summary"; then
    echo "fuzz: failures above; reproduce with: FUZZ_SKIP_BUILD=1 AIRLOCK_FUZZ_HARNESS=<h> $bin <artifact>" >&2
    echo "fuzz: a crash becomes a regression: minimize it (-minimize_crash=1) and commit it under Fuzz/regressions/<h>/" >&2
    exit 1
fi
echo "fuzz: every harness passed ($(wc -l <"$summary") run)"
