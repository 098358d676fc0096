#!/usr/bin/env bash
# Offline checks of infra/ (run tools/infra/setup.sh first): terraform fmt, init + validate,
# terraform test (mock_provider, plan-time assertions), checkov. Every check runs; the exit
# status is nonzero when any failed. Each check's wall time is printed.
#
# Environment: DROVER_VENV (default <repo>/.venv), TERRAFORM (a terraform to use).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
INFRA="$ROOT/infra"
TOOLS="$ROOT/.tools"
VENV="${DROVER_VENV:-$ROOT/.venv}"

if [ ! -f "$TOOLS/terraformrc" ]; then
  echo "[infra] not set up: run tools/infra/setup.sh" >&2
  exit 2
fi

if [ -n "${TERRAFORM:-}" ]; then
  TF="$TERRAFORM"
elif [ -x "$TOOLS/bin/terraform" ]; then
  TF="$TOOLS/bin/terraform" # setup found no usable terraform and installed the fallback
else
  TF="$(command -v terraform)" || { echo "[infra] no terraform: run tools/infra/setup.sh" >&2; exit 2; }
fi

export TF_CLI_CONFIG_FILE="$TOOLS/terraformrc"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
# Keep the stand-in's working data out of infra/.terraform (a real init may live there).
export TF_DATA_DIR="$TOOLS/tf-data"
unset TF_PLUGIN_CACHE_DIR TF_WORKSPACE

failed=()
log="$(mktemp)"

# The lock file init writes records the stand-in's hash: it must never be committed. Set any
# existing lock file aside for the run and put it back afterwards.
lock="$INFRA/.terraform.lock.hcl"
saved="$TOOLS/terraform.lock.hcl.saved"
if [ -f "$lock" ]; then mv -f "$lock" "$saved"; fi
restore() {
  rm -f "$log" "$lock"
  if [ -f "$saved" ]; then mv -f "$saved" "$lock"; fi
}
trap restore EXIT

check() { # check NAME COMMAND...
  local name="$1" start end status
  shift
  start="$(date +%s%N)"
  if "$@" >"$log" 2>&1; then status="ok"; else status="FAILED"; failed+=("$name"); fi
  end="$(date +%s%N)"
  if [ "$status" != "ok" ] || [ -n "${VERBOSE:-}" ]; then sed 's/^/    /' "$log"; fi
  local ms=$(((end - start) / 1000000))
  printf '[infra] %-9s %-6s %4d.%02ds\n' "$name" "$status" "$((ms / 1000))" "$((ms % 1000 / 10))"
}

check fmt "$TF" -chdir="$INFRA" fmt -check -recursive -diff -no-color
check init "$TF" -chdir="$INFRA" init -backend=false -input=false -no-color
check validate "$TF" -chdir="$INFRA" validate -no-color
check test "$TF" -chdir="$INFRA" test -no-color
# checkov drops a file it cannot parse within HCL_PARSE_TIMEOUT_SEC and still passes: allow
# a busy machine more time, and fail on any parsing error. The tests are not infrastructure
# (and python-hcl2 takes minutes on their long assertions).
checkov_run() {
  local out rc
  out="$(mktemp -d)"
  HCL_PARSE_TIMEOUT_SEC=120 "$VENV/bin/checkov" --directory "$INFRA" --framework terraform \
    --skip-path 'infra/tests' --skip-download --download-external-modules false --compact --quiet \
    --output cli --output json --output-file-path "console,$out/results.json"
  rc=$?
  "$VENV/bin/python" - "$out/results.json" <<'PY' || rc=1
import json
import sys

report = json.load(open(sys.argv[1]))
reports = report if isinstance(report, list) else [report]
errors = sum(r.get("summary", {}).get("parsing_errors", 0) for r in reports)
resources = sum(r.get("summary", {}).get("resource_count", 0) for r in reports)
if errors:
    sys.exit(f"checkov could not parse {errors} file(s)")
print(f"checkov: {resources} resources checked, no parsing errors")
PY
  rm -rf "$out"
  return "$rc"
}
check checkov checkov_run

if [ "${#failed[@]}" -gt 0 ]; then
  echo "[infra] failed: ${failed[*]}" >&2
  exit 1
fi
echo "[infra] all checks passed"
