#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the Wasm guest target the plugin
# crates need and the contract tests' outside tools, runs the guest SDK's and example plugins' own unit tests natively, then
# every host test (unit + end-to-end, with the plugins compiled to components).
set -euo pipefail
cd "$(dirname "$0")"

rustup target add wasm32-wasip2 >/dev/null

# The outside tools the contract tests drive (schemathesis, openapi-spec-validator,
# openapi-python-client, the MCP conformance suite), pinned, into target/contract.
tests/contract/setup.sh

host_target="$(rustc -vV | sed -n 's/^host: //p')"
cargo test --manifest-path plugins/Cargo.toml --target "$host_target" \
  --target-dir target/plugins --quiet

# The release binary that the README's commands run (tests/e2e/readme.rs), built once here
# so that no test waits minutes on a build: as `cargo run --release` builds it, and as
# `./bench.sh` builds it with the benchmark harness.
cargo build --release --quiet
cargo build --release --quiet -p switchboard -p switchboard-bench --bins

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
