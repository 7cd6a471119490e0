# Sluice: the two commands are `make run` and `make test`.
JOBS      ?= $(shell nproc)
BUILD     ?= build
ASAN      ?= build-asan
FUZZ      ?= build-fuzz
PORT      ?= 4566
DATA      ?= ./data
FUZZ_SECS ?= 15
MAKEFLAGS += --no-print-directory

.PHONY: all build asan deps deps-test deps-bench run test unit integration fuzz fuzz-build bench bench-quick format clean

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan:
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)

run: deps build
	@mkdir -p $(DATA)
	./$(BUILD)/sluiced --bind 127.0.0.1 --port $(PORT) --data-dir $(DATA)

# Every test: unit tests (plain and sanitized), integration tests against the plain and the
# sanitized server (in parallel), and a short run of every fuzz target.
test: deps-test build asan fuzz-build
	@scripts/run-tests.sh $(BUILD) $(ASAN) $(FUZZ) $(FUZZ_SECS)

unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

integration: build
	@SLUICED=$(BUILD)/sluiced tests/integration/run.sh

fuzz-build:
	@CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ) -j $(JOBS)

fuzz: fuzz-build
	@for f in $(FUZZ)/fuzz_*; do echo "== $$f"; $$f -max_total_time=60 tests/fuzz/corpus/$$(basename $$f) || exit 1; done

# The bench packages first: the peers' client libraries must be there when cmake configures.
deps-bench:
	@scripts/install-deps.sh bench

bench: deps-bench build
	@BUILD=$(abspath $(BUILD)) bench/run.sh full

bench-quick: deps-bench build
	@BUILD=$(abspath $(BUILD)) bench/run.sh quick

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
