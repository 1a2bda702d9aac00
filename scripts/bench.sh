#!/usr/bin/env bash
# Runs the benchmarks and prints their figures as Markdown (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo bench -p kassa-server --bench sales
