#!/usr/bin/env bash
# Runs the benchmarks and prints their figures as Markdown (see BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh --browser
bash scripts/build.sh --release >&2
node scripts/sizes.mjs "npm package, a page that only mounts the checkout (aim: at most 5 KB brotli)" js/index.js
node scripts/sizes.mjs "npm package: what a browser downloads for a direct API call (aim: at most 40 KB brotli)" \
  js/wasm/kassa_bg.wasm js/wasm/kassa.js js/index.js js/challenge.js
node scripts/sizes.mjs "Checkout: what the iframe downloads (aim: at most 90 KB brotli)" \
  checkout-app/dist/*.wasm checkout-app/dist/kassa-checkout-*.js checkout-app/dist/init-*.js checkout-app/dist/*.css
node scripts/sizes.mjs "Merchant console: what a browser downloads (aim: under 150 KB brotli)" \
  console-app/dist/*.wasm console-app/dist/kassa-console-*.js console-app/dist/init-*.js console-app/dist/*.css
KASSA_SERVER_BIN=target/server/kassa-server node scripts/bench-checkout.mjs
KASSA_SERVER_BIN=target/server/kassa-server node scripts/bench-stripe-clients.mjs
cargo bench -p kassa-server --bench sales
cargo bench -p kassa-server --bench stripe
