#!/usr/bin/env bash
# Builds the npm package's WebAssembly core into js/wasm/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
cargo build -p kassa-js --release --target wasm32-unknown-unknown
wasm-bindgen target/wasm32-unknown-unknown/release/kassa_js.wasm --target web --out-dir js/wasm --out-name kassa --no-typescript
wasm-opt -Oz --converge $WASM_OPT_FEATURES js/wasm/kassa_bg.wasm -o js/wasm/kassa_bg.wasm
# The generated glue is read by browsers, not people: minified, it downloads a third smaller.
[ -x node_modules/.bin/esbuild ] || npm install --no-audit --no-fund
node scripts/minify-glue.mjs js/wasm/kassa.js
