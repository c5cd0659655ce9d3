#!/usr/bin/env bash
# Python tools for the tests, from PyPI at pinned versions, into DEST (default .build/py-tools), for
# `PYTHONPATH=DEST python3 -m ...`, each with its dependencies pinned and installed with --no-deps so
# nothing else is resolved:
#   kubernetes-validate: the Kubernetes kit's manifests against the API's own JSON schemas, strictly
#     (PyYAML comes with it; the kit's tests also read manifests.yaml back through it);
#   cyclonedx-python-lib with its JSON-schema format checkers, and spdx-tools: the SBOMs of
#     `airlock audit --sbom` against the official CycloneDX 1.6 schema and the SPDX 2.3 validator;
#   securesystemslib: an independent DSSE / Ed25519 verifier for the signed provenance.
# Idempotent: a DEST whose stamp names these pins is kept.
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
    cyclonedx-python-lib==11.12.0
    license-expression==30.4.4
    boolean.py==5.0
    packageurl-python==0.17.6
    py-serializable==2.2.0
    defusedxml==0.7.1
    sortedcontainers==2.4.0
    fqdn==1.6.0
    idna==3.20
    isoduration==20.11.0
    arrow==1.4.0
    python-dateutil==2.9.0.post0
    six==1.17.0
    tzdata==2026.6
    jsonpointer==3.12
    rfc3339-validator==0.1.4
    rfc3986-validator==0.1.1
    rfc3987-syntax==1.1.0
    lark==1.3.1
    uri-template==1.3.0
    webcolors==25.10.0
    spdx-tools==0.8.5
    beartype==0.23.1
    click==8.5.1
    ply==3.11
    rdflib==7.6.0
    pyparsing==3.3.3
    semantic-version==2.10.0
    uritools==7.0.1
    xmltodict==1.0.4
    securesystemslib==1.6.0
)
stamp="${pins[*]}"
if [ -f "$dest/.airlock-pins" ] && [ "$(cat "$dest/.airlock-pins")" = "$stamp" ]; then exit 0; fi
echo "py-tools: installing ${pins[0]} and its pinned dependencies from PyPI into $dest" >&2
rm -rf "$dest.partial"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: --target "$dest.partial" "${pins[@]}" >&2
PYTHONPATH="$dest.partial" python3 -m kubernetes_validate --version >/dev/null ||
    { echo "py-tools: kubernetes-validate does not run from $dest.partial" >&2; exit 1; }
PYTHONPATH="$dest.partial" python3 -c 'import cyclonedx.validation.json, spdx_tools.spdx.validation.document_validator, securesystemslib.signer' ||
    { echo "py-tools: cyclonedx-python-lib, spdx-tools or securesystemslib does not import from $dest.partial" >&2; exit 1; }
printf '%s\n' "$stamp" >"$dest.partial/.airlock-pins"
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "py-tools: $dest (kubernetes-validate $(PYTHONPATH="$dest" python3 -m kubernetes_validate --version 2>&1))" >&2
