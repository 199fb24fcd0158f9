# Build, test and run the network filters: the TCP connection logger and tcp_guard.
# `make help` lists the targets. Every target installs what it needs first.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# as docker-compose.yml reads them (${VAR:-default}): unset or empty means the default
FOLDER_PLUGIN := $(or $(FOLDER_PLUGIN),./build)
ENVOY_CONCURRENCY := $(or $(ENVOY_CONCURRENCY),1)
# the wasm logger's level, which docker-compose.yml passes to Envoy as --component-log-level wasm:...
WASM_LOG_LEVEL := $(or $(WASM_LOG_LEVEL),info)
# the Envoy configuration of make local and make up, a path inside the project:
# make local CONFIG=examples/tcp_guard/envoy.yaml (docker-compose.yml reads it as ENVOY_CONFIG)
ENVOY_CONFIG := $(or $(CONFIG),$(ENVOY_CONFIG),envoy/envoy.yaml)
export FOLDER_PLUGIN ENVOY_CONCURRENCY WASM_LOG_LEVEL ENVOY_CONFIG

# what docker-compose.yml mounts, made readable by Envoy's uid 101
READABLE_BY_ENVOY = scripts/readable-by-envoy.sh envoy build "$(FOLDER_PLUGIN)"

# Two test files at a time, whatever the cores: most end-to-end files spend their time waiting on
# sockets, timers and child processes, so two files share 2 cores well (node's default is one).
NODE_TEST := node --import tsx --test --test-concurrency=2 \
	--test-reporter=spec --test-reporter-destination=stdout \
	--test-reporter=./tests/helpers/summary-reporter.mjs --test-reporter-destination=stdout
# The slowest files first: two run at a time, and a long file begun last would run alone at the end.
SLOW_NODE_TESTS := tests/e2e/cli.test.ts tests/e2e/dev.test.ts tests/config/new-filter.test.ts tests/oci/image.test.ts \
	tests/e2e/stuck-plugin.test.ts tests/e2e/shutdown.test.ts tests/fuzz/plugin.test.ts tests/config/filter-check.test.ts
NODE_TESTS := $(SLOW_NODE_TESTS) $(filter-out $(SLOW_NODE_TESTS),$(wildcard tests/config/*.test.ts tests/host/*.test.ts \
	tests/testing/*.test.ts tests/plugin/*.test.ts examples/*/*.test.ts tests/fuzz/*.test.ts tests/e2e/*.test.ts tests/oci/*.test.ts))
# What every module is built from: the kit and the toolchain's settings. A filter's module also
# depends on its own folder only, so a change in one filter rebuilds that filter alone.
KIT_SOURCES := $(wildcard assembly/kit/*.ts) asconfig.json package-lock.json
# Run before asc on every module: the mistakes asc compiles silently fail the build instead
# (a misspelt callback, a plugin without configure/describe, an entry without the ABI exports).
CHECK_FILTER := node --import tsx scripts/check-filter.ts
# make oci packs one module; another filter: make oci OCI_MODULE=build/tcp_guard.wasm OCI_ROOT_ID=tcp_guard
OCI_MODULE ?= build/main.wasm
OCI_ROOT_ID ?= tcp_connection_logger

.PHONY: help install build modules readable oci test test-assembly test-node test-filter lint local local-remote up down e2e-envoy bench bench-quick clean new-filter dev docs docs-check

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-14s %s\n", $$1, $$2 }'

install: node_modules/.package-lock.json ## install the pinned dependencies (npm ci)

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# The logger (assembly/logger/) is built to build/main.wasm, the file envoy/envoy.yaml names.
# Every folder examples/<name>/ with an index.ts is a filter, built to build/<name>.wasm.
EXAMPLES := $(patsubst examples/%/index.ts,%,$(wildcard examples/*/index.ts))
FILTER_MODULES := build/main.wasm $(patsubst %,build/%.wasm,$(EXAMPLES))

# asc compiles on one core: the modules are built as many at a time as the machine has cores
# (BUILD_JOBS), each rule still rebuilding only what changed.
BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

build: install ## compile every filter (release): build/main.wasm (the logger), build/<name>.wasm for examples/<name>/; and build/debug.wasm
	@$(MAKE) --no-print-directory -j$(BUILD_JOBS) modules

modules: $(FILTER_MODULES) build/debug.wasm
	@:

build/main.wasm: node_modules/.package-lock.json $(KIT_SOURCES) $(wildcard assembly/logger/*.ts)
	$(CHECK_FILTER) assembly/logger/index.ts
	npx asc assembly/logger/index.ts --target release
	@$(READABLE_BY_ENVOY)

build/debug.wasm: node_modules/.package-lock.json $(KIT_SOURCES) $(wildcard assembly/logger/*.ts)
	$(CHECK_FILTER) assembly/logger/index.ts
	npx asc assembly/logger/index.ts --target debug
	@$(READABLE_BY_ENVOY)

# An example: the release options of asconfig.json, written to its own file. Its tests
# (examples/<name>/*.test.ts) are not part of the module.
.SECONDEXPANSION:
build/%.wasm: examples/%/index.ts node_modules/.package-lock.json $(KIT_SOURCES) $$(filter-out $$(wildcard examples/$$*/*.test.ts),$$(wildcard examples/$$*/*.ts))
	$(CHECK_FILTER) $<
	npx asc $< --target release -b $@
	@$(READABLE_BY_ENVOY)

readable: ## make envoy/ and the plugin folder readable by Envoy's uid 101 (done by build and up)
	@$(READABLE_BY_ENVOY)

oci: install $(OCI_MODULE) ## Istio Wasm image layout of a module in build/oci/ROOT_ID (OCI_MODULE, OCI_ROOT_ID)
	npx tsx scripts/oci/cli.ts --module "$(OCI_MODULE)" --root-id "$(OCI_ROOT_ID)" --out "build/oci/$(OCI_ROOT_ID)"

test: $(if $(FILTER),test-filter,build test-assembly lint test-node) ## run every test: as-pect specs, type and config checks, node:test suites; FILTER=name: one example's alone

# make test FILTER=name: build/name.wasm alone, then the as-pect specs that import examples/name/,
# examples/name/*.test.ts, and tests/e2e/name.test.ts (its _ written -) if there is one.
ifneq ($(filter test,$(MAKECMDGOALS)),)
ifneq ($(FILTER),)
ifneq ($(words $(FILTER))$(filter-out $(EXAMPLES),$(FILTER)),1)
$(error FILTER=$(FILTER) is not one example; the examples are: $(EXAMPLES))
endif
endif
endif
FILTER_SPECS = $(shell grep -l -F "examples/$(FILTER)/" tests/assembly/*.spec.ts)
FILTER_TESTS = $(wildcard examples/$(FILTER)/*.test.ts tests/e2e/$(FILTER).test.ts tests/e2e/$(subst _,-,$(FILTER)).test.ts)

test-filter: node_modules/.package-lock.json build/$(FILTER).wasm
	$(if $(FILTER_SPECS),node tests/assembly/run.cjs "--file=^($(subst $() ,|,$(FILTER_SPECS)))$$")
	$(if $(FILTER_TESTS),$(NODE_TEST) $(sort $(FILTER_TESTS)),@echo "examples/$(FILTER)/ has no *.test.ts")

test-assembly: install ## the plugin's as-pect unit specs
	node tests/assembly/run.cjs

test-node: build build/dispatch-probe.wasm ## the node:test suites: config, host, release filters, fuzz, end to end
	$(NODE_TEST) $(NODE_TESTS)

# A filter on the kit, built as the filters are, that tests/plugin/dispatch.test.ts drives.
build/dispatch-probe.wasm: node_modules/.package-lock.json $(KIT_SOURCES) tests/plugin/dispatch-probe/index.ts
	$(CHECK_FILTER) tests/plugin/dispatch-probe/index.ts
	npx asc tests/plugin/dispatch-probe/index.ts --target release -b build/dispatch-probe.wasm

lint: install ## type-check the TypeScript; validate the Envoy configs, the Istio WasmPlugin, the CI workflows
	npx tsc -p .
	npx tsx host/config/lint.ts envoy/envoy.yaml envoy/envoy-remote.yaml $(wildcard examples/*/envoy.yaml)
	npx tsx scripts/lint-istio.ts deploy/istio/wasmplugin.yaml
	@for workflow in .github/workflows/*.yml; do npx action-validator "$$workflow" || exit 1; echo "$$workflow: OK"; done

new-filter: install ## create examples/NAME/, a filter that builds, passes its tests and runs as it is: make new-filter NAME=my_filter
	@node --import tsx scripts/new-filter.ts "$(NAME)"

dev: install ## run the local host on CONFIG, rebuilding the modules it loads and restarting it on each save (Ctrl-C stops)
	@node --import tsx scripts/dev.ts -c "$(ENVOY_CONFIG)" --plugin-folder "$(FOLDER_PLUGIN)" --concurrency "$(ENVOY_CONCURRENCY)" \
		--component-log-level "wasm:$(WASM_LOG_LEVEL)" $(ARGS)

local: build ## run the local host on envoy/envoy.yaml, or CONFIG=examples/tcp_guard/envoy.yaml (FOLDER_PLUGIN, ENVOY_CONCURRENCY, WASM_LOG_LEVEL, ARGS=--trace ...)
	@node --import tsx host/cli.ts -c "$(ENVOY_CONFIG)" --plugin-folder "$(FOLDER_PLUGIN)" --concurrency "$(ENVOY_CONCURRENCY)" \
		--component-log-level "wasm:$(WASM_LOG_LEVEL)" $(ARGS)

local-remote: build ## the local host on envoy/envoy-remote.yaml: main.wasm fetched over HTTP from build/ (port 8088)
	scripts/local-remote.sh $(ARGS)

up: build readable ## run Envoy with the plugin in Docker (docker-compose up), on envoy/envoy.yaml or CONFIG=...
	scripts/compose.sh up

down: ## stop the Docker set-up
	scripts/compose.sh down

e2e-envoy: ## check a running `make up` set-up end to end (skipped without a Docker engine)
	scripts/e2e-envoy.sh

bench: build ## benchmarks: each filter against a same-calls and a do-nothing baseline, PASS/MISS per target, bench/results.json
	npx tsx bench/run.ts

bench-quick: build ## the benchmarks with fewer iterations
	npx tsx bench/run.ts --quick

clean: ## remove build outputs
	rm -rf build bench/build bench/results.json

docs: install ## write docs/kit-api.md from the kit's sources (scripts/kit-reference.ts)
	npx tsx scripts/kit-reference.ts

docs-check: build ## run every output block of README.md and docs/ again and compare: the slow ones too (make bench, the tutorial), several minutes
	npx tsx scripts/kit-reference.ts --check
	npx tsx scripts/docs-check.ts
