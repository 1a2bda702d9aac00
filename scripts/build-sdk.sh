#!/usr/bin/env bash
# Builds the npm package's WebAssembly core into js/wasm/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
cargo build -p kassa-js --release --target wasm32-unknown-unknown
wasm-bindgen target/wasm32-unknown-unknown/release/kassa_js.wasm --target web --out-dir js/wasm --out-name kassa --no-typescript
wasm-opt -Oz $WASM_OPT_FEATURES js/wasm/kassa_bg.wasm -o js/wasm/kassa_bg.wasm
