# The two commands of the README:
#   make run     build and run the main sample (the HTTP server on 127.0.0.1:8080)
#   make test    build and run every test (ctest), then the sanitizer suite
# Both install missing Debian packages first (tools/setup-debian.sh).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
BUILD := build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-plain test-sanitize test-tsan fuzz fuzz-deps bench bench-deps clean

all: build

deps:
	@./tools/setup-debian.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

ADDR ?= 127.0.0.1:8080
run: build
	./$(BUILD)/bin/http_server --addr $(ADDR)

# Everything: the plain suite, then the same suite under ASan+UBSan; the
# last lines are ctest's counts for both.
test: test-plain test-sanitize
	@echo "== plain, then ASan+UBSan:"
	@grep -h "tests passed" $(BUILD)/ctest-plain.log $(BUILD)/sanitize/ctest-sanitize.log

test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) | tee $(BUILD)/ctest-plain.log

# The sanitizer build lives in build/sanitize; its executables go to
# build/bin/ with an -asan suffix.
test-sanitize: deps
	cmake -S . -B $(BUILD)/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DGORT_SANITIZE=address,undefined -DGORT_BIN_DIR=$(CURDIR)/$(BUILD)/bin -DGORT_EXE_SUFFIX=-asan \
	  -DGORT_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD)/sanitize -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(BUILD)/sanitize --output-on-failure -j $(JOBS) | tee $(BUILD)/sanitize/ctest-sanitize.log

# The ThreadSanitizer build lives in build/tsan (optimised: TSan's own cost
# is 5-15x already); its executables go to build/bin/ with a -tsan suffix.
# Fiber switches are annotated (scheduler/.../tsan_fiber.hpp). Any report
# fails the test (TSan's exit code 66); tools/tsan.supp says what is
# suppressed and why.
TSAN_OPTIONS_GORT := halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tools/tsan.supp
test-tsan: deps
	cmake -S . -B $(BUILD)/tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DGORT_SANITIZE=thread -DGORT_BIN_DIR=$(CURDIR)/$(BUILD)/bin -DGORT_EXE_SUFFIX=-tsan \
	  -DGORT_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD)/tsan -j $(JOBS)
	TSAN_OPTIONS=$(TSAN_OPTIONS_GORT) \
	  ctest --test-dir $(BUILD)/tsan --output-on-failure -j $(JOBS) | tee $(BUILD)/tsan/ctest-tsan.log

# libFuzzer targets (fuzz/), built with clang++-14 in build/fuzz, each run
# FUZZ_SECONDS on a copy of its seed corpus (tools/fuzz-run).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz-deps:
	@./tools/setup-debian.sh fuzz

fuzz: fuzz-deps
	cmake -S . -B $(BUILD)/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DGORT_FUZZ=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD)/fuzz -j $(JOBS)
	./tools/fuzz-run --seconds $(FUZZ_SECONDS) --bin $(BUILD)/fuzz/bin $(FUZZ_TARGETS)

# Clang's thread-safety analysis over the libraries (GORT_THREAD_SAFETY:
# the lock annotations, thread_annotations.hpp), built with clang++-14 in
# build/tsa with -Wthread-safety(-beta) as errors. Compile only, unoptimised:
# nothing runs. Its configure step also checks that known lock mistakes are
# rejected (tests/tsa/negative.cpp).
.PHONY: check-thread-safety
check-thread-safety: fuzz-deps
	cmake -S . -B $(BUILD)/tsa -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 \
	  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 -DGORT_THREAD_SAFETY=ON \
	  -DGORT_BUILD_TESTS=OFF -DGORT_BUILD_SAMPLES=OFF -DGORT_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS)
	cmake --build $(BUILD)/tsa -j $(JOBS) --target gort

bench-deps:
	@./tools/setup-debian.sh bench

bench: bench-deps build
	./bench/run

clean:
	rm -rf $(BUILD)
