#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the Wasm guest target the plugin
# fixtures need, then runs every test of the workspace (unit + end-to-end).
set -euo pipefail
cd "$(dirname "$0")"

rustup target add wasm32-wasip2 >/dev/null

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
