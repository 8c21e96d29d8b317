# mlcops — every entry point sets up what it needs on a fresh Debian 12 machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := $(CURDIR)/.venv
STAMP := $(VENV)/.installed
PYTHON ?= python3
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PY_COLORS := 1
INVENTORY ?= inventory/local
PYTEST_ARGS ?=

.PHONY: help setup engine image lint test test-unit test-molecule demo bench docs clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

setup: $(STAMP) ## Create the virtualenv with pinned tools
	@# The editable install leaves mlcops uncompiled, and PYTHONDONTWRITEBYTECODE (set on CI
	@# machines) would have every `mlcops` start compile it again: compile what changed.
	@$(VENV)/bin/python -m compileall -q python/mlcops

engine: ## Install Docker, debootstrap, apt-utils, the OCI registry (GHCR stand-in) from Debian; start dockerd
	@command -v dockerd >/dev/null && command -v debootstrap >/dev/null && command -v apt-ftparchive >/dev/null \
	  && command -v docker-registry >/dev/null && command -v htpasswd >/dev/null && command -v openssl >/dev/null || { \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    docker.io debootstrap apt-utils gnupg docker-registry apache2-utils openssl; }
	@docker info >/dev/null 2>&1 || { \
	  (systemctl start docker 2>/dev/null || (setsid nohup dockerd >/var/log/mlcops-dockerd.log 2>&1 &)); \
	  for _ in $$(seq 60); do docker info >/dev/null 2>&1 && exit 0; sleep 1; done; \
	  echo "dockerd did not start: see /var/log/mlcops-dockerd.log" >&2; exit 1; }

image: setup engine ## Build the local hosts' base image (only when its recipe changed)
	@mlcops base-image

lint: setup ## ansible-lint (production), yamllint, ruff, mypy --strict
	yamllint --strict .
	ansible-lint --profile production
	ruff check python tests roles molecule examples
	ruff format --check python tests roles molecule examples
	mypy
	actionlint
	zizmor --offline --quiet .github/workflows
	python -m mlcops.roledocs --check

test-unit: setup ## Unit tests and input-validation tests (no container)
	pytest -m 'not slow' $(PYTEST_ARGS)

test: setup image lint ## Everything CI runs: lint, unit, input validation, molecule
	pytest $(PYTEST_ARGS)

demo: image ## The whole loop: local hosts, release of the example to a local registry, health and release reports
	python examples/demo.py $(DEMO_ARGS)

bench: image ## Provisioning, pipeline, fleet API-call and CLI-overhead figures
	python tests/bench/bench_provision.py
	python tests/bench/bench_pipeline.py
	python tests/bench/bench_fleet.py
	python tests/bench/bench_cli.py

docs: setup ## Regenerate the role READMEs' variable tables from the argument specs
	python -m mlcops.roledocs --write

clean: ## Remove the local hosts
	-mlcops down --all
