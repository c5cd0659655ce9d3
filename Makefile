# Airlock: `make demo` and `make test` work on a fresh Debian/Ubuntu machine with Swift installed.
PREFIX ?= /usr/local
SWIFT ?= swift

.PHONY: all deps test-deps build debug test demo e2e bench install clean format

all: build

deps:
	@./scripts/install-deps.sh

# The tests also run the sandbox over a Docker engine and Podman they set up themselves.
test-deps:
	@./scripts/install-deps.sh --test

build: deps
	$(SWIFT) build -c release --product airlock

debug: deps
	$(SWIFT) build --product airlock

test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: debug
	@./scripts/demo.sh .build/debug/airlock

e2e: debug
	@./scripts/e2e.sh .build/debug/airlock

bench: build
	@./bench/run.sh .build/release/airlock
	@./bench/python-build.sh .build/release/airlock

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 .build/release/airlock $(DESTDIR)$(PREFIX)/bin/airlock

format:
	$(SWIFT) format -i -r Sources Tests

clean:
	rm -rf .build demo-output e2e-output bench/work
