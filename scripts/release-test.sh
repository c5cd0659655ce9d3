#!/usr/bin/env bash
# `make test-release` (run by `make test` after the Swift tests): the release from `make release`
# as an operator inside the enclave meets it.
#   1. the binary runs --version, key generate, seal, verify, trust add and import in a root that
#      holds nothing but itself (bwrap, network off), and in bootstrapped Debian bullseye, bookworm
#      and trixie minbase roots with no extra packages (airlock image run, network off);
#   2. the .deb: dpkg-deb --info and --contents, installed with dpkg --root into a scratch root;
#   3. the tarball: what it holds;
#   4. the self-carry round trip: seal --self, the stock-tool check VERIFY.md gives, import,
#      export airlock, self verify.
# A Debian root that cannot be bootstrapped here (no mirror) is a visible skip with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/.*static let current = "\(.*\)"/\1/p' Sources/airlock/Airlock.swift)
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) exit 2 ;; esac
bin=$(pwd)/dist/airlock-$version-linux-$arch
deb=$(pwd)/dist/airlock_${version}_$arch.deb
tarball=$(pwd)/dist/airlock-$version-linux-$arch.tar.gz
for f in "$bin" "$deb" "$tarball"; do [ -f "$f" ] || { echo "release-test: $f missing; run make release" >&2; exit 2; }; done
work=$(mktemp -d /tmp/airlock-release-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0
ok() { passed=$((passed + 1)); printf 'release-test: ok   %s\n' "$*"; }
fail() { printf 'release-test: FAIL %s\n' "$*" >&2; exit 1; }
skip() { printf 'release-test: skip %s\n' "$*"; }

# The enclave's steps, run as `$run airlock ARGS` with /work the working directory.
enclave_steps() {
    local run=("$@")
    "${run[@]}" --version | grep -qx "$version" || fail "${run[*]}: --version"
    "${run[@]}" key generate --out /work/keys/team >/dev/null 2>&1 || fail "${run[*]}: key generate"
    "${run[@]}" seal --key /work/keys/team.key --out /work/a.airlock --store /work/outside /work/payload >/dev/null 2>&1 || fail "${run[*]}: seal"
    "${run[@]}" verify --trust /work/keys/team.pub /work/a.airlock >/dev/null 2>&1 || fail "${run[*]}: verify"
    "${run[@]}" trust add /work/keys/team.pub --store /work/inside >/dev/null 2>&1 || fail "${run[*]}: trust add"
    "${run[@]}" import /work/a.airlock --store /work/inside >/dev/null 2>&1 || fail "${run[*]}: import"
    "${run[@]}" store verify --store /work/inside >/dev/null 2>&1 || fail "${run[*]}: store verify"
}
fresh() {
    rm -rf "$work/w" && mkdir -p "$work/w/payload" && echo "payload $1" >"$work/w/payload/readme.txt"
}

# 1a. A root with nothing in it but the binary: no libc, no shell, no certificates.
fresh empty
empty=(bwrap --unshare-all --die-with-parent --ro-bind "$bin" /airlock --bind "$work/w" /work --proc /proc --dev /dev
    --tmpfs /tmp --chdir /work --clearenv --setenv HOME /tmp /airlock)
bwrap --unshare-all --die-with-parent --ro-bind "$bin" /airlock --proc /proc --dev /dev /airlock --version >/dev/null \
    || fail "the binary does not start in an empty root"
if bwrap --unshare-all --die-with-parent --ro-bind "$bin" /airlock --proc /proc --dev /dev /bin/sh -c true 2>/dev/null; then
    fail "the empty root has a shell"
fi
enclave_steps "${empty[@]}"
ok "an empty root (the binary alone): --version, key generate, seal, verify, trust add, import, store verify"

# 1b. Debian minbase roots, bootstrapped once into a store kept under dist/ (not committed).
store=$(pwd)/dist/.release-test-store
for suite in bullseye bookworm trixie; do
    name=release-test:$suite
    if ! "$bin" image ls --store "$store" --json 2>/dev/null | grep -q "\"$suite\""; then
        if ! "$bin" image bootstrap --suite "$suite" --name "$name" --store "$store" >"$work/bootstrap-$suite.log" 2>&1; then
            skip "Debian $suite: could not bootstrap a minbase root here ($(tail -1 "$work/bootstrap-$suite.log"))"
            continue
        fi
    fi
    fresh "$suite"
    # The sandbox dates every run 1980-01-01 (SOURCE_DATE_EPOCH, for builds); seal would refuse
    # a bundle that old, so this run is dated now.
    inside=("$bin" image run --store "$store" --runtime bwrap --mount "$bin:/usr/local/bin/airlock"
        --output "$work/w:/work" --workdir /work --env "SOURCE_DATE_EPOCH=$(date +%s)" "$name" -- /usr/local/bin/airlock)
    enclave_steps "${inside[@]}"
    glibc=$("$bin" image run --store "$store" --runtime bwrap "$name" -- getconf GNU_LIBC_VERSION 2>/dev/null || echo "glibc unknown")
    ok "Debian $suite minbase ($glibc), no extra packages: the same steps"
done

# 2. The Debian package.
dpkg-deb --info "$deb" >"$work/info" || fail "dpkg-deb --info"
grep -q "Package: airlock" "$work/info" || fail "the package name"
grep -q "Version: $version" "$work/info" || fail "the package version"
if grep -q "^ Depends:" "$work/info"; then fail "the package has Depends: $(grep '^ Depends:' "$work/info")"; fi
dpkg-deb --contents "$deb" >"$work/contents"
for path in ./usr/bin/airlock ./usr/share/man/man1/airlock.1.gz ./usr/share/bash-completion/completions/airlock \
    ./usr/share/zsh/vendor-completions/_airlock ./usr/share/fish/vendor_completions.d/airlock.fish; do
    grep -q " $path\$" "$work/contents" || fail "the package lacks $path"
done
grep " ./usr/bin/airlock$" "$work/contents" | grep -q "^-rwxr-xr-x root/root " || fail "/usr/bin/airlock is not root-owned 0755"
root=$work/dpkg-root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
: >"$root/var/lib/dpkg/status"
dpkg --root="$root" --force-not-root --force-script-chrootless --log=/dev/null -i "$deb" >/dev/null 2>&1 || fail "dpkg --root -i"
"$root/usr/bin/airlock" --version | grep -qx "$version" || fail "the installed binary"
cmp -s "$root/usr/bin/airlock" "$bin" || fail "the installed binary differs from the release"
ok "the .deb: control, contents, root-owned 0755 binary, no Depends; dpkg --root installs it and it runs"

# 3. The tarball.
tar -tzf "$tarball" >"$work/tarlist"
for path in airlock LICENSE README.md share/man/man1/airlock.1.gz share/bash-completion/completions/airlock; do
    grep -qx "airlock-$version-linux-$arch/$path" "$work/tarlist" || fail "the tarball lacks $path"
done
ok "the tarball: binary, man page, completions, LICENSE, README"

# 4. The self-carry round trip.
fresh self
(
    cd "$work/w"
    "$bin" key generate --out keys/team >/dev/null 2>&1
    "$bin" seal --self --self-deb "$deb" --key keys/team.key --out self.airlock --store outside payload >/dev/null 2>&1 || fail "seal --self"
    mkdir check && cd check && tar -xf ../self.airlock
    sha256sum -c SHA256SUMS >/dev/null || fail "sha256sum -c SHA256SUMS"
    key=$(openssl pkey -pubin -in ../keys/team.pub -outform DER | sha256sum | cut -d' ' -f1)
    openssl pkeyutl -verify -pubin -inkey ../keys/team.pub -rawin -in manifest.json -sigfile "signatures/$key.sig" >/dev/null \
        || fail "openssl pkeyutl -verify"
    digest=$(sha256sum "$bin" | cut -d' ' -f1)
    grep -q "blobs/sha256/$digest" VERIFY.md || fail "VERIFY.md does not name the carried binary"
    echo "$digest  blobs/sha256/$digest" | sha256sum -c >/dev/null || fail "the carried binary's sha256"
    cd ..
    "$bin" trust add keys/team.pub --store inside >/dev/null 2>&1
    "$bin" import self.airlock --store inside >/dev/null 2>&1 || fail "import of the self bundle"
    "$bin" export airlock --out exported --store inside >/dev/null 2>&1 || fail "export airlock"
    exported=$(find exported -type f | head -1)
    cmp -s "$exported" "$bin" || fail "the exported binary differs from the release"
    chmod 0755 "$exported"
    "./$exported" self verify --store inside >/dev/null || fail "self verify of the exported binary"
)
other=$(pwd)/.build/debug/airlock
if [ -x "$other" ]; then
    status=0
    "$other" self verify --store "$work/w/inside" >/dev/null 2>&1 || status=$?
    [ "$status" -eq 1 ] || fail "self verify of another build exited $status, not 1"
fi
"$bin" self verify --store "$work/w/inside" >/dev/null || fail "self verify of the release itself"
ok "seal --self: VERIFY.md's stock-tool check, import, export airlock, self verify (another build: exit 1)"
echo "release-test: $passed checks passed"
