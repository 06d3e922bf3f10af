#!/usr/bin/env bash
# Installs the outside tools the contract tests drive, from the package registries, pinned:
# openapi-spec-validator, schemathesis and openapi-python-client into a Python venv
# (requirements.lock), and the MCP conformance suite with npm ci (package-lock.json).
# Idempotent: a venv or node_modules whose lock has not changed is kept.
# Usage: tests/contract/setup.sh [TOOLS_DIR]   (default: target/contract)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tools="${1:-$root/target/contract}"
mkdir -p "$tools"

venv="$tools/venv"
stamp="$venv/.requirements.lock"
if ! cmp -s "$here/requirements.lock" "$stamp" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
    --requirement "$here/requirements.lock"
  cp "$here/requirements.lock" "$stamp"
fi

node="$tools/node"
if ! cmp -s "$here/package-lock.json" "$node/package-lock.json" 2>/dev/null; then
  rm -rf "$node"
  mkdir -p "$node"
  cp "$here/package.json" "$here/package-lock.json" "$node/"
  (cd "$node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
echo "contract tools ready in $tools"
