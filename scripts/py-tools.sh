#!/usr/bin/env bash
# Python tools for the tests, from PyPI at pinned versions, into DEST (default .build/py-tools), for
# `PYTHONPATH=DEST python3 -m ...`: kubernetes-validate (the Kubernetes kit's manifests are checked
# against the API's own JSON schemas, strictly) and its dependencies, each pinned, installed with
# --no-deps so nothing else is resolved. PyYAML comes with it; the kit's tests also read
# manifests.yaml back through it. Idempotent: a DEST whose stamp names these pins is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-.build/py-tools}
pins=(
    kubernetes-validate==1.37.0
    attrs==26.1.0
    importlib-resources==7.1.0
    jsonschema==4.26.0
    jsonschema-specifications==2025.9.1
    packaging==26.4
    PyYAML==6.0.4
    referencing==0.37.0
    rpds-py==2026.9.1
    typing-extensions==4.16.0
)
stamp="${pins[*]}"
if [ -f "$dest/.airlock-pins" ] && [ "$(cat "$dest/.airlock-pins")" = "$stamp" ]; then exit 0; fi
echo "py-tools: installing ${pins[0]} and its pinned dependencies from PyPI into $dest" >&2
rm -rf "$dest.partial"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: --target "$dest.partial" "${pins[@]}" >&2
PYTHONPATH="$dest.partial" python3 -m kubernetes_validate --version >/dev/null ||
    { echo "py-tools: kubernetes-validate does not run from $dest.partial" >&2; exit 1; }
printf '%s\n' "$stamp" >"$dest.partial/.airlock-pins"
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "py-tools: $dest (kubernetes-validate $(PYTHONPATH="$dest" python3 -m kubernetes_validate --version 2>&1))" >&2
