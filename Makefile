# Build, test and run the network filters: the TCP connection logger and tcp_guard.
# `make help` lists the targets. Every target installs what it needs first.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# as docker-compose.yml reads them (${VAR:-default}): unset or empty means the default
FOLDER_PLUGIN := $(or $(FOLDER_PLUGIN),./build)
ENVOY_CONCURRENCY := $(or $(ENVOY_CONCURRENCY),1)
# the wasm logger's level, which docker-compose.yml passes to Envoy as --component-log-level wasm:...
WASM_LOG_LEVEL := $(or $(WASM_LOG_LEVEL),info)
export FOLDER_PLUGIN ENVOY_CONCURRENCY WASM_LOG_LEVEL

# what docker-compose.yml mounts, made readable by Envoy's uid 101
READABLE_BY_ENVOY = scripts/readable-by-envoy.sh envoy/envoy.yaml build "$(FOLDER_PLUGIN)"

NODE_TEST := node --import tsx --test \
	--test-reporter=spec --test-reporter-destination=stdout \
	--test-reporter=./tests/helpers/summary-reporter.mjs --test-reporter-destination=stdout
NODE_TESTS := $(wildcard tests/config/*.test.ts tests/host/*.test.ts tests/plugin/*.test.ts \
	tests/fuzz/*.test.ts tests/e2e/*.test.ts tests/oci/*.test.ts)
PLUGIN_SOURCES := $(wildcard assembly/*/*.ts) asconfig.json package-lock.json
# make oci packs one module; another filter: make oci OCI_MODULE=build/tcp_guard.wasm OCI_ROOT_ID=tcp_guard
OCI_MODULE ?= build/main.wasm
OCI_ROOT_ID ?= tcp_connection_logger

.PHONY: help install build readable oci test test-assembly test-node lint local local-remote up down e2e-envoy bench bench-quick clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-14s %s\n", $$1, $$2 }'

install: node_modules/.package-lock.json ## install the pinned dependencies (npm ci)

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build: build/main.wasm build/debug.wasm build/tcp_guard.wasm ## compile the filters: build/main.wasm (the logger, release), build/debug.wasm, build/tcp_guard.wasm

build/main.wasm: node_modules/.package-lock.json $(PLUGIN_SOURCES)
	npx asc assembly/logger/index.ts --target release
	@$(READABLE_BY_ENVOY)

build/debug.wasm: node_modules/.package-lock.json $(PLUGIN_SOURCES)
	npx asc assembly/logger/index.ts --target debug
	@$(READABLE_BY_ENVOY)

# The release options of asconfig.json, written to another file.
build/tcp_guard.wasm: node_modules/.package-lock.json $(PLUGIN_SOURCES)
	npx asc assembly/tcp_guard/index.ts --target release -b build/tcp_guard.wasm
	@$(READABLE_BY_ENVOY)

readable: ## make envoy/envoy.yaml and the plugin folder readable by Envoy's uid 101 (done by build and up)
	@$(READABLE_BY_ENVOY)

oci: install $(OCI_MODULE) ## Istio Wasm image layout of a module in build/oci/ROOT_ID (OCI_MODULE, OCI_ROOT_ID)
	npx tsx scripts/oci/cli.ts --module "$(OCI_MODULE)" --root-id "$(OCI_ROOT_ID)" --out "build/oci/$(OCI_ROOT_ID)"

test: build test-assembly lint test-node ## run every test: as-pect specs, type and config checks, node:test suites

test-assembly: install ## the plugin's as-pect unit specs
	node tests/assembly/run.cjs

test-node: build build/dispatch-probe.wasm ## the node:test suites: config, host, release filters, fuzz, end to end
	$(NODE_TEST) $(NODE_TESTS)

# A filter on the kit, built as the filters are, that tests/plugin/dispatch.test.ts drives.
build/dispatch-probe.wasm: node_modules/.package-lock.json $(PLUGIN_SOURCES) tests/plugin/dispatch-probe/index.ts
	npx asc tests/plugin/dispatch-probe/index.ts --target release -b build/dispatch-probe.wasm

lint: install ## type-check the TypeScript; validate the Envoy configs, the Istio WasmPlugin, the CI workflows
	npx tsc -p .
	npx tsx host/config/lint.ts envoy/envoy.yaml envoy/envoy-remote.yaml
	npx tsx scripts/lint-istio.ts deploy/istio/wasmplugin.yaml
	@for workflow in .github/workflows/*.yml; do npx action-validator "$$workflow" || exit 1; echo "$$workflow: OK"; done

local: build ## run the local host with envoy/envoy.yaml (FOLDER_PLUGIN, ENVOY_CONCURRENCY, WASM_LOG_LEVEL, ARGS=--trace ...)
	@node --import tsx host/cli.ts -c envoy/envoy.yaml --plugin-folder "$(FOLDER_PLUGIN)" --concurrency "$(ENVOY_CONCURRENCY)" \
		--component-log-level "wasm:$(WASM_LOG_LEVEL)" $(ARGS)

local-remote: build ## the local host on envoy/envoy-remote.yaml: main.wasm fetched over HTTP from build/ (port 8088)
	scripts/local-remote.sh $(ARGS)

up: build readable ## run Envoy with the plugin in Docker (docker-compose up)
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
