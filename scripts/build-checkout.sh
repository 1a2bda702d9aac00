#!/usr/bin/env bash
# Builds the checkout app into checkout-app/dist with Trunk, offline, with the installed tools.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
trunk build --config Trunk.toml "$@"
node scripts/externalize-inline.mjs checkout-app/dist
[ -x node_modules/.bin/esbuild ] || npm install --no-audit --no-fund
glue=(checkout-app/dist/kassa-checkout-*.js)
node scripts/minify-glue.mjs "${glue[@]}" checkout-app/dist/index.html
node scripts/precompress.mjs checkout-app/dist
