#!/usr/bin/env bash
# Runs the benchmarks and prints their figures as Markdown (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
bash scripts/build-sdk.sh >&2
node scripts/sizes.mjs "npm package: what a browser downloads (aim: under 40 KB brotli)" \
  js/wasm/kassa_bg.wasm js/wasm/kassa.js js/index.js js/challenge.js
cargo bench -p kassa-server --bench sales
