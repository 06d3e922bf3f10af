#!/usr/bin/env bash
# The benchmark (BENCHMARKS.md): builds the service and the harness in release, then runs
# every scenario once and prints the Markdown report. Extra flags go to the harness, e.g.
# `./bench.sh --quick` or `./bench.sh --only http --seconds 2`.
set -euo pipefail
cd "$(dirname "$0")"
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
cargo build --release --quiet -p switchboard -p switchboard-bench --bins
target_dir="${CARGO_TARGET_DIR:-target}"
exec "$target_dir/release/switchboard-bench" --switchboard "$target_dir/release/switchboard" "$@"
