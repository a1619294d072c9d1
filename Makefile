# fks — developer entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PYTEST_ARGS ?=

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml
	@echo ">> creating $(VENV) and installing the project (all three programs) with its dev dependency group"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=25.1'
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[all]' --group dev
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create .venv with the project and its test/lint tools

.PHONY: system-deps
system-deps: ## Install the Debian packages tests need (redis-server, wrk, openssl) when missing
	@hack/install-system-deps.sh

.PHONY: control-plane
control-plane: ## Build (or restore from cache) kube-apiserver, etcd, kwok, ... from Go modules
	@hack/control-plane/build.sh

.PHONY: demo
demo: venv system-deps control-plane ## The whole product locally: control plane, operator, fake exchange, executor, two alerts (Ctrl-C stops; DEMO_ARGS=--once)
	$(PY) -m hack.demo $(DEMO_ARGS)

.PHONY: lint
lint: venv ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: fmt
fmt: venv ## Format and auto-fix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: generate
generate: venv ## Write crds/ from the CRD models in operator/fks_operator/api/ (docs/crds.md#adding-a-field)
	$(PY) -m hack.generate_crds

.PHONY: test
test: venv system-deps control-plane ## Unit + integration tests (THE test command; .ci/run calls it)
	$(BIN)/pytest -m "unit or integration" $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: venv ## Unit tests only (no processes)
	$(BIN)/pytest -m unit $(PYTEST_ARGS)

.PHONY: test-integration
test-integration: venv system-deps control-plane ## Integration tests only (real local processes)
	$(BIN)/pytest -m integration $(PYTEST_ARGS)

.PHONY: e2e
e2e: venv control-plane ## kind e2e: node image, cluster, images, chart, examples, alerts, an order, rotation, GC (docs/kind.md)
	$(BIN)/pytest -m e2e tests/e2e -rs $(PYTEST_ARGS)

.PHONY: kind-node-image
kind-node-image: control-plane ## Build the kind node image offline from Debian + Go modules (cached; prints its name)
	@hack/kind/node-image.sh

.PHONY: cluster-up
cluster-up: venv control-plane ## Start the local control plane; prints the kubeconfig path
	$(PY) -m tests.harness.controlplane up

.PHONY: cluster-down
cluster-down: venv ## Stop the local control plane started by cluster-up
	$(PY) -m tests.harness.controlplane down

.PHONY: run-executor
run-executor: venv ## Run the executor on its embedded default config (dry-run, port 8000)
	$(BIN)/fks-executor

.PHONY: bench-intake
bench-intake: venv system-deps ## Webhook intake throughput/latency vs a bare endpoint (< 2 min)
	$(PY) bench/intake.py

.PHONY: bench-execution
bench-execution: venv ## Alert-to-order latency through the executor vs ccxt create_order direct, 30 ms exchange latency (~10 min)
	$(PY) bench/execution.py

.PHONY: bench-footprint
bench-footprint: venv ## Executor RSS idle and after 100,000 alerts, start to /ready, image sizes (IMAGE_PREFIX) (1-3 min)
	$(PY) bench/footprint.py

.PHONY: bench-operator
bench-operator: venv control-plane ## Operator scale on the local control plane: apply->Deployment, cold start of 1,000, RSS, write rate, resync requests (12-15 min)
	$(PY) -m bench.operator_scale

.PHONY: images
images: ## Build fks-executor:<version> and fks-operator:<version> (BASE_IMAGE, FKS_BUILD_CA: docs/images.md)
	@hack/docker/build-images.sh

.PHONY: chart-lint
chart-lint: ## helm lint --strict the chart (helm built from the Go module proxy once)
	@helm=$$(hack/tools/helm.sh) && $$helm lint --strict charts/fks-operator

.PHONY: clean
clean: ## Remove caches and runtime state (keeps the built control-plane binaries)
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis .cluster .logs
