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

.PHONY: help setup setup-python setup-node setup-infra build test test-rust test-emulator test-infra lint drill clean-venv

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

# The local Step Functions runner (tests/sfn): pinned by its package-lock.json.
NODE_STAMP := tests/sfn/node_modules/.package-lock.json
$(NODE_STAMP): tests/sfn/package.json tests/sfn/package-lock.json
	cd tests/sfn && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

setup-node: $(NODE_STAMP)

setup-infra:
	$(INFRA_ENV) bash tools/infra/setup.sh

setup: setup-python setup-node setup-infra

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

drill: setup-python setup-node
	cargo run --quiet -p drover-drill -- $(DRILL_ARGS)

clean-venv:
	rm -rf $(VENV)

# A blue/green deployment of the ECS service through CodeDeploy, region after region (a region
# that does not succeed stops the rest), followed until it succeeds, rolls back or times out:
#   make deploy IMAGE=v42 REGIONS="us-east-1 us-west-2" APP=shop [DEPLOY_ARGS="--timeout-minutes 60"]
# IMAGE is a tag, a digest (@sha256:…) or a full reference; AWS credentials from the usual chain.
.PHONY: deploy
deploy:
	cargo run --quiet -p drover-deploy -- --image "$(IMAGE)" --regions "$(REGIONS)" $(if $(APP),--app "$(APP)") $(DEPLOY_ARGS)

# make bench: the release zips of the Lambdas (cargo lambda, x86_64; arm64 only when its rustup
# target is already installed), then bench/ measures cold start, warm latency, peak RSS and size
# against a Python/boto3 baseline, the orchestration overhead and the modeled RTO vs its floor.
# Writes reports/bench.md and reports/bench.json. BENCH_ARGS: --cold N --warm-per-process N --runs N --no-drill
BENCH_FUNCTIONS := promote-db scale-compute shift-traffic notify decide probe readiness
BENCH_PATH      := PATH="$(CURDIR)/$(VENV)/bin:$$PATH"

.PHONY: bench
bench: setup-python
	$(BENCH_PATH) cargo lambda build --release --output-format zip $(addprefix -p ,$(BENCH_FUNCTIONS))
	@if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then \
		$(BENCH_PATH) cargo lambda build --release --arm64 --output-format zip --lambda-dir target/lambda-arm64 $(addprefix -p ,$(BENCH_FUNCTIONS)); \
	else \
		echo "bench: arm64 skipped (rustup target aarch64-unknown-linux-gnu not installed; not downloaded)"; \
	fi
	DROVER_PYTHON="$(CURDIR)/$(VPY)" cargo run --quiet -p drover-bench -- $(BENCH_ARGS)
