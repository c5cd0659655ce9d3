#!/usr/bin/env bash
# `make bench`, auditor part (issue 14), on the Python build of bench/python-build.sh (its project,
# its store with the wheels and the bootstrapped image; run that first):
#   - rebuild --check of the sealed app against its first build (sandboxed, no cache), same run;
#   - audit --vulns of the bench store against a generated OSV export (all.zip) of 10,000 advisories.
# Prints a table and the targets as PASS or MISS.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 PATH/TO/airlock" >&2; exit 2; }
airlock=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
runs=${BENCH_RUNS:-3}
bench_dir=$(cd "$(dirname "$0")" && pwd)
work=$bench_dir/work/python
project=$work/app
store=$work/store
out=$bench_dir/work/audit
say() { printf '%s\n' "$*" >&2; }
unset AIRLOCK_STORE
[ -f "$project/airlock.lock" ] && [ -d "$store" ] || { say "bench: audit part skipped: run bench/python-build.sh first"; exit 0; }
rm -rf "$out" && mkdir -p "$out"

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
timeit() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>>"$out/bench.log" || { say "bench: failed: $*"; tail -5 "$out/bench.log" >&2; exit 1; }; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'; }

"$airlock" key generate --out "$out/team" >/dev/null
first() { "$airlock" build --project "$project" --store "$store" --out "$project/dist" --no-cache --runtime bwrap; }
first >/dev/null 2>>"$out/bench.log"
SOURCE_DATE_EPOCH=$(($(date +%s) - 60)) "$airlock" seal --project "$project" --store "$store" --key "$out/team.key" \
    --out "$out/app.airlock" >/dev/null 2>>"$out/bench.log"
# The auditor inside checks against the store the bundle was imported into (the bench store holds
# the image, unpacked already); an auditor with no store of their own unpacks it from the bundle.
check() { "$airlock" rebuild --check --trust "$out/team.pub" --runtime bwrap --work-directory "$out" --store "$store" "$out/app.airlock"; }
check_alone() { "$airlock" rebuild --check --trust "$out/team.pub" --runtime bwrap --work-directory "$out" --store "$out/no-store" "$out/app.airlock"; }
b=() r=() ra=()
for _ in $(seq "$runs"); do b+=("$(timeit first)"); r+=("$(timeit check)"); ra+=("$(timeit check_alone)"); done
mb=$(median "${b[@]}"); mr=$(median "${r[@]}"); mra=$(median "${ra[@]}")
bundle_size=$(stat -c %s "$out/app.airlock")

printf '\nAuditor (issue 14), median of %s runs, same run\n' "$runs"
printf '  %-58s %8s s\n' "airlock build (sandboxed, no cache): the first build" "$mb" \
    "airlock rebuild --check of its sealed bundle ($((bundle_size / 1000000)) MB), --store" "$mr" \
    "  the same with no store that has the image (unpacked anew)" "$mra"

# An OSV export of 10,000 advisories, as the per-ecosystem all.zip (one JSON per advisory): 9,000
# PyPI advisories over 3,000 package names (the app's own wheels among them, with ranges some of
# its versions fall in) and 1,000 Go ones.
python3 - "$project/airlock.lock" "$out/osv-all.zip" <<'PY'
import json, random, sys, zipfile
lock, out = sys.argv[1], sys.argv[2]
names = sorted({f["name"] for f in json.load(open(lock))["files"]})
pool = names + [f"pkg-{i}" for i in range(3000 - len(names))]
rng = random.Random(14)
levels = ["LOW", "MODERATE", "HIGH", "CRITICAL"]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for i in range(10000):
        go = i >= 9000
        major = rng.randint(0, 5)
        events = [{"introduced": "0" if rng.random() < 0.3 else f"{major}.{rng.randint(0, 9)}"}, {"fixed": f"{major + rng.randint(0, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"}]
        doc = {"id": f"{'GO' if go else 'PYSEC'}-2026-{i}", "modified": "2026-11-01T00:00:00Z", "summary": f"advisory {i}",
               "database_specific": {"severity": rng.choice(levels)},
               "affected": [{"package": {"ecosystem": "Go" if go else "PyPI", "name": f"example.com/mod{i % 700}" if go else rng.choice(pool)},
                             "ranges": [{"type": "SEMVER" if go else "ECOSYSTEM", "events": events}],
                             "versions": [f"{major}.{k}.0" for k in range(rng.randint(0, 12))]}]}
        z.writestr(f"{doc['id']}.json", json.dumps(doc))
PY
vulns() { "$airlock" audit --store "$store" --vulns "$out/osv-all.zip"; }
plain() { "$airlock" audit --store "$store"; }
v=() a=()
for _ in $(seq "$runs"); do v+=("$(timeit vulns)"); a+=("$(timeit plain)"); done
mv=$(median "${v[@]}"); ma=$(median "${a[@]}")
matches=$(vulns 2>/dev/null | sed -n 's/^\([0-9]*\) match(es).*/\1/p')
printf '  %-58s %8s s\n' "airlock audit --store (the bench store, no --vulns)" "$ma" \
    "airlock audit --store --vulns osv-all.zip (10,000 advisories; ${matches:-?} matches)" "$mv"

printf '\ntargets\n'
awk -v r="$mr" -v b="$mb" 'BEGIN { x = r / b; printf "  %-40s %6.2fx (target < 2x) %s\n", "rebuild --check vs first build:", x, (x < 2 ? "PASS" : "MISS") }'
awk -v t="$mv" 'BEGIN { printf "  %-40s %6.3f s (target < 1 s) %s\n", "audit --vulns, 10,000 advisories:", t, (t < 1 ? "PASS" : "MISS") }'
