#!/usr/bin/env bash
# `make release-check` (before a release; not in `make test`, whose time it would double): the
# release is reproducible.
# The same sources, copied into a second directory with another path, built there by
# scripts/release.sh with the same SOURCE_DATE_EPOCH, must give the same binary, tarball and .deb,
# byte for byte; no build path may be left in the binary; every file in the tarball and the
# package carries SOURCE_DATE_EPOCH as its time.
#
# The second build is a whole release build from nothing (a few minutes): a build that shares the
# first one's scratch directory would prove little. RELEASE_CHECK_KEEP=1 keeps the second tree.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
export SOURCE_DATE_EPOCH=$epoch
version=$(sed -n 's/.*static let current = "\(.*\)"/\1/p' Sources/airlock/Airlock.swift)
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) exit 2 ;; esac
name=airlock-$version-linux-$arch
say() { printf 'release-check: %s\n' "$*"; }
fail() { printf 'release-check: FAIL %s\n' "$*" >&2; exit 1; }

say "the release here (SOURCE_DATE_EPOCH=$epoch)"
./scripts/release.sh >/dev/null 2>"$root/dist/.release-check-here.log" || { tail -20 "$root/dist/.release-check-here.log" >&2; fail "make release here"; }

# The working tree as it is (tracked files and new ones git does not ignore), somewhere else.
other=$(mktemp -d /tmp/airlock-release-check.XXXXXX)
# Removed when the check passes; kept for a look when it fails, or with RELEASE_CHECK_KEEP=1.
cleanup() { if [ $? -eq 0 ] && [ "${RELEASE_CHECK_KEEP:-0}" != 1 ]; then rm -rf "$other"; else say "kept $other"; fi; }
trap cleanup EXIT
tree=$other/a-different/path/airlock
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar -C "$root" --null -T - -cf - | tar -C "$tree" -xf -
# The package versions this tree resolved (Package.resolved stays out of git), so both builds use
# the same dependencies.
[ -f Package.resolved ] && cp Package.resolved "$tree/"
say "the same sources in $tree, built from nothing (a few minutes)"
start=$(date +%s)
(cd "$tree" && ./scripts/release.sh >/dev/null 2>"$other/build.log") || { tail -20 "$other/build.log" >&2; fail "make release in $tree"; }
say "built there in $(($(date +%s) - start)) s"

if ! diff -u "$root/dist/SHA256SUMS" "$tree/dist/SHA256SUMS"; then
    a=$root/dist/$name
    b=$tree/dist/$name
    for section in $(readelf -SW "$a" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p'); do
        x=$(objcopy -O binary --only-section="$section" "$a" /dev/stdout 2>/dev/null | sha256sum)
        y=$(objcopy -O binary --only-section="$section" "$b" /dev/stdout 2>/dev/null | sha256sum)
        [ "$x" = "$y" ] || say "the binaries differ in section $section"
    done
    fail "the two directories give different releases (above: here, then there)"
fi
while read -r sum file; do say "same sha256 in both directories: $file $sum"; done <"$root/dist/SHA256SUMS"

bin=$root/dist/$name
strings -a "$bin" >"$other/strings-here"
strings -a "$tree/dist/$name" >"$other/strings-there"
if [ ! -s "$other/strings-here" ] || [ ! -s "$other/strings-there" ]; then fail "strings found nothing in the binaries"; fi
for path in "$root" "$tree" "$other" /mnt/airlock; do
    for side in here there; do
        if grep -qF "$path" "$other/strings-$side"; then fail "the binary built $side holds the build path $path: $(grep -F "$path" "$other/strings-$side" | head -1)"; fi
    done
done
say "no build path in either binary (strings -a)"

stamp=$(date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S')
times=$(tar --full-time -tvzf "$root/dist/airlock-$version-linux-$arch.tar.gz" | awk '{ print $4, $5 }' | sort -u)
[ "$times" = "$stamp" ] || fail "the tarball's times are not all SOURCE_DATE_EPOCH ($stamp): $times"
debtimes=$(dpkg-deb --fsys-tarfile "$root/dist/airlock_${version}_$arch.deb" | tar --full-time -tvf - | awk '{ print $4, $5 }' | sort -u)
[ "$debtimes" = "$stamp" ] || fail "the package's times are not all SOURCE_DATE_EPOCH ($stamp): $debtimes"
say "every file in the tarball and the package is dated SOURCE_DATE_EPOCH ($stamp UTC)"
say "reproducible"
