#!/usr/bin/env bash
# `make demo`: the foundation end to end on the bundled examples. A security team generates a key
# and seals examples/ into one signed bundle; an auditor verifies it with Airlock and with stock
# tar, openssl and sha256sum; an operator trusts the key, imports the bundle into a second store
# (the inside one) and exports a file back out, byte-identical to the original.
set -euo pipefail
airlock=${1:-.build/debug/airlock}
airlock=$(cd "$(dirname "$airlock")" && pwd)/$(basename "$airlock")
out=demo-output
rm -rf "$out"
mkdir -p "$out"
step() { printf '\n== %s\n' "$*" >&2; }

step "security team: generate a signing key"
keyid=$("$airlock" key generate --out "$out/keys/security-team")

step "security team: seal examples/ into one signed bundle"
"$airlock" seal --store "$out/outside-store" --key "$out/keys/security-team.key" \
    --channel demo --expires 30d --out "$out/examples.airlock" examples

step "auditor: verify with Airlock"
"$airlock" verify --trust "$out/keys/security-team.pub" "$out/examples.airlock"

step "auditor: verify with stock tar, openssl and sha256sum only"
mkdir -p "$out/audit"
(
    cd "$out/audit"
    tar -xf ../examples.airlock
    openssl pkeyutl -verify -pubin -inkey ../keys/security-team.pub -rawin -in manifest.json \
        -sigfile "signatures/$keyid.sig"
    want=$(grep -o '"sha256sums":"[0-9a-f]*"' manifest.json | cut -d'"' -f4)
    have=$(sha256sum SHA256SUMS | cut -d' ' -f1)
    [ "$want" = "$have" ] || { echo "SHA256SUMS does not match the manifest" >&2; exit 1; }
    sha256sum --quiet -c SHA256SUMS && echo "sha256sum -c SHA256SUMS: all OK"
)

step "operator: trust the key and import into the inside store"
"$airlock" trust add --store "$out/inside-store" --name security-team --channels demo "$out/keys/security-team.pub" >/dev/null
"$airlock" import --store "$out/inside-store" "$out/examples.airlock"
"$airlock" history --store "$out/inside-store"

step "operator: export one artifact back out"
exported=$("$airlock" export --store "$out/inside-store" --out "$out/exported" examples/python-app/function_app.py)
cmp "$exported" examples/python-app/function_app.py
echo "$exported is byte-identical to examples/python-app/function_app.py"

step "where everything is"
cat <<SUMMARY
  signing key      $out/keys/security-team.key (private, 0600), .pub (public); key id $keyid
  bundle           $out/examples.airlock ($(stat -c %s "$out/examples.airlock") bytes)
  outside store    $out/outside-store (seal history)
  stock-tool audit $out/audit (unpacked bundle, VERIFY.md inside)
  inside store     $out/inside-store (blobs/sha256, index.sqlite, trust policy, history)
  exported file    $exported
SUMMARY
