#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Airlock's build, tests and demo need, when they are missing.
# Idempotent and non-interactive; uses sudo when not run as root.
#   scripts/install-deps.sh          what `make build` and `make demo` need (docker-registry: the demo's registry)
#   scripts/install-deps.sh --test   also the container engines the tests run the sandbox over,
#                                    (Docker engine, Podman, runc), skopeo, nginx and headless
#                                    chromium and strace for the mirror tests, wrk for `make bench`; `make test` passes it
#   scripts/install-deps.sh --release  also Debian's static archives `make release` links
set -euo pipefail

packages=(pkg-config libarchive-dev libssl-dev libsqlite3-dev openssl zstd ca-certificates shellcheck unzip curl python3 python3-pip bubblewrap mmdebstrap docker-registry)
if [ "${1:-}" = "--test" ]; then
    packages+=(docker.io podman runc skopeo nginx chromium wrk strace)
fi
if [ "${1:-}" = "--release" ]; then
    packages+=(libzstd-dev liblz4-dev libacl1-dev libbz2-dev liblzma-dev zlib1g-dev libxml2-dev nettle-dev libicu-dev dpkg-dev)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: apt-get not found; install these yourself: ${missing[*]}" >&2
    exit 2
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "install-deps: not root and no sudo; install these yourself: ${missing[*]}" >&2
        exit 2
    fi
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
