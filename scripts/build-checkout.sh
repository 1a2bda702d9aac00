#!/usr/bin/env bash
# Builds the checkout app into checkout-app/dist with Trunk, offline, with the installed tools.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# Debian's wasm-opt (binaryen 108) mishandles the reference-types table that wasm-bindgen sets up
# when rustc emits reference types (its default since 1.82), so the checkout is built without them.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=-reference-types,-multivalue"
trunk build --config Trunk.toml "$@"
