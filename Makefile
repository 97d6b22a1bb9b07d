# tcpseal: the two commands a newcomer needs are `make run` and `make test`.
# Both install any missing Debian packages first, then configure and build.

SHELL := /bin/bash

BUILD_DIR   ?= build
ASAN_DIR    ?= build-asan
FUZZ_DIR    ?= build-fuzz
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 20
PYTEST      := /usr/bin/python3 -m pytest
VECTORS     ?= ../shared/vectors/cacophony.txt

# Debian packages needed to build and test.
PACKAGES := build-essential cmake pkg-config \
	libsodium-dev libssl-dev openssl libevent-dev libsqlite3-dev \
	libinih-dev libedit-dev libjansson-dev libcmocka-dev \
	python3 python3-pytest python3-pexpect testssl.sh
# Extra packages for the sanitizer and fuzzing passes of .ci/run.
CI_PACKAGES := clang libclang-rt-14-dev

.PHONY: all deps ci-deps configure build run test unit e2e vectors sanitize fuzz clean

all: build

# Install only what is missing; nothing runs when every package is present.
define install_missing
	@missing=""; \
	for p in $(1); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing missing packages:$$missing"; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $$missing; \
	fi
endef

deps:
	$(call install_missing,$(PACKAGES))

ci-deps: deps
	$(call install_missing,$(CI_PACKAGES))

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	./$(BUILD_DIR)/bin/tcp_server start

unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure --no-tests=error -j $(JOBS)

vectors: build
	./$(BUILD_DIR)/bin/noise_vectors $(VECTORS)

e2e: build
	TCPSEAL_BIN=$(CURDIR)/$(BUILD_DIR)/bin $(PYTEST) -q tests/e2e

test: unit vectors e2e

# Unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
sanitize: ci-deps
	@cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
		-DTS_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_DIR) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --test-dir $(ASAN_DIR) --output-on-failure --no-tests=error -j $(JOBS)

# Every fuzz target for FUZZ_SECONDS each, starting from its seed corpus.
fuzz: ci-deps
	@cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
		-DTS_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzzers
	@set -e; for bin in $(FUZZ_DIR)/bin/fuzz_*; do \
		name=$$(basename $$bin); \
		corpus=$(FUZZ_DIR)/corpus/$$name; mkdir -p $$corpus; \
		seeds=fuzz/seeds/$$name; [ -d $$seeds ] || seeds=""; \
		echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
		$$bin -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/ $$corpus $$seeds 2>&1 \
			| grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY)' ; \
		test $${PIPESTATUS[0]} -eq 0 || { echo "fuzz: $$name FAILED"; exit 1; }; \
	done

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
