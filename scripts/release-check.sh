#!/usr/bin/env bash
# `make release-check` (run by `make test` after the release tests): the release is reproducible.
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
say() { printf 'release-check: %s\n' "$*"; }
fail() { printf 'release-check: FAIL %s\n' "$*" >&2; exit 1; }

say "the release here (SOURCE_DATE_EPOCH=$epoch)"
./scripts/release.sh >/dev/null 2>"$root/dist/.release-check-here.log" || { tail -20 "$root/dist/.release-check-here.log" >&2; fail "make release here"; }

# The working tree as it is (tracked files and new ones git does not ignore), somewhere else.
other=$(mktemp -d /tmp/airlock-release-check.XXXXXX)
[ "${RELEASE_CHECK_KEEP:-0}" = 1 ] || trap 'rm -rf "$other"' EXIT
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
    fail "the two directories give different releases (above: here, then there)"
fi
while read -r sum name; do say "same sha256 in both directories: $name $sum"; done <"$root/dist/SHA256SUMS"

version=$(sed -n 's/.*static let current = "\(.*\)"/\1/p' Sources/airlock/Airlock.swift)
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) exit 2 ;; esac
bin=$root/dist/airlock-$version-linux-$arch
for path in "$root" "$tree" "$other"; do
    if strings -a "$bin" | grep -qF "$path"; then fail "the binary holds the build path $path: $(strings -a "$bin" | grep -F "$path" | head -1)"; fi
    if strings -a "$tree/dist/airlock-$version-linux-$arch" | grep -qF "$path"; then fail "the second binary holds the build path $path"; fi
done
say "no build path in either binary (strings -a)"

stamp=$(date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S')
times=$(tar --full-time -tvzf "$root/dist/airlock-$version-linux-$arch.tar.gz" | awk '{ print $4, $5 }' | sort -u)
[ "$times" = "$stamp" ] || fail "the tarball's times are not all SOURCE_DATE_EPOCH ($stamp): $times"
debtimes=$(dpkg-deb --fsys-tarfile "$root/dist/airlock_${version}_$arch.deb" | tar --full-time -tvf - | awk '{ print $4, $5 }' | sort -u)
[ "$debtimes" = "$stamp" ] || fail "the package's times are not all SOURCE_DATE_EPOCH ($stamp): $debtimes"
say "every file in the tarball and the package is dated SOURCE_DATE_EPOCH ($stamp UTC)"
say "reproducible"
