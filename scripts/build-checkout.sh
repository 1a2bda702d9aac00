#!/usr/bin/env bash
# Builds the checkout app into checkout-app/dist with Trunk, offline, with the installed tools.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
trunk build --config Trunk.toml "$@"
node scripts/externalize-inline.mjs checkout-app/dist
[ -x node_modules/.bin/esbuild ] || npm install --no-audit --no-fund
node scripts/minify-glue.mjs checkout-app/dist
node scripts/precompress.mjs checkout-app/dist
