#!/usr/bin/env bash
# uv for the tests (the mirror is checked with `uv pip install` as well as pip): the PyPI wheel at a
# pinned version and sha256, its `uv` binary unpacked to DEST/uv (default .build/uv-tool/uv).
# Idempotent: a uv of that version already there is kept. On a CPU with no pinned wheel it says so
# and exits 0; the tests that need uv then skip visibly.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.build/uv-tool}
version=0.13.9
case "$(uname -m)" in
    x86_64)
        wheel=uv-$version-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
        platform=manylinux_2_17_x86_64
        sha256=d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19
        ;;
    *) echo "uv-tool: no pinned uv wheel for $(uname -m); uv tests will skip" >&2; exit 0 ;;
esac
if [ -x "$dest/uv" ] && "$dest/uv" --version 2>/dev/null | grep -q "uv $version"; then exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "uv-tool: downloading uv $version from PyPI" >&2
python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --platform "$platform" \
    --python-version 3.11 "uv==$version" -d "$tmp" >&2
echo "$sha256  $tmp/$wheel" | sha256sum -c --quiet || { echo "uv-tool: $wheel does not match its pinned sha256" >&2; exit 1; }
unzip -q -j "$tmp/$wheel" "uv-$version.data/scripts/uv" -d "$tmp/bin"
chmod 0755 "$tmp/bin/uv"
"$tmp/bin/uv" --version | grep -q "uv $version" || { echo "uv-tool: the unpacked uv does not run" >&2; exit 1; }
mkdir -p "$dest"
mv "$tmp/bin/uv" "$dest/uv.partial"
mv "$dest/uv.partial" "$dest/uv"
echo "uv-tool: $dest/uv ($("$dest/uv" --version))" >&2
