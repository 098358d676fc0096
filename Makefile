# drover — one entry point for set-up, build, test and the game-day drill.
# Every target installs what it needs, idempotently, from the project's own pinned files.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON  ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
REQS    := tests/emulator/requirements.txt
STAMP   := $(VENV)/.installed

.PHONY: help setup setup-python setup-infra build test test-rust test-emulator test-infra lint drill clean-venv

help:
	@echo "make setup          create .venv with the pinned emulator packages (and the infra tools)"
	@echo "make test           every test: Rust (unit, property, adapters against the emulator), emulator pytest, infra checks"
	@echo "make drill          a failover game day against the emulator, with a timeline"
	@echo "make lint           rustfmt and clippy"

# The venv is rebuilt only when a requirements file changes.
$(STAMP): $(REQS)
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r $(REQS)
	@touch $(STAMP)

# The infra tools (terraform, the stand-in provider, checkov) live in their own venv under
# .tools/ so that checkov's pins cannot change the emulator's boto3.
INFRA_ENV := DROVER_VENV=$(CURDIR)/.tools/infra-venv

setup-python: $(STAMP)

setup-infra:
	$(INFRA_ENV) bash tools/infra/setup.sh

setup: setup-python setup-infra

# tools/tf-standin is a workspace member and needs protoc: setup-infra installs it.
build: setup
	cargo build --workspace --all-targets

# nextest when the machine has it (it runs test binaries in parallel), cargo test otherwise.
test-rust: setup
	@if cargo nextest --version >/dev/null 2>&1; then \
		cargo nextest run --workspace --no-fail-fast; \
	else \
		cargo test --workspace --no-fail-fast; \
	fi

test-emulator: setup-python
	$(VPY) -m pytest tests/emulator -q

test-infra: setup-infra
	$(INFRA_ENV) bash tools/infra/check.sh

test: test-rust test-emulator test-infra

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

drill: setup-python
	cargo run --quiet -p drover-drill -- $(DRILL_ARGS)

clean-venv:
	rm -rf $(VENV)
